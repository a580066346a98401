#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/engine/apply.h"
#include "core/base/cleanup.h"
#include "core/runtime/container.h"
#include "core/base/fileio.h"
#include "core/engine/graph.h"
#include "core/engine/health.h"
#include "core/image/image.h"
#include "core/base/log.h"
#include "core/runtime/oci.h"
#include "core/engine/reconcile.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "core/base/util.h"
#include "core/runtime/volume.h"
#include "net/firewall.h"
#include "net/firewall6.h"
#include "net/network.h"
#include "net/ports.h"
#include "spec/hash.h"

#define USEC_PER_SEC 1000000ULL

struct net_cache_entry {
        char *key;
        struct network_info info;
};

struct reconciler {
        const struct reconcile_config *cfg;
        const struct stack_project *project; /* NULL: down from the records alone */
        const char *name;
        struct image_store *images;
        struct container_host *host;
        struct network_ctx *net;
        /* The netlink socket, the image store and the cache below are shared by the worker threads. */
        pthread_mutex_t lock;
        struct net_cache_entry *nets;
        size_t n_nets;
        bool supervisor_started;
        bool down; /* the whole project goes: its network pieces go in one batch at the end */
};

static struct supervisor_config sup_config(const struct reconciler *r)
{
        return (struct supervisor_config){
            .root = r->cfg->root,
            .run_root = r->cfg->run_root,
            .project = r->name,
            .runtime = r->cfg->runtime,
        };
}

/* ---- the desired state ---- */

static bool service_uses_bridge(const struct stack_service *s)
{
        return !s->network_mode;
}

static int build_desired(struct reconciler *r, struct plan_desired **ret, struct stack_error *err)
{
        const struct stack_project *p = r->project;
        struct plan_desired *d = xcalloc(1, sizeof(*d));
        d->project = xstrdup(p->name);
        d->all_services = xcalloc(1, sizeof(char *));
        d->networks = xcalloc(1, sizeof(char *));
        d->volumes = xcalloc(1, sizeof(char *));
        d->services = xcalloc(p->n_services + 1, sizeof(struct plan_service));
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                struct plan_service *ps = &d->services[d->n_services++];
                ps->name = xstrdup(s->name);
                ps->scale = s->scale;
                ps->container_name = s->container_name ? xstrdup(s->container_name) : NULL;
                char hash[65];
                int k = spec_service_hash(p, s, hash);
                if (k < 0) {
                        plan_desired_free(d);
                        return stack_error_errno(err, k, "service %s: config hash", s->name);
                }
                ps->config_hash = xstrdup(hash);
                if (!s->image) {
                        plan_desired_free(d);
                        return stack_error_set(err, EINVAL, "service %s: no image", s->name);
                }
                _cleanup_image_ struct image *img = NULL;
                k = image_lookup(r->images, s->image, &img, err);
                if (k < 0) {
                        plan_desired_free(d);
                        if (k == -ENOENT) {
                                stack_error_clear(err);
                                return stack_error_set(err, ENOENT,
                                                       "service %s: image %s not found in the store (import "
                                                       "it with `stack image import`)",
                                                       s->name, s->image);
                        }
                        return stack_error_prefix(err, "service %s", s->name);
                }
                ps->image_id = xstrdup(img->id);
                ps->networks = xcalloc(1, sizeof(char *));
                if (service_uses_bridge(s))
                        for (size_t n = 0; n < s->n_networks; n++)
                                strv_push(&ps->networks, s->networks[n].name);
                ps->volumes = xcalloc(1, sizeof(char *));
                for (size_t v = 0; v < s->n_volumes; v++)
                        if (s->volumes[v].type == STACK_MOUNT_VOLUME && s->volumes[v].source &&
                            !strv_contains(ps->volumes, s->volumes[v].source))
                                strv_push(&ps->volumes, s->volumes[v].source);
                ps->deps = xcalloc(s->n_depends_on + 1, sizeof(struct plan_dep));
                for (size_t k2 = 0; k2 < s->n_depends_on; k2++) {
                        const struct stack_dependency *dep = &s->depends_on[k2];
                        if (!stack_project_service(p, dep->service))
                                continue; /* optional and not enabled: the graph warned */
                        ps->deps[ps->n_deps++] = (struct plan_dep){
                            .service = xstrdup(dep->service),
                            .condition = dep->condition,
                            .required = dep->required,
                            .restart = dep->restart,
                        };
                }
                struct health_settings h;
                health_settings_resolve(&s->healthcheck, &img->config.healthcheck, &h);
                ps->has_healthcheck = h.enabled;
                ps->restart_no = s->restart.policy == STACK_RESTART_NO;
                strv_push(&d->all_services, s->name);
                STRV_FOREACH (net, ps->networks) {
                        const struct stack_network *n = stack_project_network(p, *net);
                        if (n && !n->external && !strv_contains(d->networks, *net))
                                strv_push(&d->networks, *net);
                }
        }
        STRV_FOREACH (name, p->disabled_services)
                strv_push(&d->all_services, *name);
        for (size_t i = 0; i < p->n_volumes; i++)
                if (!p->volumes[i].external)
                        strv_push(&d->volumes, p->volumes[i].key);
        *ret = d;
        return 0;
}

/* ---- the observed state ---- */

/* A plan that changes containers marks the project before it starts and run_publish clears the mark: a
 * run killed in between leaves it, and the next plan redoes the firewall and DNS update even when the
 * containers themselves are right by then. */
static char *publish_mark_path(const struct reconciler *r)
{
        _cleanup_free_ char *dir = state_project_run_dir(r->cfg->run_root, r->name);
        return path_join(dir, "publish-pending");
}

static int publish_mark(const struct reconciler *r, struct stack_error *err)
{
        _cleanup_free_ char *path = publish_mark_path(r);
        return write_file_atomic(path, "", 0, 0600, err);
}

static void publish_unmark(const struct reconciler *r)
{
        _cleanup_free_ char *path = publish_mark_path(r);
        (void) unlink(path);
}

/* Each container's state: the supervisor's word when it runs, else the runtime's, with the last exit code
 * the supervisor recorded. The records alone are never trusted: a container the runtime no longer has is
 * "dead", and the plan replaces it. */
