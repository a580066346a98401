/* The compose model in net/'s terms: the adapters between spec/model.h and the model-free inputs of
 * net/network.h, net/ipam.h and net/firewall.h. net/ knows networks, links and rules, not compose files;
 * everything that reads a `struct stack_*` to drive it lives here. */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "net/firewall.h"
#include "net/ipam.h"
#include "net/network.h"
#include "spec/model.h"

/* A network_spec with the storage its pointers need (ipam.config entries and their aux_addresses);
 * string pointers still point into the model, which must outlive it. */
struct netmodel_network {
        struct network_spec spec;
        struct ipam_config *ipam;
        struct ipam_aux_address *aux;
};

/* From the model: driver must be bridge (or unset); driver_opts com.docker.network.bridge.name and
 * com.docker.network.driver.mtu are honoured. */
int netmodel_network(const char *project, const struct stack_network *n, struct netmodel_network *ret,
                     struct stack_error *err);
void netmodel_network_done(struct netmodel_network *m);

/* The order of a service's networks: interface names eth0, eth1, ... by descending `priority` (then file
 * order), unless interface_name says otherwise; the default route through the network with the highest
 * gw_priority (the first on a tie). */
struct netmodel_attachment {
        const struct stack_service_network *sn;
        const struct stack_network *net;
        char ifname[IFNAMSIZ];
        bool default_route;
};
int netmodel_service_plan(const struct stack_project *p, const struct stack_service *s,
                          struct netmodel_attachment **ret, size_t *ret_n, struct stack_error *err);

/* One compose port (already normalized to one entry per container port) as a fw_port on `network` towards
 * container_ip. A published range ("8000-8010:80") becomes a pick range for ports_assign(). sctp and IPv6
 * host addresses are refused (-EOPNOTSUPP). ret->network points at `network`. */
int netmodel_port(const struct stack_port *sp, const char *network, struct in_addr container_ip,
                  struct fw_port *ret, struct stack_error *err);
