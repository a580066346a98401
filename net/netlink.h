/* Links, addresses and routes through libnl-route-3: bridges for networks, veth pairs for attachments.
 *
 * Every function is idempotent: an object that exists and is ours counts as made, one already gone counts
 * as removed. Ours means: a bridge whose ifalias starts with NETLINK_ALIAS_PREFIX ("stack:<project>/<net>"),
 * a veth whose host end is a port of such a bridge. libnl's -NLE_* codes become stack_errors naming the
 * interface. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "net/ipam.h"

struct nl_sock;

#define NETLINK_ALIAS_PREFIX "stack:"

int netlink_open(struct nl_sock **ret, struct stack_error *err);
/* A socket bound to the namespace of netns_fd: everything sent on it acts inside that namespace. */
int netlink_open_in(int netns_fd, struct nl_sock **ret, struct stack_error *err);
void netlink_close(struct nl_sock *sk);
static inline void netlink_closep(struct nl_sock **sk)
{
        if (*sk)
                netlink_close(*sk);
}
#define _cleanup_nl_sock_ __attribute__((cleanup(netlink_closep)))

/* Deterministic names: "stk" + 8 hex digits of a hash of the network's full name for a bridge,
 * "stk" + 12 hex digits of network and container for a veth's host end. */
void netlink_bridge_name(const char *network, char ret[IFNAMSIZ]);
void netlink_veth_name(const char *network, const char *container, char ret[IFNAMSIZ]);
/* "stack:<project>/<network>" */
char *netlink_bridge_alias(const char *project, const char *network);
bool netlink_ifname_valid(const char *name);

struct netlink_bridge {
        const char *name;
        const char *alias;
        unsigned mtu; /* 0: kernel default */
        /* Gateway addresses with the subnet's prefix length; addresses of other subnets are removed. */
        const struct ipam_prefix *addrs;
        size_t n_addrs;
};

/* Creates or repairs the bridge (up, alias, MTU, addresses) and enables forwarding for its families. */
int netlink_bridge_ensure(struct nl_sock *sk, const struct netlink_bridge *b, int *ret_ifindex,
                          struct stack_error *err);
/* Looks a link up by name; -ENODEV when there is none. Every ret_ is optional; free alias and kind. */
int netlink_link_get(struct nl_sock *sk, const char *name, int *ret_ifindex, unsigned *ret_mtu,
                     char **ret_alias, char **ret_kind, struct stack_error *err);
/* Finds a bridge by its alias (for external networks); -ENODEV when none. */
int netlink_bridge_find_by_alias(struct nl_sock *sk, const char *alias, char ret_name[IFNAMSIZ],
                                 struct stack_error *err);
/* Deletes the bridge and every port on it. Refuses (-EPERM) a link whose alias is not `alias`; a missing
 * link is success. */
int netlink_bridge_remove(struct nl_sock *sk, const char *name, const char *alias, struct stack_error *err);
/* Gateway addresses on a link (global scope), for inspect and external networks. */
int netlink_link_addrs(struct nl_sock *sk, int ifindex, struct ipam_prefix **ret, size_t *ret_n,
                       struct stack_error *err);

struct netlink_veth {
        const char *host_name;
        int bridge_ifindex;
        unsigned mtu;                    /* 0: kernel default */
        int netns_fd;                    /* the container's namespace */
        struct nl_sock *ns_sk;           /* a socket in that namespace */
        const char *peer_name;           /* eth0, ... */
        const uint8_t *mac;              /* 6 bytes, NULL: kernel's choice */
        const struct ipam_prefix *addrs; /* the container's addresses with the subnet's prefix length */
        size_t n_addrs;
        /* Default routes through these gateways (family 0: no default route of that family). */
        struct ipam_addr gateway4, gateway6;
};

/* Creates the pair in one request (host end up and enslaved, hairpin on; peer named and placed in the
 * namespace), then brings the peer up with its addresses and default routes from inside. A pair that already
 * exists is checked and completed; a wrong one is replaced. */
int netlink_veth_ensure(struct nl_sock *sk, const struct netlink_veth *v, struct stack_error *err);
/* Deletes a link by name (its veth peer goes with it); a missing link is success. */
int netlink_link_remove(struct nl_sock *sk, const char *name, struct stack_error *err);
/* Deletes every veth inside a namespace (through a socket in it); their host ends go with them. */
int netlink_remove_veths(struct nl_sock *ns_sk, struct stack_error *err);
/* Appends the ifindexes, in the namespace of their peers, of the veths inside a namespace (through a socket
 * in it): for a container, its host ends. */
int netlink_veth_peers(struct nl_sock *ns_sk, int **list, size_t *n, struct stack_error *err);
/* Deletes the veths among these ifindexes in one kernel batch: each link deleted alone costs an RCU grace
 * period (~16 ms here), so a hundred take 1.6 s one by one and one period together. They are marked with a
 * netdev group no link uses, then the group is deleted. Missing links and links that are not veths are
 * skipped. */
int netlink_veths_delete(struct nl_sock *sk, const int *ifindexes, size_t n, struct stack_error *err);

/* Subnets routed on the host in the main table, except default routes and routes through stack's
 * bridges: what the IPAM pool must avoid. */
int netlink_routed_subnets(struct nl_sock *sk, int family, struct ipam_prefix **ret, size_t *ret_n,
                           struct stack_error *err);

struct netlink_link_info {
        char name[IFNAMSIZ];
        int ifindex;
        int master;
        char *alias;
        char *kind;
        int link;       /* IFLA_LINK: a veth's peer, by its ifindex in the peer's namespace */
        uint32_t group; /* netdev group */
};
void netlink_link_infos_free(struct netlink_link_info *l, size_t n);
/* Links whose alias starts with prefix (NULL: every link). */
int netlink_links(struct nl_sock *sk, const char *alias_prefix, struct netlink_link_info **ret,
                  size_t *ret_n, struct stack_error *err);
