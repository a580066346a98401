/* One service of the final tree -> struct stack_service, every short syntax normalized to the long one.
 * This file holds the key table (the one list of the keys a service may have), the walk over the keys and
 * the keys of no larger group; the networking keys, the mounts (volumes, secrets, configs), the
 * environment and build are parsed in spec/parse-service-{net,volumes,env,build}.c. */
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
#include "spec/logging.h"
#include "spec/parse-internal.h"
#include "spec/units.h"
#include "spec/parse-service-internal.h"

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

int svc_parse_extra_hosts(const struct node *v, const char *path, struct stack_kvlist *out,
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
        return svc_parse_extra_hosts(v, path, &c->s->extra_hosts, err);
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
        return spec_logging_check(v, path, &c->s->logging, err);
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

int svc_parse_short_or_long(struct svc *c, const struct node *v, const char *path,
                            svc_item_parser short_form, svc_item_parser long_form, const char *kinds,
                            struct stack_error *err)
{
        int r;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind == NODE_SCALAR)
                        r = short_form(c, it, p, err);
                else if (it->kind == NODE_MAPPING)
                        r = long_form(c, it, p, err);
                else
                        r = spec_error(err, it->mark, p, "must be %s", kinds);
                if (r < 0)
                        return r;
        }
        return 0;
}

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
                svc_add_network(s, "default", n->mark);
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

        if ((r = svc_apply_environment(&c, err)) < 0 || (r = merge_limits(&c, n, err)) < 0 ||
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
