/* The name table of a project's DNS responder and its on-disk form.
 *
 * The reconciler owns the truth: whenever it creates, recreates, scales or removes a container it writes
 * the whole table to <run-root>/projects/<project>/dns.json (atomically), and the supervisor's responder
 * reloads it (dns_server_reload). A table holds, per network, the gateway addresses the responder listens
 * on, the subnets that tell which network an asker is on, and one entry per container attachment: the
 * names it answers to (container name first, then service name, aliases, hostname) and its addresses.
 *
 * File format (version 1):
 *   {"version": 1, "domain": "optional.search.domain",
 *    "networks": [{"name": "demo_front", "gateways": ["10.89.0.1"], "subnets": ["10.89.0.0/24"],
 *                  "internal": false,
 *                  "entries": [{"id": "demo-web-1", "names": ["demo-web-1", "web"],
 *                               "addresses": ["10.89.0.2"], "dns": ["1.1.1.1"]}]}]}
 * `id` ties together the entries of one container on several networks (it may see all of them); `dns`
 * (optional) are the container's own upstream servers (compose `dns:`), used instead of the host's. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"

/* Longest dotted name (RFC 1035: 255 bytes on the wire). */
#define DNS_NAME_MAX 253

struct dns_addr {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        };
};

struct dns_subnet {
        struct dns_addr addr;
        unsigned prefixlen;
};

struct dns_entry {
        char *id;     /* container name */
        char **names; /* lower case, no trailing dot; names[0] answers reverse (PTR) queries */
        struct dns_addr *addrs;
        size_t n_addrs;
        char **upstreams; /* compose `dns:` of the service: other names go there, not to the host's */
};

struct dns_network {
        char *name;
        struct dns_addr *gateways; /* where the responder listens for this network */
        size_t n_gateways;
        struct dns_subnet *subnets; /* where its askers come from; none: trust the gateway they asked */
        size_t n_subnets;
        struct dns_entry *entries;
        size_t n_entries;
        bool internal; /* compose `internal: true`: no way out, so no forwarding for its containers */
};

struct dns_table {
        char *domain; /* NULL, or a search domain whose names are ours too: "web.<domain>" is "web" */
        struct dns_network *networks;
        size_t n_networks;
        char **skipped; /* from parsing: one message per name left out (not a valid DNS name) */
};

/* Addresses: "10.0.0.1", "fd00::1". Return 0 or -EINVAL. */
int dns_addr_parse(const char *s, struct dns_addr *ret);
/* "10.0.0.0/24"; the host bits are cleared. */
int dns_subnet_parse(const char *s, struct dns_subnet *ret);
bool dns_addr_equal(const struct dns_addr *a, const struct dns_addr *b);
bool dns_subnet_contains(const struct dns_subnet *s, const struct dns_addr *a);
/* Writes the text form into buf (at least INET6_ADDRSTRLEN bytes) and returns it. */
const char *dns_addr_format(const struct dns_addr *a, char *buf, size_t size);

/* Whether s is a name we can answer for: labels of [A-Za-z0-9_-] (and more printable ASCII but no dot,
 * space, comma or backslash), each 1..63 long, at most DNS_NAME_MAX in all; one trailing dot allowed. */
bool dns_name_valid(const char *s);
/* Lower case without the trailing dot; NULL when the name is not valid. */
char *dns_name_normalize(const char *s);

struct dns_table *dns_table_new(void);
void dns_table_free(struct dns_table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dns_table *, dns_table_free)
#define _cleanup_dns_table_ _cleanup_(dns_table_freep)

/* Builders used by the reconciler (and the tests). A network name may appear only once. */
int dns_table_set_domain(struct dns_table *t, const char *domain, struct stack_error *err);
int dns_table_add_network(struct dns_table *t, const char *name, struct dns_network **ret,
                          struct stack_error *err);
struct dns_network *dns_table_find_network(const struct dns_table *t, const char *name);
int dns_network_add_gateway(struct dns_network *n, const char *addr, struct stack_error *err);
int dns_network_add_subnet(struct dns_network *n, const char *subnet, struct stack_error *err);
/* names and addrs are NULL-terminated; names are validated and normalized, duplicates dropped. */
int dns_network_add_entry(struct dns_network *n, const char *id, char *const *names, char *const *addrs,
                          struct stack_error *err);

/* Sets the upstream servers (IP addresses) of the entry `id` of the network; NULL or empty clears them. */
int dns_network_set_upstreams(struct dns_network *n, const char *id, char *const *servers,
                              struct stack_error *err);
/* The upstream servers of the container that has address `source` on any network; NULL: the host's. */
char *const *dns_table_upstreams(const struct dns_table *t, const struct dns_addr *source);

/* Deep copy and release of one network (the responder keeps its own copy). */
void dns_network_copy(struct dns_network *dst, const struct dns_network *src);
void dns_network_done(struct dns_network *n);

/* Where the reconciler writes a project's table: <run_root>/projects/<project>/dns.json. */
char *dns_records_path(const char *run_root, const char *project);

/* JSON text <-> table. Errors name the offending field ("networks[1].entries[0].addresses[2]: ...").
 * Names nobody can ask for are left out, not fatal; t->skipped says which, for the caller to report. */
int dns_records_parse(const char *json, struct dns_table **ret, struct stack_error *err);
char *dns_records_format(const struct dns_table *t);
int dns_records_load(const char *path, struct dns_table **ret, struct stack_error *err);
/* Written atomically (temp file, fsync, rename), so a reader sees the old table or the new one. */
int dns_records_write(const char *path, const struct dns_table *t, struct stack_error *err);
