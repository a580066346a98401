/* The model as a cJSON tree shaped like `docker compose config`, and a small YAML renderer for it. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/print.h"
#include "spec/units.h"

static void add_str(cJSON *o, const char *key, const char *v)
{
        if (v)
                cJSON_AddStringToObject(o, key, v);
}

static void add_bool_if(cJSON *o, const char *key, bool v)
{
        if (v)
                cJSON_AddTrueToObject(o, key);
}

static void add_strv(cJSON *o, const char *key, char *const *l)
{
        if (!l)
                return;
        cJSON *a = cJSON_AddArrayToObject(o, key);
        STRV_FOREACH (s, l)
                cJSON_AddItemToArray(a, cJSON_CreateString(*s));
}

/* A map; a NULL value (environment KEY without a value) is null, as compose prints it. */
static void add_kvmap(cJSON *o, const char *key, const struct stack_kvlist *l)
{
        if (!l->n)
                return;
        cJSON *m = cJSON_AddObjectToObject(o, key);
        for (size_t i = 0; i < l->n; i++) {
                if (l->items[i].value)
                        cJSON_AddStringToObject(m, l->items[i].key, l->items[i].value);
                else
                        cJSON_AddNullToObject(m, l->items[i].key);
        }
}

static void add_duration(cJSON *o, const char *key, int64_t usec)
{
        if (usec < 0)
                return;
        _cleanup_free_ char *s = units_format_duration(usec);
        cJSON_AddStringToObject(o, key, s);
}

/* Byte sizes are strings in compose's output ("67108864"). */
static void add_bytes(cJSON *o, const char *key, int64_t v)
{
        if (!v)
                return;
        _cleanup_free_ char *s = xasprintf("%lld", (long long) v);
        cJSON_AddStringToObject(o, key, s);
}

static void add_mode(cJSON *o, const char *key, int mode)
{
        if (mode >= 0)
                cJSON_AddNumberToObject(o, key, mode);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static const char *proto_name(enum stack_proto p)
{
        switch (p) {
        case STACK_PROTO_UDP:
                return "udp";
        case STACK_PROTO_SCTP:
                return "sctp";
        case STACK_PROTO_TCP:
                break;
        }
        return "tcp";
}

static cJSON *node_to_json(const struct node *n)
{
        if (!n || n->kind == NODE_NULL)
                return cJSON_CreateNull();
        if (n->kind == NODE_SCALAR) {
                bool b;
                int64_t i;
                if (!n->quoted && units_parse_int(n->scalar, INT64_MIN, INT64_MAX, &i) == 0 &&
                    llabs(i) < (1LL << 53))
                        return cJSON_CreateNumber((double) i);
                if (!n->quoted && (streq(n->scalar, "true") || streq(n->scalar, "false")) &&
                    units_parse_bool(n->scalar, &b, NULL) == 0)
                        return cJSON_CreateBool(b);
                if (!n->quoted && (streq(n->scalar, "null") || streq(n->scalar, "~")))
                        return cJSON_CreateNull();
                return cJSON_CreateString(n->scalar);
        }
        if (n->kind == NODE_SEQUENCE) {
                cJSON *a = cJSON_CreateArray();
                for (size_t i = 0; i < n->n_items; i++)
                        cJSON_AddItemToArray(a, node_to_json(n->items[i]));
                return a;
        }
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; i < n->n_pairs; i++)
                cJSON_AddItemToObject(o, n->pairs[i].key, node_to_json(n->pairs[i].value));
        return o;
}

static void add_extensions(cJSON *o, const struct node *ext)
{
        for (size_t i = 0; ext && i < ext->n_pairs; i++)
                cJSON_AddItemToObject(o, ext->pairs[i].key, node_to_json(ext->pairs[i].value));
}

static cJSON *port_to_json(const struct stack_port *p)
{
        cJSON *o = cJSON_CreateObject();
        add_str(o, "name", p->name);
        add_str(o, "mode", p->mode);
        add_str(o, "host_ip", p->host_ip);
        cJSON_AddNumberToObject(o, "target", p->target);
        if (p->published_start) {
                _cleanup_free_ char *pub = p->published_end != p->published_start
                                               ? xasprintf("%u-%u", p->published_start, p->published_end)
                                               : xasprintf("%u", p->published_start);
                cJSON_AddStringToObject(o, "published", pub);
        }
        cJSON_AddStringToObject(o, "protocol", proto_name(p->protocol));
        add_str(o, "app_protocol", p->app_protocol);
        return o;
}

