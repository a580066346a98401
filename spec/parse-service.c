/* One service of the final tree -> struct stack_service, every short syntax normalized to the long one. */
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

/* Keys of the Compose Specification stack accepts but does not act on yet (COMPOSE-ANCHORS.md tier C). */
static const char *const tier_c_keys[] = {
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpuset",
    "credential_spec",
    "device_cgroup_rules",
    "external_links",
    "gpus",
    "ipc",
    "isolation",
    "label_file",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "models",
    "oom_kill_disable",
    "pid",
    "platform",
    "post_start",
    "pre_start",
    "pre_stop",
    "provider",
    "pull_refresh_after",
    "runtime",
    "storage_opt",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volumes_from",
    NULL,
};

/* What parsing one service collects before it can be normalized as a whole. */
struct svc {
        struct parse_state *st;
        struct stack_service *s;
        const char *path; /* "services.<name>" */
        const struct node *environment, *env_file, *networks;
        bool scale_set, replicas_set;
        int64_t scale, replicas;
        bool cpus_set, limit_cpus_set;
        double cpus, limit_cpus;
        int64_t mem_limit, limit_memory; /* 0: unset */
        int64_t pids_limit, limit_pids;  /* 0: unset */
        bool deploy_restart;
        struct stack_restart_policy deploy_policy;
        struct node_mark restart_mark, deploy_restart_mark;
};

typedef int (*key_handler)(struct svc *c, const struct node *v, const char *path, struct stack_error *err);

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

