/* The compose model in net/'s terms (netmodel.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/netmodel.h"
#include "net/netlink.h"

#define OPT_BRIDGE_NAME "com.docker.network.bridge.name"
#define OPT_MTU "com.docker.network.driver.mtu"

static void ipam_from_model(const struct stack_network *n, struct netmodel_network *m)
{
        size_t n_aux = 0;
        for (size_t i = 0; i < n->n_ipam; i++)
                n_aux += n->ipam[i].aux_addresses.n;
        m->ipam = xcalloc(n->n_ipam + 1, sizeof(*m->ipam));
        m->aux = xcalloc(n_aux + 1, sizeof(*m->aux));
        struct ipam_aux_address *aux = m->aux;
        for (size_t i = 0; i < n->n_ipam; i++) {
                const struct stack_ipam_config *c = &n->ipam[i];
                m->ipam[i] = (struct ipam_config){
                    .subnet = c->subnet,
                    .ip_range = c->ip_range,
                    .gateway = c->gateway,
                    .aux = aux,
                    .n_aux = c->aux_addresses.n,
                };
                for (size_t k = 0; k < c->aux_addresses.n; k++)
                        *aux++ = (struct ipam_aux_address){c->aux_addresses.items[k].key,
                                                           c->aux_addresses.items[k].value};
        }
}

void netmodel_network_done(struct netmodel_network *m)
{
        free(m->ipam);
        free(m->aux);
        *m = (struct netmodel_network){0};
}

static int spec_from_model(const char *project, const struct stack_network *n, struct network_spec *ret,
                           struct stack_error *err)
{
        if (n->driver && !streq(n->driver, "bridge"))
                return stack_error_set(err, EOPNOTSUPP,
                                       "network '%s': driver '%s' is not supported (only bridge)", n->key,
                                       n->driver);
        struct network_spec s = {
            .name = n->name,
            .project = project,
            .external = n->external,
            .internal = n->internal,
            .ipv4 = n->enable_ipv4,
            .ipv6 = n->enable_ipv6,
        };
        if (n->ipam_driver && !streq(n->ipam_driver, "default"))
                return stack_error_set(err, EOPNOTSUPP, "network '%s': ipam driver '%s' is not supported",
                                       n->key, n->ipam_driver);
        const struct stack_kv *kv = stack_kvlist_get(&n->driver_opts, OPT_BRIDGE_NAME);
        if (kv && kv->value) {
                if (!netlink_ifname_valid(kv->value))
                        return stack_error_set(err, EINVAL,
                                               "network '%s': driver_opts.%s: \"%s\" is not a valid "
                                               "interface name (at most 15 characters)",
                                               n->key, OPT_BRIDGE_NAME, kv->value);
                s.bridge = kv->value;
        }
        kv = stack_kvlist_get(&n->driver_opts, OPT_MTU);
        if (kv && kv->value) {
                char *end;
                unsigned long mtu = strtoul(kv->value, &end, 10);
                if (*end || mtu < 68 || mtu > 65535)
                        return stack_error_set(err, EINVAL,
                                               "network '%s': driver_opts.%s: \"%s\" is not an MTU", n->key,
                                               OPT_MTU, kv->value);
                s.mtu = (unsigned) mtu;
        }
        if (!s.ipv4 && !s.ipv6)
                return stack_error_set(err, EINVAL, "network '%s': neither IPv4 nor IPv6 is enabled",
                                       n->key);
        *ret = s;
        return 0;
}

int netmodel_network(const char *project, const struct stack_network *n, struct netmodel_network *ret,
                     struct stack_error *err)
{
        struct netmodel_network m = {0};
        int r = spec_from_model(project, n, &m.spec, err);
        if (r < 0)
                return r;
        ipam_from_model(n, &m);
        m.spec.ipam = m.ipam;
        m.spec.n_ipam = n->n_ipam;
        *ret = m;
        return 0;
}

static int cmp_priority(const void *a, const void *b)
{
        const struct netmodel_attachment *x = a, *y = b;
        if (x->sn->priority != y->sn->priority)
                return x->sn->priority > y->sn->priority ? -1 : 1;
        return x->sn < y->sn ? -1 : x->sn > y->sn;
}

int netmodel_service_plan(const struct stack_project *p, const struct stack_service *s,
                          struct netmodel_attachment **ret, size_t *ret_n, struct stack_error *err)
{
        _cleanup_free_ struct netmodel_attachment *e = xcalloc(s->n_networks, sizeof(*e));
        for (size_t i = 0; i < s->n_networks; i++) {
                e[i].sn = &s->networks[i];
                e[i].net = stack_project_network(p, s->networks[i].name);
                if (!e[i].net)
                        return stack_error_set(err, ENOENT, "service '%s': network '%s' is not declared",
                                               s->name, s->networks[i].name);
        }
        /* Stable: ties keep file order (sn pointers are in file order). */
        qsort(e, s->n_networks, sizeof(*e), cmp_priority);
        unsigned next = 0;
        size_t best = 0;
        for (size_t i = 0; i < s->n_networks; i++) {
                if (e[i].sn->interface_name) {
                        if (!netlink_ifname_valid(e[i].sn->interface_name))
                                return stack_error_set(
                                    err, EINVAL,
                                    "service '%s': networks.%s.interface_name: \"%s\" is not a "
                                    "valid interface name",
                                    s->name, e[i].sn->name, e[i].sn->interface_name);
                        snprintf(e[i].ifname, IFNAMSIZ, "%s", e[i].sn->interface_name);
                } else {
                        /* Skip numbers taken by an explicit interface_name. */
                        for (;;) {
                                char cand[IFNAMSIZ];
                                snprintf(cand, sizeof(cand), "eth%u", next++);
                                bool taken = false;
                                for (size_t j = 0; j < s->n_networks && !taken; j++)
                                        taken =
                                            e[j].sn->interface_name && streq(e[j].sn->interface_name, cand);
                                if (!taken) {
                                        memcpy(e[i].ifname, cand, IFNAMSIZ);
                                        break;
                                }
                        }
                }
                if (e[i].sn->gw_priority > e[best].sn->gw_priority)
                        best = i;
        }
        for (size_t i = 0; i < s->n_networks; i++)
                for (size_t j = i + 1; j < s->n_networks; j++)
                        if (streq(e[i].ifname, e[j].ifname))
                                return stack_error_set(
                                    err, EINVAL,
                                    "service '%s': networks '%s' and '%s' both use interface "
                                    "'%s'",
                                    s->name, e[i].sn->name, e[j].sn->name, e[i].ifname);
        if (s->n_networks)
                e[best].default_route = true;
        *ret_n = s->n_networks;
        *ret = TAKE_PTR(e);
        return 0;
}