static int observe(struct reconciler *r, struct plan_observed **ret, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(r->cfg->root, r->name, &recs, &n, err);
        if (k < 0)
                return k;
        _cleanup_(cJSON_Deletep) cJSON *status = NULL;
        if (supervisor_running(r->cfg->run_root, r->name))
                (void) supervisor_op(r->cfg->run_root, r->name, "status", NULL, &status, NULL);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(status, "containers");

        struct plan_observed *o = xcalloc(1, sizeof(*o));
        o->containers = xcalloc(n + 1, sizeof(*o->containers));
        for (size_t i = 0; i < n; i++) {
                struct container_record *rec = recs[i];
                struct plan_observed_container *c = &o->containers[o->n_containers++];
                c->name = xstrdup(rec->name);
                c->service = xstrdup(rec->service);
                c->number = rec->number;
                c->config_hash = xstrdup(rec->config_hash);
                c->image_id = xstrdup(rec->image_id);
                c->networks = strv_copy(rec->networks);
                c->volumes = strv_copy(rec->volumes);
                c->created_usec = rec->created_usec;

                const cJSON *item = NULL, *found = NULL;
                cJSON_ArrayForEach(item, list) if (streq_ptr(json_get_str(item, "name"), rec->name)) found =
                    item;
                /* The supervisor watches its containers' processes: its word on a running one is current and
                 * saves a runtime call per container (which is most of a no-op `up`). Anything else is
                 * asked of the runtime, which may have lost a container the records still name. */
                struct container_status cs = {0};
                struct stack_error e = {0};
                if (found &&
                    container_state_from_string(json_get_str(found, "state")) == CONTAINER_STATE_RUNNING)
                        cs.state = CONTAINER_STATE_RUNNING;
                else if (container_state(r->host, rec->name, &cs, &e) < 0)
                        cs.state = CONTAINER_STATE_DEAD;
                stack_error_clear(&e);
                _cleanup_(cJSON_Deletep) cJSON *saved =
                    found ? NULL : supervisor_read_status(r->cfg->run_root, r->name, rec->name);
                const cJSON *st = found ? found : saved;
                c->state = cs.state;
                enum container_state sup =
                    st ? container_state_from_string(json_get_str(st, "state")) : CONTAINER_STATE_UNKNOWN;
                if (c->state == CONTAINER_STATE_EXITED && container_state_is_up(sup))
                        c->state = CONTAINER_STATE_RUNNING; /* restarting: the supervisor has it in hand */
                c->exit_code = st ? (int) json_get_num(st, "exit_code", 0) : 0;
                c->stopped = st && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "stopped"));
        }
        container_record_list_free(recs, n);

        k = state_network_list(r->cfg->root, r->name, &o->networks, err);
        if (k < 0) {
                plan_observed_free(o);
                return k;
        }
        _cleanup_free_ char *mark = publish_mark_path(r);
        o->publish_pending = access(mark, F_OK) == 0;
        o->volumes = xcalloc(1, sizeof(char *));
        if (r->project) {
                for (size_t i = 0; i < r->project->n_volumes; i++) {
                        const struct stack_volume *v = &r->project->volumes[i];
                        if (!v->external && volume_exists(r->cfg->root, v->name))
                                strv_push(&o->volumes, v->key);
                }
        }
        *ret = o;
        return 0;
}

/* ---- networks ---- */

static const struct network_info *network_get(struct reconciler *r, const char *key, struct stack_error *err)
{
        for (size_t i = 0; i < r->n_nets; i++)
                if (streq(r->nets[i].key, key))
                        return &r->nets[i].info;
        const struct stack_network *n = r->project ? stack_project_network(r->project, key) : NULL;
        if (!n) {
                stack_error_set(err, ENOENT, "network %s is not defined", key);
                return NULL;
        }
        struct network_spec spec;
        if (network_spec_from_model(r->name, n, &spec, err) < 0)
                return NULL;
        struct network_info info = {0};
        if (network_setup(r->net, &spec, &info, err) < 0) {
                stack_error_prefix(err, "network %s", n->name);
                return NULL;
        }
        r->nets = xrealloc(r->nets, (r->n_nets + 1) * sizeof(*r->nets));
        r->nets[r->n_nets] = (struct net_cache_entry){.key = xstrdup(key), .info = info};
        return &r->nets[r->n_nets++].info;
}

static int run_create_network(struct reconciler *r, const char *key, struct stack_error *err)
{
        pthread_mutex_lock(&r->lock);
        const struct network_info *info = network_get(r, key, err);
        int k = info ? 0 : -err->code;
        if (info) {
                _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "key", key);
                cJSON_AddStringToObject(j, "name", info->name);
                cJSON_AddStringToObject(j, "bridge", info->bridge);
                k = state_network_write(r->cfg->root, r->name, key, j, err);
        }
        pthread_mutex_unlock(&r->lock);
        return k;
}

static int run_remove_network(struct reconciler *r, const char *key, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        struct stack_error e = {0};
        const char *name = NULL;
        if (state_network_read(r->cfg->root, r->name, key, &j, &e) >= 0)
                name = json_get_str(j, "name");
        stack_error_clear(&e);
        pthread_mutex_lock(&r->lock);
        int k = name ? network_teardown(r->net, r->name, name, err) : 0;
        pthread_mutex_unlock(&r->lock);
        if (k < 0)
                return stack_error_prefix(err, "network %s", name);
        return state_network_remove(r->cfg->root, r->name, key, err);
}

/* ---- containers ---- */

static cJSON *restart_json(const struct stack_restart_policy *p)
{
        static const char *const names[] = {
            [STACK_RESTART_NO] = "no",
            [STACK_RESTART_ALWAYS] = "always",
            [STACK_RESTART_ON_FAILURE] = "on-failure",
            [STACK_RESTART_UNLESS_STOPPED] = "unless-stopped",
        };
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "policy", names[p->policy]);
        cJSON_AddNumberToObject(j, "max_retries", p->max_retries);
        cJSON_AddNumberToObject(j, "delay_usec", (double) p->delay_usec);
        cJSON_AddNumberToObject(j, "window_usec", (double) p->window_usec);
        return j;
}