static int k_ports(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind == NODE_SCALAR)
                        r = parse_port_short(c, it, p, err);
                else if (it->kind == NODE_MAPPING)
                        r = parse_port_long(c, it, p, err);
                else
                        r = spec_error(err, it->mark, p, "must be a string, a number or a mapping");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int k_expose(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
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

/* ---- volumes ---- */

static bool is_file_path(const char *s)
{
        return s && (s[0] == '.' || s[0] == '/' || s[0] == '~');
}

static int check_named_volume(struct svc *c, const struct node *n, const char *path, const char *source,
                              struct stack_error *err)
{
        if (!stack_project_volume(c->st->project, source))
                return spec_error(err, n->mark, path,
                                  "undefined volume \"%s\" (declare it under the top-level volumes:)",
                                  source);
        return 0;
}

static struct stack_mount *add_mount(struct stack_service *s, struct node_mark mark)
{
        s->volumes = xrealloc(s->volumes, (s->n_volumes + 1) * sizeof(struct stack_mount));
        struct stack_mount *m = &s->volumes[s->n_volumes++];
        *m = (struct stack_mount){.mark = mark, .tmpfs_size = -1, .tmpfs_mode = -1};
        return m;
}

static int parse_volume_short(struct svc *c, const struct node *n, const char *path, struct stack_error *err)
{
        const char *spec = n->scalar;
        _cleanup_strv_free_ char **fields = NULL;
        size_t len = strlen(spec);

        if (len == 0)
                return spec_error(err, n->mark, path, "invalid empty volume spec");
        /* Split on ':' outside ${...}, so a file read with --no-interpolate still parses. */
        int depth = 0;
        struct strbuf b = {0};
        for (size_t i = 0; i <= len; i++) {
                char ch = spec[i];
                if (ch == '$' && spec[i + 1] == '{')
                        depth++;
                else if (ch == '}' && depth > 0)
                        depth--;
                if ((ch == ':' && depth == 0) || ch == '\0') {
                        if (b.len == 0) {
                                strbuf_free(&b);
                                return spec_error(err, n->mark, path,
                                                  "invalid spec \"%s\": empty section between colons", spec);
                        }
                        strv_consume(&fields, strbuf_take(&b));
                        continue;
                }
                strbuf_putc(&b, ch);
        }
        strbuf_free(&b);
        size_t nf = strv_length(fields);
        if (nf > 3)
                return spec_error(err, n->mark, path, "invalid spec \"%s\": too many colons", spec);

        struct stack_mount *m = add_mount(c->s, n->mark);
        if (nf == 1) {
                m->type = STACK_MOUNT_VOLUME;
                m->target = xstrdup(fields[0]);
        } else {
                m->target = xstrdup(fields[1]);
                if (is_file_path(fields[0])) {
                        m->type = STACK_MOUNT_BIND;
                        m->source = parse_resolve_path(c->st, fields[0]);
                        m->bind_create_host_path = true;
                } else {
                        m->type = STACK_MOUNT_VOLUME;
                        m->source = xstrdup(fields[0]);
                }
        }
        if (nf == 3) {
                _cleanup_strv_free_ char **opts = strv_split(fields[2], ",");
                STRV_FOREACH (o, opts) {
                        if (streq(*o, "ro"))
                                m->read_only = true;
                        else if (streq(*o, "rw"))
                                m->read_only = false;
                        else if (streq(*o, "nocopy"))
                                m->volume_nocopy = true;
                        else if (streq(*o, "z") || streq(*o, "Z")) {
                                free(m->bind_selinux);
                                m->bind_selinux = xstrdup(*o);
                        } else if (streq(*o, "private") || streq(*o, "rprivate") || streq(*o, "shared") ||
                                   streq(*o, "rshared") || streq(*o, "slave") || streq(*o, "rslave")) {
                                free(m->bind_propagation);
                                m->bind_propagation = xstrdup(*o);
                        } else
                                /* compose ignores unknown modes; say so instead of dropping them silently */
                                spec_warning(n->mark, path, "unknown volume option \"%s\" ignored", *o);
                }
        }
        if (m->target[0] != '/' && !strstr(m->target, "${"))
                return spec_error(err, n->mark, path,
                                  "invalid spec \"%s\": the container path must be absolute", spec);
        if (m->type == STACK_MOUNT_VOLUME && m->source)
                return check_named_volume(c, n, path, m->source, err);
        return 0;
}

static int parse_volume_long(struct svc *c, const struct node *n, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"type", "source", "target", "read_only", "consistency",
                                           "bind", "volume", "tmpfs",  "image",     NULL};
        static const char *const bind_keys[] = {"propagation", "create_host_path", "recursive", "selinux",
                                                NULL};
        static const char *const volume_keys[] = {"nocopy", "subpath", "labels", NULL};
        static const char *const tmpfs_keys[] = {"size", "mode", NULL};
        static const char *const image_keys[] = {"subpath", NULL};
        int r;

        if ((r = parse_check_keys(n, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *type = NULL, *source = NULL;
        _cleanup_free_ char *p_type = node_path_key(path, "type");
        _cleanup_free_ char *p_source = node_path_key(path, "source");
        if ((r = parse_string(node_get(n, "type"), p_type, &type, err)) < 0 ||
            (r = parse_string(node_get(n, "source"), p_source, &source, err)) < 0)
                return r;
        if (!type)
                return spec_error(err, n->mark, path, "type is required");
        struct stack_mount *m = add_mount(c->s, n->mark);
        if (streq(type, "bind"))
                m->type = STACK_MOUNT_BIND;
        else if (streq(type, "volume"))
                m->type = STACK_MOUNT_VOLUME;
        else if (streq(type, "tmpfs"))
                m->type = STACK_MOUNT_TMPFS;
        else if (streq(type, "image") || streq(type, "npipe") || streq(type, "cluster")) {
                m->type = streq(type, "image")   ? STACK_MOUNT_IMAGE
                          : streq(type, "npipe") ? STACK_MOUNT_NPIPE
                                                 : STACK_MOUNT_CLUSTER;
                _cleanup_free_ char *wkey = xasprintf("volumes.type.%s", type);
                parse_unsupported(c->st, wkey, node_get(n, "type")->mark, p_type);
        } else
                return spec_error(
                    err, node_get(n, "type")->mark, p_type,
                    "invalid mount type \"%s\" (expected bind, volume, tmpfs, image, npipe or cluster)",
                    type);

        _cleanup_free_ char *p_target = node_path_key(path, "target");
        _cleanup_free_ char *p_ro = node_path_key(path, "read_only");
        _cleanup_free_ char *p_cons = node_path_key(path, "consistency");
        if ((r = parse_string(node_get(n, "target"), p_target, &m->target, err)) < 0 ||
            (r = parse_bool(node_get(n, "read_only"), p_ro, &m->read_only, err)) < 0 ||
            (r = parse_string(node_get(n, "consistency"), p_cons, &m->consistency, err)) < 0)
                return r;
        if (!m->target)
                return spec_error(err, n->mark, path, "target is required");
        if (m->target[0] != '/' && m->type != STACK_MOUNT_NPIPE && !strstr(m->target, "${"))
                return spec_error(err, node_get(n, "target")->mark, p_target,
                                  "the container path \"%s\" must be absolute", m->target);

        const struct node *bind = node_get(n, "bind");
        if (bind && bind->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "bind");
                if ((r = parse_expect(bind, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(bind, p, bind_keys, err)) < 0)
                        return r;
                m->bind_create_host_path = true; /* compose's default once a bind: block is given */
                _cleanup_free_ char *pp = node_path_key(p, "propagation");
                _cleanup_free_ char *pc = node_path_key(p, "create_host_path");
                _cleanup_free_ char *pr = node_path_key(p, "recursive");
                _cleanup_free_ char *ps = node_path_key(p, "selinux");
                if ((r = parse_string(node_get(bind, "propagation"), pp, &m->bind_propagation, err)) < 0 ||
                    (r = parse_bool(node_get(bind, "create_host_path"), pc, &m->bind_create_host_path,
                                    err)) < 0 ||
                    (r = parse_string(node_get(bind, "recursive"), pr, &m->bind_recursive, err)) < 0 ||
                    (r = parse_string(node_get(bind, "selinux"), ps, &m->bind_selinux, err)) < 0)
                        return r;
                static const char *const props[] = {"private", "rprivate", "shared", "rshared",
                                                    "slave",   "rslave",   NULL};
                static const char *const recs[] = {"enabled", "disabled", "writable", "readonly", NULL};
                if (m->bind_propagation && !strv_contains((char **) props, m->bind_propagation))
                        return spec_error(err, node_get(bind, "propagation")->mark, pp,
                                          "invalid propagation \"%s\"", m->bind_propagation);
                if (m->bind_recursive && !strv_contains((char **) recs, m->bind_recursive))
                        return spec_error(err, node_get(bind, "recursive")->mark, pr, "invalid value \"%s\"",
                                          m->bind_recursive);
                if (m->bind_selinux && !streq(m->bind_selinux, "z") && !streq(m->bind_selinux, "Z"))
                        return spec_error(err, node_get(bind, "selinux")->mark, ps,
                                          "invalid value \"%s\" (z or Z)", m->bind_selinux);
        }
        const struct node *vol = node_get(n, "volume");
        if (vol && vol->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "volume");
                _cleanup_free_ char *pn = node_path_key(p, "nocopy");
                _cleanup_free_ char *ps = node_path_key(p, "subpath");
                if ((r = parse_expect(vol, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(vol, p, volume_keys, err)) < 0 ||
                    (r = parse_bool(node_get(vol, "nocopy"), pn, &m->volume_nocopy, err)) < 0 ||
                    (r = parse_string(node_get(vol, "subpath"), ps, &m->volume_subpath, err)) < 0)
                        return r;
                if (node_get(vol, "labels")) {
                        _cleanup_free_ char *pl = node_path_key(p, "labels");
                        parse_unsupported(c->st, "volumes.volume.labels", node_get(vol, "labels")->mark, pl);
                }
        }
        const struct node *tmpfs = node_get(n, "tmpfs");
        if (tmpfs && tmpfs->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "tmpfs");
                _cleanup_free_ char *ps = node_path_key(p, "size");
                _cleanup_free_ char *pm = node_path_key(p, "mode");
                if ((r = parse_expect(tmpfs, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(tmpfs, p, tmpfs_keys, err)) < 0 ||
                    (r = parse_bytes(node_get(tmpfs, "size"), ps, &m->tmpfs_size, err)) < 0 ||
                    (r = parse_mode(node_get(tmpfs, "mode"), pm, &m->tmpfs_mode, err)) < 0)
                        return r;
        }
        const struct node *image = node_get(n, "image");
        if (image && image->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "image");
                _cleanup_free_ char *ps = node_path_key(p, "subpath");
                if ((r = parse_expect(image, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(image, p, image_keys, err)) < 0 ||
                    (r = parse_string(node_get(image, "subpath"), ps, &m->volume_subpath, err)) < 0)
                        return r;
        }

        switch (m->type) {
        case STACK_MOUNT_BIND:
                if (isempty(source))
                        return spec_error(err, n->mark, path, "a bind mount needs a source");
                m->source = parse_resolve_path(c->st, source);
                break;
        case STACK_MOUNT_VOLUME:
                if (!isempty(source)) {
                        m->source = xstrdup(source);
                        return check_named_volume(c, n, path, source, err);
                }
                break;
        case STACK_MOUNT_TMPFS:
                if (!isempty(source))
                        return spec_error(err, node_get(n, "source")->mark, p_source,
                                          "a tmpfs mount does not take a source");
                break;
        default:
                m->source = TAKE_PTR(source);
                break;
        }
        return 0;
}

static int k_volumes(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind == NODE_SCALAR)
                        r = parse_volume_short(c, it, p, err);
                else if (it->kind == NODE_MAPPING)
                        r = parse_volume_long(c, it, p, err);
                else
                        r = spec_error(err, it->mark, p, "must be a string or a mapping");
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- networks ---- */

static struct stack_service_network *add_network(struct stack_service *s, const char *name,
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
        struct stack_service_network *net = add_network(c->s, name, key_mark);
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

static int k_networks(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
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

/* ---- dependencies ---- */

static struct stack_dependency *find_dependency(struct stack_service *s, const char *name)
{
        for (size_t i = 0; i < s->n_depends_on; i++)
                if (streq(s->depends_on[i].service, name))
                        return &s->depends_on[i];
        return NULL;
}

static struct stack_dependency *add_dependency(struct stack_service *s, const char *name,
                                               struct node_mark mark)
{
        s->depends_on = xrealloc(s->depends_on, (s->n_depends_on + 1) * sizeof(struct stack_dependency));
        struct stack_dependency *d = &s->depends_on[s->n_depends_on++];
        *d = (struct stack_dependency){
            .service = xstrdup(name),
            .condition = STACK_DEP_STARTED,
            .required = true,
            .mark = mark,
        };
        return d;
}

static int k_depends_on(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"condition", "required", "restart", NULL};
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if (v->kind == NODE_SEQUENCE) {
                for (size_t i = 0; i < v->n_items; i++) {
                        _cleanup_free_ char *p = node_path_index(path, i);
                        if ((r = parse_expect(v->items[i], p, NODE_SCALAR, err)) < 0)
                                return r;
                        if (find_dependency(c->s, v->items[i]->scalar))
                                return spec_error(err, v->items[i]->mark, p, "\"%s\" is listed twice",
                                                  v->items[i]->scalar);
                        add_dependency(c->s, v->items[i]->scalar, v->items[i]->mark);
                }
                return 0;
        }
        if (v->kind != NODE_MAPPING)
                return spec_error(err, v->mark, path, "must be a list or a mapping");
        for (size_t i = 0; i < v->n_pairs; i++) {
                const struct node *d = v->pairs[i].value;
                _cleanup_free_ char *p = node_path_key(path, v->pairs[i].key);
                if ((r = parse_expect(d, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(d, p, keys, err)) < 0)
                        return r;
                struct stack_dependency *dep = add_dependency(c->s, v->pairs[i].key, v->pairs[i].key_mark);
                _cleanup_free_ char *p_cond = node_path_key(p, "condition");
                _cleanup_free_ char *p_req = node_path_key(p, "required");
                _cleanup_free_ char *p_restart = node_path_key(p, "restart");
                _cleanup_free_ char *cond = NULL;
                if ((r = parse_string(node_get(d, "condition"), p_cond, &cond, err)) < 0 ||
                    (r = parse_bool(node_get(d, "required"), p_req, &dep->required, err)) < 0 ||
                    (r = parse_bool(node_get(d, "restart"), p_restart, &dep->restart, err)) < 0)
                        return r;
                if (!cond)
                        return spec_error(err, d->mark, p, "condition is required");
                if (streq(cond, "service_started"))
                        dep->condition = STACK_DEP_STARTED;
                else if (streq(cond, "service_healthy"))
                        dep->condition = STACK_DEP_HEALTHY;
                else if (streq(cond, "service_completed_successfully"))
                        dep->condition = STACK_DEP_COMPLETED;
                else
                        return spec_error(
                            err, node_get(d, "condition")->mark, p_cond,
                            "invalid condition \"%s\" (expected service_started, service_healthy or "
                            "service_completed_successfully)",
                            cond);
        }
        return 0;
}

/* Legacy links: kept for name resolution; the dependency they imply is added once the service is read. */
static int k_links(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_strv(v, path, false, &c->s->links, err);
}

/* ---- healthcheck ---- */

static int k_healthcheck(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"test",         "interval",       "timeout", "retries",
                                           "start_period", "start_interval", "disable", NULL};
        struct stack_healthcheck *h = &c->s->healthcheck;
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        h->present = true;
        _cleanup_free_ char *p_test = node_path_key(path, "test");
        _cleanup_free_ char *p_interval = node_path_key(path, "interval");
        _cleanup_free_ char *p_timeout = node_path_key(path, "timeout");
        _cleanup_free_ char *p_retries = node_path_key(path, "retries");
        _cleanup_free_ char *p_sp = node_path_key(path, "start_period");
        _cleanup_free_ char *p_si = node_path_key(path, "start_interval");
        _cleanup_free_ char *p_disable = node_path_key(path, "disable");
        int64_t retries = -1;
        if ((r = parse_duration(node_get(v, "interval"), p_interval, &h->interval_usec, err)) < 0 ||
            (r = parse_duration(node_get(v, "timeout"), p_timeout, &h->timeout_usec, err)) < 0 ||
            (r = parse_duration(node_get(v, "start_period"), p_sp, &h->start_period_usec, err)) < 0 ||
            (r = parse_duration(node_get(v, "start_interval"), p_si, &h->start_interval_usec, err)) < 0 ||
            (r = parse_int(node_get(v, "retries"), p_retries, 0, INT32_MAX, &retries, err)) < 0 ||
            (r = parse_bool(node_get(v, "disable"), p_disable, &h->disable, err)) < 0)
                return r;
        h->retries = (int) retries;

        const struct node *t = node_get(v, "test");
        if (t && t->kind == NODE_SCALAR) {
                h->kind = STACK_HEALTH_SHELL;
                strv_push(&h->test, t->scalar);
        } else if (t && t->kind == NODE_SEQUENCE) {
                _cleanup_strv_free_ char **l = NULL;
                if ((r = parse_strv(t, p_test, false, &l, err)) < 0)
                        return r;
                if (!l[0])
                        return spec_error(err, t->mark, p_test, "must not be empty");
                if (streq(l[0], "NONE"))
                        h->kind = STACK_HEALTH_NONE;
                else if (streq(l[0], "CMD")) {
                        if (!l[1])
                                return spec_error(err, t->mark, p_test, "CMD needs a command");
                        h->kind = STACK_HEALTH_CMD;
                        h->test = strv_copy(l + 1);
                } else if (streq(l[0], "CMD-SHELL")) {
                        if (!l[1])
                                return spec_error(err, t->mark, p_test, "CMD-SHELL needs a command");
                        h->kind = STACK_HEALTH_SHELL;
                        strv_consume(&h->test, strv_join(l + 1, " "));
                } else
                        return spec_error(err, t->mark, p_test,
                                          "the first element must be NONE, CMD or CMD-SHELL, not \"%s\"",
                                          l[0]);
        } else if (t && t->kind != NODE_NULL)
                return spec_error(err, t->mark, p_test, "must be a string or a list");
        /* disable wins over a test, as in docker compose: `healthcheck: {disable: true}` in an override
         * file is the usual way to turn off the base file's check. */
        if (h->disable) {
                strv_free(h->test);
                h->test = NULL;
                h->kind = STACK_HEALTH_NONE;
        }
        return 0;
}

/* ---- environment ---- */

static int k_environment(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        (void) path;
        (void) err;
        c->environment = v;
        return 0;
}

static int k_env_file(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        (void) path;
        (void) err;
        c->env_file = v;
        return 0;
}

/* format: raw reads the file as `docker run --env-file` does: KEY=VALUE lines taken verbatim (no quotes,
 * no interpolation), blank and # lines skipped, a bare KEY taken from the environment when set. */
static int read_raw_env_file(const char *path, const struct stack_kvlist *env, struct stack_kvlist *ret,
                             struct stack_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_named_file(path, 0, &data, &len, err);
        if (r < 0)
                return r;
        char *p = data;
        if (startswith(p, "\xef\xbb\xbf"))
                p += 3;
        unsigned lineno = 0;
        while (p && *p) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = '\0';
                lineno++;
                size_t l = strlen(p);
                if (l > 0 && p[l - 1] == '\r')
                        p[l - 1] = '\0';
                while (isspace((unsigned char) *p))
                        p++;
                if (*p && *p != '#') {
                        char *eq = strchr(p, '=');
                        _cleanup_free_ char *key = eq ? xstrndup(p, (size_t) (eq - p)) : xstrdup(p);
                        if (strpbrk(key, " \t\v\f"))
                                return stack_error_set(err, EINVAL,
                                                       "%s:%u: variable '%s' contains whitespaces", path,
                                                       lineno, key);
                        if (eq)
                                stack_kvlist_set(ret, key, eq + 1);
                        else {
                                const struct stack_kv *kv = stack_kvlist_get(env, key);
                                if (kv && kv->value)
                                        stack_kvlist_set(ret, key, kv->value);
                        }
                }
                p = nl ? nl + 1 : NULL;
        }
        return 0;
}

static int read_env_file(struct svc *c, const struct node *n, const char *path, const char *file,
                         bool required, bool raw, struct stack_error *err)
{
        _cleanup_free_ char *abs = parse_resolve_path(c->st, file);
        if (!path_exists(abs)) {
                if (!required)
                        return 0;
                return spec_error(err, n->mark, path, "env file %s not found", abs);
        }
        struct stack_kvlist kv = {0};
        _cleanup_error_ struct stack_error e = {0};
        int r = raw ? read_raw_env_file(abs, c->st->ctx->environment, &kv, &e)
                    : dotenv_read_file(abs, 0, c->st->ctx->environment, &kv, &e);
        if (r < 0) {
                stack_kvlist_free(&kv);
                return spec_error(err, n->mark, path, "%s", e.msg ? e.msg : "cannot read env file");
        }
        for (size_t i = 0; i < kv.n; i++)
                stack_kvlist_set(&c->s->environment, kv.items[i].key, kv.items[i].value);
        stack_kvlist_free(&kv);
        strv_push(&c->s->env_files, abs);
        return 0;
}

static int apply_env_files(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"path", "required", "format", NULL};
        int r;
        if (!v || v->kind == NODE_NULL)
                return 0;
        if (v->kind == NODE_SCALAR)
                return read_env_file(c, v, path, v->scalar, true, false, err);
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind == NODE_SCALAR) {
                        if ((r = read_env_file(c, it, p, it->scalar, true, false, err)) < 0)
                                return r;
                        continue;
                }
                if ((r = parse_expect(it, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(it, p, keys, err)) < 0)
                        return r;
                _cleanup_free_ char *file = NULL, *format = NULL;
                bool required = true;
                _cleanup_free_ char *p_path = node_path_key(p, "path");
                _cleanup_free_ char *p_req = node_path_key(p, "required");
                _cleanup_free_ char *p_fmt = node_path_key(p, "format");
                if ((r = parse_string(node_get(it, "path"), p_path, &file, err)) < 0 ||
                    (r = parse_bool(node_get(it, "required"), p_req, &required, err)) < 0 ||
                    (r = parse_string(node_get(it, "format"), p_fmt, &format, err)) < 0)
                        return r;
                if (!file)
                        return spec_error(err, it->mark, p, "path is required");
                if (format && !streq(format, "dotenv") && !streq(format, "raw"))
                        return spec_error(err, node_get(it, "format")->mark, p_fmt,
                                          "unsupported env_file format \"%s\" (dotenv or raw)", format);
                if ((r = read_env_file(c, it, p, file, required, format && streq(format, "raw"), err)) < 0)
                        return r;
        }
        return 0;
}

/* A bare KEY takes its value from the interpolation environment, or stays unset (NULL) as compose does. */
static void resolve_bare_keys(struct svc *c, struct stack_kvlist *env)
{
        for (size_t i = 0; i < env->n; i++) {
                if (env->items[i].value)
                        continue;
                const struct stack_kv *kv = stack_kvlist_get(c->st->ctx->environment, env->items[i].key);
                if (kv && kv->value)
                        env->items[i].value = xstrdup(kv->value);
        }
}

static int apply_environment(struct svc *c, struct stack_error *err)
{
        _cleanup_free_ char *p_ef = node_path_key(c->path, "env_file");
        _cleanup_free_ char *p_env = node_path_key(c->path, "environment");
        struct stack_kvlist env = {0};
        int r;

        if ((r = apply_env_files(c, c->env_file, p_ef, err)) < 0)
                return r;
        /* `environment` wins over env_file entries. */
        if ((r = parse_kvlist(c->environment, p_env, true, &env, err)) < 0) {
                stack_kvlist_free(&env);
                return r;
        }
        resolve_bare_keys(c, &env);
        for (size_t i = 0; i < env.n; i++)
                stack_kvlist_set(&c->s->environment, env.items[i].key, env.items[i].value);
        stack_kvlist_free(&env);
        stack_kvlist_sort(&c->s->environment);
        return 0;
}

/* ---- command, entrypoint ---- */

static int parse_command(const struct node *v, const char *path, char ***ret, bool *ret_set,
                         struct stack_error *err)
{
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if (v->kind == NODE_SCALAR) {
                const char *stop = NULL;
                char **l = NULL;
                if (units_shell_split(v->scalar, &l, &stop) < 0)
                        return spec_error(err, v->mark, path,
                                          "invalid command line \"%s\": unbalanced quotes", v->scalar);
                if (stop)
                        spec_warning(
                            v->mark, path,
                            "\"%s\" and what follows is not passed to the command (as docker compose); "
                            "use [\"sh\", \"-c\", ...] for shell syntax",
                            stop);
                strv_free(*ret);
                *ret = l;
        } else if ((r = parse_strv(v, path, false, ret, err)) < 0)
                return r;
        *ret_set = true;
        return 0;
}

static int k_command(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_command(v, path, &c->s->command, &c->s->command_set, err);
}

static int k_entrypoint(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_command(v, path, &c->s->entrypoint, &c->s->entrypoint_set, err);
}

/* ---- restart and deploy ---- */

static int k_restart(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r;
        _cleanup_free_ char *s = NULL;
        if ((r = parse_string(v, path, &s, err)) < 0 || !s)
                return r;
        struct stack_restart_policy *p = &c->s->restart;
        p->max_retries = 0;
        if (streq(s, "no") || streq(s, "false"))
                p->policy = STACK_RESTART_NO;
        else if (streq(s, "always"))
                p->policy = STACK_RESTART_ALWAYS;
        else if (streq(s, "unless-stopped"))
                p->policy = STACK_RESTART_UNLESS_STOPPED;
        else if (streq(s, "on-failure"))
                p->policy = STACK_RESTART_ON_FAILURE;
        else if (startswith(s, "on-failure:")) {
                int64_t n;
                if (units_parse_int(s + strlen("on-failure:"), 0, INT32_MAX, &n) < 0)
                        return spec_error(err, v->mark, path, "invalid restart policy \"%s\"", s);
                p->policy = STACK_RESTART_ON_FAILURE;
                p->max_retries = (int) n;
        } else
                return spec_error(err, v->mark, path,
                                  "invalid restart policy \"%s\" (expected no, always, on-failure[:N] or "
                                  "unless-stopped)",
                                  s);
        c->s->restart_set = true;
        c->restart_mark = v->mark;
        return 0;
}

static int parse_restart_policy(struct svc *c, const struct node *v, const char *path,
                                struct stack_error *err)
{
        static const char *const keys[] = {"condition", "delay", "max_attempts", "window", NULL};
        struct stack_restart_policy *p = &c->deploy_policy;
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *cond = NULL;
        _cleanup_free_ char *p_cond = node_path_key(path, "condition");
        _cleanup_free_ char *p_delay = node_path_key(path, "delay");
        _cleanup_free_ char *p_max = node_path_key(path, "max_attempts");
        _cleanup_free_ char *p_window = node_path_key(path, "window");
        int64_t max = 0;
        *p = (struct stack_restart_policy){
            .policy = STACK_RESTART_ALWAYS, .delay_usec = -1, .window_usec = -1};
        if ((r = parse_string(node_get(v, "condition"), p_cond, &cond, err)) < 0 ||
            (r = parse_duration(node_get(v, "delay"), p_delay, &p->delay_usec, err)) < 0 ||
            (r = parse_duration(node_get(v, "window"), p_window, &p->window_usec, err)) < 0 ||
            (r = parse_int(node_get(v, "max_attempts"), p_max, 0, INT32_MAX, &max, err)) < 0)
                return r;
        p->max_retries = (int) max;
        /* As docker compose maps a swarm restart condition onto an engine restart policy. */
        if (!cond || streq(cond, "any") || streq(cond, "always"))
                p->policy = STACK_RESTART_ALWAYS;
        else if (streq(cond, "none"))
                p->policy = STACK_RESTART_NO;
        else if (streq(cond, "on-failure"))
                p->policy = STACK_RESTART_ON_FAILURE;
        else if (streq(cond, "unless-stopped"))
                p->policy = STACK_RESTART_UNLESS_STOPPED;
        else
                return spec_error(err, node_get(v, "condition")->mark, p_cond,
                                  "invalid condition \"%s\" (expected none, on-failure or any)", cond);
        c->deploy_restart = true;
        c->deploy_restart_mark = v->mark;
        return 0;
}

static int parse_resources(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"limits", "reservations", NULL};
        static const char *const limit_keys[] = {"cpus", "memory", "pids", NULL};
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        const struct node *l = node_get(v, "limits");
        if (l && l->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "limits");
                _cleanup_free_ char *p_cpus = node_path_key(p, "cpus");
                _cleanup_free_ char *p_mem = node_path_key(p, "memory");
                _cleanup_free_ char *p_pids = node_path_key(p, "pids");
                if ((r = parse_expect(l, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(l, p, limit_keys, err)) < 0 ||
                    (r = parse_double(node_get(l, "cpus"), p_cpus, &c->limit_cpus, err)) < 0 ||
                    (r = parse_bytes(node_get(l, "memory"), p_mem, &c->limit_memory, err)) < 0 ||
                    (r = parse_int(node_get(l, "pids"), p_pids, -1, INT64_MAX, &c->limit_pids, err)) < 0)
                        return r;
                c->limit_cpus_set = node_get(l, "cpus") != NULL;
        }
        const struct node_pair *res = node_get_pair(v, "reservations");
        if (res) {
                _cleanup_free_ char *p = node_path_key(path, "reservations");
                const struct node *m = node_get(res->value, "memory");
                if (m) {
                        _cleanup_free_ char *pm = node_path_key(p, "memory");
                        if ((r = parse_bytes(m, pm, &c->s->resources.mem_reservation, err)) < 0)
                                return r;
                }
                parse_unsupported(c->st, "deploy.resources.reservations", res->key_mark, p);
        }
        return 0;
}

