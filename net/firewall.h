/* Host firewall for stack's networks: outbound NAT, published ports, isolation, loopback guard, for
 * IPv4 and IPv6.
 *
 * Two halves. Rule generation (firewall.c) is pure: a description of one project's networks and published
 * ports becomes a `struct fw_ruleset`, a list of chains with backend-neutral rules, each chain tagged with
 * its address family. A backend (struct firewall_ops; the libiptc/libip6tc one in firewall-iptc.c and
 * firewall-ip6tc.c, an nftables one beside it) installs a ruleset so that it replaces everything the
 * project had before in both families, and removes a project again. The engine only ever talks to a
 * `struct firewall`; which backend sits behind it is chosen at run time (firewall_open()).
 *
 * Layout in x_tables terms (Docker's and netavark's shape: stack's own chains behind one jump per hook,
 * so other tools' rules stay untouched and a crash leaves nothing unrecognisable); a backend for another
 * framework keeps the same parts, names, markers and order:
 *   IPv4 raw    PREROUTING  -j STACK-PRE            loopback guard, anti-spoofing towards the bridges
 *   IPv4 nat    PREROUTING  -m addrtype --dst-type LOCAL -j STACK-DNAT    DNAT of published ports
 *   IPv4 nat    OUTPUT      -m addrtype --dst-type LOCAL -j STACK-DNAT    same, for the host itself
 *   IPv4 nat    POSTROUTING -j STACK-POSTROUTING    outbound, hairpin and 127.0.0.1 MASQUERADE
 *   IPv4 filter FORWARD     -j STACK-FORWARD        what may enter and leave each bridge
 *   IPv4 filter INPUT       -j STACK-INPUT          internal networks reach only their gateway
 *   IPv6 filter FORWARD     -j STACK-FORWARD        isolation of bridges with IPv6 (no NAT66, no ports)
 * One jump per hook, inserted at the top. Each shared STACK-* chain holds only jumps into per-project
 * chains named STACK-<hash of project>-<part>, each jump commented "stack:<project>"; rules inside carry
 * "stack:<project>:<network>". So a project is replaced or removed precisely and others stay untouched.
 * Jumps are ordered by group (enum fw_group) across projects. A project without IPv6 networks has no
 * IPv6 chain and changes nothing in the IPv6 tables.
 *
 * A reconcile, once the bridges exist:
 *     firewall_open(NULL, &fw, err);                            the host's backend
 *     firewall_list_published(fw, &pub, &n_pub, err);          every project's ports, from the kernel
 *     one fw_port per compose port (the engine's adapter), then ports_assign() and ports_check() (ports.h)
 *     firewall_build(&project, &rs, err);                       pure, both families
 *     firewall_apply(fw, &rs, err);                             one commit per changed table, none if equal
 * and `stack down`: firewall_remove_project(fw, name, err). Hairpin mode on the bridge ports and
 * ip_forward are the link code's part (net/netlink.c). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

#define FW_CHAIN_MAX 32    /* xt_chainlabel; our names stay within the 28 characters iptables allows */
#define FW_COMMENT_MAX 256 /* xt_comment: 255 characters */
#define FW_IFNAME_MAX 16   /* IFNAMSIZ */

enum fw_proto {
        FW_PROTO_TCP,
        FW_PROTO_UDP,
};

/* ---- The input: what one project wants ---- */

struct fw_network {
        const char *name;   /* compose network name, used in rule markers */
        const char *bridge; /* bridge interface name */
        struct in_addr subnet;
        unsigned prefixlen;     /* 0: the network has no IPv4 (enable_ipv4: false) and no IPv4 rules */
        struct in_addr gateway; /* the bridge's address */
        bool internal;          /* no way out: no MASQUERADE, nothing leaves the bridge */
        bool ipv6;              /* the bridge also has an IPv6 subnet: it gets the IPv6 isolation too */
};

/* A published port or range: host_port..host_port+count-1 -> container_port..container_port+count-1. */
struct fw_port {
        const char *network;    /* the fw_network the container is reached on */
        struct in_addr host_ip; /* INADDR_ANY: every host address, 127.0.0.1 included */
        uint16_t host_port;     /* 0: not chosen yet (ports_assign() picks one) */
        uint16_t container_port;
        uint16_t count; /* 0 is taken as 1 */
        struct in_addr container_ip;
        enum fw_proto proto;
        /* With host_port 0: the host range to pick from ("8000-8010:80"); 0, 0: the ephemeral range. */
        uint16_t pick_lo, pick_hi;
};

