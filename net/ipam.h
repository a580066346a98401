/* IP address management: subnets for networks and addresses for containers, persistent across commands.
 *
 * All of stack's networks on the host share one address space, recorded in <root>/ipam/leases (a small
 * line-based text file, rewritten atomically) and serialized by flock on <root>/ipam/lock, so two
 * concurrent `stack` commands (even of different projects) never hand out the same subnet or address.
 *
 * Default pool: networks without ipam.config get the first free /24 of 172.30.0.0/16 (256 networks),
 * skipping every subnet that overlaps another stack network or a route the caller found on the host; with
 * enable_ipv6, the first free /64 of fd53:7461:636b::/48 ("Stack" in ASCII). Both are overridable (struct
 * ipam_pool; STACK_ADDRESS_POOL / STACK_ADDRESS_POOL6 read by net/network.c).
 *
 * Addresses: a container keeps the lease it has (same address on every attach until it is released); a
 * new one gets the lowest free address of the ip_range (or the subnet), never the network or broadcast
 * address, the gateway or an aux_address. A static address (ipv4_address/ipv6_address) must lie in the
 * subnet and not be taken by another container.
 *
 * The module does no netlink: the caller passes the host's routes in, so it is unit-testable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

struct ipam_addr {
        int family; /* AF_INET or AF_INET6; 0 = none */
        uint8_t bytes[16];
};

struct ipam_prefix {
        struct ipam_addr addr;
        unsigned len;
};

/* Big enough for an IPv6 address with a "/128" suffix. */
#define IPAM_ADDRSTRLEN 52

int ipam_addr_parse(const char *s, struct ipam_addr *ret);
/* "a.b.c.d/n" or "x::/n"; host bits are cleared. */
int ipam_prefix_parse(const char *s, struct ipam_prefix *ret);
/* Write into buf (IPAM_ADDRSTRLEN) and return it. */
const char *ipam_addr_format(const struct ipam_addr *a, char *buf);
const char *ipam_prefix_format(const struct ipam_prefix *p, char *buf);
bool ipam_prefix_contains(const struct ipam_prefix *p, const struct ipam_addr *a);
bool ipam_prefix_overlaps(const struct ipam_prefix *a, const struct ipam_prefix *b);
bool ipam_addr_equal(const struct ipam_addr *a, const struct ipam_addr *b);

/* A subnet handed to a network. */
struct ipam_subnet {
        struct ipam_prefix subnet;
        struct ipam_prefix range; /* dynamic allocations come from here; == subnet when no ip_range */
        struct ipam_addr gateway;
        struct ipam_addr *aux; /* reserved, never allocated */
        size_t n_aux;
};

struct ipam_network {
        char *name;
        char *project; /* the project that created the record */
        bool external; /* a record made for a network we did not create (teardown keeps it) */
        struct ipam_subnet *subnets;
        size_t n_subnets;
};

struct ipam_lease {
        char *network;
        char *owner;   /* container name */
        char *project; /* owner's project */
        struct ipam_addr addr;
};

struct ipam {
        char *dir;
        int lock_fd;
        bool dirty;
        struct ipam_network *networks;
        size_t n_networks, cap_networks;
        struct ipam_lease *leases;
        size_t n_leases, cap_leases;
};

/* Opens <root>/ipam, takes the lock (blocking) and reads the records. ipam_free() releases the lock
 * without saving; ipam_save() writes the records if they changed. */
int ipam_open(const char *root, struct ipam **ret, struct stack_error *err);
int ipam_save(struct ipam *ipam, struct stack_error *err);
void ipam_free(struct ipam *ipam);
static inline void ipam_freep(struct ipam **p)
{
        if (*p)
                ipam_free(*p);
}
#define _cleanup_ipam_ __attribute__((cleanup(ipam_freep)))

struct ipam_pool {
        struct ipam_prefix base; /* e.g. 172.30.0.0/16 */
        unsigned size;           /* prefix length of each network, e.g. 24 */
};
/* The built-in defaults for a family. */
void ipam_pool_default(int family, struct ipam_pool *ret);

/* An address reserved in a subnet (compose's aux_addresses), named for messages. */
struct ipam_aux_address {
        const char *name;
        const char *addr;
};

/* One configured subnet of a network (compose's ipam.config entry), as text: parsed and checked here. */
struct ipam_config {
        const char *subnet;
        const char *ip_range; /* NULL: the whole subnet */
        const char *gateway;  /* NULL: the subnet's first address */
        const struct ipam_aux_address *aux;
        size_t n_aux;
};

struct ipam_network_request {
        const char *network;
        const char *project;
        bool ipv4, ipv6;
        bool external;
        const struct ipam_config *config; /* entries of both families */
        size_t n_config;
        const struct ipam_prefix *in_use; /* routed on the host outside stack's networks */
        size_t n_in_use;
        const struct ipam_pool *pool4, *pool6; /* NULL: defaults */
};

/* Ensures the network has its subnets: an existing record is kept (and returned) when it still matches the
 * request; explicit subnets overlapping another stack network are refused, naming it. *ret points into
 * ipam and stays valid until the next change. */
int ipam_network_ensure(struct ipam *ipam, const struct ipam_network_request *req,
                        const struct ipam_network **ret, struct stack_error *err);
const struct ipam_network *ipam_network_find(const struct ipam *ipam, const char *network);
const struct ipam_subnet *ipam_network_subnet(const struct ipam_network *net, int family);
/* Drops the network's record and every lease of `project` on it. Leases of other projects keep the
 * network: -EBUSY with their owners named. Unknown networks are success. */
int ipam_network_release(struct ipam *ipam, const char *network, const char *project,
                         struct stack_error *err);

/* Ensures owner has an address of `family` on network. want: the static address or NULL. An existing lease
 * of the owner is returned when it satisfies want. */
int ipam_address_ensure(struct ipam *ipam, const char *network, const char *owner, const char *project,
                        int family, const char *want, struct ipam_addr *ret, struct stack_error *err);
/* The same, where `declared` (NULL-terminated, may be NULL) lists the static addresses the caller's file
 * gives on this network: a dynamic allocation never hands one out, nor keeps a lease on one, so that a
 * container declaring it gets it whichever container is made first. */
int ipam_address_ensure_declared(struct ipam *ipam, const char *network, const char *owner,
                                 const char *project, int family, const char *want, char *const *declared,
                                 struct ipam_addr *ret, struct stack_error *err);
/* Releases every address of owner on network (network NULL: on every network). Idempotent. */
void ipam_address_release(struct ipam *ipam, const char *network, const char *owner);
const struct ipam_lease *ipam_lease_find(const struct ipam *ipam, const char *network, const char *owner,
                                         int family);