static int k_deploy(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {
            "mode",           "replicas",  "labels",        "update_config", "rollback_config",
            "restart_policy", "placement", "endpoint_mode", "resources",     NULL};
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_pairs; i++) {
                const char *k = v->pairs[i].key;
                const struct node *x = v->pairs[i].value;
                _cleanup_free_ char *p = node_path_key(path, k);
                if (streq(k, "replicas")) {
                        if ((r = parse_int(x, p, 0, INT32_MAX, &c->replicas, err)) < 0)
                                return r;
                        c->replicas_set = x->kind != NODE_NULL;
                } else if (streq(k, "restart_policy")) {
                        if ((r = parse_restart_policy(c, x, p, err)) < 0)
                                return r;
                } else if (streq(k, "resources")) {
                        if ((r = parse_resources(c, x, p, err)) < 0)
                                return r;
                } else if (streq(k, "mode") && streq_ptr(node_str(x), "replicated")) {
                        continue; /* what stack does anyway */
                } else if (!startswith(k, "x-")) {
                        _cleanup_free_ char *wkey = xasprintf("deploy.%s", k);
                        parse_unsupported(c->st, wkey, v->pairs[i].key_mark, p);
                }
        }
        return 0;
}

static int k_scale(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r = parse_int(v, path, 0, INT32_MAX, &c->scale, err);
        c->scale_set = r >= 0 && v->kind != NODE_NULL;
        return r;
}

