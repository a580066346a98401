/* stack's firewall as nftables text (pure: no I/O, unit-tested without root).
 *
 * The nftables backend (firewall-nft.c) installs the same rules as the libiptc backend, built by
 * firewall_build() for both families, translated here into nft syntax. Layout, all in one table
 * `inet stack`:
 *
 *   per project (prefix STACK-<hash>-, as the xtables chains), its own base chains
 *     <prefix>raw      filter hook prerouting priority raw      loopback guard, anti-spoofing
 *     <prefix>forward  filter hook forward priority filter      internal, isolation, way out
 *     <prefix>input    filter hook input priority filter        internal networks reach only the gateway
 *     <prefix>dnat     nat hook prerouting priority dstnat      published ports (fib daddr type local)
 *     <prefix>dnat-out nat hook output priority -100            the same for the host itself
 *     <prefix>snat     nat hook postrouting priority srcnat     outbound, hairpin, 127.0.0.1 masquerade
 *   each holding `meta nfproto ipv4|ipv6 jump` into the regular chains with the rules (the xtables names:
 *   <prefix>ISO, <prefix>DNAT, ...; the IPv6 ones end in "6"), in the xtables group order.
 *
 * Every base chain on a hook is evaluated and an accept ends only its own chain, so one project's accept
 * cannot let a packet past another project's drop: the cross-project group order the xtables backend
 * keeps inside its shared chains holds here by construction, and a project owns nothing shared but the
 * table. Removing a project deletes its chains (and the table once empty).
 *
 * Other tables on the forward hook whose policy is drop (Docker's `ip filter` FORWARD, ufw's
 * `filter` forward) would still drop stack's traffic whatever stack's own table says. Into those chains
 * go, at the top, accepts scoped to stack's bridges, comment "stack:<project>:<network>":
 *     oifname "<bridge>" accept              into the bridge: stack's table still decides what may
 *                                            (replies, published ports, the bridge's own traffic)
 *     iifname "<bridge>" accept              out of it (internal networks: only to the same bridge)
 * and on the input hook, where the policy is drop, the DNS responder on the gateway:
 *     iifname "<bridge>" udp|tcp dport 53 accept
 * These use only what iptables-nft can read back, so `iptables -S` and Docker's own `iptables -D/-C`
 * keep working on that table (a native `ct state` match would make iptables-nft refuse the whole chain).
 * Everything stack added to a table it does not own carries that comment: `nft list ruleset | grep
 * 'comment "stack:'` (or `iptables -S | grep stack:`) lists it; `down` deletes exactly those rules, by
 * handle, and an apply that finds them in place writes nothing.
 *
 * Not covered: firewalld, whose chains accept by policy and reject in a last rule, so no accept is put
 * there (its D-Bus interface, a zone for stack's bridges, is the way in); and traffic from a stack bridge
 * into another tool's bridge (docker0) is let through by the "out of it" accept, as the libiptc
 * backend's accept at the top of FORWARD does too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "net/firewall.h"

#define NFT_FAMILY "inet"
#define NFT_TABLE "stack"

/* One chain as stack wants it or as the kernel lists it. */
struct nft_chain {
        char *name;
        char *
            type; /* base chain: "type filter hook forward priority filter; policy accept;"; NULL: regular */
        char **rules;      /* rule text as `nft list` prints it (without handle) */
        uint64_t *handles; /* listing only: the handle of each rule */
        size_t n_rules;
};

/* A base chain of another table (read from the listing). */
struct nft_foreign {
        char *family, *table;
        struct nft_chain chain;
};

/* What the kernel holds: stack's table and the base chains of other tables. */
struct nft_listing {
        bool have_table;
        struct nft_chain *chains; /* of table inet stack */
        size_t n_chains;
        struct nft_foreign *foreign;
        size_t n_foreign;
        size_t n_other_tables; /* tables not ours, of any family */
};

/* A rule of another table that stack wants there. */
struct nft_accept {
        char *family, *table, *chain;
        char *rule;
};

/* What one project wants. */
struct nft_desired {
        char *project;
        struct nft_chain *chains;
        size_t n_chains;
        struct nft_accept *accepts;
        size_t n_accepts;
};

/* The rule in nft syntax, in the form `nft list` prints it back, so a listing compares as text. */
char *nft_rule_text(const struct fw_rule *r);

/* The project's chains from its rule set (both families; NULL or empty: none) and the accepts
 * for its bridges (those the isolation rules name) in the base chains of `have` that would drop their
 * traffic. Fails (-EINVAL) on a rule nft cannot express (none of firewall_build's). */
int nft_desired_build(const char *project, const struct fw_ruleset *rs, const struct nft_listing *have,
                      struct nft_desired *ret, struct stack_error *err);
void nft_desired_free(struct nft_desired *d);

/* Parses `nft -a -s list ruleset` output. Fails (-EBADMSG, naming the line) on text it cannot follow. */
int nft_listing_parse(const char *text, struct nft_listing *ret, struct stack_error *err);
void nft_listing_free(struct nft_listing *l);

/* The batch that turns `have` into `want` for want->project, touching only that project's chains and
 * its accepts in other tables; NULL when the kernel already holds exactly that (no transaction). With
 * want->n_chains 0 and no accepts it removes the project, and the table when nothing else is in it. */
char *nft_batch(const struct nft_listing *have, const struct nft_desired *want);

/* How many of want's rules (in its chains and its accepts in other tables) `have` lacks or holds
 * otherwise, plus the project's chains and accepts want no longer has; 0 exactly when nft_batch() is
 * NULL. The backend's firewall_ops.drift. */
size_t nft_drift(const struct nft_listing *have, const struct nft_desired *want);

/* "STACK-<hash>-": the prefix of every chain of the project (firewall_chain_prefix()). */
void nft_chain_prefix(const char *project, char ret[FW_CHAIN_MAX]);

/* Published ports found in the DNAT chains of the listing, every project (from the rule comments). */
int nft_listing_published(const struct nft_listing *l, struct fw_published **ret, size_t *ret_n);