static const char *mount_type_name(enum stack_mount_type t)
{
        switch (t) {
        case STACK_MOUNT_BIND:
                return "bind";
        case STACK_MOUNT_TMPFS:
                return "tmpfs";
        case STACK_MOUNT_IMAGE:
                return "image";
        case STACK_MOUNT_NPIPE:
                return "npipe";
        case STACK_MOUNT_CLUSTER:
                return "cluster";
        case STACK_MOUNT_VOLUME:
                break;
        }
        return "volume";
}

static cJSON *mount_to_json(const struct stack_mount *m)
{
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", mount_type_name(m->type));
        add_str(o, "source", m->source);
        add_str(o, "target", m->target);
        add_bool_if(o, "read_only", m->read_only);
        add_str(o, "consistency", m->consistency);
        if (m->type == STACK_MOUNT_BIND) {
                cJSON *b = cJSON_AddObjectToObject(o, "bind");
                add_str(b, "propagation", m->bind_propagation);
                cJSON_AddBoolToObject(b, "create_host_path", m->bind_create_host_path);
                add_str(b, "selinux", m->bind_selinux);
                add_str(b, "recursive", m->bind_recursive);
        } else if (m->type == STACK_MOUNT_VOLUME) {
                cJSON *v = cJSON_AddObjectToObject(o, "volume");
                add_bool_if(v, "nocopy", m->volume_nocopy);
                add_str(v, "subpath", m->volume_subpath);
        } else if (m->type == STACK_MOUNT_TMPFS && (m->tmpfs_size >= 0 || m->tmpfs_mode >= 0)) {
                cJSON *t = cJSON_AddObjectToObject(o, "tmpfs");
                if (m->tmpfs_size >= 0)
                        cJSON_AddNumberToObject(t, "size", (double) m->tmpfs_size);
                add_mode(t, "mode", m->tmpfs_mode);
        } else if (m->type == STACK_MOUNT_IMAGE && m->volume_subpath) {
                cJSON *i = cJSON_AddObjectToObject(o, "image");
                add_str(i, "subpath", m->volume_subpath);
        }
        return o;
}

static cJSON *health_to_json(const struct stack_healthcheck *h)
{
        cJSON *o = cJSON_CreateObject();
        cJSON *t = NULL;
        switch (h->kind) {
        case STACK_HEALTH_NONE:
                t = cJSON_AddArrayToObject(o, "test");
                cJSON_AddItemToArray(t, cJSON_CreateString("NONE"));
                break;
        case STACK_HEALTH_CMD:
        case STACK_HEALTH_SHELL:
                t = cJSON_AddArrayToObject(o, "test");
                cJSON_AddItemToArray(t,
                                     cJSON_CreateString(h->kind == STACK_HEALTH_CMD ? "CMD" : "CMD-SHELL"));
                STRV_FOREACH (s, h->test)
                        cJSON_AddItemToArray(t, cJSON_CreateString(*s));
                break;
        case STACK_HEALTH_UNSET:
                break;
        }
        add_duration(o, "timeout", h->timeout_usec);
        add_duration(o, "interval", h->interval_usec);
        if (h->retries >= 0)
                cJSON_AddNumberToObject(o, "retries", h->retries);
        add_duration(o, "start_period", h->start_period_usec);
        add_duration(o, "start_interval", h->start_interval_usec);
        add_bool_if(o, "disable", h->disable);
        return o;
}

static char *restart_string(const struct stack_restart_policy *r)
{
        switch (r->policy) {
        case STACK_RESTART_ALWAYS:
                return xstrdup("always");
        case STACK_RESTART_UNLESS_STOPPED:
                return xstrdup("unless-stopped");
        case STACK_RESTART_ON_FAILURE:
                return r->max_retries > 0 ? xasprintf("on-failure:%d", r->max_retries)
                                          : xstrdup("on-failure");
        case STACK_RESTART_NO:
                break;
        }
        return xstrdup("no");
}

static cJSON *file_refs_to_json(const struct stack_file_ref *refs, size_t n)
{
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
                cJSON *o = cJSON_CreateObject();
                add_str(o, "source", refs[i].source);
                add_str(o, "target", refs[i].target);
                add_str(o, "uid", refs[i].uid);
                add_str(o, "gid", refs[i].gid);
                add_mode(o, "mode", refs[i].mode);
                cJSON_AddItemToArray(a, o);
        }
        return a;
}

static const char *dep_condition_name(enum stack_dep_condition c)
{
        switch (c) {
        case STACK_DEP_HEALTHY:
                return "service_healthy";
        case STACK_DEP_COMPLETED:
                return "service_completed_successfully";
        case STACK_DEP_STARTED:
                break;
        }
        return "service_started";
}

