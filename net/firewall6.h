/* IPv6 isolation between stack's networks (libip6tc, firewall-ip6tc.c).
 *
 * A network with enable_ipv6 has an IPv6 subnet on its bridge and the host forwards IPv6, so without
 * rules of ours another network or another host reaches its containers directly. This is the IPv6 half
 * of the isolation part of firewall.h, nothing more: no published ports over IPv6 and no NAT66.
 *
 * Layout, in ip6tables' filter table (a separate family, so the names are those of IPv4):
 *   FORWARD -j STACK-FORWARD
 *   STACK-FORWARD -j STACK-<hash>-INT     internal networks: nothing leaves the bridge
 *   STACK-FORWARD -j STACK-<hash>-ISO     per bridge: replies in, its own traffic, nothing else in
 * with the same markers ("stack:<project>", "stack:<project>:<network>") and the same group order across
 * projects as the IPv4 backend. A project without IPv6 networks has no chain here and changes nothing. */
#pragma once

#include <stddef.h>

#include "core/base/error.h"
#include "net/firewall.h"

/* The IPv6 rules for the networks with ipv6 set (pure). Fails (-EINVAL) on a bridge name that does not
 * fit an interface name. The set has no chain at all when no network has IPv6. */
int firewall6_build(const char *project, const struct fw_network *networks, size_t n_networks,
                    struct fw_ruleset *ret, struct stack_error *err);

/* Replaces everything the project had in ip6tables with the rules for `networks`: at most one commit of
 * the filter table, none when it already holds exactly those, under /run/xtables.lock. Where the host
 * has no ip6tables filter table and the project no IPv6 network, it does nothing. *ret_commits (may be
 * NULL) gets the number of commits made. */
int firewall6_apply(const char *project, const struct fw_network *networks, size_t n_networks,
                    unsigned *ret_commits, struct stack_error *err);

/* Removes the project's IPv6 chains and jumps, then STACK-FORWARD and its hook jump once unused;
 * idempotent. */
int firewall6_remove_project(const char *project, unsigned *ret_commits, struct stack_error *err);
