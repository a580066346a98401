/* Host ports: is a port free, who holds it, and a free one when the compose file does not say.
 *
 * A port is taken when a host process has bound it (found by trying bind(), and named through
 * /proc/net/{tcp,udp} and the socket inodes under /proc/<pid>/fd) or when another project already
 * publishes it (the list comes from firewall_list_published()). Both are checked before anything is
 * changed, so a clash leaves the host as it was. */
#pragma once

#include <netinet/in.h>
#include <stdint.h>

#include "core/base/error.h"
#include "net/firewall.h"

/* Who holds host port `port`: fills "process NAME (pid N)" into ret when a local socket bound to the port
 * belongs to a process we can see; -ENOENT when none is found. */
int ports_find_owner(enum fw_proto proto, uint16_t port, char **ret);

/* 0 when host_ip:port/proto can be bound now; -EADDRINUSE (with the owner in err when known) if not. */
int ports_probe(enum fw_proto proto, struct in_addr host_ip, uint16_t port, struct stack_error *err);

/* Checks that every port of `project` is free: not published by another project (`published`, as read
 * from the firewall; entries of `project` itself are its own and fine), not listed twice, and bindable.
 * Ports with host_port 0 are skipped (see ports_assign). */
int ports_check(const char *project, const struct fw_port *ports, size_t n_ports,
                const struct fw_published *published, size_t n_published, struct stack_error *err);

/* Fills host_port of every port that has none with a free port from its pick range, or else the
 * ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), starting at a random point; a port the
 * project already publishes for the same container port (and within the pick range) is kept, so a
 * re-apply does not move it. */
int ports_assign(const char *project, struct fw_port *ports, size_t n_ports,
                 const struct fw_published *published, size_t n_published, struct stack_error *err);

/* The ephemeral range of this network namespace. */
int ports_ephemeral_range(uint16_t *ret_lo, uint16_t *ret_hi);