static void add_deploy(cJSON *o, const struct stack_service *s, unsigned flags)
{
        const struct stack_resources *r = &s->resources;
        const struct stack_restart_policy *rp = &s->restart;
        cJSON *d = cJSON_CreateObject();

        if (!(flags & SPEC_JSON_FOR_HASH) && s->scale != 1)
                cJSON_AddNumberToObject(d, "replicas", s->scale);
        if (r->cpus > 0 || r->memory || r->pids || r->mem_reservation) {
                cJSON *res = cJSON_AddObjectToObject(d, "resources");
                if (r->cpus > 0 || r->memory || r->pids) {
                        cJSON *l = cJSON_AddObjectToObject(res, "limits");
                        if (r->cpus > 0)
                                cJSON_AddNumberToObject(l, "cpus", r->cpus);
                        add_bytes(l, "memory", r->memory);
                        if (r->pids)
                                cJSON_AddNumberToObject(l, "pids", (double) r->pids);
                }
                if (r->mem_reservation) {
                        cJSON *l = cJSON_AddObjectToObject(res, "reservations");
                        add_bytes(l, "memory", r->mem_reservation);
                }
        }
        if (rp->delay_usec >= 0 || rp->window_usec >= 0) {
                cJSON *p = cJSON_AddObjectToObject(d, "restart_policy");
                add_duration(p, "delay", rp->delay_usec);
                add_duration(p, "window", rp->window_usec);
        }
        if (cJSON_GetArraySize(d) > 0)
                cJSON_AddItemToObject(o, "deploy", d);
        else
                cJSON_Delete(d);
}

static cJSON *service_networks_to_json(const struct stack_service *s)
{
        cJSON *m = cJSON_CreateObject();
        for (size_t i = 0; i < s->n_networks; i++) {
                const struct stack_service_network *n = &s->networks[i];
                bool empty = !n->aliases && !n->ipv4_address && !n->ipv6_address && !n->mac_address &&
                             !n->interface_name && !n->link_local_ips && !n->driver_opts.n && !n->priority &&
                             !n->gw_priority;
                if (empty) {
                        cJSON_AddNullToObject(m, n->name);
                        continue;
                }
                cJSON *o = cJSON_AddObjectToObject(m, n->name);
                add_strv(o, "aliases", n->aliases);
                add_str(o, "ipv4_address", n->ipv4_address);
                add_str(o, "ipv6_address", n->ipv6_address);
                add_str(o, "mac_address", n->mac_address);
                add_str(o, "interface_name", n->interface_name);
                add_strv(o, "link_local_ips", n->link_local_ips);
                add_kvmap(o, "driver_opts", &n->driver_opts);
                if (n->priority)
                        cJSON_AddNumberToObject(o, "priority", n->priority);
                if (n->gw_priority)
                        cJSON_AddNumberToObject(o, "gw_priority", n->gw_priority);
        }
        return m;
}

static void add_hosts(cJSON *o, const char *key, const struct stack_kvlist *hosts)
{
        if (!hosts->n)
                return;
        /* Sorted "host=ip" entries, as compose prints its hosts map. */
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < hosts->n; i++)
                strv_consume(&l, xasprintf("%s=%s", hosts->items[i].key, hosts->items[i].value));
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
        add_strv(o, key, l);
}

/* In the order of compose's BuildConfig, which `docker compose config` follows. */
static cJSON *build_to_json(const struct stack_build *b)
{
        cJSON *o = cJSON_CreateObject();
        add_str(o, "context", b->context);
        if (!b->dockerfile_inline)
                add_str(o, "dockerfile", b->dockerfile ? b->dockerfile : "Dockerfile");
        add_str(o, "dockerfile_inline", b->dockerfile_inline);
        add_kvmap(o, "args", &b->args);
        if (b->ssh.n) {
                _cleanup_strv_free_ char **l = NULL;
                for (size_t i = 0; i < b->ssh.n; i++)
                        strv_consume(&l, b->ssh.items[i].value
                                             ? xasprintf("%s=%s", b->ssh.items[i].key, b->ssh.items[i].value)
                                             : xstrdup(b->ssh.items[i].key));
                add_strv(o, "ssh", l);
        }
        add_kvmap(o, "labels", &b->labels);
        add_strv(o, "cache_from", b->cache_from);
        add_strv(o, "cache_to", b->cache_to);
        add_bool_if(o, "no_cache", b->no_cache);
        add_kvmap(o, "additional_contexts", &b->additional_contexts);
        add_str(o, "network", b->network);
        add_bool_if(o, "pull", b->pull);
        add_str(o, "target", b->target);
        add_bytes(o, "shm_size", b->shm_size);
        add_hosts(o, "extra_hosts", &b->extra_hosts);
        if (b->n_secrets)
                cJSON_AddItemToObject(o, "secrets", file_refs_to_json(b->secrets, b->n_secrets));
        add_strv(o, "tags", b->tags);
        add_strv(o, "platforms", b->platforms);
        return o;
}