/* ---- secrets and configs ---- */

static int parse_file_refs(struct svc *c, const struct node *v, const char *path, bool secrets,
                           struct stack_file_ref **arr, size_t *n, struct stack_error *err)
{
        static const char *const keys[] = {"source", "target", "uid", "gid", "mode", NULL};
        int r;
        if (!v || v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                *arr = xrealloc(*arr, (*n + 1) * sizeof(struct stack_file_ref));
                struct stack_file_ref *ref = &(*arr)[(*n)++];
                *ref = (struct stack_file_ref){.mode = -1, .mark = it->mark};
                if (it->kind == NODE_SCALAR)
                        ref->source = xstrdup(it->scalar);
                else {
                        if ((r = parse_expect(it, p, NODE_MAPPING, err)) < 0 ||
                            (r = parse_check_keys(it, p, keys, err)) < 0)
                                return r;
                        _cleanup_free_ char *ps = node_path_key(p, "source");
                        _cleanup_free_ char *pt = node_path_key(p, "target");
                        _cleanup_free_ char *pu = node_path_key(p, "uid");
                        _cleanup_free_ char *pg = node_path_key(p, "gid");
                        _cleanup_free_ char *pm = node_path_key(p, "mode");
                        if ((r = parse_string(node_get(it, "source"), ps, &ref->source, err)) < 0 ||
                            (r = parse_string(node_get(it, "target"), pt, &ref->target, err)) < 0 ||
                            (r = parse_string(node_get(it, "uid"), pu, &ref->uid, err)) < 0 ||
                            (r = parse_string(node_get(it, "gid"), pg, &ref->gid, err)) < 0 ||
                            (r = parse_mode(node_get(it, "mode"), pm, &ref->mode, err)) < 0)
                                return r;
                        if (!ref->source)
                                return spec_error(err, it->mark, p, "source is required");
                }
                bool declared = secrets ? stack_project_secret(c->st->project, ref->source) != NULL
                                        : stack_project_config(c->st->project, ref->source) != NULL;
                if (!declared)
                        return spec_error(
                            err, it->mark, p, "undefined %s \"%s\" (declare it under the top-level %s:)",
                            secrets ? "secret" : "config", ref->source, secrets ? "secrets" : "configs");
                /* Defaults made explicit, as compose prints them: /run/secrets/<name>, /<name>. */
                if (!ref->target)
                        ref->target = secrets ? xasprintf("/run/secrets/%s", ref->source)
                                              : xasprintf("/%s", ref->source);
                else if (secrets && ref->target[0] != '/') {
                        char *t = xasprintf("/run/secrets/%s", ref->target);
                        free(ref->target);
                        ref->target = t;
                }
        }
        return 0;
}

