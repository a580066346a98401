/* What the nftables backend (firewall-nft.c) offers besides its firewall_ops: the host checks behind the
 * automatic choice of backend (net/firewall.h). firewall_open_nft() is declared in firewall.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "net/firewall.h"

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

/* Removes the project through the backend fw is not (libiptc for nftables and back), where that one can
 * hold anything: the automatic choice may have changed since the project came up. */
int firewall_remove_elsewhere(struct firewall *fw, const char *project, struct stack_error *err);
