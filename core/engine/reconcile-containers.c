/* The container executors: a replica's networks, record, bundle and its create through the supervisor;
 * stop and removal. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/health.h"
#include "core/engine/netmodel.h"
#include "core/image/image.h"
#include "core/runtime/container-id.h"
#include "core/runtime/container.h"
#include "core/runtime/oci.h"
#include "core/engine/reconcile-internal.h"
#include "spec/hash.h"

static struct supervisor_config sup_config(const struct reconciler *r)
{
        return (struct supervisor_config){
            .root = r->cfg->root,
            .run_root = r->cfg->run_root,
            .project = r->name,
            .runtime = r->cfg->runtime,
        };
}

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

/* The static IPv4 addresses the file gives on network `key`, whichever service: reserved from dynamic
 * allocation so that a service declaring one gets it even when a sibling is made first. */
static char **declared_addresses(const struct stack_project *p, const char *key)
{
        char **v = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < p->n_services; i++)
                for (size_t n = 0; n < p->services[i].n_networks; n++) {
                        const struct stack_service_network *sn = &p->services[i].networks[n];
                        if (sn->ipv4_address && streq(sn->name, key))
                                strv_push(&v, sn->ipv4_address);
                }
        return v;
}

/* network_mode service:NAME joins replica 1 of NAME under the name it really has, container_name
 * included; the other modes are net/'s to resolve. */
static int join_netns(struct reconciler *r, const char *name, const char *mode, char **ret,
                      struct stack_error *err)
{
        const char *target = startswith(mode, "service:");
        const struct stack_service *t = target ? stack_project_service(r->project, target) : NULL;
        if (!t)
                return network_mode_netns(r->net, r->name, name, mode, ret, err);
        _cleanup_free_ char *cname = container_name(r->name, t->name, t->container_name, 1);
        return network_service_netns(r->net, r->name, t->name, cname, ret, err);
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
                k = join_netns(r, name, s->network_mode, &netns, err);
        } else {
                k = network_netns_create(r->net, r->name, name, &netns, err);
                if (k >= 0 && !s->network_mode) {
                        struct netmodel_attachment *entries = NULL;
                        size_t n = 0;
                        k = netmodel_service_plan(r->project, s, &entries, &n, err);
                        for (size_t i = 0; k >= 0 && i < n; i++) {
                                const struct network_info *info =
                                    reconcile_network_get(r, entries[i].sn->name, err);
                                if (!info) {
                                        k = -err->code;
                                        break;
                                }
                                _cleanup_strv_free_ char **declared =
                                    declared_addresses(r->project, entries[i].sn->name);
                                struct network_attach_spec a = {
                                    .project = r->name,
                                    .container = name,
                                    .netns_path = netns,
                                    .ifname = entries[i].ifname,
                                    .ipv4_address = entries[i].sn->ipv4_address,
                                    .ipv6_address = entries[i].sn->ipv6_address,
                                    .mac_address = entries[i].sn->mac_address,
                                    .default_route = entries[i].default_route,
                                    .declared4 = declared,
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

int reconcile_ensure_supervisor(struct reconciler *r, struct stack_error *err)
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

int reconcile_create_container(struct reconciler *r, const struct plan_action *a, struct stack_error *err)
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
        k = spec_service_hash(p, s, hash);
        if (k < 0)
                return stack_error_errno(err, k, "service %s: config hash", s->name);
        struct stack_kvlist labels = {0};
        for (size_t i = 0; i < s->labels.n; i++)
                stack_kvlist_set(&labels, s->labels.items[i].key, s->labels.items[i].value);
        _cleanup_free_ char *number = xasprintf("%d", a->number);
        _cleanup_free_ char *files = strv_join(p->config_files, ",");
        stack_kvlist_set(&labels, "com.docker.compose.project", p->name);
        stack_kvlist_set(&labels, "com.docker.compose.service", s->name);
        stack_kvlist_set(&labels, "com.docker.compose.container-number", number);
        stack_kvlist_set(&labels, "com.docker.compose.oneoff", r->oneoff ? "True" : "False");
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
        if (reconcile_service_uses_bridge(s))
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
        cJSON_AddItemToObject(sp, "logging", supervisor_log_spec(&s->logging));
        cJSON_AddStringToObject(sp, "image", s->image);
        if (r->oneoff)
                cJSON_AddBoolToObject(sp, "oneoff", true);
        if (netns)
                cJSON_AddStringToObject(sp, "netns", netns);
        cJSON_AddItemToObject(sp, "restart", restart_json(&s->restart));
        cJSON_AddItemToObject(sp, "health", health_json(s, &img->config));
        struct stack_error e = {0};
        /* A stop_signal the runtime cannot name was refused when the bundle's config was validated;
         * here a failure only means "the default", which the supervisor uses then. */
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
        if (k < 0 || r->oneoff_foreground)
                return k;

        k = reconcile_ensure_supervisor(r, err);
        if (k < 0)
                return k;
        return supervisor_op(r->cfg->run_root, r->name, "create", a->target, NULL, err);
}

int reconcile_stop_container(struct reconciler *r, const char *name, struct stack_error *err)
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
                /* Not an error: the runtime stops it instead, below (a trace for --log-level debug). */
                log_debug("supervisor stop of %s failed (%s); stopping it directly", name, e.msg);
                stack_error_clear(&e);
        }
        return container_stop(r->host, name, 0, r->cfg->stop_timeout_usec, NULL, err);
}

void reconcile_delete_stopped(struct reconciler *r, const struct plan *stops)
{
        /* Only containers the supervisor has just stopped: nothing of theirs is in flight there. One with
         * no stop may still be in a create the supervisor runs, which its removal waits for. */
        _cleanup_strv_free_ char **names = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < stops->n_actions; i++)
                strv_push(&names, stops->actions[i].target);
        if (!names[0])
                return;
        struct stack_error e = {0};
        /* Best effort: a runtime that deletes one at a time, or a failure, leaves the deletes to each
         * removal, which reports its own error. */
        if (runtime_delete_many(r->host->runtime, names, &e) < 0)
                log_debug("batched runtime delete: %s; deleting one by one", e.msg);
        stack_error_clear(&e);
}

int reconcile_remove_container(struct reconciler *r, const char *name, struct stack_error *err)
{
        /* Through the supervisor first, even for a container that is not running: it answers only once a
         * create or start of the container it may still be running (an `up` killed mid-way) is done, so
         * the removal below cannot pass it. For a container already stopped this is one round trip. */
        if (supervisor_running(r->cfg->run_root, r->name)) {
                int s = reconcile_stop_container(r, name, err);
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
        /* The supervisor drops the container from its status; one that does not answer has lost it anyway
         * (its list is rebuilt from the records, which no longer name it). */
        if (supervisor_running(r->cfg->run_root, r->name))
                (void) supervisor_op(r->cfg->run_root, r->name, "forget", name, NULL, NULL);
        return 0;
}