static int k_secrets(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_file_refs(c, v, path, true, &c->s->secrets, &c->s->n_secrets, err);
}

static int k_configs(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_file_refs(c, v, path, false, &c->s->configs, &c->s->n_configs, err);
}

/* ---- the rest of tier A and B ---- */

static int cmp_ulimit(const void *a, const void *b)
{
        return strcmp(((const struct stack_ulimit *) a)->name, ((const struct stack_ulimit *) b)->name);
}

static int k_ulimits(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"soft", "hard", NULL};
        struct stack_service *s = c->s;
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0)
                return r;
        s->ulimits = xcalloc(v->n_pairs ? v->n_pairs : 1, sizeof(struct stack_ulimit));
        for (size_t i = 0; i < v->n_pairs; i++) {
                const struct node *x = v->pairs[i].value;
                _cleanup_free_ char *p = node_path_key(path, v->pairs[i].key);
                struct stack_ulimit *u = &s->ulimits[s->n_ulimits++];
                u->name = xstrdup(v->pairs[i].key);
                if (x->kind == NODE_SCALAR) {
                        if ((r = parse_int(x, p, -1, INT64_MAX, &u->soft, err)) < 0)
                                return r;
                        u->hard = u->soft;
                        continue;
                }
                if ((r = parse_expect(x, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(x, p, keys, err)) < 0)
                        return r;
                if (!node_get(x, "soft") || !node_get(x, "hard"))
                        return spec_error(err, x->mark, p, "soft and hard are both required");
                _cleanup_free_ char *ps = node_path_key(p, "soft");
                _cleanup_free_ char *ph = node_path_key(p, "hard");
                if ((r = parse_int(node_get(x, "soft"), ps, -1, INT64_MAX, &u->soft, err)) < 0 ||
                    (r = parse_int(node_get(x, "hard"), ph, -1, INT64_MAX, &u->hard, err)) < 0)
                        return r;
                if (u->hard >= 0 && (u->soft < 0 || u->soft > u->hard))
                        return spec_error(err, x->mark, p, "soft limit %lld is above the hard limit %lld",
                                          (long long) u->soft, (long long) u->hard);
        }
        qsort(s->ulimits, s->n_ulimits, sizeof(struct stack_ulimit), cmp_ulimit);
        return 0;
}

static int k_sysctls(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r = parse_kvlist(v, path, false, &c->s->sysctls, err);
        stack_kvlist_sort(&c->s->sysctls);
        return r;
}

static int k_labels(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r = parse_kvlist(v, path, false, &c->s->labels, err);
        stack_kvlist_sort(&c->s->labels);
        return r;
}

static int k_annotations(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r = parse_kvlist(v, path, false, &c->s->annotations, err);
        stack_kvlist_sort(&c->s->annotations);
        return r;
}

static int add_extra_host(struct stack_kvlist *out, const struct node *n, const char *path, const char *host,
                          const char *ips, struct stack_error *err)
{
        if (isempty(host) || strpbrk(host, ":="))
                return spec_error(err, n->mark, path, "bad host name \"%s\"", host ? host : "");
        _cleanup_strv_free_ char **l = strv_split(ips, ",");
        STRV_FOREACH (ip, l) {
                _cleanup_free_ char *addr = xstrdup(*ip);
                size_t len = strlen(addr);
                if (len > 2 && addr[0] == '[' && addr[len - 1] == ']') {
                        memmove(addr, addr + 1, len - 2);
                        addr[len - 2] = '\0';
                }
                if (!streq(addr, "host-gateway") && !parse_is_ip(addr, NULL))
                        return spec_error(err, n->mark, path, "invalid IP address \"%s\" for host \"%s\"",
                                          addr, host);
                stack_kvlist_add(out, host, addr);
        }
        return 0;
}

static int parse_extra_hosts(const struct node *v, const char *path, struct stack_kvlist *out,
                             struct stack_error *err)
{
        int r;
        if (!v || v->kind == NODE_NULL)
                return 0;
        if (v->kind == NODE_MAPPING) {
                for (size_t i = 0; i < v->n_pairs; i++) {
                        const struct node *x = v->pairs[i].value;
                        _cleanup_free_ char *p = node_path_key(path, v->pairs[i].key);
                        _cleanup_strv_free_ char **ips = NULL;
                        if ((r = parse_strv(x, p, true, &ips, err)) < 0)
                                return r;
                        STRV_FOREACH (ip, ips)
                                if ((r = add_extra_host(out, x, p, v->pairs[i].key, *ip, err)) < 0)
                                        return r;
                }
                return 0;
        }
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if ((r = parse_expect(it, p, NODE_SCALAR, err)) < 0)
                        return r;
                /* "host=ip" first, then "host:ip" on the first colon, so "host:::1" is an IPv6 entry. */
                const char *sep = strchr(it->scalar, '=');
                if (!sep)
                        sep = strchr(it->scalar, ':');
                if (!sep)
                        return spec_error(err, it->mark, p, "invalid additional host, missing IP: \"%s\"",
                                          it->scalar);
                _cleanup_free_ char *host = xstrndup(it->scalar, (size_t) (sep - it->scalar));
                if ((r = add_extra_host(out, it, p, host, sep + 1, err)) < 0)
                        return r;
        }
        return 0;
}

static int k_extra_hosts(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_extra_hosts(v, path, &c->s->extra_hosts, err);
}

static bool valid_perms(const char *s)
{
        return !isempty(s) && strspn(s, "rwm") == strlen(s);
}

/* As docker reads it: /dev/x, /dev/x:/dev/y, /dev/x:rwm or /dev/x:/dev/y:rwm. */
static bool valid_device(const char *spec)
{
        _cleanup_strv_free_ char **parts = strv_split(spec, ":");
        size_t n = strv_length(parts);
        if (n > 3 || parts[0][0] != '/')
                return false;
        if (n == 2)
                return parts[1][0] == '/' || valid_perms(parts[1]);
        if (n == 3)
                return parts[1][0] == '/' && valid_perms(parts[2]);
        return true;
}

static int k_devices(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"source", "target", "permissions", NULL};
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind == NODE_SCALAR) {
                        if (!valid_device(it->scalar))
                                return spec_error(
                                    err, it->mark, p,
                                    "invalid device \"%s\" (expected /HOST[:/CONTAINER][:PERMISSIONS], "
                                    "permissions of r, w, m)",
                                    it->scalar);
                        strv_push(&c->s->devices, it->scalar);
                        continue;
                }
                if ((r = parse_expect(it, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(it, p, keys, err)) < 0)
                        return r;
                _cleanup_free_ char *src = NULL, *dst = NULL, *perm = NULL;
                _cleanup_free_ char *ps = node_path_key(p, "source");
                _cleanup_free_ char *pt = node_path_key(p, "target");
                _cleanup_free_ char *pp = node_path_key(p, "permissions");
                if ((r = parse_string(node_get(it, "source"), ps, &src, err)) < 0 ||
                    (r = parse_string(node_get(it, "target"), pt, &dst, err)) < 0 ||
                    (r = parse_string(node_get(it, "permissions"), pp, &perm, err)) < 0)
                        return r;
                if (!src)
                        return spec_error(err, it->mark, p, "source is required");
                strv_consume(&c->s->devices,
                             xasprintf("%s:%s:%s", src, dst ? dst : src, perm ? perm : "rwm"));
        }
        return 0;
}