static cJSON *develop_to_json(const struct stack_develop *d)
{
        cJSON *o = cJSON_CreateObject();
        cJSON *a = cJSON_AddArrayToObject(o, "watch");
        for (size_t i = 0; i < d->n_watch; i++) {
                const struct stack_watch_rule *w = &d->watch[i];
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "action", stack_watch_action_to_string(w->action));
                if (w->exec.command) {
                        cJSON *e = cJSON_AddObjectToObject(x, "exec");
                        add_strv(e, "command", w->exec.command);
                        add_kvmap(e, "environment", &w->exec.environment);
                        add_bool_if(e, "privileged", w->exec.privileged);
                        add_str(e, "user", w->exec.user);
                        add_str(e, "working_dir", w->exec.working_dir);
                }
                add_strv(x, "ignore", w->ignore);
                add_strv(x, "include", w->include);
                add_bool_if(x, "initial_sync", w->initial_sync);
                add_str(x, "path", w->path);
                add_str(x, "target", w->target);
                cJSON_AddItemToArray(a, x);
        }
        return o;
}

cJSON *spec_service_to_json(const struct stack_project *p, const struct stack_service *s, unsigned flags)
{
        bool hash = flags & SPEC_JSON_FOR_HASH;
        cJSON *o = cJSON_CreateObject();
        (void) p;

        add_kvmap(o, "annotations", &s->annotations);
        /* build: stays out of the hash (DESIGN): the built image's ID is what the hash sees. */
        if (s->build.present && !hash)
                cJSON_AddItemToObject(o, "build", build_to_json(&s->build));
        add_strv(o, "cap_add", s->cap_add);
        add_strv(o, "cap_drop", s->cap_drop);
        add_str(o, "cgroup", s->cgroup);
        if (s->command_set)
                add_strv(o, "command", s->command);
        if (s->n_configs)
                cJSON_AddItemToObject(o, "configs", file_refs_to_json(s->configs, s->n_configs));
        add_str(o, "container_name", s->container_name);
        if (s->resources.cpu_shares)
                cJSON_AddNumberToObject(o, "cpu_shares", (double) s->resources.cpu_shares);
        if (s->n_depends_on && !hash) {
                cJSON *m = cJSON_AddObjectToObject(o, "depends_on");
                for (size_t i = 0; i < s->n_depends_on; i++) {
                        const struct stack_dependency *d = &s->depends_on[i];
                        cJSON *x = cJSON_AddObjectToObject(m, d->service);
                        cJSON_AddStringToObject(x, "condition", dep_condition_name(d->condition));
                        add_bool_if(x, "restart", d->restart);
                        cJSON_AddBoolToObject(x, "required", d->required);
                }
        }
        add_deploy(o, s, flags);
        /* develop: is how `stack watch` works on the service, not the container: not hashed. */
        if (s->develop.n_watch && !hash)
                cJSON_AddItemToObject(o, "develop", develop_to_json(&s->develop));
        add_strv(o, "devices", s->devices);
        add_strv(o, "dns", s->dns);
        add_strv(o, "dns_opt", s->dns_opt);
        add_strv(o, "dns_search", s->dns_search);
        add_str(o, "domainname", s->domainname);
        if (s->entrypoint_set)
                add_strv(o, "entrypoint", s->entrypoint);
        /* env_file is not printed: its entries are already in environment, as docker compose config shows
         * them. */
        add_kvmap(o, "environment", &s->environment);
        if (s->n_expose) {
                cJSON *a = cJSON_AddArrayToObject(o, "expose");
                for (size_t i = 0; i < s->n_expose; i++) {
                        _cleanup_free_ char *e =
                            s->expose[i].protocol == STACK_PROTO_TCP
                                ? xasprintf("%u", s->expose[i].target)
                                : xasprintf("%u/%s", s->expose[i].target, proto_name(s->expose[i].protocol));
                        cJSON_AddItemToArray(a, cJSON_CreateString(e));
                }
        }
        add_hosts(o, "extra_hosts", &s->extra_hosts);
        add_strv(o, "group_add", s->group_add);
        if (s->healthcheck.present)
                cJSON_AddItemToObject(o, "healthcheck", health_to_json(&s->healthcheck));
        add_str(o, "hostname", s->hostname);
        /* compose prints no image: for a built service that names none. */
        if (!s->build.image_default || hash)
                add_str(o, "image", s->image);
        if (s->init_set)
                cJSON_AddBoolToObject(o, "init", s->init);
        add_str(o, "ipc", s->ipc);
        add_kvmap(o, "labels", &s->labels);
        add_strv(o, "links", s->links);
        if (s->logging.driver || s->logging.options.n) {
                cJSON *l = cJSON_AddObjectToObject(o, "logging");
                add_str(l, "driver", s->logging.driver);
                add_kvmap(l, "options", &s->logging.options);
        }
        add_str(o, "mac_address", s->mac_address);
        add_bytes(o, "memswap_limit", s->resources.memswap);
        add_str(o, "network_mode", s->network_mode);
        if (s->n_networks)
                cJSON_AddItemToObject(o, "networks", service_networks_to_json(s));
        if (s->oom_score_adj_set)
                cJSON_AddNumberToObject(o, "oom_score_adj", s->oom_score_adj);
        add_str(o, "pid", s->pid);
        add_str(o, "platform", s->platform);
        if (s->n_ports) {
                cJSON *a = cJSON_AddArrayToObject(o, "ports");
                for (size_t i = 0; i < s->n_ports; i++)
                        cJSON_AddItemToArray(a, port_to_json(&s->ports[i]));
        }
        add_bool_if(o, "privileged", s->privileged);
        if (!hash) {
                add_strv(o, "profiles", s->profiles);
                add_str(o, "pull_policy", s->pull_policy);
        }
        add_bool_if(o, "read_only", s->read_only);
        if (s->restart_set) {
                _cleanup_free_ char *r = restart_string(&s->restart);
                cJSON_AddStringToObject(o, "restart", r);
        }
        add_str(o, "runtime", s->runtime);
        if (s->n_secrets)
                cJSON_AddItemToObject(o, "secrets", file_refs_to_json(s->secrets, s->n_secrets));
        add_strv(o, "security_opt", s->security_opt);
        add_bytes(o, "shm_size", s->resources.shm_size);
        add_bool_if(o, "stdin_open", s->stdin_open);
        add_duration(o, "stop_grace_period", s->stop_grace_period_usec);
        add_str(o, "stop_signal", s->stop_signal);
        add_kvmap(o, "sysctls", &s->sysctls);
        add_strv(o, "tmpfs", s->tmpfs);
        add_bool_if(o, "tty", s->tty);
        if (s->n_ulimits) {
                cJSON *m = cJSON_AddObjectToObject(o, "ulimits");
                for (size_t i = 0; i < s->n_ulimits; i++) {
                        const struct stack_ulimit *u = &s->ulimits[i];
                        if (u->soft == u->hard) {
                                cJSON_AddNumberToObject(m, u->name, (double) u->soft);
                                continue;
                        }
                        cJSON *x = cJSON_AddObjectToObject(m, u->name);
                        cJSON_AddNumberToObject(x, "soft", (double) u->soft);
                        cJSON_AddNumberToObject(x, "hard", (double) u->hard);
                }
        }
        add_str(o, "user", s->user);
        add_str(o, "userns_mode", s->userns_mode);
        add_str(o, "uts", s->uts);
        if (s->n_volumes) {
                cJSON *a = cJSON_AddArrayToObject(o, "volumes");
                for (size_t i = 0; i < s->n_volumes; i++)
                        cJSON_AddItemToArray(a, mount_to_json(&s->volumes[i]));
        }
        add_str(o, "working_dir", s->working_dir);
        /* x-* keys are the user's notes, not container configuration (compose leaves them out too). */
        if (!hash)
                add_extensions(o, s->extensions);
        /* --no-interpolate: what could not be typed is shown as written, as docker compose does. */
        for (size_t i = 0; s->uninterpolated && i < s->uninterpolated->n_pairs; i++) {
                const struct node_pair *pr = &s->uninterpolated->pairs[i];
                cJSON *v = node_to_json(pr->value);
                if (cJSON_GetObjectItemCaseSensitive(o, pr->key))
                        cJSON_ReplaceItemInObjectCaseSensitive(o, pr->key, v);
                else
                        cJSON_AddItemToObject(o, pr->key, v);
        }
        return o;
}