static cJSON *health_json(const struct stack_service *s, const struct image_config *img)
{
        struct health_settings h;
        health_settings_resolve(&s->healthcheck, &img->healthcheck, &h);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "enabled", h.enabled);
        if (!h.enabled)
                return j;
        cJSON_AddNumberToObject(j, "interval_usec", (double) h.interval_usec);
        cJSON_AddNumberToObject(j, "timeout_usec", (double) h.timeout_usec);
        cJSON_AddNumberToObject(j, "start_period_usec", (double) h.start_period_usec);
        cJSON_AddNumberToObject(j, "start_interval_usec", (double) h.start_interval_usec);
        cJSON_AddNumberToObject(j, "retries", h.retries);
        const struct stack_healthcheck *src =
            s->healthcheck.kind != STACK_HEALTH_UNSET ? &s->healthcheck : &img->healthcheck;
        _cleanup_strv_free_ char **argv = NULL;
        if (src->kind == STACK_HEALTH_SHELL) {
                _cleanup_free_ char *cmd = strv_join(src->test, " ");
                strv_push(&argv, "/bin/sh");
                strv_push(&argv, "-c");
                strv_push(&argv, cmd);
        } else
                argv = strv_copy(src->test);
        cJSON_AddItemToObject(j, "test", json_from_strv(argv));
        return j;
}

static const char *proto_name(enum stack_proto p)
{
        return p == STACK_PROTO_UDP ? "udp" : p == STACK_PROTO_SCTP ? "sctp" : "tcp";
}

/* The container's side of its networks: namespace, veths, addresses. Returns the attachments as JSON for
 * the record, and the first network's gateway for resolv.conf. */
static int attach_networks(struct reconciler *r, const struct stack_service *s, const char *name,
                           char **ret_netns, cJSON **ret_attachments, char **ret_dns,
                           struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *atts = cJSON_CreateArray();
        _cleanup_free_ char *netns = NULL;
        _cleanup_free_ char *dns = NULL;
        int k = 0;

        if (s->network_mode && streq(s->network_mode, "host")) {
                *ret_netns = NULL;
                *ret_attachments = TAKE_PTR(atts);
                *ret_dns = NULL;
                return 0;
        }
        pthread_mutex_lock(&r->lock);
        if (s->network_mode && !streq(s->network_mode, "none")) {
                k = network_mode_netns(r->net, r->name, name, s->network_mode, &netns, err);
        } else {
                k = network_netns_create(r->net, r->name, name, &netns, err);
                if (k >= 0 && !s->network_mode) {
                        struct network_plan_entry *entries = NULL;
                        size_t n = 0;
                        k = network_service_plan(r->project, s, &entries, &n, err);
                        for (size_t i = 0; k >= 0 && i < n; i++) {
                                const struct network_info *info = network_get(r, entries[i].sn->name, err);
                                if (!info) {
                                        k = -err->code;
                                        break;
                                }
                                struct network_attach_spec a = {
                                    .project = r->name,
                                    .container = name,
                                    .netns_path = netns,
                                    .ifname = entries[i].ifname,
                                    .ipv4_address = entries[i].sn->ipv4_address,
                                    .ipv6_address = entries[i].sn->ipv6_address,
                                    .mac_address = entries[i].sn->mac_address,
                                    .default_route = entries[i].default_route,
                                };
                                struct network_attachment att = {0};
                                k = network_attach(r->net, info, &a, &att, err);
                                if (k < 0) {
                                        stack_error_prefix(err, "attach to network %s", info->name);
                                        break;
                                }
                                char buf[IPAM_ADDRSTRLEN];
                                cJSON *j = cJSON_CreateObject();
                                cJSON_AddStringToObject(j, "network", entries[i].sn->name);
                                cJSON_AddStringToObject(j, "network_name", info->name);
                                cJSON_AddStringToObject(j, "ifname", att.ifname);
                                if (att.has4)
                                        cJSON_AddStringToObject(j, "addr4",
                                                                ipam_addr_format(&att.addr4.addr, buf));
                                if (att.has6)
                                        cJSON_AddStringToObject(j, "addr6",
                                                                ipam_addr_format(&att.addr6.addr, buf));
                                cJSON_AddItemToObject(j, "aliases", json_from_strv(entries[i].sn->aliases));
                                cJSON_AddItemToArray(atts, j);
                                if (!dns && info->has4)
                                        dns = xstrdup(ipam_addr_format(&info->gateway4, buf));
                        }
                        free(entries);
                }
        }
        pthread_mutex_unlock(&r->lock);
        if (k < 0)
                return k;
        *ret_netns = TAKE_PTR(netns);
        *ret_attachments = TAKE_PTR(atts);
        *ret_dns = TAKE_PTR(dns);
        return 0;
}

static int ensure_supervisor(struct reconciler *r, struct stack_error *err)
{
        pthread_mutex_lock(&r->lock);
        int k = 0;
        if (!r->supervisor_started || !supervisor_running(r->cfg->run_root, r->name)) {
                struct supervisor_config sc = sup_config(r);
                k = supervisor_ensure(&sc, err);
                r->supervisor_started = k >= 0;
        }
        pthread_mutex_unlock(&r->lock);
        return k;
}