static int k_logging(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"driver", "options", NULL};
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *pd = node_path_key(path, "driver");
        _cleanup_free_ char *po = node_path_key(path, "options");
        if ((r = parse_string(node_get(v, "driver"), pd, &c->s->logging.driver, err)) < 0 ||
            (r = parse_kvlist(node_get(v, "options"), po, false, &c->s->logging.options, err)) < 0)
                return r;
        stack_kvlist_sort(&c->s->logging.options);
        return 0;
}

static bool valid_profile(const char *s)
{
        /* compose: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
        if (!isalnum((unsigned char) s[0]) || !s[1])
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
                        return false;
        return true;
}

static int k_profiles(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r;
        if ((r = parse_strv(v, path, false, &c->s->profiles, err)) < 0)
                return r;
        for (size_t i = 0; c->s->profiles && c->s->profiles[i]; i++)
                if (!valid_profile(c->s->profiles[i])) {
                        _cleanup_free_ char *p = node_path_index(path, i);
                        return spec_error(
                            err, v->items[i]->mark, p,
                            "invalid profile name \"%s\" (must match [a-zA-Z0-9][a-zA-Z0-9_.-]+)",
                            c->s->profiles[i]);
                }
        return 0;
}

static bool is_remote_context(const char *s)
{
        return strstr(s, "://") || startswith(s, "git@") || startswith(s, "github.com/");
}

/* additional_contexts values: a directory (made absolute), or a reference kept as written. */
static void resolve_additional_contexts(struct svc *c, struct stack_kvlist *l)
{
        for (size_t i = 0; i < l->n; i++) {
                char *v = l->items[i].value;
                if (!v || is_remote_context(v) || startswith(v, "service:") || startswith(v, "target:"))
                        continue;
                l->items[i].value = parse_resolve_path(c->st, v);
                free(v);
        }
}

static int parse_build_network(const struct node *v, const char *path, char **ret, struct stack_error *err)
{
        int r = parse_string(v, path, ret, err);
        if (r < 0 || !*ret)
                return r;
        if (!streq(*ret, "default") && !streq(*ret, "none") && !streq(*ret, "host"))
                return spec_error(err, v->mark, path,
                                  "unsupported build network \"%s\" (expected default, none or host)", *ret);
        return 0;
}

static int parse_build_mapping(struct svc *c, struct stack_build *b, const struct node *v, const char *path,
                               char **ret_context, struct stack_error *err)
{
        static const char *const keys[] = {"additional_contexts",
                                           "args",
                                           "cache_from",
                                           "cache_to",
                                           "context",
                                           "dockerfile",
                                           "dockerfile_inline",
                                           "entitlements",
                                           "extra_hosts",
                                           "isolation",
                                           "labels",
                                           "network",
                                           "no_cache",
                                           "no_cache_filter",
                                           "platforms",
                                           "privileged",
                                           "provenance",
                                           "pull",
                                           "sbom",
                                           "secrets",
                                           "shm_size",
                                           "ssh",
                                           "tags",
                                           "target",
                                           "ulimits",
                                           NULL};
        /* Keys of BuildKit features stack's builder does not have. */
        static const char *const unsupported[] = {"entitlements", "isolation",  "no_cache_filter",
                                                  "privileged",   "provenance", "sbom",
                                                  "ulimits",      NULL};
        int r;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_pairs; i++)
                if (strv_contains((char **) unsupported, v->pairs[i].key)) {
                        _cleanup_free_ char *p = node_path_key(path, v->pairs[i].key);
                        parse_unsupported(c->st, v->pairs[i].key, v->pairs[i].key_mark, p);
                }
#define P(key) _cleanup_free_ char *p_##key = node_path_key(path, #key)
        P(context);
        P(dockerfile);
        P(dockerfile_inline);
        P(args);
        P(target);
        P(labels);
        P(tags);
        P(no_cache);
        P(pull);
        P(network);
        P(extra_hosts);
        P(shm_size);
        P(secrets);
        P(ssh);
        P(additional_contexts);
        P(platforms);
        P(cache_from);
        P(cache_to);
#undef P
        if ((r = parse_string(node_get(v, "context"), p_context, ret_context, err)) < 0 ||
            (r = parse_string(node_get(v, "dockerfile"), p_dockerfile, &b->dockerfile, err)) < 0 ||
            (r = parse_string(node_get(v, "dockerfile_inline"), p_dockerfile_inline, &b->dockerfile_inline,
                              err)) < 0 ||
            (r = parse_kvlist(node_get(v, "args"), p_args, true, &b->args, err)) < 0 ||
            (r = parse_string(node_get(v, "target"), p_target, &b->target, err)) < 0 ||
            (r = parse_kvlist(node_get(v, "labels"), p_labels, false, &b->labels, err)) < 0 ||
            (r = parse_strv(node_get(v, "tags"), p_tags, false, &b->tags, err)) < 0 ||
            (r = parse_bool(node_get(v, "no_cache"), p_no_cache, &b->no_cache, err)) < 0 ||
            (r = parse_bool(node_get(v, "pull"), p_pull, &b->pull, err)) < 0 ||
            (r = parse_build_network(node_get(v, "network"), p_network, &b->network, err)) < 0 ||
            (r = parse_extra_hosts(node_get(v, "extra_hosts"), p_extra_hosts, &b->extra_hosts, err)) < 0 ||
            (r = parse_bytes(node_get(v, "shm_size"), p_shm_size, &b->shm_size, err)) < 0 ||
            (r = parse_file_refs(c, node_get(v, "secrets"), p_secrets, true, &b->secrets, &b->n_secrets,
                                 err)) < 0 ||
            (r = parse_kvlist(node_get(v, "ssh"), p_ssh, true, &b->ssh, err)) < 0 ||
            (r = parse_kvlist(node_get(v, "additional_contexts"), p_additional_contexts, false,
                              &b->additional_contexts, err)) < 0 ||
            (r = parse_strv(node_get(v, "platforms"), p_platforms, false, &b->platforms, err)) < 0 ||
            (r = parse_strv(node_get(v, "cache_from"), p_cache_from, false, &b->cache_from, err)) < 0 ||
            (r = parse_strv(node_get(v, "cache_to"), p_cache_to, false, &b->cache_to, err)) < 0)
                return r;
        if (b->dockerfile && b->dockerfile_inline)
                return spec_error(err, node_get_pair(v, "dockerfile_inline")->key_mark, path,
                                  "dockerfile and dockerfile_inline are mutually exclusive");
        if (b->shm_size < 0)
                return spec_error(err, node_get(v, "shm_size")->mark, p_shm_size, "must not be negative");
        /* A bare arg takes its value from the environment, as compose does; unset, the Dockerfile's default
         * applies. */
        for (size_t i = 0; i < b->args.n; i++)
                if (!b->args.items[i].value) {
                        const struct stack_kv *kv =
                            stack_kvlist_get(c->st->ctx->environment, b->args.items[i].key);
                        if (kv && kv->value)
                                b->args.items[i].value = xstrdup(kv->value);
                }
        for (size_t i = 0; i < b->ssh.n; i++)
                if (b->ssh.items[i].value) {
                        char *abs = parse_resolve_path(c->st, b->ssh.items[i].value);
                        free(b->ssh.items[i].value);
                        b->ssh.items[i].value = abs;
                } else if (!streq(b->ssh.items[i].key, "default"))
                        return spec_error(
                            err, node_get(v, "ssh")->mark, p_ssh,
                            "ssh \"%s\": give a socket or key path (ID=PATH); only \"default\" "
                            "stands alone",
                            b->ssh.items[i].key);
        resolve_additional_contexts(c, &b->additional_contexts);
        stack_kvlist_sort(&b->labels);
        stack_kvlist_sort(&b->additional_contexts);
        return 0;
}