static cJSON *network_to_json(const struct stack_network *n)
{
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", n->name);
        add_str(o, "driver", n->driver);
        add_kvmap(o, "driver_opts", &n->driver_opts);
        if (n->ipam_driver || n->n_ipam || n->ipam_options.n) {
                cJSON *ipam = cJSON_AddObjectToObject(o, "ipam");
                add_str(ipam, "driver", n->ipam_driver);
                if (n->n_ipam) {
                        cJSON *a = cJSON_AddArrayToObject(ipam, "config");
                        for (size_t i = 0; i < n->n_ipam; i++) {
                                cJSON *c = cJSON_CreateObject();
                                add_str(c, "subnet", n->ipam[i].subnet);
                                add_str(c, "ip_range", n->ipam[i].ip_range);
                                add_str(c, "gateway", n->ipam[i].gateway);
                                add_kvmap(c, "aux_addresses", &n->ipam[i].aux_addresses);
                                cJSON_AddItemToArray(a, c);
                        }
                }
                add_kvmap(ipam, "options", &n->ipam_options);
        }
        add_bool_if(o, "external", n->external);
        add_bool_if(o, "internal", n->internal);
        add_bool_if(o, "attachable", n->attachable);
        if (!n->enable_ipv4)
                cJSON_AddFalseToObject(o, "enable_ipv4");
        add_bool_if(o, "enable_ipv6", n->enable_ipv6);
        add_kvmap(o, "labels", &n->labels);
        return o;
}

