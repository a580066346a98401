/* The embedded DNS responder for service discovery.
 *
 * One responder per project lives in the project's supervisor (an sd-event loop). It listens on UDP and
 * TCP port 53 of every gateway address of the project's networks (in the host namespace) and answers
 * by the asker's network: service names, aliases, container names and hostnames of containers on that
 * network resolve (A, AAAA, and PTR for their addresses; all replicas of a service at once). A name of
 * the project that lives only on other networks gets NXDOMAIN; every other name is forwarded to the
 * host's resolvers (from /etc/resolv.conf; loopback stubs included, since the responder runs on the host
 * side; or the container's own servers, compose `dns:`) and the answer relayed back, or SERVFAIL when
 * none answers in time. "web", "WEB.", "web.<domain>" and "web.<network>" are the same name.
 *
 * Which network an asker is on is decided by its source address (the network whose subnets or entries
 * hold it), not by the gateway it asked, since a container can route to every gateway of the host. A
 * container on several networks sees the names of all of them. Askers outside every subnet are refused
 * (no local names, no forwarding), except the host itself (asking from one of our gateway addresses)
 * and on networks listed without subnets, where the gateway asked is trusted.
 *
 * The message layer below (parse, answer) is pure and used by the unit tests and the fuzzer; the
 * server owns the sockets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "net/dns-records.h"

#define DNS_PORT 53
#define DNS_HEADER_SIZE 12
#define DNS_UDP_MAX_PLAIN 512 /* without EDNS (RFC 1035 4.2.1) */
#define DNS_UDP_MAX_EDNS 1232 /* what we offer and accept with EDNS: no fragmentation on any link */
#define DNS_MESSAGE_MAX 65535

enum {
        DNS_TYPE_A = 1,
        DNS_TYPE_NS = 2,
        DNS_TYPE_CNAME = 5,
        DNS_TYPE_SOA = 6,
        DNS_TYPE_PTR = 12,
        DNS_TYPE_MX = 15,
        DNS_TYPE_TXT = 16,
        DNS_TYPE_AAAA = 28,
        DNS_TYPE_OPT = 41,
        DNS_TYPE_ANY = 255,
};
enum { DNS_CLASS_IN = 1, DNS_CLASS_ANY = 255 };
enum {
        DNS_RCODE_NOERROR = 0,
        DNS_RCODE_FORMERR = 1,
        DNS_RCODE_SERVFAIL = 2,
        DNS_RCODE_NXDOMAIN = 3,
        DNS_RCODE_NOTIMP = 4,
        DNS_RCODE_REFUSED = 5,
        DNS_RCODE_BADVERS = 16, /* extended, carried in the OPT record */
};
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080

/* One parsed query. */
struct dns_query {
        uint16_t id, flags;
        uint16_t qtype, qclass;
        /* The question name uncompressed, as on the wire (for the reply) and dotted (for matching; bytes
         * outside printable ASCII, dots and backslashes inside a label are written \DDD). Root is "". */
        uint8_t qname_wire[256];
        size_t qname_wire_len;
        char qname[4 * 255 + 1];
        bool edns;
        uint16_t edns_udp_size;
        uint8_t edns_version;
        bool edns_do;
};

/* Parses a query message. Returns 0; -ENOMSG when there is nothing to answer (shorter than a header,
 * or a response rather than a query); -EBADMSG when it must be answered with an error: *ret_rcode is
 * FORMERR or NOTIMP and ret->id/flags are set. */
int dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *ret, int *ret_rcode);

/* Reads a possibly compressed name at *offset, advancing it past the name. Pointers must point
 * backwards, names are at most 255 bytes; anything else is -EBADMSG. wire (256 bytes) and dotted (1021
 * bytes) may be NULL. */
int dns_name_read(const uint8_t *buf, size_t len, size_t *offset, uint8_t *wire, size_t *wire_len,
                  char *dotted);

/* How a name is seen from a network. */
enum dns_lookup_result {
        DNS_LOOKUP_FOUND,   /* ours and visible: addresses (possibly none of the family) returned */
        DNS_LOOKUP_HIDDEN,  /* a name of the project, but not on any network the asker is on */
        DNS_LOOKUP_FOREIGN, /* not ours: forward it */
        DNS_LOOKUP_REFUSED, /* the asker is not on any of our networks */
};

/* Looks `name` (any case, trailing dot or not, with or without the table's domain) up as asked on
 * `network` by `source` (NULL: trust the network). family is AF_INET, AF_INET6 or AF_UNSPEC (both).
 * Up to max addresses go to ret, first the arrival network's, deduplicated; *ret_n counts them. */