static int k_build(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        struct stack_build *b = &c->s->build;
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        b->present = true;
        b->mark = v->mark;
        _cleanup_free_ char *context = NULL;
        if (v->kind == NODE_SCALAR)
                context = xstrdup(v->scalar);
        else if ((r = parse_build_mapping(c, b, v, path, &context, err)) < 0)
                return r;
        if (!context)
                context = xstrdup(".");
        /* A remote context (git URL, tarball URL) stays as written. */
        if (is_remote_context(context))
                b->context = TAKE_PTR(context);
        else
                b->context = parse_resolve_path(c->st, context);
        return 0;
}

/* An empty string is "not set", as for compose (Go's zero value): `container_name: ${NAME}` with NAME unset
 * means no container_name. */
static int parse_optional_string(const struct node *v, const char *path, char **ret, struct stack_error *err)
{
        int r = parse_string(v, path, ret, err);
        if (r >= 0 && *ret && !**ret) {
                free(*ret);
                *ret = NULL;
        }
        return r;
}

#define STRING_KEY(fn, field)                                                                         \
        static int fn(struct svc *c, const struct node *v, const char *path, struct stack_error *err) \
        {                                                                                             \
                return parse_optional_string(v, path, &c->s->field, err);                             \
        }
#define BOOL_KEY(fn, field)                                                                           \
        static int fn(struct svc *c, const struct node *v, const char *path, struct stack_error *err) \
        {                                                                                             \
                return parse_bool(v, path, &c->s->field, err);                                        \
        }
#define STRV_KEY(fn, field, or_string)                                                                \
        static int fn(struct svc *c, const struct node *v, const char *path, struct stack_error *err) \
        {                                                                                             \
                return parse_strv(v, path, or_string, &c->s->field, err);                             \
        }

STRING_KEY(k_image, image)
STRING_KEY(k_container_name, container_name)
STRING_KEY(k_hostname, hostname)
STRING_KEY(k_domainname, domainname)
STRING_KEY(k_working_dir, working_dir)
STRING_KEY(k_user, user)
STRING_KEY(k_stop_signal, stop_signal)
STRING_KEY(k_network_mode, network_mode)
STRING_KEY(k_platform, platform)
STRING_KEY(k_runtime, runtime)
STRING_KEY(k_ipc, ipc)
STRING_KEY(k_pid, pid)
STRING_KEY(k_uts, uts)
STRING_KEY(k_cgroup, cgroup)
STRING_KEY(k_userns_mode, userns_mode)
STRING_KEY(k_mac_address, mac_address)
BOOL_KEY(k_privileged, privileged)
BOOL_KEY(k_read_only, read_only)
BOOL_KEY(k_tty, tty)
BOOL_KEY(k_stdin_open, stdin_open)
STRV_KEY(k_cap_add, cap_add, false)
STRV_KEY(k_cap_drop, cap_drop, false)
STRV_KEY(k_security_opt, security_opt, false)
STRV_KEY(k_tmpfs, tmpfs, true)
STRV_KEY(k_dns, dns, true)
STRV_KEY(k_dns_search, dns_search, true)
STRV_KEY(k_dns_opt, dns_opt, false)
STRV_KEY(k_group_add, group_add, false)

static int k_init(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r = parse_bool(v, path, &c->s->init, err);
        c->s->init_set = r >= 0 && v->kind != NODE_NULL;
        return r;
}

static int k_stop_grace_period(struct svc *c, const struct node *v, const char *path,
                               struct stack_error *err)
{
        return parse_duration(v, path, &c->s->stop_grace_period_usec, err);
}

static int k_shm_size(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_bytes(v, path, &c->s->resources.shm_size, err);
}

static int k_mem_limit(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_bytes(v, path, &c->mem_limit, err);
}

static int k_memswap_limit(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_bytes(v, path, &c->s->resources.memswap, err);
}

static int k_mem_reservation(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_bytes(v, path, &c->s->resources.mem_reservation, err);
}

static int k_cpus(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int r = parse_double(v, path, &c->cpus, err);
        c->cpus_set = r >= 0 && v->kind != NODE_NULL;
        if (r >= 0 && c->cpus < 0)
                return spec_error(err, v->mark, path, "must not be negative");
        return r;
}

static int k_cpu_shares(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_int(v, path, 0, INT64_MAX, &c->s->resources.cpu_shares, err);
}

static int k_pids_limit(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return parse_int(v, path, -1, INT64_MAX, &c->pids_limit, err);
}

static int k_oom_score_adj(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        int64_t x = 0;
        int r = parse_int(v, path, -1000, 1000, &x, err);
        if (r >= 0 && v->kind != NODE_NULL) {
                c->s->oom_score_adj = (int) x;
                c->s->oom_score_adj_set = true;
        }
        return r;
}

static int k_pull_policy(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const policies[] = {
            "always", "never", "missing", "if_not_present", "build", "refresh", "daily", "weekly", NULL};
        int r;
        if ((r = parse_string(v, path, &c->s->pull_policy, err)) < 0 || !c->s->pull_policy)
                return r;
        const char *every = startswith(c->s->pull_policy, "every_");
        int64_t usec;
        if (strv_contains((char **) policies, c->s->pull_policy) ||
            (every && units_parse_duration(every, &usec) == 0 && usec > 0))
                return 0;
        return spec_error(
            err, v->mark, path,
            "invalid pull policy \"%s\" (expected always, never, missing, build, daily, weekly or "
            "every_<duration>)",
            c->s->pull_policy);
}

static int k_ignore(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        (void) c;
        (void) v;
        (void) path;
        (void) err;
        return 0;
}

static const struct {
        const char *key;
        key_handler fn;
} handlers[] = {
    {"annotations", k_annotations},
    {"build", k_build},
    {"cap_add", k_cap_add},
    {"cap_drop", k_cap_drop},
    {"cgroup", k_cgroup},
    {"command", k_command},
    {"configs", k_configs},
    {"container_name", k_container_name},
    {"cpu_shares", k_cpu_shares},
    {"cpus", k_cpus},
    {"depends_on", k_depends_on},
    {"deploy", k_deploy},
    {"develop", k_ignore}, /* parsed last, by parse_develop */
    {"devices", k_devices},
    {"dns", k_dns},
    {"dns_opt", k_dns_opt},
    {"dns_search", k_dns_search},
    {"domainname", k_domainname},
    {"entrypoint", k_entrypoint},
    {"env_file", k_env_file},
    {"environment", k_environment},
    {"expose", k_expose},
    {"extends", k_ignore}, /* resolved by the loader */
    {"extra_hosts", k_extra_hosts},
    {"group_add", k_group_add},
    {"healthcheck", k_healthcheck},
    {"hostname", k_hostname},
    {"image", k_image},
    {"init", k_init},
    {"ipc", k_ipc},
    {"labels", k_labels},
    {"links", k_links},
    {"logging", k_logging},
    {"mac_address", k_mac_address},
    {"mem_limit", k_mem_limit},
    {"mem_reservation", k_mem_reservation},
    {"memswap_limit", k_memswap_limit},
    {"network_mode", k_network_mode},
    {"networks", k_networks},
    {"oom_score_adj", k_oom_score_adj},
    {"pid", k_pid},
    {"pids_limit", k_pids_limit},
    {"platform", k_platform},
    {"ports", k_ports},
    {"privileged", k_privileged},
    {"profiles", k_profiles},
    {"pull_policy", k_pull_policy},
    {"read_only", k_read_only},
    {"restart", k_restart},
    {"runtime", k_runtime},
    {"scale", k_scale},
    {"secrets", k_secrets},
    {"security_opt", k_security_opt},
    {"shm_size", k_shm_size},
    {"stdin_open", k_stdin_open},
    {"stop_grace_period", k_stop_grace_period},
    {"stop_signal", k_stop_signal},
    {"sysctls", k_sysctls},
    {"tmpfs", k_tmpfs},
    {"tty", k_tty},
    {"ulimits", k_ulimits},
    {"user", k_user},
    {"userns_mode", k_userns_mode},
    {"uts", k_uts},
    {"volumes", k_volumes},
    {"working_dir", k_working_dir},
};

static key_handler find_handler(const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                if (streq(handlers[i].key, key))
                        return handlers[i].fn;
        return NULL;
}