static cJSON *volume_to_json(const struct stack_volume *v)
{
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", v->name);
        add_str(o, "driver", v->driver);
        add_kvmap(o, "driver_opts", &v->driver_opts);
        add_bool_if(o, "external", v->external);
        add_kvmap(o, "labels", &v->labels);
        return o;
}

static cJSON *file_def_to_json(const struct stack_file_def *d)
{
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d->name);
        add_str(o, "file", d->file);
        add_str(o, "environment", d->environment);
        add_str(o, "content", d->content);
        add_bool_if(o, "external", d->external);
        add_kvmap(o, "labels", &d->labels);
        return o;
}

cJSON *spec_project_to_json(const struct stack_project *p)
{
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON *services = cJSON_AddObjectToObject(o, "services");
        for (size_t i = 0; i < p->n_services; i++)
                cJSON_AddItemToObject(services, p->services[i].name,
                                      spec_service_to_json(p, &p->services[i], 0));
        if (p->n_networks) {
                cJSON *m = cJSON_AddObjectToObject(o, "networks");
                for (size_t i = 0; i < p->n_networks; i++)
                        cJSON_AddItemToObject(m, p->networks[i].key, network_to_json(&p->networks[i]));
        }
        if (p->n_volumes) {
                cJSON *m = cJSON_AddObjectToObject(o, "volumes");
                for (size_t i = 0; i < p->n_volumes; i++)
                        cJSON_AddItemToObject(m, p->volumes[i].key, volume_to_json(&p->volumes[i]));
        }
        if (p->n_secrets) {
                cJSON *m = cJSON_AddObjectToObject(o, "secrets");
                for (size_t i = 0; i < p->n_secrets; i++)
                        cJSON_AddItemToObject(m, p->secrets[i].key, file_def_to_json(&p->secrets[i]));
        }
        if (p->n_configs) {
                cJSON *m = cJSON_AddObjectToObject(o, "configs");
                for (size_t i = 0; i < p->n_configs; i++)
                        cJSON_AddItemToObject(m, p->configs[i].key, file_def_to_json(&p->configs[i]));
        }
        if (p->settings.max_orphans >= 0) {
                cJSON *x = cJSON_AddObjectToObject(o, "x-stack");
                cJSON_AddNumberToObject(x, "max_orphans", p->settings.max_orphans);
        }
        add_extensions(o, p->extensions);
        return o;
}

/* ---- YAML ---- */