static int run_create_container(struct reconciler *r, const struct plan_action *a, struct stack_error *err)
{
        const struct stack_project *p = r->project;
        const struct stack_service *s = stack_project_service(p, a->service);
        if (!s)
                return stack_error_set(err, ENOENT, "service %s is not defined", a->service);
        pthread_mutex_lock(&r->lock);
        _cleanup_image_ struct image *img = NULL;
        int k = image_lookup(r->images, s->image, &img, err);
        pthread_mutex_unlock(&r->lock);
        if (k < 0)
                return stack_error_prefix(err, "service %s", s->name);

        _cleanup_free_ char *netns = NULL, *dns = NULL;
        _cleanup_(cJSON_Deletep) cJSON *atts = NULL;
        k = attach_networks(r, s, a->target, &netns, &atts, &dns, err);
        if (k < 0)
                return stack_error_prefix(err, "container %s", a->target);

        char hash[65];
        spec_service_hash(p, s, hash);
        struct stack_kvlist labels = {0};
        for (size_t i = 0; i < s->labels.n; i++)
                stack_kvlist_set(&labels, s->labels.items[i].key, s->labels.items[i].value);
        _cleanup_free_ char *number = xasprintf("%d", a->number);
        _cleanup_free_ char *files = strv_join(p->config_files, ",");
        stack_kvlist_set(&labels, "com.docker.compose.project", p->name);
        stack_kvlist_set(&labels, "com.docker.compose.service", s->name);
        stack_kvlist_set(&labels, "com.docker.compose.container-number", number);
        stack_kvlist_set(&labels, "com.docker.compose.oneoff", "False");
        stack_kvlist_set(&labels, "com.docker.compose.config-hash", hash);
        stack_kvlist_set(&labels, "com.docker.compose.image", img->id);
        stack_kvlist_set(&labels, "com.docker.compose.project.working_dir",
                         p->working_dir ? p->working_dir : "");
        stack_kvlist_set(&labels, "com.docker.compose.project.config_files", files);
        stack_kvlist_set(&labels, "com.docker.compose.version", PACKAGE_VERSION);

        char *dns_servers[] = {dns, NULL};
        struct container_spec spec = {
            .name = a->target,
            .project = p,
            .service = s,
            .image = &img->config,
            .layers = img->layers,
            .netns_path = netns,
            .dns_servers = dns ? dns_servers : NULL,
            .host_gateway = dns,
            .labels = &labels,
        };

        /* The record goes first, before the bundle and its rootfs mount: a crash from here on leaves
         * something `down` and the next `up` find (a record without a container is a dead one). */
        struct container_record rec = {
            .name = (char *) a->target,
            .service = (char *) s->name,
            .number = a->number,
            .config_hash = hash,
            .image_id = img->id,
            .created_usec = realtime_usec(),
        };
        rec.networks = xcalloc(1, sizeof(char *));
        if (service_uses_bridge(s))
                for (size_t i = 0; i < s->n_networks; i++)
                        strv_push(&rec.networks, s->networks[i].name);
        rec.volumes = xcalloc(1, sizeof(char *));
        for (size_t v = 0; v < s->n_volumes; v++)
                if (s->volumes[v].type == STACK_MOUNT_VOLUME && s->volumes[v].source &&
                    !strv_contains(rec.volumes, s->volumes[v].source))
                        strv_push(&rec.volumes, s->volumes[v].source);
        cJSON *sp = rec.spec = cJSON_CreateObject();
        _cleanup_free_ char *bundle = container_bundle_path(r->host, a->target);
        _cleanup_free_ char *log = container_log_path(r->host, a->target);
        cJSON_AddStringToObject(sp, "bundle", bundle);
        cJSON_AddStringToObject(sp, "log", log);
        cJSON_AddStringToObject(sp, "image", s->image);
        if (netns)
                cJSON_AddStringToObject(sp, "netns", netns);
        cJSON_AddItemToObject(sp, "restart", restart_json(&s->restart));
        cJSON_AddItemToObject(sp, "health", health_json(s, &img->config));
        struct stack_error e = {0};
        int sig = oci_stop_signal(s, &img->config, &e);
        stack_error_clear(&e);
        cJSON_AddNumberToObject(sp, "stop_signal", sig > 0 ? sig : SIGTERM);
        cJSON_AddNumberToObject(sp, "stop_grace_usec",
                                s->stop_grace_period_usec >= 0 ? (double) s->stop_grace_period_usec
                                                               : 10.0 * USEC_PER_SEC);
        cJSON_AddItemToObject(sp, "attachments", cJSON_Duplicate(atts, true));
        cJSON *ports = cJSON_AddArrayToObject(sp, "ports");
        for (size_t i = 0; i < s->n_ports; i++) {
                const struct stack_port *pt = &s->ports[i];
                cJSON *j = cJSON_CreateObject();
                cJSON_AddNumberToObject(j, "target", pt->target);
                cJSON_AddNumberToObject(j, "published", pt->published_start);
                cJSON_AddStringToObject(j, "host_ip", pt->host_ip ? pt->host_ip : "0.0.0.0");
                cJSON_AddStringToObject(j, "protocol", proto_name(pt->protocol));
                cJSON_AddItemToArray(ports, j);
        }
        k = state_container_write(r->cfg->root, r->name, &rec, err);
        strv_free(rec.networks);
        strv_free(rec.volumes);
        cJSON_Delete(rec.spec);
        /* Prefixed only on failure: a message left in err would be the one reported for any later error
         * (errors are set once), as "container X: Success". */
        if (k >= 0) {
                k = container_prepare(r->host, &spec, err);
                if (k < 0)
                        stack_error_prefix(err, "container %s", a->target);
        }
        stack_kvlist_free(&labels);
        if (k < 0)
                return k;

        k = ensure_supervisor(r, err);
        if (k < 0)
                return k;
        return supervisor_op(r->cfg->run_root, r->name, "create", a->target, NULL, err);
}

static int run_stop_container(struct reconciler *r, const char *name, struct stack_error *err)
{
        if (supervisor_running(r->cfg->run_root, r->name)) {
                _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
                cJSON_AddStringToObject(req, "op", "stop");
                cJSON_AddStringToObject(req, "name", name);
                if (r->cfg->stop_timeout_usec >= 0)
                        cJSON_AddNumberToObject(req, "timeout_usec", (double) r->cfg->stop_timeout_usec);
                struct stack_error e = {0};
                if (supervisor_call(r->cfg->run_root, r->name, req, NULL, &e) >= 0)
                        return 0;
                log_debug("supervisor stop of %s failed (%s); stopping it directly", name, e.msg);
                stack_error_clear(&e);
        }
        return container_stop(r->host, name, 0, r->cfg->stop_timeout_usec, NULL, err);
}

static int run_remove_container(struct reconciler *r, const char *name, struct stack_error *err)
{
        /* Through the supervisor first, even for a container that is not running: it answers only once a
         * create or start of the container it may still be running (an `up` killed mid-way) is done, so
         * the removal below cannot pass it. For a container already stopped this is one round trip. */
        if (supervisor_running(r->cfg->run_root, r->name)) {
                int s = run_stop_container(r, name, err);
                if (s < 0)
                        return s;
        }
        int k = container_remove(r->host, name, err);
        if (k < 0)
                return k;
        if (!r->down) {
                pthread_mutex_lock(&r->lock);
                k = network_container_remove(r->net, r->name, name, err);
                pthread_mutex_unlock(&r->lock);
                if (k < 0)
                        return stack_error_prefix(err, "container %s", name);
        }
        k = state_container_remove(r->cfg->root, r->name, name, err);
        if (k < 0)
                return k;
        if (supervisor_running(r->cfg->run_root, r->name))
                (void) supervisor_op(r->cfg->run_root, r->name, "forget", name, NULL, NULL);
        return 0;
}