/* Legacy keys and deploy.resources.limits may both be given, but not with different values (as compose). */
static int merge_limits(struct svc *c, const struct node *n, struct stack_error *err)
{
        struct stack_resources *res = &c->s->resources;
        if (c->cpus_set && c->limit_cpus_set && c->cpus != c->limit_cpus)
                return spec_error(err, n->mark, c->path,
                                  "cannot set distinct values on 'cpus' and 'deploy.resources.limits.cpus'");
        if (c->mem_limit && c->limit_memory && c->mem_limit != c->limit_memory)
                return spec_error(
                    err, n->mark, c->path,
                    "cannot set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'");
        if (c->pids_limit && c->limit_pids && c->pids_limit != c->limit_pids)
                return spec_error(
                    err, n->mark, c->path,
                    "cannot set distinct values on 'pids_limit' and 'deploy.resources.limits.pids'");
        res->cpus = c->limit_cpus_set ? c->limit_cpus : c->cpus;
        res->memory = c->limit_memory ? c->limit_memory : c->mem_limit;
        res->pids = c->limit_pids ? c->limit_pids : c->pids_limit;
        if (c->scale_set && c->replicas_set && c->scale != c->replicas)
                return spec_error(err, n->mark, c->path,
                                  "cannot set distinct values on 'scale' and 'deploy.replicas'");
        c->s->scale = (int) (c->replicas_set ? c->replicas : c->scale_set ? c->scale : 1);
        return 0;
}

static int finish_networking(struct svc *c, const struct node *n, struct stack_error *err)
{
        struct stack_service *s = c->s;
        const char *mode = s->network_mode;
        _cleanup_free_ char *p_mode = node_path_key(c->path, "network_mode");

        if (mode) {
                const char *target = startswith(mode, "service:");
                if (c->networks && c->networks->kind != NODE_NULL)
                        return spec_error(err, c->networks->mark, c->path,
                                          "network_mode and networks cannot be combined");
                if (target) {
                        /* Sharing another service's namespace needs that service running first. */
                        if (!find_dependency(s, target))
                                add_dependency(s, target, node_get(n, "network_mode")->mark);
                } else if (!streq(mode, "none") && !streq(mode, "host") && !streq(mode, "bridge") &&
                           !startswith(mode, "container:"))
                        return spec_error(
                            err, node_get(n, "network_mode")->mark, p_mode,
                            "invalid network_mode \"%s\" (expected none, host, service:NAME or "
                            "container:NAME)",
                            mode);
        }
        if (!mode && s->n_networks == 0)
                add_network(s, "default", n->mark);
        return 0;
}

/* Two mounts on one container path: the second would hide the first (compose rejects it too). */
static int check_mount_targets(struct svc *c, const struct node *n, struct stack_error *err)
{
        struct stack_service *s = c->s;
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_strv_free_ char **where = NULL;

        for (size_t i = 0; s->tmpfs && s->tmpfs[i]; i++) {
                _cleanup_free_ char *t = xstrdup(s->tmpfs[i]);
                char *colon = strchr(t, ':');
                if (colon)
                        *colon = '\0';
                _cleanup_free_ char *loc = xasprintf("%s.tmpfs[%zu]", c->path, i);
                if (strv_contains(seen, t)) {
                        const struct node *tn = node_get(n, "tmpfs");
                        return spec_error(err, tn->mark, loc, "target %s is already mounted", t);
                }
                strv_push(&seen, t);
                strv_push(&where, loc);
        }
        for (size_t i = 0; i < s->n_volumes; i++) {
                const char *t = s->volumes[i].target;
                _cleanup_free_ char *loc = xasprintf("%s.volumes[%zu]", c->path, i);
                for (size_t j = 0; seen && seen[j]; j++)
                        if (streq(seen[j], t))
                                return spec_error(err, s->volumes[i].mark, loc,
                                                  "target %s is already mounted by %s", t, where[j]);
                strv_push(&seen, t);
                strv_push(&where, loc);
        }
        return 0;
}

static int cmp_service_network(const void *a, const void *b)
{
        return strcmp(((const struct stack_service_network *) a)->name,
                      ((const struct stack_service_network *) b)->name);
}

/* Whether a value still holds an interpolation expression (only when the tree was not interpolated). */
static bool has_expression(const struct node *n)
{
        if (!n)
                return false;
        if (n->kind == NODE_SCALAR)
                return strchr(n->scalar, '$') != NULL;
        for (size_t i = 0; i < n->n_items; i++)
                if (has_expression(n->items[i]))
                        return true;
        for (size_t i = 0; i < n->n_pairs; i++)
                if (has_expression(n->pairs[i].value))
                        return true;
        return false;
}

int parse_service(struct parse_state *st, const char *name, struct node_mark key_mark, const struct node *n,
                  struct stack_service *s, struct stack_error *err)
{
        _cleanup_free_ char *path = node_path_key("services", name);
        struct svc c = {.st = st, .s = s, .path = path};
        int r;

        s->name = xstrdup(name);
        s->mark = key_mark;
        s->stop_grace_period_usec = -1;
        s->healthcheck = (struct stack_healthcheck){
            .interval_usec = -1,
            .timeout_usec = -1,
            .start_period_usec = -1,
            .start_interval_usec = -1,
            .retries = -1,
        };
        s->restart.delay_usec = s->restart.window_usec = -1;
        s->scale = 1;
        if (n->kind == NODE_NULL)
                return spec_error(err, key_mark, path, "neither an image nor a build context specified");
        if ((r = parse_expect(n, path, NODE_MAPPING, err)) < 0)
                return r;

        for (size_t i = 0; i < n->n_pairs; i++) {
                const char *k = n->pairs[i].key;
                const struct node *v = n->pairs[i].value;
                _cleanup_free_ char *p = node_path_key(path, k);
                if (startswith(k, "x-")) {
                        if (!s->extensions)
                                s->extensions = node_new(NODE_MAPPING, n->mark);
                        node_set(s->extensions, k, n->pairs[i].key_mark, node_copy(v));
                        continue;
                }
                key_handler fn = find_handler(k);
                bool tier_c = strv_contains((char **) tier_c_keys, k);
                if (!fn && !tier_c)
                        return spec_error(err, n->pairs[i].key_mark, path,
                                          "additional property \"%s\" is not allowed", k);
                if (tier_c)
                        parse_unsupported(st, k, n->pairs[i].key_mark, p);
                if (fn && (r = fn(&c, v, p, err)) < 0) {
                        if (!st->ctx->no_interpolate || !has_expression(v))
                                return r;
                        stack_error_clear(err);
                        if (!s->uninterpolated)
                                s->uninterpolated = node_new(NODE_MAPPING, n->mark);
                        node_set(s->uninterpolated, k, n->pairs[i].key_mark, node_copy(v));
                }
        }

        if ((r = apply_environment(&c, err)) < 0 || (r = merge_limits(&c, n, err)) < 0 ||
            (r = finish_networking(&c, n, err)) < 0 || (r = check_mount_targets(&c, n, err)) < 0 ||
            (r = parse_develop(st, node_get(n, "develop"), path, s, err)) < 0)
                return r;
        /* deploy.restart_policy wins over restart:, as docker compose applies them. */
        if (c.deploy_restart) {
                s->restart = c.deploy_policy;
                s->restart_set = true;
        }
        STRV_FOREACH (l, s->links) {
                _cleanup_free_ char *svc = xstrdup(*l);
                char *colon = strchr(svc, ':');
                if (colon)
                        *colon = '\0';
                if (!find_dependency(s, svc))
                        add_dependency(s, svc, node_get(n, "links")->mark);
        }
        if (s->n_networks > 1)
                qsort(s->networks, s->n_networks, sizeof(*s->networks), cmp_service_network);
        if (s->container_name && !parse_valid_object_name(s->container_name))
                return spec_error(err, node_get(n, "container_name")->mark, path,
                                  "invalid container_name \"%s\" (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                                  s->container_name);
        for (size_t i = 0; i < s->n_volumes; i++) {
                const char *sub = s->volumes[i].volume_subpath;
                if (sub && (sub[0] == '/' || streq(sub, "..") || startswith(sub, "../") ||
                            strstr(sub, "/../") || endswith(sub, "/.."))) {
                        _cleanup_free_ char *pv = xasprintf("%s.volumes[%zu]", path, i);
                        return spec_error(err, s->volumes[i].mark, pv,
                                          "subpath \"%s\" must be a relative path inside the volume", sub);
                }
        }
        if (s->working_dir && s->working_dir[0] != '/')
                return spec_error(err, node_get(n, "working_dir")->mark, path,
                                  "working_dir \"%s\" must be an absolute path", s->working_dir);
        if (!s->image) {
                if (!s->build.present)
                        return spec_error(err, key_mark, path,
                                          "neither an image nor a build context specified");
                /* compose's name for a built image: <project>-<service>, lower case as references are. */
                s->image = xasprintf("%s-%s", st->project->name, s->name);
                for (char *q = s->image; *q; q++)
                        *q = (char) tolower((unsigned char) *q);
                s->build.image_default = true;
        }
        return 0;
}