enum dns_lookup_result dns_lookup(const struct dns_table *t, const char *network,
                                  const struct dns_addr *source, const char *name, int family,
                                  struct dns_addr *ret, size_t max, size_t *ret_n);
/* Reverse lookup: the name (names[0] of the entry, plus the domain if any) that owns addr; *ret is
 * owned by the table. */
enum dns_lookup_result dns_lookup_addr(const struct dns_table *t, const char *network,
                                       const struct dns_addr *source, const struct dns_addr *addr,
                                       const char **ret);
/* Whether names that are not ours may be forwarded for this asker: not when every network it is on is
 * internal (compose `internal: true`), which gets REFUSED instead, as it has no way out. */
bool dns_may_forward(const struct dns_table *t, const char *network, const struct dns_addr *source);
/* "4.3.2.1.in-addr.arpa" or the 32 nibbles of ip6.arpa -> address. */
int dns_reverse_name_parse(const char *name, struct dns_addr *ret);

enum dns_verdict {
        DNS_VERDICT_DROP,    /* do not reply at all */
        DNS_VERDICT_ANSWER,  /* send out[0..*ret_len) */
        DNS_VERDICT_FORWARD, /* send the query to the upstream resolvers */
};

/* Answers one query received on `network` from `source`. max_size is the transport's limit: 0 for UDP
 * (512, or what EDNS announces up to DNS_UDP_MAX_EDNS), DNS_MESSAGE_MAX for TCP. rotate shifts the
 * order of several addresses so that replicas share the load. out must hold DNS_MESSAGE_MAX bytes. */
enum dns_verdict dns_answer(const struct dns_table *t, const char *network, const struct dns_addr *source,
                            const uint8_t *query, size_t len, size_t max_size, unsigned rotate, uint8_t *out,
                            size_t *ret_len);

/* Builds a reply carrying only rcode (and the question when the query could be parsed); used for
 * SERVFAIL when forwarding fails. Returns the length, 0 when the query has no usable header. */
size_t dns_error_reply(const uint8_t *query, size_t len, int rcode, uint8_t *out, size_t size);

/* The nameservers of a resolv.conf file, in order. Unreadable files give none. */
char **dns_resolv_conf_servers(const char *path);

/* The /etc/resolv.conf for a container: our gateway addresses of its first network as nameservers, the
 * table's domain then the host's search domains, and the host's options, with "ndots:0" added unless the
 * host sets ndots (so that a service name is asked as it is before any search domain, as docker does).
 * host_resolv_conf may be unreadable: then only our lines. */
char *dns_container_resolv_conf(const struct dns_addr *servers, size_t n_servers, const char *domain,
                                const char *host_resolv_conf);

struct dns_server;

int dns_server_new(sd_event *e, struct dns_server **ret, struct stack_error *err);
struct dns_server *dns_server_free(struct dns_server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dns_server *, dns_server_free)
#define _cleanup_dns_server_ _cleanup_(dns_server_freep)

/* Settings for tests; call them before the first network is set. Defaults: port 53,
 * /etc/resolv.conf, upstream port 53, 2 s per upstream server. */
void dns_server_set_port(struct dns_server *s, uint16_t port);
void dns_server_set_resolv_conf(struct dns_server *s, const char *path);
void dns_server_set_upstream_port(struct dns_server *s, uint16_t port);
void dns_server_set_upstream_timeout(struct dns_server *s, uint64_t usec);

/* Adds or replaces one network: its records are swapped in at once, listening sockets are opened for
 * new gateway addresses and closed for old ones (sockets of unchanged gateways stay, so no query is
 * lost). On failure the previous state of that network is kept. */
int dns_server_set_network(struct dns_server *s, const struct dns_network *n, struct stack_error *err);
/* Returns 0, or -ENOENT when no such network is set. */
int dns_server_remove_network(struct dns_server *s, const char *name);
/* Makes the server serve exactly table t (networks not in t are removed); the domain is taken too. */
int dns_server_set_table(struct dns_server *s, const struct dns_table *t, struct stack_error *err);
/* Loads a records file and sets it; on a load error nothing changes. *ret_skipped (may be NULL) gets the
 * messages for names left out of it (dns_table.skipped), for the caller to report. */
int dns_server_reload(struct dns_server *s, const char *path, char ***ret_skipped, struct stack_error *err);