int netmodel_port(const struct stack_port *sp, const char *network, struct in_addr container_ip,
                  struct fw_port *ret, struct stack_error *err)
{
        struct fw_port p = {.network = network, .container_ip = container_ip, .container_port = sp->target};
        if (sp->protocol == STACK_PROTO_UDP)
                p.proto = FW_PROTO_UDP;
        else if (sp->protocol != STACK_PROTO_TCP)
                return stack_error_set(err, EOPNOTSUPP, "port %u: only tcp and udp can be published",
                                       sp->target);
        if (!isempty(sp->host_ip) && !streq(sp->host_ip, "0.0.0.0")) {
                if (strchr(sp->host_ip, ':'))
                        return stack_error_set(err, EOPNOTSUPP,
                                               "port %s:%u: IPv6 host addresses are not supported",
                                               sp->host_ip, sp->target);
                if (inet_pton(AF_INET, sp->host_ip, &p.host_ip) != 1)
                        return stack_error_set(err, EINVAL, "port %u: invalid host address '%s'", sp->target,
                                               sp->host_ip);
        }
        if (sp->published_end > sp->published_start && sp->published_start) {
                p.pick_lo = sp->published_start;
                p.pick_hi = sp->published_end;
        } else
                p.host_port = sp->published_start;
        *ret = p;
        return 0;
}