/* ---- waiting on depends_on conditions ---- */

/* Whether every container of the service meets the condition: 1 yes, 0 not yet, <0 never (err set). */
static int service_condition(struct reconciler *r, const char *service, enum stack_dep_condition cond,
                             bool ready_mode, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *status = NULL;
        int k = supervisor_op(r->cfg->run_root, r->name, "status", NULL, &status, err);
        if (k < 0)
                return k;
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(status, "containers");
        const cJSON *item;
        int n = 0;
        cJSON_ArrayForEach(item, list)
        {
                if (!streq_ptr(json_get_str(item, "service"), service))
                        continue;
                n++;
                const char *state = json_get_str(item, "state");
                const char *health = json_get_str(item, "health");
                int code = (int) json_get_num(item, "exit_code", 0);
                const char *name = json_get_str(item, "name");
                bool exited = state && streq(state, "exited");
                bool restarting = state && streq(state, "restarting");
                if (cond == STACK_DEP_COMPLETED || (ready_mode && exited && code == 0)) {
                        if (!exited)
                                return 0;
                        if (code != 0)
                                return stack_error_set(err, EIO,
                                                       "service \"%s\" didn't complete successfully: "
                                                       "container %s exited (%d)",
                                                       service, name, code);
                        continue;
                }
                if (exited)
                        return stack_error_set(
                            err, EIO, "dependency failed to start: container %s exited (%d)", name, code);
                if (restarting || !state || !streq(state, "running"))
                        return 0;
                if (cond == STACK_DEP_HEALTHY || (ready_mode && health && *health)) {
                        if (!health || !*health) {
                                if (ready_mode)
                                        continue;
                                return stack_error_set(err, EINVAL,
                                                       "dependency %s has no health check, so it cannot "
                                                       "become healthy",
                                                       service);
                        }
                        if (streq(health, "unhealthy"))
                                return stack_error_set(err, EIO,
                                                       "dependency failed to start: container %s is "
                                                       "unhealthy",
                                                       name);
                        if (!streq(health, "healthy"))
                                return 0;
                }
        }
        return n > 0 ? 1 : 0;
}

static int run_wait(struct reconciler *r, const char *service, enum stack_dep_condition cond,
                    struct stack_error *err)
{
        int e = ensure_supervisor(r, err);
        if (e < 0)
                return e;
        for (unsigned i = 0;; i++) {
                int k = service_condition(r, service, cond, false, err);
                if (k != 0)
                        return k < 0 ? k : 0;
                usleep(i < 20 ? 50000 : 200000);
        }
}

/* ---- firewall and DNS ---- */

struct fw_input {
        struct fw_network *networks;
        size_t n_networks;
        struct fw_port *ports;
        size_t n_ports;
        char **strings; /* owned strings the structs point into */
};

static const char *keep(struct fw_input *in, char *s)
{
        strv_consume(&in->strings, s);
        return s;
}

static void fw_input_free(struct fw_input *in)
{
        free(in->networks);
        free(in->ports);
        strv_free(in->strings);
}

/* The firewall's view of the project, from what exists now: the networks it made or uses (with the kernel's
 * word on bridges and subnets), and the published ports of its containers at their addresses. */
static int fw_collect(struct reconciler *r, struct container_record **recs, size_t n, struct fw_input *in,
                      struct stack_error *err)
{
        for (size_t i = 0; i < n; i++) {
                const cJSON *atts = cJSON_GetObjectItemCaseSensitive(recs[i]->spec, "attachments");
                const cJSON *att;
                cJSON_ArrayForEach(att, atts)
                {
                        const char *key = json_get_str(att, "network");
                        if (!key)
                                continue;
                        bool seen = false;
                        for (size_t k = 0; k < in->n_networks; k++)
                                if (streq(in->networks[k].name, json_get_str(att, "network_name")))
                                        seen = true;
                        if (seen)
                                continue;
                        const struct network_info *info = network_get(r, key, err);
                        if (!info)
                                return -err->code;
                        in->networks = xrealloc(in->networks, (in->n_networks + 1) * sizeof(*in->networks));
                        struct fw_network *fn = &in->networks[in->n_networks++];
                        *fn = (struct fw_network){
                            .name = keep(in, xstrdup(info->name)),
                            .bridge = keep(in, xstrdup(info->bridge)),
                            .prefixlen = info->subnet4.len,
                            .internal = info->internal,
                            .ipv6 = info->has6,
                        };
                        memcpy(&fn->subnet, info->subnet4.addr.bytes, 4);
                        memcpy(&fn->gateway, info->gateway4.bytes, 4);
                }
                const cJSON *first = cJSON_GetArrayItem(atts, 0);
                const cJSON *ports = cJSON_GetObjectItemCaseSensitive(recs[i]->spec, "ports");
                const cJSON *pt;
                cJSON_ArrayForEach(pt, ports)
                {
                        if (!first || !json_get_str(first, "addr4"))
                                return stack_error_set(err, EINVAL,
                                                       "container %s publishes ports but has no IPv4 "
                                                       "address on a network",
                                                       recs[i]->name);
                        const char *proto = json_get_str(pt, "protocol");
                        if (proto && streq(proto, "sctp"))
                                continue;
                        in->ports = xrealloc(in->ports, (in->n_ports + 1) * sizeof(*in->ports));
                        struct fw_port *fp = &in->ports[in->n_ports++];
                        *fp = (struct fw_port){
                            .network = keep(in, xstrdup(json_get_str(first, "network_name"))),
                            .host_port = (uint16_t) json_get_num(pt, "published", 0),
                            .container_port = (uint16_t) json_get_num(pt, "target", 0),
                            .count = 1,
                            .proto = proto && streq(proto, "udp") ? FW_PROTO_UDP : FW_PROTO_TCP,
                        };
                        const char *hip = json_get_str(pt, "host_ip");
                        if (!hip || inet_pton(AF_INET, hip, &fp->host_ip) != 1)
                                fp->host_ip.s_addr = INADDR_ANY;
                        inet_pton(AF_INET, json_get_str(first, "addr4"), &fp->container_ip);
                }
        }
        return 0;
}

