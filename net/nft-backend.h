/* The nftables backend's entry points (firewall-nft.c), below the firewall_ops table. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "net/firewall.h"

/* Replaces everything the project had (both families, its accepts in other tables) with what `project`
 * wants: one transaction, none when the kernel already holds exactly that. */
int firewall_nft_apply(struct firewall *fw, const struct fw_project *project, struct stack_error *err);
/* Removes the project's chains and accepts, and table inet stack once empty; idempotent. */
int firewall_nft_remove(struct firewall *fw, const char *project, struct stack_error *err);
int firewall_nft_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                                struct stack_error *err);
/* Can nftables be used here (nf_tables present, CAP_NET_ADMIN)? */
int firewall_nft_probe(struct stack_error *err);
/* Number of nftables tables other than stack's (Docker's, ufw's, iptables-nft's). */
int firewall_nft_table_count(unsigned *ret, struct stack_error *err);

/* Legacy IPv4 x_tables hold something (a rule, a chain, a DROP policy): another tool uses them. */
bool firewall_legacy_in_use(void);
/* The host's iptables command is the nf_tables variant (Debian 12's default). */
bool firewall_iptables_is_nft(void);
/* "nftables" or "iptables": the backend `auto` picks here (net/firewall.h). */
const char *firewall_nft_detect(void);
