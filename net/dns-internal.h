/* What the DNS responder's two files share. Not for use outside net/dns*.c. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "net/dns.h"

/* Answers carry TTL 0: a recreated container comes back with another address and we have no way to
 * flush a cache inside a container, so nothing should keep our answers. */
#define DNS_TTL 0
/* The most addresses one answer lists; far more than fit a TCP message of AAAA records anyway. */
#define DNS_MAX_ADDRS 4096
#define DNS_MAX_FORWARDS 256
#define DNS_MAX_TCP_CONNS 64
#define DNS_TCP_IDLE_USEC (10 * 1000000ULL)
#define DNS_TCP_OUT_MAX (128 * 1024)
#define DNS_UPSTREAM_TIMEOUT_USEC (2 * 1000000ULL)

/* Big-endian fields of the wire format. */
uint16_t dns_rd16(const uint8_t *p);
void dns_wr16(uint8_t *p, uint16_t v);
/* The largest UDP reply the query's sender accepts (512, or its EDNS0 size). */
size_t dns_udp_limit(const struct dns_query *q);