struct fw_project {
        const char *name;
        const struct fw_network *networks;
        size_t n_networks;
        const struct fw_port *ports;
        size_t n_ports;
};

/* ---- The output: a backend-neutral rule set ---- */

enum fw_family {
        FW_IPV4,
        FW_IPV6, /* filter table only; rules there use interfaces, conntrack state and verdicts */
        _FW_FAMILY_MAX,
};

enum fw_table {
        FW_TABLE_RAW,
        FW_TABLE_FILTER,
        FW_TABLE_NAT,
        _FW_TABLE_MAX,
};

enum fw_verdict {
        FW_ACCEPT,
        FW_DROP,
        FW_RETURN,
        FW_JUMP, /* to rule.jump */
        FW_DNAT, /* to to_addr:to_port */
        FW_MASQUERADE,
        FW_CLAMP_MSS, /* TCPMSS --clamp-mss-to-pmtu; not terminal, the chain goes on */
};

/* conntrack states matched by fw_rule.ctstate */
enum {
        FW_CT_ESTABLISHED = 1 << 0,
        FW_CT_RELATED = 1 << 1,
        FW_CT_DNAT = 1 << 2, /* the connection was destination-NATed */
};

/* One rule. Zero fields match anything; prefix length 0 means any address. */
struct fw_rule {
        char in_if[FW_IFNAME_MAX];
        bool in_if_not;
        char out_if[FW_IFNAME_MAX];
        bool out_if_not;
        struct in_addr src;
        unsigned src_len;
        bool src_not;
        struct in_addr dst;
        unsigned dst_len;
        bool dst_not;
        uint8_t proto;  /* 0, IPPROTO_TCP or IPPROTO_UDP */
        uint16_t dport; /* with proto; 0: any */
        bool tcp_syn;   /* with IPPROTO_TCP: --tcp-flags SYN,RST SYN, the first packet of each direction */
        bool dst_local; /* -m addrtype --dst-type LOCAL */
        unsigned ctstate;
        char comment[FW_COMMENT_MAX];
        enum fw_verdict verdict;
        char jump[FW_CHAIN_MAX];
        struct in_addr to_addr;
        uint16_t to_port;
};

/* Order of jumps inside a shared chain: every jump of a lower group comes before any of a higher one,
 * whichever project it belongs to. In FORWARD this is the isolation: internal networks are shut first,
 * then every bridge admits only replies, its own traffic and published ports, and only then may traffic
 * leave a bridge. */
enum fw_group {
        FW_GROUP_INTERNAL,
        FW_GROUP_INTO,
        FW_GROUP_OUT,
};

/* A chain of the project (full content) and the jump that reaches it from a shared chain. */
struct fw_chain {
        enum fw_family family;
        enum fw_table table;
        char name[FW_CHAIN_MAX];
        char parent[FW_CHAIN_MAX]; /* the shared chain holding the jump */
        enum fw_group group;
        struct fw_rule *rules;
        size_t n_rules;
};

struct fw_ruleset {
        char *project;
        struct fw_chain *chains; /* IPv4 chains first, then IPv6 */
        size_t n_chains;
        char **localnet_bridges; /* bridges that need net.ipv4.conf.<br>.route_localnet=1 */
};

/* A shared chain and the one jump from a built-in chain that leads to it. */
struct fw_base_chain {
        enum fw_family family;
        enum fw_table table;
        const char *name;
        const char *hook; /* built-in chain */
        bool dst_local;   /* the hook jump carries -m addrtype --dst-type LOCAL */
};

/* A port some project publishes, as read back from the kernel. */
struct fw_published {
        char *project;
        char *network;
        struct in_addr host_ip;
        uint16_t host_port;
        enum fw_proto proto;
        struct in_addr container_ip;
        uint16_t container_port;
};

/* ---- Rule generation (pure) ---- */