/* Writes the project's name table for the supervisor's DNS responder. */
static int dns_write(struct reconciler *r, struct container_record **recs, size_t n, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "version", 1);
        cJSON *nets = cJSON_AddArrayToObject(j, "networks");
        for (size_t i = 0; i < r->n_nets; i++) {
                const struct network_info *info = &r->nets[i].info;
                char buf[IPAM_ADDRSTRLEN];
                cJSON *net = cJSON_CreateObject();
                cJSON_AddStringToObject(net, "name", info->name);
                cJSON *gw = cJSON_AddArrayToObject(net, "gateways");
                cJSON *sub = cJSON_AddArrayToObject(net, "subnets");
                if (info->has4) {
                        cJSON_AddItemToArray(gw, cJSON_CreateString(ipam_addr_format(&info->gateway4, buf)));
                        cJSON_AddItemToArray(sub,
                                             cJSON_CreateString(ipam_prefix_format(&info->subnet4, buf)));
                }
                cJSON *entries = cJSON_AddArrayToObject(net, "entries");
                for (size_t c = 0; c < n; c++) {
                        const cJSON *att;
                        cJSON_ArrayForEach(att,
                                           cJSON_GetObjectItemCaseSensitive(recs[c]->spec, "attachments"))
                        {
                                if (!streq_ptr(json_get_str(att, "network_name"), info->name))
                                        continue;
                                cJSON *e = cJSON_CreateObject();
                                cJSON_AddStringToObject(e, "id", recs[c]->name);
                                cJSON *names = cJSON_AddArrayToObject(e, "names");
                                cJSON_AddItemToArray(names, cJSON_CreateString(recs[c]->name));
                                cJSON_AddItemToArray(names, cJSON_CreateString(recs[c]->service));
                                const cJSON *al;
                                cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(att, "aliases"))
                                    cJSON_AddItemToArray(names, cJSON_Duplicate(al, false));
                                cJSON *addrs = cJSON_AddArrayToObject(e, "addresses");
                                if (json_get_str(att, "addr4"))
                                        cJSON_AddItemToArray(addrs,
                                                             cJSON_CreateString(json_get_str(att, "addr4")));
                                if (json_get_str(att, "addr6"))
                                        cJSON_AddItemToArray(addrs,
                                                             cJSON_CreateString(json_get_str(att, "addr6")));
                                cJSON_AddItemToArray(entries, e);
                        }
                }
                cJSON_AddItemToArray(nets, net);
        }
        _cleanup_free_ char *dir = state_project_run_dir(r->cfg->run_root, r->name);
        _cleanup_free_ char *path = path_join(dir, "dns.json");
        return json_write_file(path, j, err);
}

static int run_publish(struct reconciler *r, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(r->cfg->root, r->name, &recs, &n, err);
        if (k < 0)
                return k;
        struct fw_input in = {0};
        _cleanup_(firewall_freep) struct firewall *fw = NULL;
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        struct fw_ruleset rs = {0};
        pthread_mutex_lock(&r->lock);
        k = fw_collect(r, recs, n, &in, err);
        if (k >= 0)
                k = dns_write(r, recs, n, err);
        pthread_mutex_unlock(&r->lock);
        if (k >= 0)
                k = firewall_open_iptc(&fw, err);
        if (k >= 0)
                k = firewall_list_published(fw, &pub, &n_pub, err);
        if (k >= 0)
                k = ports_assign(r->name, in.ports, in.n_ports, pub, n_pub, err);
        if (k >= 0) {
                struct fw_project fp = {
                    .name = r->name,
                    .networks = in.networks,
                    .n_networks = in.n_networks,
                    .ports = in.ports,
                    .n_ports = in.n_ports,
                };
                k = firewall_build(&fp, &rs, err);
        }
        if (k >= 0)
                k = firewall_apply(fw, &rs, err);
        if (k >= 0)
                k = firewall6_apply(r->name, in.networks, in.n_networks, NULL, err);
        /* Random host ports are recorded where `stack port` and `ps` read them. */
        for (size_t i = 0, pi = 0; k >= 0 && i < n; i++) {
                cJSON *pt;
                bool dirty = false;
                cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(recs[i]->spec, "ports"))
                {
                        const char *proto = json_get_str(pt, "protocol");
                        if (proto && streq(proto, "sctp"))
                                continue;
                        if (pi < in.n_ports && json_get_num(pt, "published", 0) == 0) {
                                cJSON_ReplaceItemInObject(pt, "published",
                                                          cJSON_CreateNumber(in.ports[pi].host_port));
                                dirty = true;
                        }
                        pi++;
                }
                if (dirty)
                        k = state_container_write(r->cfg->root, r->name, recs[i], err);
        }
        fw_ruleset_free(&rs);
        fw_published_free(pub, n_pub);
        fw_input_free(&in);
        container_record_list_free(recs, n);
        if (k >= 0)
                publish_unmark(r);
        if (k >= 0 && supervisor_running(r->cfg->run_root, r->name))
                (void) supervisor_op(r->cfg->run_root, r->name, "reload", NULL, NULL, NULL);
        return k;
}

/* ---- the executor ---- */

static int exec_run(void *userdata, const struct plan_action *a, struct stack_error *err)
{
        struct reconciler *r = userdata;
        switch (a->kind) {
        case PLAN_CREATE_NETWORK:
                return run_create_network(r, a->target, err);
        case PLAN_REMOVE_NETWORK:
                return run_remove_network(r, a->target, err);
        case PLAN_CREATE_VOLUME: {
                const struct stack_volume *v = stack_project_volume(r->project, a->target);
                if (!v)
                        return stack_error_set(err, ENOENT, "volume %s is not defined", a->target);
                return volume_create(r->cfg->root, v->name, &v->labels, NULL, err);
        }
        case PLAN_REMOVE_VOLUME: {
                const struct stack_volume *v =
                    r->project ? stack_project_volume(r->project, a->target) : NULL;
                _cleanup_free_ char *name = v ? xstrdup(v->name) : xasprintf("%s_%s", r->name, a->target);
                return volume_remove(r->cfg->root, name, err);
        }
        case PLAN_CREATE_CONTAINER:
                return run_create_container(r, a, err);
        case PLAN_START_CONTAINER: {
                int k = ensure_supervisor(r, err);
                if (k < 0)
                        return k;
                return supervisor_op(r->cfg->run_root, r->name, "start", a->target, NULL, err);
        }
        case PLAN_WAIT_SERVICE:
                return run_wait(r, a->target, a->condition, err);
        case PLAN_STOP_CONTAINER:
                return run_stop_container(r, a->target, err);
        case PLAN_REMOVE_CONTAINER:
                return run_remove_container(r, a->target, err);
        case PLAN_PUBLISH_PORTS:
                return run_publish(r, err);
        }
        return stack_error_set(err, EINVAL, "unknown action");
}

