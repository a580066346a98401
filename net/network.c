#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/network.h"

static int pool_from_env(const char *var, int family, struct ipam_pool *ret, struct stack_error *err)
{
        ipam_pool_default(family, ret);
        const char *v = getenv(var);
        if (isempty(v))
                return 0;
        const char *colon = strrchr(v, ':');
        _cleanup_free_ char *base = colon ? xstrndup(v, colon - v) : NULL;
        char *end = NULL;
        unsigned long size = colon ? strtoul(colon + 1, &end, 10) : 0;
        struct ipam_pool p;
        if (!colon || *end || ipam_prefix_parse(base, &p.base) < 0 || p.base.addr.family != family ||
            size < p.base.len || size > (family == AF_INET ? 30u : 126u))
                return stack_error_set(err, EINVAL, "%s=\"%s\": expected BASE/LEN:SIZE, e.g. %s", var, v,
                                       family == AF_INET ? "10.100.0.0/16:24" : "fd00:1::/48:64");
        p.size = (unsigned) size;
        *ret = p;
        return 0;
}

int network_ctx_open(const char *root, const char *run_root, struct network_ctx **ret,
                     struct stack_error *err)
{
        _cleanup_network_ctx_ struct network_ctx *ctx = xcalloc(1, sizeof(*ctx));
        ctx->root = xstrdup(root);
        ctx->run_root = xstrdup(run_root);
        int r = pool_from_env("STACK_ADDRESS_POOL", AF_INET, &ctx->pool4, err);
        if (r >= 0)
                r = pool_from_env("STACK_ADDRESS_POOL6", AF_INET6, &ctx->pool6, err);
        if (r >= 0)
                r = netlink_open(&ctx->sk, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

void network_ctx_free(struct network_ctx *ctx)
{
        if (!ctx)
                return;
        if (ctx->sk)
                netlink_close(ctx->sk);
        free(ctx->root);
        free(ctx->run_root);
        free(ctx);
}

void network_info_done(struct network_info *i)
{
        free(i->name);
        free(i->project);
        *i = (struct network_info){0};
}

static void info_from_ipam(const struct ipam_network *rec, struct network_info *i)
{
        const struct ipam_subnet *s4 = ipam_network_subnet(rec, AF_INET);
        const struct ipam_subnet *s6 = ipam_network_subnet(rec, AF_INET6);
        i->has4 = s4 != NULL;
        i->has6 = s6 != NULL;
        if (s4) {
                i->subnet4 = s4->subnet;
                i->gateway4 = s4->gateway;
        }
        if (s6) {
                i->subnet6 = s6->subnet;
                i->gateway6 = s6->gateway;
        }
}

static int routed_subnets(struct network_ctx *ctx, struct ipam_prefix **ret, size_t *ret_n,
                          struct stack_error *err)
{
        _cleanup_free_ struct ipam_prefix *v4 = NULL, *v6 = NULL;
        size_t n4 = 0, n6 = 0;
        int r = netlink_routed_subnets(ctx->sk, AF_INET, &v4, &n4, err);
        if (r >= 0)
                r = netlink_routed_subnets(ctx->sk, AF_INET6, &v6, &n6, err);
        if (r < 0)
                return r;
        struct ipam_prefix *all = xcalloc(n4 + n6, sizeof(*all));
        if (n4)
                memcpy(all, v4, n4 * sizeof(*all));
        if (n6)
                memcpy(all + n4, v6, n6 * sizeof(*all));
        *ret = all;
        *ret_n = n4 + n6;
        return 0;
}

static int setup_external(struct network_ctx *ctx, const struct network_spec *spec, struct network_info *ret,
                          struct stack_error *err)
{
        _cleanup_ipam_ struct ipam *ipam = NULL;
        int r = ipam_open(ctx->root, &ipam, err);
        if (r < 0)
                return r;
        const struct ipam_network *rec = ipam_network_find(ipam, spec->name);
        if (!rec || rec->external)
                return stack_error_set(err, ENOENT,
                                       "external network '%s' not found: create it first (with the project "
                                       "that declares it)",
                                       spec->name);
        _cleanup_free_ char *alias = netlink_bridge_alias(rec->project, spec->name);
        struct network_info i = {0};
        r = netlink_bridge_find_by_alias(ctx->sk, alias, i.bridge, err);
        if (r == -ENODEV)
                return stack_error_set(err, ENOENT,
                                       "external network '%s': its bridge is gone; bring up project "
                                       "'%s' again",
                                       spec->name, rec->project);
        if (r < 0)
                return r;
        /* The veths take the bridge's MTU, whatever the project that made it asked for. */
        r = netlink_link_get(ctx->sk, i.bridge, &i.ifindex, &i.mtu, NULL, NULL, err);
        if (r < 0)
                return r;
        i.name = xstrdup(spec->name);
        i.project = xstrdup(rec->project);
        i.external = true;
        i.internal = spec->internal;
        info_from_ipam(rec, &i);
        *ret = i;
        return 0;
}

int network_setup(struct network_ctx *ctx, const struct network_spec *spec, struct network_info *ret,
                  struct stack_error *err)
{
        if (spec->external)
                return setup_external(ctx, spec, ret, err);

        _cleanup_free_ struct ipam_prefix *in_use = NULL;
        size_t n_in_use = 0;
        int r = routed_subnets(ctx, &in_use, &n_in_use, err);
        if (r < 0)
                return stack_error_prefix(err, "network '%s'", spec->name);

        struct network_info i = {0};
        bool fresh = false;
        {
                _cleanup_ipam_ struct ipam *ipam = NULL;
                r = ipam_open(ctx->root, &ipam, err);
                if (r < 0)
                        return r;
                const struct ipam_network *existing = ipam_network_find(ipam, spec->name);
                fresh = !existing;
                if (existing && !streq(existing->project, spec->project))
                        return stack_error_set(
                            err, EEXIST,
                            "network '%s' already exists and belongs to project '%s' (declare it "
                            "external: true to share it)",
                            spec->name, existing->project);
                struct ipam_network_request req = {
                    .network = spec->name,
                    .project = spec->project,
                    .ipv4 = spec->ipv4,
                    .ipv6 = spec->ipv6,
                    .config = spec->ipam,
                    .n_config = spec->n_ipam,
                    .in_use = in_use,
                    .n_in_use = n_in_use,
                    .pool4 = &ctx->pool4,
                    .pool6 = &ctx->pool6,
                };
                const struct ipam_network *rec = NULL;
                r = ipam_network_ensure(ipam, &req, &rec, err);
                if (r < 0)
                        return r;
                info_from_ipam(rec, &i);
                /* Recorded before the bridge exists: a crash in between leaves a record that the next setup
                 * reuses and teardown removes, never a bridge nobody knows about. */
                r = ipam_save(ipam, err);
                if (r < 0)
                        return r;
        }

        if (spec->bridge)
                snprintf(i.bridge, sizeof(i.bridge), "%s", spec->bridge);
        else
                netlink_bridge_name(spec->name, i.bridge);
        _cleanup_free_ char *alias = netlink_bridge_alias(spec->project, spec->name);
        struct ipam_prefix addrs[2];
        size_t n = 0;
        if (i.has4)
                addrs[n++] = (struct ipam_prefix){.addr = i.gateway4, .len = i.subnet4.len};
        if (i.has6)
                addrs[n++] = (struct ipam_prefix){.addr = i.gateway6, .len = i.subnet6.len};
        struct netlink_bridge b = {
            .name = i.bridge,
            .alias = alias,
            .mtu = spec->mtu ? spec->mtu : NETWORK_DEFAULT_MTU,
            .addrs = addrs,
            .n_addrs = n,
        };
        r = netlink_bridge_ensure(ctx->sk, &b, &i.ifindex, err);
        if (r < 0) {
                /* A network that never got its bridge gives its subnet back (a crash here leaves the
                 * record, which the next setup or teardown takes care of). */
                _cleanup_ipam_ struct ipam *ipam = NULL;
                if (fresh && ipam_open(ctx->root, &ipam, NULL) >= 0 &&
                    ipam_network_release(ipam, spec->name, spec->project, NULL) >= 0)
                        (void) ipam_save(ipam, NULL);
                return stack_error_prefix(err, "network '%s'", spec->name);
        }
        i.name = xstrdup(spec->name);
        i.project = xstrdup(spec->project);
        i.internal = spec->internal;
        i.mtu = b.mtu;
        *ret = i;
        return 0;
}

/* The bridge of a network made by `project`, whatever its name (driver_opts may have set one). */
static int find_bridge(struct network_ctx *ctx, const char *project, const char *name, char ret[IFNAMSIZ],
                       struct stack_error *err)
{
        _cleanup_free_ char *alias = netlink_bridge_alias(project, name);
        return netlink_bridge_find_by_alias(ctx->sk, alias, ret, err);
}

int network_teardown(struct network_ctx *ctx, const char *project, const char *name, struct stack_error *err)
{
        _cleanup_ipam_ struct ipam *ipam = NULL;
        int r = ipam_open(ctx->root, &ipam, err);
        if (r < 0)
                return r;
        const struct ipam_network *rec = ipam_network_find(ipam, name);
        bool ours = !rec || (streq(rec->project, project) && !rec->external);
        if (!ours) {
                /* Someone else's network: only our containers' leases go. */
                for (size_t i = 0; i < ipam->n_leases;) {
                        const struct ipam_lease *l = &ipam->leases[i];
                        if (streq(l->network, name) && streq(l->project, project)) {
                                _cleanup_free_ char *owner = xstrdup(l->owner); /* freed by the release */
                                ipam_address_release(ipam, name, owner);
                        } else
                                i++;
                }
                return ipam_save(ipam, err);
        }
        /* Refuse before touching the kernel when other projects still have containers on it. */
        _cleanup_(strbuf_free) struct strbuf others = {0};
        size_t n_others = 0;
        for (size_t i = 0; i < ipam->n_leases; i++) {
                const struct ipam_lease *l = &ipam->leases[i];
                if (streq(l->network, name) && !streq(l->project, project))
                        strbuf_printf(&others, "%s%s", n_others++ ? ", " : "", l->owner);
        }
        if (n_others)
                return stack_error_set(err, EBUSY, "network '%s' has active endpoints of other projects: %s",
                                       name, others.buf);
        char bridge[IFNAMSIZ];
        r = find_bridge(ctx, project, name, bridge, err);
        if (r == 0) {
                _cleanup_free_ char *alias = netlink_bridge_alias(project, name);
                r = netlink_bridge_remove(ctx->sk, bridge, alias, err);
                if (r < 0)
                        return stack_error_prefix(err, "network '%s'", name);
        } else if (r != -ENODEV)
                return r;
        else {
                /* A bridge made but never given its alias (crash right after creation): recognized by its
                 * MAC; anything else under that name is not ours and stays. */
                netlink_bridge_name(name, bridge);
                _cleanup_free_ char *alias = netlink_bridge_alias(project, name);
                _cleanup_error_ struct stack_error e = {0};
                r = netlink_bridge_remove(ctx->sk, bridge, alias, &e);
                if (r < 0 && r != -EPERM) {
                        *err = e;
                        e = (struct stack_error){0};
                        return r;
                }
        }
        r = ipam_network_release(ipam, name, project, err);
        if (r < 0)
                return r;
        return ipam_save(ipam, err);
}

int network_list(struct network_ctx *ctx, const char *project, char ***ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **nets = NULL;
        {
                _cleanup_ipam_ struct ipam *ipam = NULL;
                int r = ipam_open(ctx->root, &ipam, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ipam->n_networks; i++)
                        if (streq(ipam->networks[i].project, project) && !ipam->networks[i].external)
                                strv_push(&nets, ipam->networks[i].name);
        }
        _cleanup_free_ char *prefix = netlink_bridge_alias(project, "");
        struct netlink_link_info *links = NULL;
        size_t n_links = 0;
        int r = netlink_links(ctx->sk, prefix, &links, &n_links, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_links; i++) {
                const char *net = startswith(links[i].alias, prefix);
                if (net && *net && !strv_contains(nets, net))
                        strv_push(&nets, net);
        }
        netlink_link_infos_free(links, n_links);
        *ret = TAKE_PTR(nets);
        return 0;
}

int network_netns_create(struct network_ctx *ctx, const char *project, const char *container,
                         char **ret_path, struct stack_error *err)
{
        return netns_create(ctx->run_root, project, container, ret_path, err);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
        unsigned v[6];
        char tail;
        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) v[i];
        if (mac[0] & 1)
                return -EINVAL; /* multicast */
        return 0;
}

/* A MAC derived from the IPv4 address, as docker did: a recreated container keeps it, so neighbours'
 * ARP entries stay right. 02: locally administered. */
static void mac_from_addr(const struct network_attachment *a, const char *container, const char *network,
                          uint8_t mac[6])
{
        mac[0] = 0x02;
        mac[1] = 0x53;
        if (a->has4) {
                memcpy(mac + 2, a->addr4.addr.bytes, 4);
                return;
        }
        char name[IFNAMSIZ];
        netlink_veth_name(network, container, name);
        for (int i = 2; i < 6; i++)
                mac[i] = (uint8_t) strtoul((char[]){name[3 + 2 * i], name[4 + 2 * i], 0}, NULL, 16);
}

/* A link_local_ips entry with the prefix length of its link-local range. */
static int link_local_parse(const char *s, struct ipam_prefix *ret)
{
        struct ipam_prefix ll4, ll6, p = {0};
        (void) ipam_prefix_parse("169.254.0.0/16", &ll4);
        (void) ipam_prefix_parse("fe80::/10", &ll6);
        if (ipam_addr_parse(s, &p.addr) < 0)
                return -EINVAL;
        if (ipam_prefix_contains(&ll4, &p.addr))
                p.len = 16;
        else if (ipam_prefix_contains(&ll6, &p.addr))
                p.len = 64;
        else
                return -EINVAL;
        *ret = p;
        return 0;
}

/* Names and MAC of an attachment: everything that needs neither the IPAM nor the kernel. */
static int attach_prepare(const struct network_info *net, const struct network_attach_spec *a,
                          struct network_attachment *at, struct stack_error *err)
{
        *at = (struct network_attachment){0};
        snprintf(at->ifname, sizeof(at->ifname), "%s", a->ifname ? a->ifname : "eth0");
        if (!netlink_ifname_valid(at->ifname))
                return stack_error_set(err, EINVAL, "container '%s': interface_name \"%s\" is not valid",
                                       a->container, at->ifname);
        netlink_veth_name(net->name, a->container, at->host_ifname);
        STRV_FOREACH (l, a->link_local_ips) {
                struct ipam_prefix ll;
                if (link_local_parse(*l, &ll) < 0)
                        return stack_error_set(err, EINVAL,
                                               "container '%s': link_local_ips: \"%s\" is not a link-local "
                                               "address (169.254.0.0/16 or fe80::/10)",
                                               a->container, *l);
        }
        if (a->mac_address && parse_mac(a->mac_address, at->mac) < 0)
                return stack_error_set(err, EINVAL,
                                       "container '%s': mac_address \"%s\" is not a unicast MAC",
                                       a->container, a->mac_address);
        return 0;
}

static int attach_addresses(struct ipam *ipam, const struct network_info *net,
                            const struct network_attach_spec *a, struct network_attachment *at,
                            struct stack_error *err)
{
        int r;
        if (net->has4) {
                r = ipam_address_ensure_declared(ipam, net->name, a->container, a->project, AF_INET,
                                                 a->ipv4_address, a->declared4, &at->addr4.addr, err);
                if (r < 0)
                        return r;
                at->addr4.len = net->subnet4.len;
                at->has4 = true;
        }
        if (net->has6) {
                r = ipam_address_ensure(ipam, net->name, a->container, a->project, AF_INET6, a->ipv6_address,
                                        &at->addr6.addr, err);
                if (r < 0)
                        return r;
                at->addr6.len = net->subnet6.len;
                at->has6 = true;
        }
        if (!a->mac_address)
                mac_from_addr(at, a->container, net->name, at->mac);
        return 0;
}

static int attach_link(struct network_ctx *ctx, const struct network_info *net,
                       const struct network_attach_spec *a, const struct network_attachment *at,
                       struct stack_error *err)
{
        _cleanup_free_ char *own = NULL;
        const char *path = a->netns_path;
        if (!path)
                path = own = netns_path(ctx->run_root, a->project, a->container);
        _cleanup_close_ int nsfd = netns_open(path, err);
        if (nsfd < 0)
                return stack_error_prefix(err, "container '%s'", a->container);
        _cleanup_nl_sock_ struct nl_sock *nsk = NULL;
        int r = netlink_open_in(nsfd, &nsk, err);
        if (r < 0)
                return stack_error_prefix(err, "container '%s'", a->container);
        size_t n = 0;
        _cleanup_free_ struct ipam_prefix *addrs =
            xcalloc(2 + strv_length(a->link_local_ips), sizeof(*addrs));
        if (at->has4)
                addrs[n++] = at->addr4;
        if (at->has6)
                addrs[n++] = at->addr6;
        STRV_FOREACH (l, a->link_local_ips)
                if (link_local_parse(*l, &addrs[n]) == 0) /* checked in attach_prepare */
                        n++;
        struct netlink_veth v = {
            .host_name = at->host_ifname,
            .bridge_ifindex = net->ifindex,
            .mtu = net->mtu,
            .netns_fd = nsfd,
            .ns_sk = nsk,
            .peer_name = at->ifname,
            .mac = at->mac,
            .addrs = addrs,
            .n_addrs = n,
        };
        if (a->default_route && !net->internal) {
                if (net->has4)
                        v.gateway4 = net->gateway4;
                if (net->has6)
                        v.gateway6 = net->gateway6;
        }
        r = netlink_veth_ensure(ctx->sk, &v, err);
        if (r < 0)
                return stack_error_prefix(err, "attach '%s' to network '%s'", a->container, net->name);
        return 0;
}

int network_attach_many(struct network_ctx *ctx, const struct network_info *net,
                        const struct network_attach_spec *a, size_t n, struct network_attachment *ret,
                        struct stack_error *err)
{
        _cleanup_free_ struct network_attachment *at = xcalloc(n, sizeof(*at));
        int r;
        for (size_t i = 0; i < n; i++)
                if ((r = attach_prepare(net, &a[i], &at[i], err)) < 0)
                        return r;
        {
                /* One IPAM transaction for all: the lease file is rewritten and synced once. Addresses are
                 * recorded before the links exist, so a crash in between leaves leases that the next attach
                 * reuses and teardown releases. */
                _cleanup_ipam_ struct ipam *ipam = NULL;
                r = ipam_open(ctx->root, &ipam, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if ((r = attach_addresses(ipam, net, &a[i], &at[i], err)) < 0)
                                return r;
                r = ipam_save(ipam, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++)
                if ((r = attach_link(ctx, net, &a[i], &at[i], err)) < 0)
                        return r;
        memcpy(ret, at, n * sizeof(*at));
        return 0;
}

int network_attach(struct network_ctx *ctx, const struct network_info *net,
                   const struct network_attach_spec *a, struct network_attachment *ret,
                   struct stack_error *err)
{
        return network_attach_many(ctx, net, a, 1, ret, err);
}

int network_detach(struct network_ctx *ctx, const char *network, const char *project, const char *container,
                   struct stack_error *err)
{
        char host[IFNAMSIZ];
        netlink_veth_name(network, container, host);
        int r = netlink_link_remove(ctx->sk, host, err);
        if (r < 0)
                return stack_error_prefix(err, "detach '%s' from network '%s'", container, network);
        _cleanup_ipam_ struct ipam *ipam = NULL;
        r = ipam_open(ctx->root, &ipam, err);
        if (r < 0)
                return r;
        ipam_address_release(ipam, network, container);
        return ipam_save(ipam, err);
}

int network_container_remove(struct network_ctx *ctx, const char *project, const char *container,
                             struct stack_error *err)
{
        _cleanup_free_ char *path = netns_path(ctx->run_root, project, container);
        if (netns_is_mounted(path)) {
                /* Deleting the veths now, rather than leaving it to the namespace's destruction, makes their
                 * host ends disappear before we return: the kernel frees a namespace asynchronously. */
                _cleanup_close_ int fd = netns_open(path, err);
                if (fd < 0)
                        return fd;
                _cleanup_nl_sock_ struct nl_sock *nsk = NULL;
                int r = netlink_open_in(fd, &nsk, err);
                if (r >= 0)
                        r = netlink_remove_veths(nsk, err);
                if (r < 0)
                        return stack_error_prefix(err, "container '%s'", container);
        }
        _cleanup_ipam_ struct ipam *ipam = NULL;
        int r = ipam_open(ctx->root, &ipam, err);
        if (r < 0)
                return r;
        ipam_address_release(ipam, NULL, container);
        r = ipam_save(ipam, err);
        if (r < 0)
                return r;
        return netns_remove(ctx->run_root, project, container, err);
}

int network_project_teardown(struct network_ctx *ctx, const char *project, struct stack_error *err)
{
        _cleanup_strv_free_ char **names = NULL;
        int r = netns_list(ctx->run_root, project, &names, err);
        if (r < 0)
                return r;
        /* The containers' veths go in one batch (one RCU grace period for all, not one each), before their
         * namespaces, whose destruction the kernel finishes asynchronously: so no host end outlives us. */
        _cleanup_free_ int *peers = NULL;
        size_t n_peers = 0;
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *path = netns_path(ctx->run_root, project, *n);
                if (!netns_is_mounted(path))
                        continue;
                _cleanup_close_ int fd = netns_open(path, err);
                if (fd < 0)
                        return fd;
                _cleanup_nl_sock_ struct nl_sock *nsk = NULL;
                r = netlink_open_in(fd, &nsk, err);
                if (r >= 0)
                        r = netlink_veth_peers(nsk, &peers, &n_peers, err);
                if (r < 0)
                        return stack_error_prefix(err, "container '%s'", *n);
        }
        r = netlink_veths_delete(ctx->sk, peers, n_peers, err);
        if (r < 0)
                return r;
        STRV_FOREACH (n, names) {
                r = netns_remove(ctx->run_root, project, *n, err);
                if (r < 0)
                        return r;
        }

        /* Every lease of the project, also of containers whose namespace was already gone. */
        {
                _cleanup_ipam_ struct ipam *ipam = NULL;
                r = ipam_open(ctx->root, &ipam, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ipam->n_leases;) {
                        const struct ipam_lease *l = &ipam->leases[i];
                        if (streq(l->project, project)) {
                                /* A copy: the release frees the lease, and with it the owner string, while
                                 * it still compares the owner's other leases (IPv4 and IPv6) against it. */
                                _cleanup_free_ char *owner = xstrdup(l->owner);
                                ipam_address_release(ipam, NULL, owner);
                        } else
                                i++;
                }
                r = ipam_save(ipam, err);
                if (r < 0)
                        return r;
        }
        _cleanup_strv_free_ char **nets = NULL;
        r = network_list(ctx, project, &nets, err);
        if (r < 0)
                return r;

        int busy = 0;
        _cleanup_error_ struct stack_error busy_err = {0};
        STRV_FOREACH (n, nets) {
                _cleanup_error_ struct stack_error e = {0};
                r = network_teardown(ctx, project, *n, &e);
                if (r == -EBUSY && !busy) {
                        busy = r;
                        busy_err = e;
                        e = (struct stack_error){0};
                } else if (r < 0 && r != -EBUSY) {
                        *err = e;
                        e = (struct stack_error){0};
                        return r;
                }
        }
        if (busy) {
                *err = busy_err;
                busy_err = (struct stack_error){0};
                return busy;
        }
        return 0;
}

int network_mode_parse(const char *mode, struct network_mode *ret, struct stack_error *err)
{
        struct network_mode m = {.kind = NETWORK_MODE_BRIDGE};
        const char *t;
        if (!mode || streq(mode, "bridge") || streq(mode, "default"))
                m.kind = NETWORK_MODE_BRIDGE;
        else if (streq(mode, "none"))
                m.kind = NETWORK_MODE_NONE;
        else if (streq(mode, "host"))
                m.kind = NETWORK_MODE_HOST;
        else if ((t = startswith(mode, "service:"))) {
                m.kind = NETWORK_MODE_SERVICE;
                m.target = t;
        } else if ((t = startswith(mode, "container:"))) {
                m.kind = NETWORK_MODE_CONTAINER;
                m.target = t;
        } else
                return stack_error_set(
                    err, EINVAL, "network_mode \"%s\": expected none, host, service:NAME or container:NAME",
                    mode);
        if ((m.kind == NETWORK_MODE_SERVICE || m.kind == NETWORK_MODE_CONTAINER) &&
            (isempty(m.target) || strchr(m.target, '/')))
                return stack_error_set(err, EINVAL, "network_mode \"%s\": missing or invalid name", mode);
        *ret = m;
        return 0;
}

int network_service_netns(const struct network_ctx *ctx, const char *project, const char *service,
                          const char *target, char **ret_path, struct stack_error *err)
{
        _cleanup_free_ char *path = netns_path(ctx->run_root, project, target);
        if (!netns_is_mounted(path))
                return stack_error_set(err, ENOENT,
                                       "network_mode service:%s: its container %s has no network namespace "
                                       "yet",
                                       service, target);
        *ret_path = TAKE_PTR(path);
        return 0;
}

int network_mode_netns(const struct network_ctx *ctx, const char *project, const char *container,
                       const char *mode, char **ret_path, struct stack_error *err)
{
        struct network_mode m;
        int r = network_mode_parse(mode, &m, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        switch (m.kind) {
        case NETWORK_MODE_HOST:
                *ret_path = NULL;
                return 0;
        case NETWORK_MODE_BRIDGE:
        case NETWORK_MODE_NONE:
                path = netns_path(ctx->run_root, project, container);
                break;
        case NETWORK_MODE_SERVICE: {
                /* Replica 1 of the service with the default name; a caller that knows the service's
                 * container_name calls network_service_netns() with it. */
                _cleanup_free_ char *first = xasprintf("%s-%s-1", project, m.target);
                return network_service_netns(ctx, project, m.target, first, ret_path, err);
        }
        case NETWORK_MODE_CONTAINER:
                if (netns_find(ctx->run_root, m.target, &path) < 0)
                        return stack_error_set(err, ENOENT,
                                               "network_mode container:%s: no container of that name has a "
                                               "network namespace made by stack",
                                               m.target);
                break;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

void network_status_done(struct network_status *s)
{
        network_info_done(&s->info);
        for (size_t i = 0; i < s->n_endpoints; i++) {
                free(s->endpoints[i].container);
                free(s->endpoints[i].project);
        }
        free(s->endpoints);
        *s = (struct network_status){0};
}

int network_status(struct network_ctx *ctx, const char *name, struct network_status *ret,
                   struct stack_error *err)
{
        _cleanup_ipam_ struct ipam *ipam = NULL;
        int r = ipam_open(ctx->root, &ipam, err);
        if (r < 0)
                return r;
        const struct ipam_network *rec = ipam_network_find(ipam, name);
        if (!rec)
                return stack_error_set(err, ENOENT, "network '%s' not found", name);
        struct network_status s = {0};
        s.info.name = xstrdup(name);
        s.info.project = xstrdup(rec->project);
        info_from_ipam(rec, &s.info);
        _cleanup_free_ char *alias = netlink_bridge_alias(rec->project, name);
        r = netlink_bridge_find_by_alias(ctx->sk, alias, s.info.bridge, err);
        if (r < 0 && r != -ENODEV) {
                network_status_done(&s);
                return r;
        }
        if (r == 0) {
                s.in_kernel = true;
                _cleanup_error_ struct stack_error ignored = {0}; /* gone in between: reported as absent */
                if (netlink_link_get(ctx->sk, s.info.bridge, &s.info.ifindex, &s.info.mtu, NULL, NULL,
                                     &ignored) < 0)
                        s.in_kernel = false;
        } else
                netlink_bridge_name(name, s.info.bridge);
        for (size_t i = 0; i < ipam->n_leases; i++) {
                const struct ipam_lease *l = &ipam->leases[i];
                if (!streq(l->network, name))
                        continue;
                struct network_endpoint *e = NULL;
                for (size_t j = 0; j < s.n_endpoints && !e; j++)
                        if (streq(s.endpoints[j].container, l->owner))
                                e = &s.endpoints[j];
                if (!e) {
                        s.endpoints = xrealloc(s.endpoints, (s.n_endpoints + 1) * sizeof(*s.endpoints));
                        e = &s.endpoints[s.n_endpoints++];
                        *e = (struct network_endpoint){.container = xstrdup(l->owner),
                                                       .project = xstrdup(l->project)};
                }
                if (l->addr.family == AF_INET)
                        e->addr4 = l->addr;
                else
                        e->addr6 = l->addr;
        }
        *ret = s;
        return 0;
}
