/* The container network as the reconciler sees it: set up a compose network, attach a container replica to
 * it, detach, tear down; and network_mode.
 *
 * A network is a Linux bridge (netlink.h) with a subnet from the IPAM (ipam.h); a container replica gets
 * its own network namespace (netns.h) before it is created, and one veth pair per network it is on. Every
 * call is idempotent and repairs what a crash left half-made; teardown removes exactly what the
 * project made. What firewall and DNS need comes back in struct network_info (bridge, subnet, gateway) and
 * struct network_attachment (the container's addresses). */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "net/ipam.h"

struct nl_sock;

struct network_ctx {
        char *root;     /* --root: IPAM leases */
        char *run_root; /* --run-root: netns mounts */
        struct nl_sock *sk;
        struct ipam_pool pool4, pool6;
};

/* Opens a netlink socket in the current namespace. The default pools can be overridden with
 * STACK_ADDRESS_POOL / STACK_ADDRESS_POOL6 = "BASE/LEN:SIZE" (e.g. "10.100.0.0/16:24"). */
int network_ctx_open(const char *root, const char *run_root, struct network_ctx **ret,
                     struct stack_error *err);
void network_ctx_free(struct network_ctx *ctx);
static inline void network_ctx_freep(struct network_ctx **p)
{
        if (*p)
                network_ctx_free(*p);
}
#define _cleanup_network_ctx_ __attribute__((cleanup(network_ctx_freep)))

/* ---- Networks ---- */

/* The MTU of the bridges stack makes and their veths, unless driver_opts set one. The links never leave
 * the host, so they run at loopback's size: a container talking to the host or another container moves
 * 64 KiB per packet instead of 1500 bytes (about a fifth more TCP throughput on this kind of machine).
 * Connections leaving the host get the MSS of their route (the TCPMSS rule in net/firewall.c). */
#define NETWORK_DEFAULT_MTU 65520u

struct network_spec {
        const char *name;    /* full name: <project>_<key>, `name:`, or the external name */
        const char *project; /* the project asking */
        const char *bridge;  /* NULL: "stk" + hash of name */
        unsigned mtu;        /* 0: NETWORK_DEFAULT_MTU */
        bool external, internal, ipv4, ipv6;
        const struct ipam_config *ipam;
        size_t n_ipam;
};

struct network_info {
        char *name;
        char *project; /* the project that made it */
        char bridge[IFNAMSIZ];
        int ifindex;
        bool external, internal;
        unsigned mtu;
        bool has4, has6;
        struct ipam_prefix subnet4, subnet6;
        struct ipam_addr gateway4, gateway6;
};
void network_info_done(struct network_info *i);

/* Creates or repairs the network: subnet from the IPAM, bridge up with the gateway addresses, forwarding
 * on. An external network must exist (made by stack for another project); nothing of it is changed. */
int network_setup(struct network_ctx *ctx, const struct network_spec *spec, struct network_info *ret,
                  struct stack_error *err);
/* Removes the bridge (with any veth a crash left on it) and the IPAM record of a network `project` made;
 * for an external one only the project's leases. -EBUSY (naming them) while other projects' containers
 * are still attached. Gone already is success. */
int network_teardown(struct network_ctx *ctx, const char *project, const char *name,
                     struct stack_error *err);

/* The networks `project` made, from the IPAM records and the bridges carrying its alias (so also one whose
 * record a crash lost): what `observe` compares with the model to find orphans. */
int network_list(struct network_ctx *ctx, const char *project, char ***ret, struct stack_error *err);

/* ---- Containers ---- */

/* The replica's namespace: <run-root>/netns/<project>/<container>, lo up. */
int network_netns_create(struct network_ctx *ctx, const char *project, const char *container,
                         char **ret_path, struct stack_error *err);

struct network_attach_spec {
        const char *project;
        const char *container;  /* IPAM owner and netns name */
        const char *netns_path; /* NULL: the container's own, from network_netns_create() */
        const char *ifname;     /* NULL: eth0 */
        const char *ipv4_address, *ipv6_address, *mac_address; /* NULL: allocated / derived */
        char *const *link_local_ips; /* extra addresses in 169.254.0.0/16 or fe80::/10, NULL-terminated */
        bool default_route;          /* ignored on internal networks, which have no way out */
        char *const *declared4; /* every static IPv4 address on this network, never given out dynamically */
};

struct network_attachment {
        char ifname[IFNAMSIZ];
        char host_ifname[IFNAMSIZ];
        bool has4, has6;
        struct ipam_prefix addr4, addr6; /* with the subnet's prefix length */
        uint8_t mac[6];
};

/* Attaches the container to the network (set up before): addresses from the IPAM, one veth pair. */
int network_attach(struct network_ctx *ctx, const struct network_info *net,
                   const struct network_attach_spec *a, struct network_attachment *ret,
                   struct stack_error *err);
/* The same for n containers with one IPAM transaction (one lease-file write instead of n): scale-up and
 * the first `up` of a service with replicas. ret has n entries. Stops at the first failure. */
int network_attach_many(struct network_ctx *ctx, const struct network_info *net,
                        const struct network_attach_spec *a, size_t n, struct network_attachment *ret,
                        struct stack_error *err);
/* Removes the container's veth on that network and releases its addresses there. */
int network_detach(struct network_ctx *ctx, const char *network, const char *project, const char *container,
                   struct stack_error *err);
/* Removes everything of a container replica: its veths, all its leases, its namespace. */
int network_container_remove(struct network_ctx *ctx, const char *project, const char *container,
                             struct stack_error *err);

/* Everything the project left, also after a crash: containers' namespaces, veths and leases, its bridges
 * and networks. Networks still used by other projects are reported (-EBUSY) after the rest is done. */
int network_project_teardown(struct network_ctx *ctx, const char *project, struct stack_error *err);

/* ---- network_mode ---- */

enum network_mode_kind {
        NETWORK_MODE_BRIDGE, /* unset: the service's networks */
        NETWORK_MODE_NONE,   /* own namespace, lo only */
        NETWORK_MODE_HOST,   /* no namespace: the runtime gets none */
        NETWORK_MODE_SERVICE,
        NETWORK_MODE_CONTAINER,
};

struct network_mode {
        enum network_mode_kind kind;
        const char *target; /* service or container name, points into the mode string */
};
int network_mode_parse(const char *mode, struct network_mode *ret, struct stack_error *err);

/* The namespace path to hand to the runtime for a replica: its own for bridge and none; the first replica
 * of the service for service:NAME; the named container's (any project) for container:NAME; NULL for host.
 * Does not create anything; -ENOENT (named) when the target has no namespace yet. */
int network_mode_netns(const struct network_ctx *ctx, const char *project, const char *container,
                       const char *mode, char **ret_path, struct stack_error *err);

/* The namespace of `target`, the container of the project that network_mode service:SERVICE joins (the
 * caller names it, as only the caller knows the service's container_name); -ENOENT (named) when the target
 * has no namespace yet. */
int network_service_netns(const struct network_ctx *ctx, const char *project, const char *service,
                          const char *target, char **ret_path, struct stack_error *err);

/* ---- Reading back (stack network ls / inspect) ---- */

struct network_endpoint {
        char *container;
        char *project;
        struct ipam_addr addr4, addr6;
};

struct network_status {
        struct network_info info;
        bool in_kernel; /* the bridge exists */
        struct network_endpoint *endpoints;
        size_t n_endpoints;
};
void network_status_done(struct network_status *s);
/* From the IPAM records and the kernel; -ENOENT when neither knows the network. */
int network_status(struct network_ctx *ctx, const char *name, struct network_status *ret,
                   struct stack_error *err);
