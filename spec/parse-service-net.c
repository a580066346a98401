/* The networking keys of a service: ports and expose (short syntax normalized to the long one), and networks
 * with their aliases, addresses and priorities. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/dotenv.h"
#include "spec/parse-internal.h"
#include "spec/units.h"
#include "spec/parse-service-internal.h"

/* ---- ports and expose ---- */

static int port_range(const char *s, uint16_t *ret_start, uint16_t *ret_end)
{
        int64_t a, b;
        const char *dash = strchr(s, '-');
        if (!dash) {
                if (units_parse_int(s, 0, 65535, &a) < 0)
                        return -EINVAL;
                *ret_start = *ret_end = (uint16_t) a;
                return 0;
        }
        _cleanup_free_ char *first = xstrndup(s, (size_t) (dash - s));
        if (units_parse_int(first, 0, 65535, &a) < 0 || units_parse_int(dash + 1, 0, 65535, &b) < 0 || b < a)
                return -EINVAL;
        *ret_start = (uint16_t) a;
        *ret_end = (uint16_t) b;
        return 0;
}

static int parse_proto(const char *s, enum stack_proto *ret)
{
        if (strcasecmp(s, "tcp") == 0)
                *ret = STACK_PROTO_TCP;
        else if (strcasecmp(s, "udp") == 0)
                *ret = STACK_PROTO_UDP;
        else if (strcasecmp(s, "sctp") == 0)
                *ret = STACK_PROTO_SCTP;
        else
                return -EINVAL;
        return 0;
}

static struct stack_port *add_port(struct stack_port **arr, size_t *n, struct node_mark mark)
{
        *arr = xrealloc(*arr, (*n + 1) * sizeof(struct stack_port));
        struct stack_port *p = &(*arr)[(*n)++];
        *p = (struct stack_port){.mark = mark};
        return p;
}

/* Appends one entry per container port; a single container port with a host range keeps the range as
 * "any free port in it", as docker's nat.ParsePortSpec does. */
static int add_port_range(struct stack_service *s, const struct node *n, const char *path, uint16_t t_start,
                          uint16_t t_end, bool has_host, uint16_t h_start, uint16_t h_end,
                          const char *host_ip, enum stack_proto proto, const char *spec,
                          struct stack_error *err)
{
        if (has_host && (t_end - t_start) != (h_end - h_start) && t_end != t_start)
                return spec_error(
                    err, n->mark, path,
                    "invalid port range \"%s\": the host range and the container range differ in "
                    "length",
                    spec);
        for (unsigned i = 0; i <= (unsigned) (t_end - t_start); i++) {
                struct stack_port *p = add_port(&s->ports, &s->n_ports, n->mark);
                p->target = (uint16_t) (t_start + i);
                p->protocol = proto;
                p->mode = xstrdup("ingress");
                p->host_ip = host_ip ? xstrdup(host_ip) : NULL;
                if (!has_host)
                        continue;
                if (t_start == t_end) {
                        p->published_start = h_start;
                        p->published_end = h_end;
                } else
                        p->published_start = p->published_end = (uint16_t) (h_start + i);
        }
        return 0;
}

static int parse_port_short(struct svc *c, const struct node *n, const char *path, struct stack_error *err)
{
        const char *spec = n->scalar;
        _cleanup_strv_free_ char **parts = strv_split(spec, ":");
        size_t np = strv_length(parts);
        _cleanup_free_ char *ip = NULL, *host = NULL, *container = NULL;

        /* As docker: the last part is the container port, the one before the host port, and everything
         * before that the host IP (which may itself contain colons: "::1:6000:6000"). */
        container = xstrdup(parts[np - 1]);
        if (np >= 2)
                host = xstrdup(parts[np - 2]);
        if (np >= 3) {
                char *saved = parts[np - 2];
                parts[np - 2] = NULL;
                ip = strv_join(parts, ":");
                parts[np - 2] = saved;
        }
        enum stack_proto proto = STACK_PROTO_TCP;
        char *slash = strchr(container, '/');
        if (slash) {
                *slash = '\0';
                if (slash[1] && parse_proto(slash + 1, &proto) < 0)
                        return spec_error(err, n->mark, path, "invalid protocol \"%s\" in \"%s\"", slash + 1,
                                          spec);
        }
        if (ip && ip[0] == '[') {
                size_t l = strlen(ip);
                if (l < 2 || ip[l - 1] != ']')
                        return spec_error(err, n->mark, path, "invalid IP address \"%s\" in \"%s\"", ip,
                                          spec);
                memmove(ip, ip + 1, l - 2);
                ip[l - 2] = '\0';
        }
        if (ip && !isempty(ip) && !parse_is_ip(ip, NULL))
                return spec_error(err, n->mark, path, "invalid IP address \"%s\" in \"%s\"", ip, spec);
        if (isempty(container))
                return spec_error(err, n->mark, path, "no container port specified in \"%s\"", spec);
        uint16_t ts, te, hs = 0, he = 0;
        if (port_range(container, &ts, &te) < 0 || ts == 0)
                return spec_error(err, n->mark, path, "invalid container port \"%s\" in \"%s\"", container,
                                  spec);
        bool has_host = !isempty(host);
        if (has_host && port_range(host, &hs, &he) < 0)
                return spec_error(err, n->mark, path, "invalid host port \"%s\" in \"%s\"", host, spec);
        return add_port_range(c->s, n, path, ts, te, has_host, hs, he, isempty(ip) ? NULL : ip, proto, spec,
                              err);
}