static bool looks_like_number(const char *s)
{
        char *end;
        if (strtod(s, &end) != 0 || end != s)
                if (*end == '\0')
                        return true;
        /* YAML 1.1 and 1.2 numeric forms strtod does not cover the same way. */
        const char *p = s;
        if (*p == '+' || *p == '-')
                p++;
        if (strcasecmp(p, ".inf") == 0 || strcasecmp(s, ".nan") == 0)
                return true;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
                return true;
        /* 1_000 (a YAML 1.1 integer) and 2024-01-01 (a timestamp) read as something else than text. */
        bool underscored = isdigit((unsigned char) *p) && strchr(p, '_');
        for (const char *q = p; *q && underscored; q++)
                underscored = isdigit((unsigned char) *q) || *q == '_' || *q == '.';
        if (underscored)
                return true;
        if (strlen(s) >= 8 && isdigit((unsigned char) s[0]) && isdigit((unsigned char) s[1]) &&
            isdigit((unsigned char) s[2]) && isdigit((unsigned char) s[3]) && s[4] == '-' &&
            isdigit((unsigned char) s[5]))
                return true;
        /* sexagesimal 1:20 of YAML 1.1 */
        bool digits_colons = isdigit((unsigned char) *p);
        for (const char *q = p; *q && digits_colons; q++)
                digits_colons = isdigit((unsigned char) *q) || *q == ':' || *q == '_' || *q == '.';
        return digits_colons && strchr(p, ':');
}

static bool needs_quotes(const char *s)
{
        static const char *const reserved[] = {"true", "false", "yes",  "no", "on", "off",
                                               "y",    "n",     "null", "~",  NULL};
        size_t n = strlen(s);
        if (n == 0 || isspace((unsigned char) s[0]) || isspace((unsigned char) s[n - 1]))
                return true;
        /* "-c" stays plain (a dash starts a sequence entry only when a blank follows). */
        bool plain_dash = s[0] == '-' && n > 1 && s[1] != ' ' && s[1] != '-';
        if (!plain_dash && strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
                return true;
        for (const char *const *r = reserved; *r; r++)
                if (strcasecmp(s, *r) == 0)
                        return true;
        if (looks_like_number(s))
                return true;
        if (strstr(s, ": ") || strstr(s, " #") || s[n - 1] == ':')
                return true;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return true;
        return false;
}

static void put_scalar_string(struct strbuf *b, const char *s)
{
        if (!needs_quotes(s)) {
                strbuf_puts(b, s);
                return;
        }
        strbuf_putc(b, '"');
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c == '"' || c == '\\') {
                        strbuf_putc(b, '\\');
                        strbuf_putc(b, (char) c);
                } else if (c == '\n')
                        strbuf_puts(b, "\\n");
                else if (c == '\t')
                        strbuf_puts(b, "\\t");
                else if (c == '\r')
                        strbuf_puts(b, "\\r");
                else if (c < 0x20 || c == 0x7f)
                        strbuf_printf(b, "\\x%02x", c);
                else
                        strbuf_putc(b, (char) c);
        }
        strbuf_putc(b, '"');
}

static void put_number(struct strbuf *b, double v)
{
        if (v == floor(v) && fabs(v) < 9007199254740992.0) {
                strbuf_printf(b, "%lld", (long long) v);
                return;
        }
        /* The shortest form that reads back as the same double: 0.1, not 0.10000000000000001. */
        char tmp[64];
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
                if (strtod(tmp, NULL) == v)
                        break;
        }
        strbuf_puts(b, tmp);
}

static void put_indent(struct strbuf *b, int n)
{
        for (int i = 0; i < n; i++)
                strbuf_putc(b, ' ');
}

static bool is_collection(const cJSON *j)
{
        return (cJSON_IsObject(j) || cJSON_IsArray(j)) && j->child;
}

/* Writes a value that follows "key:" or "- " on the same line (scalars, empty collections). */
static void put_inline(struct strbuf *b, const cJSON *j)
{
        if (cJSON_IsString(j))
                put_scalar_string(b, j->valuestring);
        else if (cJSON_IsNumber(j))
                put_number(b, j->valuedouble);
        else if (cJSON_IsBool(j))
                strbuf_puts(b, cJSON_IsTrue(j) ? "true" : "false");
        else if (cJSON_IsNull(j))
                strbuf_puts(b, "null");
        else if (cJSON_IsArray(j))
                strbuf_puts(b, "[]");
        else
                strbuf_puts(b, "{}");
}

static void put_block(struct strbuf *b, const cJSON *j, int indent, bool first_inline);

/* An object's entries; the first one continues the current line when first_inline (after "- "). */
static void put_object(struct strbuf *b, const cJSON *j, int indent, bool first_inline)
{
        bool first = true;
        for (const cJSON *c = j->child; c; c = c->next) {
                if (!(first && first_inline))
                        put_indent(b, indent);
                first = false;
                put_scalar_string(b, c->string);
                strbuf_putc(b, ':');
                if (is_collection(c)) {
                        strbuf_putc(b, '\n');
                        put_block(b, c, indent + 2, false);
                } else {
                        strbuf_putc(b, ' ');
                        put_inline(b, c);
                        strbuf_putc(b, '\n');
                }
        }
}