/* compose's progress words for each action and phase */
static const char *progress_word(enum plan_action_kind kind, bool done)
{
        switch (kind) {
        case PLAN_CREATE_NETWORK:
        case PLAN_CREATE_VOLUME:
        case PLAN_CREATE_CONTAINER:
                return done ? "Created" : "Creating";
        case PLAN_START_CONTAINER:
                return done ? "Started" : "Starting";
        case PLAN_WAIT_SERVICE:
                return done ? "Healthy" : "Waiting";
        case PLAN_STOP_CONTAINER:
                return done ? "Stopped" : "Stopping";
        case PLAN_REMOVE_CONTAINER:
        case PLAN_REMOVE_NETWORK:
        case PLAN_REMOVE_VOLUME:
                return done ? "Removed" : "Removing";
        case PLAN_PUBLISH_PORTS:
                return done ? "Published" : "Publishing";
        }
        return "";
}

static const char *progress_noun(enum plan_action_kind kind)
{
        switch (kind) {
        case PLAN_CREATE_NETWORK:
        case PLAN_REMOVE_NETWORK:
                return "Network";
        case PLAN_CREATE_VOLUME:
        case PLAN_REMOVE_VOLUME:
                return "Volume";
        case PLAN_PUBLISH_PORTS:
                return "Ports";
        case PLAN_WAIT_SERVICE:
                return "Service";
        default:
                return "Container";
        }
}

static void exec_progress(void *userdata, const struct plan_action *a, const char *phase,
                          const struct stack_error *err)
{
        struct reconciler *r = userdata;
        if (r->cfg->progress == PROGRESS_QUIET)
                return;
        bool done = streq(phase, "done");
        if (a->kind == PLAN_WAIT_SERVICE && done && a->condition != STACK_DEP_HEALTHY)
                return;
        if (a->kind == PLAN_PUBLISH_PORTS)
                return;
        /* Orphans go with a line that says why, so a removal beyond max_orphans is never a surprise. */
        if (a->kind == PLAN_REMOVE_CONTAINER && streq(phase, "start") && a->reason &&
            startswith(a->reason, "orphan"))
                fprintf(stderr, " Container %s Removing: %s\n", a->target, a->reason);
        const char *word = streq(phase, "failed") ? "Error" : progress_word(a->kind, done);
        if (r->cfg->progress == PROGRESS_TTY)
                fprintf(stderr, " \033[%sm✔\033[0m %s %-24s %s\n", done ? "32" : "33",
                        progress_noun(a->kind), a->target, word);
        else
                fprintf(stderr, " %s %s %s\n", progress_noun(a->kind), a->target, word);
}

static const struct apply_ops real_ops = {
    .run = exec_run,
    .progress = exec_progress,
};

/* ---- entry points ---- */

static void reconciler_done(struct reconciler *r)
{
        for (size_t i = 0; i < r->n_nets; i++) {
                free(r->nets[i].key);
                network_info_done(&r->nets[i].info);
        }
        free(r->nets);
        network_ctx_free(r->net);
        container_host_free(r->host);
        image_store_free(r->images);
        pthread_mutex_destroy(&r->lock);
}

static int reconciler_init(struct reconciler *r, const struct reconcile_config *c, const char *name,
                           const struct stack_project *p, struct stack_error *err)
{
        *r = (struct reconciler){.cfg = c, .project = p, .name = name};
        pthread_mutex_init(&r->lock, NULL);
        int k = image_store_open(c->root, &r->images, err);
        if (k >= 0)
                k = container_host_new(c->root, c->run_root, c->runtime, &r->host, err);
        if (k >= 0)
                k = network_ctx_open(c->root, c->run_root, &r->net, err);
        return k;
}

static bool plan_has_publish(const struct plan *plan)
{
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == PLAN_PUBLISH_PORTS)
                        return true;
        return false;
}

/* Published host ports must be free before anything changes. */
static int check_ports(struct reconciler *r, struct stack_error *err)
{
        size_t n = 0;
        for (size_t i = 0; i < r->project->n_services; i++)
                n += r->project->services[i].n_ports * (size_t) r->project->services[i].scale;
        if (n == 0)
                return 0;
        _cleanup_free_ struct fw_port *ports = xcalloc(n, sizeof(*ports));
        size_t m = 0;
        for (size_t i = 0; i < r->project->n_services; i++) {
                const struct stack_service *s = &r->project->services[i];
                for (size_t k = 0; k < s->n_ports; k++) {
                        const struct stack_port *pt = &s->ports[k];
                        if (pt->published_start == 0 || pt->protocol == STACK_PROTO_SCTP)
                                continue;
                        struct fw_port *fp = &ports[m++];
                        fp->host_port = pt->published_start;
                        fp->container_port = pt->target;
                        fp->count = 1;
                        fp->proto = pt->protocol == STACK_PROTO_UDP ? FW_PROTO_UDP : FW_PROTO_TCP;
                        if (!pt->host_ip || inet_pton(AF_INET, pt->host_ip, &fp->host_ip) != 1)
                                fp->host_ip.s_addr = INADDR_ANY;
                }
        }
        _cleanup_(firewall_freep) struct firewall *fw = NULL;
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        int k = firewall_open_iptc(&fw, err);
        if (k >= 0)
                k = firewall_list_published(fw, &pub, &n_pub, err);
        /* ports_check skips, port by port, what this project already publishes; a port it does not
         * publish yet must be bindable even when others of the project are up (a change that moves a
         * service onto a taken port fails before anything is stopped). */
        if (k >= 0)
                k = ports_check(r->name, ports, m, pub, n_pub, err);
        fw_published_free(pub, n_pub);
        return k;
}