/* Builds the rules for one project, both families. Fails (-EINVAL, naming the port or network) on a port
 * without host port, a port on an unknown or internal network, a container address outside its network,
 * or a bridge name that does not fit an interface name. */
int firewall_build(const struct fw_project *project, struct fw_ruleset *ret, struct stack_error *err);
void fw_ruleset_free(struct fw_ruleset *rs);
static inline void fw_ruleset_freep(struct fw_ruleset *rs)
{
        fw_ruleset_free(rs);
}
#define _cleanup_ruleset_ __attribute__((cleanup(fw_ruleset_freep)))

/* The shared chains of a family with their hook jumps; ends with a NULL name. A shared chain may be
 * reached from two hooks (STACK-DNAT from nat PREROUTING and OUTPUT). */
const struct fw_base_chain *firewall_base_chains(enum fw_family family);
/* Does the set have a chain in this family and table? */
bool fw_ruleset_has(const struct fw_ruleset *rs, enum fw_family family, enum fw_table table);
/* The group of one of our per-project chains, from its name. */
enum fw_group firewall_chain_group(const char *chain);
/* The jump from c->parent into c, marked "stack:<project>". */
void firewall_jump_rule(const char *project, const struct fw_chain *c, struct fw_rule *ret);
/* "STACK-<10 hex digits>-": every chain of this project starts with it. */
void firewall_chain_prefix(const char *project, char ret[FW_CHAIN_MAX]);
const char *fw_table_name(enum fw_table t);
const char *fw_proto_name(enum fw_proto p);
/* The rule in iptables-save syntax ("-A CHAIN ... -j TARGET"), for tests, logs and --dry-run. */
char *fw_rule_format(const char *chain, const struct fw_rule *r);
/* The whole set, "*table" sections in iptables-save style; the IPv6 part, if any, after a line
 * "# ip6tables". */
char *fw_ruleset_format(const struct fw_ruleset *rs);
/* Number of rules of the set (for logs and the benchmark). */
size_t fw_ruleset_count(const struct fw_ruleset *rs);

/* ---- Backends ---- */

struct firewall;

/* What a backend implements. Every operation covers both families, takes the backend's own lock (the
 * xtables lock for libiptc; nftables transactions are atomic by themselves) and leaves everything that is
 * not stack's, and every other project's chains, exactly as it was.
 *
 * apply: replaces everything rs->project had, in every family and table, with rs. Before its first change
 *     it checks, under its lock, that no other project publishes one of rs's host ports (-EADDRINUSE,
 *     naming port and project; ports_check() ran earlier without the lock) and sets route_localnet on
 *     rs->localnet_bridges (firewall_route_localnet()). Changes are atomic per table (or per
 *     transaction); a table that already holds exactly the wanted rules is not written at all, so a
 *     reconcile without changes commits nothing. fw->commits[family] counts the commits made. Order: the
 *     filter and raw rules of a port are in place before its DNAT is. A family the host cannot filter
 *     (no IPv6 tables) is an error only if rs has chains in it.
 * remove_project: removes the project's chains and jumps in every family, then shared chains and hook
 *     jumps no project uses any more; idempotent, no commit when there is nothing to remove.
 * list_published: every published port in the kernel, all projects, read back from the DNAT rules.
 * drift: how many of rs's rules (hook jumps and accepts in other tools' chains included) the kernel lacks
 *     or holds otherwise, plus chains of the project rs does not want; 0 exactly when an apply would
 *     commit nothing. Only reads (no lock, no commit), so it is cheap enough for every `up`: what someone
 *     flushed or deleted behind stack's back (`iptables -F`, `nft flush ruleset`, a firewall reload,
 *     Docker restarting) is found and the next apply puts it back. May be NULL (no drift is ever seen).
 * free: releases fw->userdata (may be NULL).
 * Errors are negative errnos with err filled once, naming table, chain and project; nothing is printed.
 * A warning that does not fail the operation goes to firewall_warn(). */
struct firewall_ops {
        const char *name;
        int (*apply)(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err);
        int (*remove_project)(struct firewall *fw, const char *project, struct stack_error *err);
        int (*list_published)(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                              struct stack_error *err);
        int (*drift)(struct firewall *fw, const struct fw_ruleset *rs, size_t *ret_n,
                     struct stack_error *err);
        void (*free)(struct firewall *fw);
};