static void put_block(struct strbuf *b, const cJSON *j, int indent, bool first_inline)
{
        if (cJSON_IsObject(j)) {
                put_object(b, j, indent, first_inline);
                return;
        }
        bool first = true;
        for (const cJSON *c = j->child; c; c = c->next) {
                if (!(first && first_inline))
                        put_indent(b, indent);
                first = false;
                strbuf_puts(b, "- ");
                if (is_collection(c))
                        put_block(b, c, indent + 2, true);
                else {
                        put_inline(b, c);
                        strbuf_putc(b, '\n');
                }
        }
}

char *spec_json_to_yaml(const cJSON *j)
{
        struct strbuf b = {0};
        if (is_collection(j))
                put_block(&b, j, 0, false);
        else {
                put_inline(&b, j);
                strbuf_putc(&b, '\n');
        }
        return strbuf_take(&b);
}

static int cmp_json_key(const void *a, const void *b)
{
        const cJSON *x = *(const cJSON *const *) a, *y = *(const cJSON *const *) b;
        return strcmp(x->string, y->string);
}

void spec_json_sort(cJSON *j)
{
        if (!j)
                return;
        for (cJSON *c = j->child; c; c = c->next)
                spec_json_sort(c);
        if (!cJSON_IsObject(j) || !j->child)
                return;
        size_t n = 0;
        for (cJSON *c = j->child; c; c = c->next)
                n++;
        _cleanup_free_ cJSON **items = xcalloc(n, sizeof(cJSON *));
        n = 0;
        for (cJSON *c = j->child; c; c = c->next)
                items[n++] = c;
        qsort(items, n, sizeof(cJSON *), cmp_json_key);
        /* Relink in order; cJSON keeps prev of the head pointing at the tail. */
        for (size_t i = 0; i < n; i++) {
                items[i]->next = i + 1 < n ? items[i + 1] : NULL;
                items[i]->prev = i > 0 ? items[i - 1] : items[n - 1];
        }
        j->child = items[0];
}

/* A leaf (or a key, as a string) in JSON syntax, escapes included. */
static void put_json_leaf(struct strbuf *b, const cJSON *j)
{
        char *s = cJSON_PrintUnformatted(j);
        strbuf_puts(b, s);
        cJSON_free(s);
}

static void put_json(struct strbuf *b, const cJSON *j, int indent)
{
        bool obj = cJSON_IsObject(j);
        if (!obj && !cJSON_IsArray(j)) {
                put_json_leaf(b, j);
                return;
        }
        if (!j->child) {
                strbuf_puts(b, obj ? "{}" : "[]");
                return;
        }
        strbuf_puts(b, obj ? "{\n" : "[\n");
        for (const cJSON *c = j->child; c; c = c->next) {
                put_indent(b, indent + 2);
                if (obj) {
                        _cleanup_(cJSON_Deletep) cJSON *k = cJSON_CreateString(c->string);
                        put_json_leaf(b, k);
                        strbuf_puts(b, ": ");
                }
                put_json(b, c, indent + 2);
                strbuf_puts(b, c->next ? ",\n" : "\n");
        }
        put_indent(b, indent);
        strbuf_putc(b, obj ? '}' : ']');
}

char *spec_json_pretty(const cJSON *j)
{
        struct strbuf b = {0};
        put_json(&b, j, 0);
        strbuf_putc(&b, '\n');
        return strbuf_take(&b);
}

/* Interpolated values are written with every `$` as `$$`, as docker compose writes them, so that the output
 * loads back to the same model: a bcrypt hash or a `${VAR}` meant for the container's shell stays as it is.
 */
static void escape_dollars(cJSON *j)
{
        if (cJSON_IsString(j) && strchr(j->valuestring, '$')) {
                struct strbuf b = {0};
                for (const char *c = j->valuestring; *c; c++)
                        strbuf_puts(&b, *c == '$' ? "$$" : (char[]){*c, '\0'});
                _cleanup_free_ char *escaped = strbuf_take(&b);
                cJSON_SetValuestring(j, escaped);
                return;
        }
        cJSON *child;
        cJSON_ArrayForEach(child, j) escape_dollars(child);
}

char *spec_project_format(const struct stack_project *p, enum spec_format format)
{
        _cleanup_(cJSON_Deletep) cJSON *j = spec_project_to_json(p);
        if (!p->uninterpolated)
                escape_dollars(j);
        if (format == SPEC_FORMAT_JSON)
                return spec_json_pretty(j);
        return spec_json_to_yaml(j);
}
