/* Host firewall for stack's networks: outbound NAT, published ports, isolation, loopback guard.
 *
 * Two halves. Rule generation (firewall.c) is pure: a description of one project's networks and published
 * ports becomes a `struct fw_ruleset`, a list of chains with backend-neutral rules. A backend (the libiptc
 * one in firewall-iptc.c; an nftables one can sit beside it) installs a ruleset so that it replaces
 * everything the project had before, atomically per table, and removes a project again.
 *
 * Layout (see research/NET-RUNTIME.md §1, §2.3 for why):
 *   raw    PREROUTING  -j STACK-PRE            loopback guard, anti-spoofing towards the bridges
 *   nat    PREROUTING  -m addrtype --dst-type LOCAL -j STACK-DNAT    DNAT of published ports
 *   nat    OUTPUT      -m addrtype --dst-type LOCAL -j STACK-DNAT    same, for the host itself
 *   nat    POSTROUTING -j STACK-POSTROUTING    outbound, hairpin and 127.0.0.1 MASQUERADE
 *   filter FORWARD     -j STACK-FORWARD        what may enter and leave each bridge
 *   filter INPUT       -j STACK-INPUT          internal networks reach only their gateway
 * One jump per hook, inserted at the top. Each shared STACK-* chain holds only jumps into per-project
 * chains named STACK-<hash of project>-<part>, each jump commented "stack:<project>"; rules inside carry
 * "stack:<project>:<network>". So a project is replaced or removed precisely and others stay untouched.
 * Jumps are ordered by group (enum fw_group) across projects.
 *
 * A reconcile, once the bridges exist (route_localnet is set on them here):
 *     firewall_open_iptc(&fw, err);
 *     firewall_list_published(fw, &pub, &n_pub, err);          every project's ports, from the kernel
 *     ports_from_spec(...) per compose port, then ports_assign() and ports_check()    (net/ports.h)
 *     firewall_build(&project, &rs, err);                       pure
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
        bool ipv6;              /* the bridge also has an IPv6 subnet: isolated by firewall6.h too */
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
        enum fw_table table;
        char name[FW_CHAIN_MAX];
        char parent[FW_CHAIN_MAX]; /* the shared chain holding the jump */
        enum fw_group group;
        struct fw_rule *rules;
        size_t n_rules;
};

struct fw_ruleset {
        char *project;
        struct fw_chain *chains;
        size_t n_chains;
        char **localnet_bridges; /* bridges that need net.ipv4.conf.<br>.route_localnet=1 */
};

/* A shared chain and the one jump from a built-in chain that leads to it. */
struct fw_base_chain {
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

/* Builds the rules for one project. Fails (-EINVAL, naming the port or network) on a port without host
 * port, a port on an unknown or internal network, a container address outside its network, or a
 * bridge name that does not fit an interface name. */
int firewall_build(const struct fw_project *project, struct fw_ruleset *ret, struct stack_error *err);
void fw_ruleset_free(struct fw_ruleset *rs);
static inline void fw_ruleset_freep(struct fw_ruleset *rs)
{
        fw_ruleset_free(rs);
}
#define _cleanup_ruleset_ __attribute__((cleanup(fw_ruleset_freep)))

/* The shared chains with their hook jumps; ends with a NULL name. A shared chain may be reached from two
 * hooks (STACK-DNAT from nat PREROUTING and OUTPUT). */
const struct fw_base_chain *firewall_base_chains(void);
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
/* The whole set, "*table" sections in iptables-save style. */
char *fw_ruleset_format(const struct fw_ruleset *rs);
/* Number of rules of the set (for logs and the benchmark). */
size_t fw_ruleset_count(const struct fw_ruleset *rs);

/* ---- Backends ---- */

struct firewall;

struct firewall_ops {
        const char *name;
        /* Replaces everything rs->project had with rs: one commit per table. */
        int (*apply)(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err);
        /* Removes the project's chains and jumps, then shared chains nobody uses; idempotent. */
        int (*remove_project)(struct firewall *fw, const char *project, struct stack_error *err);
        /* Every published port in the kernel, all projects. */
        int (*list_published)(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                              struct stack_error *err);
        void (*free)(struct firewall *fw);
};

struct firewall {
        const struct firewall_ops *ops;
        void *userdata;
        unsigned commits; /* table commits so far (benchmark, tests) */
};

/* The libiptc backend (legacy x_tables, IPv4). Takes /run/xtables.lock around every change. */
int firewall_open_iptc(struct firewall **ret, struct stack_error *err);
/* A backend from a table of operations (tests use a fake one). */
struct firewall *firewall_new(const struct firewall_ops *ops, void *userdata);
void firewall_free(struct firewall *fw);
static inline void firewall_freep(struct firewall **fw)
{
        if (*fw)
                firewall_free(*fw);
}
#define _cleanup_firewall_ __attribute__((cleanup(firewall_freep)))

int firewall_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err);
int firewall_remove_project(struct firewall *fw, const char *project, struct stack_error *err);
int firewall_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                            struct stack_error *err);
unsigned firewall_commits(const struct firewall *fw);
void fw_published_free(struct fw_published *p, size_t n);
