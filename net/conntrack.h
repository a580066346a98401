/* Conntrack entries that would keep a published UDP port going to the wrong place.
 *
 * NAT is decided once per connection. A UDP client that keeps sending to a host port keeps its
 * conntrack entry alive, so after the port is (re)published, or its container got a new address, the
 * packets still follow the old entry: not DNATed at all, or DNATed to the old address (Docker issue
 * 8795, CNI portmap does the same cleanup). Such entries are deleted through ctnetlink; the next packet
 * creates a fresh entry that meets the new DNAT rule. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

struct conntrack_udp_target {
        struct in_addr host_ip; /* INADDR_ANY: every local address */
        uint16_t host_port;
        struct in_addr to_addr; /* where the port leads now */
        uint16_t to_port;
};

/* Deletes IPv4 UDP entries towards a local address and one of the host ports whose reply does not come
 * from the port's current destination. Entries of flows to other hosts are never touched. */
int conntrack_flush_stale_udp(const struct conntrack_udp_target *targets, size_t n, unsigned *ret_deleted,
                              struct stack_error *err);