/* Where warnings go (the caller prints them; the library does not). */
typedef void (*firewall_warn_fn)(void *userdata, const char *msg);

struct firewall {
        const struct firewall_ops *ops;
        void *userdata;
        unsigned commits[_FW_FAMILY_MAX]; /* table commits so far per family (benchmark, tests) */
        firewall_warn_fn warn;
        void *warn_userdata;
};

/* Opens a backend by name: "iptables" (legacy x_tables through libiptc and libip6tc), "nftables"
 * (libnftables, firewall-nft.c and nft-rules.h) or "auto". NULL: $STACK_FIREWALL_BACKEND, else "auto".
 * An unknown name is -EINVAL naming the choices.
 *
 * "auto" picks libiptc when legacy IPv4 tables hold anything (a rule, a chain, a DROP policy: another
 * tool, or stack itself, uses them; one host never gets stack's rules in both), else nftables when the
 * host's iptables command is the nf_tables variant or nftables tables exist (Docker, ufw, firewalld on
 * Debian 12), else libiptc. On an nftables host the legacy tables are invisible to `nft list ruleset`
 * and cannot override a drop there, which is why legacy is not the default. firewall_remove_project()
 * also removes the project through the other backend where that one holds anything, so `down` cleans up
 * even when the choice changed since `up`.
 *
 * Adding a backend: a file net/firewall-<name>.c with its `struct firewall_ops` (the contract above) and a
 * `firewall_open_<name>()` that fails early and clearly where the framework is missing, one line in
 * firewall.c's `backends[]` table, and, when it should be the host's default, the choice in
 * firewall_open() for NULL. The rule generation, ports.h, the engine and the CLI stay as they are. */
int firewall_open(const char *backend, struct firewall **ret, struct stack_error *err);
/* The libiptc backend (legacy x_tables, IPv4 and IPv6). Takes /run/xtables.lock around every change. */
int firewall_open_iptc(struct firewall **ret, struct stack_error *err);
/* The nftables backend (table inet stack, both families, one transaction per apply). */
int firewall_open_nft(struct firewall **ret, struct stack_error *err);
/* A backend from a table of operations (tests use a fake one). */
struct firewall *firewall_new(const struct firewall_ops *ops, void *userdata);
void firewall_free(struct firewall *fw);
static inline void firewall_freep(struct firewall **fw)
{
        if (*fw)
                firewall_free(*fw);
}
#define _cleanup_firewall_ __attribute__((cleanup(firewall_freep)))

/* The dispatch: firewall_apply also clears conntrack entries that would keep a re-published UDP port
 * going to its old place (a failure there is a warning). */
int firewall_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err);
int firewall_remove_project(struct firewall *fw, const char *project, struct stack_error *err);
int firewall_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                            struct stack_error *err);
/* The backend's drift count for rs (see struct firewall_ops); 0 for a backend that cannot tell. */
int firewall_drift(struct firewall *fw, const struct fw_ruleset *rs, size_t *ret_n, struct stack_error *err);
const char *firewall_name(const struct firewall *fw);
unsigned firewall_commits(const struct firewall *fw, enum fw_family family);
void firewall_set_warn(struct firewall *fw, firewall_warn_fn fn, void *userdata);
void firewall_warn(struct firewall *fw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fw_published_free(struct fw_published *p, size_t n);

/* ---- Helpers every backend uses ---- */

/* net.ipv4.conf.<bridge>.route_localnet=1 for rs->localnet_bridges: a DNAT of 127.0.0.1 is useless
 * without it. Call it before the DNAT rules go in (the bridges exist by then). */
int firewall_route_localnet(const struct fw_ruleset *rs, struct stack_error *err);
/* The first other project that publishes one of rs's DNAT host ports, as -EADDRINUSE; pub is what the
 * backend read under its lock. */
int firewall_check_clashes(const struct fw_ruleset *rs, const struct fw_published *pub, size_t n_pub,
                           struct stack_error *err);
/* Deletes UDP conntrack entries that would keep rs's published UDP ports going to an old place
 * (net/conntrack.h); firewall_apply calls it after the backend, and a failure is a warning. */
void firewall_flush_stale_udp(struct firewall *fw, const struct fw_ruleset *rs);