static int parse_port_long(struct svc *c, const struct node *n, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"name",      "mode",     "host_ip",      "target",
                                           "published", "protocol", "app_protocol", NULL};
        int r;
        if ((r = parse_check_keys(n, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *target = NULL, *published = NULL, *host_ip = NULL, *protocol = NULL,
                            *mode = NULL, *name = NULL, *app = NULL;
        _cleanup_free_ char *p_target = node_path_key(path, "target");
        _cleanup_free_ char *p_pub = node_path_key(path, "published");
        _cleanup_free_ char *p_ip = node_path_key(path, "host_ip");
        _cleanup_free_ char *p_proto = node_path_key(path, "protocol");
        _cleanup_free_ char *p_mode = node_path_key(path, "mode");
        _cleanup_free_ char *p_name = node_path_key(path, "name");
        _cleanup_free_ char *p_app = node_path_key(path, "app_protocol");
        if ((r = parse_string(node_get(n, "target"), p_target, &target, err)) < 0 ||
            (r = parse_string(node_get(n, "published"), p_pub, &published, err)) < 0 ||
            (r = parse_string(node_get(n, "host_ip"), p_ip, &host_ip, err)) < 0 ||
            (r = parse_string(node_get(n, "protocol"), p_proto, &protocol, err)) < 0 ||
            (r = parse_string(node_get(n, "mode"), p_mode, &mode, err)) < 0 ||
            (r = parse_string(node_get(n, "name"), p_name, &name, err)) < 0 ||
            (r = parse_string(node_get(n, "app_protocol"), p_app, &app, err)) < 0)
                return r;
        int64_t t;
        if (!target)
                return spec_error(err, n->mark, path, "target is required");
        if (units_parse_int(target, 1, 65535, &t) < 0)
                return spec_error(err, node_get(n, "target")->mark, p_target,
                                  "invalid container port \"%s\"", target);
        uint16_t hs = 0, he = 0;
        if (!isempty(published) && port_range(published, &hs, &he) < 0)
                return spec_error(err, node_get(n, "published")->mark, p_pub, "invalid port range \"%s\"",
                                  published);
        enum stack_proto proto = STACK_PROTO_TCP;
        if (protocol && parse_proto(protocol, &proto) < 0)
                return spec_error(err, node_get(n, "protocol")->mark, p_proto, "invalid protocol \"%s\"",
                                  protocol);
        if (host_ip && host_ip[0] == '[' && endswith(host_ip, "]")) {
                memmove(host_ip, host_ip + 1, strlen(host_ip) - 2);
                host_ip[strlen(host_ip) - 2] = '\0';
        }
        if (!isempty(host_ip) && !parse_is_ip(host_ip, NULL))
                return spec_error(err, node_get(n, "host_ip")->mark, p_ip, "invalid IP address \"%s\"",
                                  host_ip);
        if (mode && !streq(mode, "ingress") && !streq(mode, "host"))
                return spec_error(err, node_get(n, "mode")->mark, p_mode,
                                  "invalid mode \"%s\" (expected host or ingress)", mode);
        struct stack_port *p = add_port(&c->s->ports, &c->s->n_ports, n->mark);
        p->target = (uint16_t) t;
        p->published_start = hs;
        p->published_end = he;
        p->host_ip = isempty(host_ip) ? NULL : TAKE_PTR(host_ip);
        p->protocol = proto;
        p->mode = mode ? TAKE_PTR(mode) : xstrdup("ingress");
        p->name = TAKE_PTR(name);
        p->app_protocol = TAKE_PTR(app);
        return 0;
}

int k_ports(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return svc_parse_short_or_long(c, v, path, parse_port_short, parse_port_long,
                                       "a string, a number or a mapping", err);
}

int k_expose(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if ((r = parse_expect(it, p, NODE_SCALAR, err)) < 0)
                        return r;
                _cleanup_free_ char *spec = xstrdup(it->scalar);
                enum stack_proto proto = STACK_PROTO_TCP;
                char *slash = strchr(spec, '/');
                if (slash) {
                        *slash = '\0';
                        if (parse_proto(slash + 1, &proto) < 0)
                                return spec_error(err, it->mark, p, "invalid protocol \"%s\"", slash + 1);
                }
                uint16_t s, e;
                if (port_range(spec, &s, &e) < 0 || s == 0)
                        return spec_error(err, it->mark, p, "invalid port \"%s\"", it->scalar);
                for (unsigned port = s; port <= e; port++) {
                        struct stack_port *x = add_port(&c->s->expose, &c->s->n_expose, it->mark);
                        x->target = (uint16_t) port;
                        x->protocol = proto;
                }
        }
        return 0;
}

/* ---- networks ---- */

struct stack_service_network *svc_add_network(struct stack_service *s, const char *name,
                                              struct node_mark mark)
{
        s->networks = xrealloc(s->networks, (s->n_networks + 1) * sizeof(struct stack_service_network));
        struct stack_service_network *n = &s->networks[s->n_networks++];
        *n = (struct stack_service_network){.name = xstrdup(name), .mark = mark};
        return n;
}

static int check_network(struct svc *c, const char *name, struct node_mark mark, const char *path,
                         struct stack_error *err)
{
        if (streq(name, "default") || stack_project_network(c->st->project, name))
                return 0;
        return spec_error(err, mark, path,
                          "undefined network \"%s\" (declare it under the top-level networks:)", name);
}

static int parse_service_network(struct svc *c, const char *name, struct node_mark key_mark,
                                 const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {
            "aliases",     "interface_name", "ipv4_address", "ipv6_address", "link_local_ips",
            "mac_address", "driver_opts",    "priority",     "gw_priority",  NULL};
        int r;
        if ((r = check_network(c, name, key_mark, path, err)) < 0)
                return r;
        for (size_t i = 0; i < c->s->n_networks; i++)
                if (streq(c->s->networks[i].name, name))
                        return spec_error(err, key_mark, path, "network \"%s\" is listed twice", name);
        struct stack_service_network *net = svc_add_network(c->s, name, key_mark);
        if (!v || v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *p_aliases = node_path_key(path, "aliases");
        _cleanup_free_ char *p_if = node_path_key(path, "interface_name");
        _cleanup_free_ char *p_v4 = node_path_key(path, "ipv4_address");
        _cleanup_free_ char *p_v6 = node_path_key(path, "ipv6_address");
        _cleanup_free_ char *p_ll = node_path_key(path, "link_local_ips");
        _cleanup_free_ char *p_mac = node_path_key(path, "mac_address");
        _cleanup_free_ char *p_opts = node_path_key(path, "driver_opts");
        _cleanup_free_ char *p_prio = node_path_key(path, "priority");
        _cleanup_free_ char *p_gw = node_path_key(path, "gw_priority");
        int64_t prio = 0, gw = 0;
        if ((r = parse_strv(node_get(v, "aliases"), p_aliases, false, &net->aliases, err)) < 0 ||
            (r = parse_string(node_get(v, "interface_name"), p_if, &net->interface_name, err)) < 0 ||
            (r = parse_string(node_get(v, "ipv4_address"), p_v4, &net->ipv4_address, err)) < 0 ||
            (r = parse_string(node_get(v, "ipv6_address"), p_v6, &net->ipv6_address, err)) < 0 ||
            (r = parse_strv(node_get(v, "link_local_ips"), p_ll, false, &net->link_local_ips, err)) < 0 ||
            (r = parse_string(node_get(v, "mac_address"), p_mac, &net->mac_address, err)) < 0 ||
            (r = parse_kvlist(node_get(v, "driver_opts"), p_opts, false, &net->driver_opts, err)) < 0 ||
            (r = parse_int(node_get(v, "priority"), p_prio, INT32_MIN, INT32_MAX, &prio, err)) < 0 ||
            (r = parse_int(node_get(v, "gw_priority"), p_gw, INT32_MIN, INT32_MAX, &gw, err)) < 0)
                return r;
        net->priority = (int) prio;
        net->gw_priority = (int) gw;
        int family;
        if (net->ipv4_address && (!parse_is_ip(net->ipv4_address, &family) || family != AF_INET))
                return spec_error(err, node_get(v, "ipv4_address")->mark, p_v4,
                                  "invalid IPv4 address \"%s\"", net->ipv4_address);
        if (net->ipv6_address && (!parse_is_ip(net->ipv6_address, &family) || family != AF_INET6))
                return spec_error(err, node_get(v, "ipv6_address")->mark, p_v6,
                                  "invalid IPv6 address \"%s\"", net->ipv6_address);
        return 0;
}

int k_networks(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r;
        c->networks = v;
        if (v->kind == NODE_NULL)
                return 0;
        if (v->kind == NODE_SEQUENCE) {
                for (size_t i = 0; i < v->n_items; i++) {
                        _cleanup_free_ char *p = node_path_index(path, i);
                        if ((r = parse_expect(v->items[i], p, NODE_SCALAR, err)) < 0 ||
                            (r = parse_service_network(c, v->items[i]->scalar, v->items[i]->mark, NULL, p,
                                                       err)) < 0)
                                return r;
                }
                return 0;
        }
        if (v->kind != NODE_MAPPING)
                return spec_error(err, v->mark, path, "must be a list or a mapping");
        for (size_t i = 0; i < v->n_pairs; i++) {
                _cleanup_free_ char *p = node_path_key(path, v->pairs[i].key);
                if ((r = parse_service_network(c, v->pairs[i].key, v->pairs[i].key_mark, v->pairs[i].value,
                                               p, err)) < 0)
                        return r;
        }
        return 0;
}