int reconcile_up(const struct reconcile_config *c, const struct stack_project *p,
                 const struct plan_options *o, struct stack_error *err)
{
        _cleanup_graph_ struct graph *g = NULL;
        int k = graph_build(p, &g, err);
        if (k < 0)
                return k;
        STRV_FOREACH (w, g->warnings)
                log_warning("%s", *w);
        struct reconciler r;
        k = reconciler_init(&r, c, p->name, p, err);
        struct plan_desired *d = NULL;
        struct plan_observed *obs = NULL;
        struct plan *plan = NULL;
        if (k >= 0)
                k = build_desired(&r, &d, err);
        if (k >= 0)
                k = plan_desired_order(d, g, o, err);
        if (k >= 0)
                k = observe(&r, &obs, err);
        if (k >= 0)
                k = plan_compute(d, obs, o, &plan, err);
        if (k >= 0) {
                STRV_FOREACH (w, plan->warnings)
                        log_warning("%s", *w);
                if (c->dry_run) {
                        _cleanup_free_ char *text = plan_format(plan);
                        fputs(text, stdout);
                } else {
                        k = check_ports(&r, err);
                        if (k >= 0) {
                                struct stack_error e = {0};
                                state_project_write(c->root, p->name, p->working_dir, p->config_files, &e);
                                stack_error_clear(&e);
                                if (plan_has_publish(plan))
                                        k = publish_mark(&r, err);
                                if (k >= 0)
                                        k = apply_plan(plan, &real_ops, &r, c->parallel, err);
                        }
                        /* Containers need their supervisor even when nothing changed: a killed one is
                         * replaced here, and the new one adopts them. */
                        if (k >= 0 && obs->n_containers > 0)
                                k = ensure_supervisor(&r, err);
                }
        }
        plan_free(plan);
        plan_desired_free(d);
        plan_observed_free(obs);
        reconciler_done(&r);
        return k;
}

/* For a teardown, a volume is there as long as its directory is: a removal killed half-way leaves it
 * without the data directory that volume_exists() looks for. */
static bool volume_dir_exists(const char *root, const char *name)
{
        _cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
        return volume_name_is_valid(name) && path_is_dir(dir);
}

int reconcile_down(const struct reconcile_config *c, const char *project, const struct stack_project *p,
                   const struct plan_options *o, struct stack_error *err)
{
        struct reconciler r;
        int k = reconciler_init(&r, c, project, p, err);
        r.down = true;
        struct plan_desired *d = xcalloc(1, sizeof(*d));
        d->project = xstrdup(project);
        struct plan_observed *obs = NULL;
        struct plan *plan = NULL;
        if (k >= 0 && p) {
                plan_desired_free(d);
                d = NULL;
                k = build_desired(&r, &d, err);
                if (k == -ENOENT) {
                        /* An image gone from the store does not stop a teardown. */
                        stack_error_clear(err);
                        d = xcalloc(1, sizeof(*d));
                        d->project = xstrdup(project);
                        k = 0;
                }
        }
        _cleanup_graph_ struct graph *g = NULL;
        /* Teardown follows the graph's order; a file the graph refuses still comes down, in file order. */
        if (k >= 0 && p && graph_build(p, &g, NULL) >= 0)
                k = plan_desired_order(d, g, o, err);
        if (k >= 0)
                k = observe(&r, &obs, err);
        if (k >= 0 && o->remove_volumes && !p) {
                /* Without the file, the volumes are the ones the containers mounted. */
                for (size_t i = 0; i < obs->n_containers; i++)
                        STRV_FOREACH (v, obs->containers[i].volumes)
                                if (!strv_contains(obs->volumes, *v)) {
                                        _cleanup_free_ char *name = xasprintf("%s_%s", project, *v);
                                        if (volume_dir_exists(c->root, name))
                                                strv_push(&obs->volumes, *v);
                                }
        }
        if (k >= 0 && o->remove_volumes && p)
                for (size_t i = 0; i < p->n_volumes; i++) {
                        const struct stack_volume *v = &p->volumes[i];
                        if (!v->external && !strv_contains(obs->volumes, v->key) &&
                            volume_dir_exists(c->root, v->name))
                                strv_push(&obs->volumes, v->key);
                }
        if (k >= 0)
                k = plan_compute(d, obs, o, &plan, err);
        if (k >= 0) {
                if (c->dry_run) {
                        _cleanup_free_ char *text = plan_format(plan);
                        fputs(text, stdout);
                } else
                        k = apply_plan(plan, &real_ops, &r, c->parallel, err);
        }
        if (k >= 0 && !c->dry_run) {
                /* What a crash may have left that no record names: rules, namespaces, bridges. */
                _cleanup_(firewall_freep) struct firewall *fw = NULL;
                k = firewall_open_iptc(&fw, err);
                if (k >= 0)
                        k = firewall_remove_project(fw, project, err);
                if (k >= 0)
                        k = firewall6_remove_project(project, NULL, err);
                if (k >= 0)
                        k = network_project_teardown(r.net, project, err);
                if (k >= 0 && supervisor_running(c->run_root, project))
                        (void) supervisor_op(c->run_root, project, "reload", NULL, NULL, NULL);
                if (k >= 0)
                        publish_unmark(&r);
                if (k >= 0)
                        k = state_project_remove(c->root, c->run_root, project, err);
        }
        plan_free(plan);
        plan_desired_free(d);
        plan_observed_free(obs);
        reconciler_done(&r);
        return k;
}

int reconcile_wait_ready(const struct reconcile_config *c, const struct stack_project *p, char **services,
                         uint64_t timeout_usec, struct stack_error *err)
{
        struct reconciler r = {.cfg = c, .project = p, .name = p->name};
        uint64_t deadline = timeout_usec ? now_usec() + timeout_usec : 0;
        for (unsigned i = 0;; i++) {
                bool all = true;
                for (size_t s = 0; s < p->n_services; s++) {
                        if (services && !strv_contains(services, p->services[s].name))
                                continue;
                        if (p->services[s].scale == 0)
                                continue;
                        int k = service_condition(&r, p->services[s].name, STACK_DEP_STARTED, true, err);
                        if (k < 0)
                                return k;
                        if (k == 0)
                                all = false;
                }
                if (all)
                        return 0;
                if (deadline && now_usec() > deadline)
                        return stack_error_set(err, ETIMEDOUT,
                                               "timeout waiting for the services to be ready");
                usleep(i < 20 ? 50000 : 200000);
        }
}
