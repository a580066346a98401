/* The reconciler's entry points: up, down and the wait for readiness, each observe -> plan -> apply
 * over the parts reconcile.h lists. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/graph.h"
#include "core/image/image.h"
#include "core/runtime/container.h"
#include "core/runtime/volume.h"
#include "core/engine/reconcile-internal.h"

void reconcile_warn(const struct reconciler *r, const char *fmt, ...)
{
        const struct reconcile_events *ev = r->cfg->events;
        if (!ev || !ev->warning)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        ev->warning(ev->userdata, msg ? msg : fmt);
}

void reconciler_done(struct reconciler *r)
{
        if (r->fw_owned)
                firewall_free(r->fw);
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

int reconciler_init(struct reconciler *r, const struct reconcile_config *c, const char *name,
                    const struct stack_project *p, struct stack_error *err)
{
        *r = (struct reconciler){.cfg = c, .project = p, .name = name};
        pthread_mutex_init(&r->lock, NULL);
        /* A dry run creates nothing under the roots, not even an empty store. */
        int k = c->dry_run ? image_store_open_readonly(c->root, &r->images, err)
                           : image_store_open(c->root, &r->images, err);
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

static void report_plan(const struct reconcile_config *c, const struct plan *plan)
{
        if (c->events && c->events->plan)
                c->events->plan(c->events->userdata, plan);
}

static int run_up(struct reconciler *r, const struct plan *plan, const struct plan_observed *obs,
                  struct stack_error *err)
{
        const struct stack_project *p = r->project;
        int k = reconcile_check_ports(r, err);
        /* The project record is what `down -p NAME` finds the project by once the file is gone: without it
         * the containers about to be made could not be taken down that way, so no record, no change. */
        if (k >= 0)
                k = state_project_write(r->cfg->root, p->name, p->working_dir, p->config_files, err);
        if (k >= 0 && plan_has_publish(plan))
                k = reconcile_publish_mark(r, err);
        if (k >= 0)
                k = apply_plan(plan, &reconcile_real_ops, r, r->cfg->parallel, err);
        /* Containers need their supervisor even when nothing changed: a killed one is replaced here, and
         * the new one adopts them. */
        if (k >= 0 && obs->n_containers > 0)
                k = reconcile_ensure_supervisor(r, err);
        return k;
}

int reconcile_up(const struct reconcile_config *c, const struct stack_project *p,
                 const struct plan_options *o, struct stack_error *err)
{
        _cleanup_graph_ struct graph *g = NULL;
        int k = graph_build(p, &g, err);
        if (k < 0)
                return k;
        struct reconciler r;
        k = reconciler_init(&r, c, p->name, p, err);
        STRV_FOREACH (w, g->warnings)
                reconcile_warn(&r, "%s", *w);
        struct plan_desired *d = NULL;
        struct plan_observed *obs = NULL;
        struct plan *plan = NULL;
        if (k >= 0)
                k = reconcile_build_desired(&r, &d, err);
        if (k >= 0)
                k = plan_desired_order(d, g, o, err);
        if (k >= 0)
                k = reconcile_observe(&r, &obs, err);
        if (k >= 0)
                k = plan_compute(d, obs, o, &plan, err);
        if (k >= 0) {
                STRV_FOREACH (w, plan->warnings)
                        reconcile_warn(&r, "%s", *w);
                if (c->dry_run)
                        report_plan(c, plan);
                else
                        k = run_up(&r, plan, obs, err);
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

/* As compose does: every stop first (each after those of its dependents, so level by level in reverse
 * dependency order, the containers of a level at once), then the runtime deletes every stopped container
 * in one batch, then the removals run in parallel with only their own files and records left to do. */
static int run_down(struct reconciler *r, const struct plan *plan, struct stack_error *err)
{
        struct plan *stops = NULL, *rest = NULL;
        plan_split(plan, PLAN_STOP_CONTAINER, &stops, &rest);
        int k = apply_plan(stops, &reconcile_real_ops, r, r->cfg->parallel, err);
        if (k >= 0)
                reconcile_delete_stopped(r, stops);
        if (k >= 0)
                k = apply_plan(rest, &reconcile_real_ops, r, r->cfg->parallel, err);
        plan_free(stops);
        plan_free(rest);
        return k;
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
                k = reconcile_build_desired(&r, &d, err);
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
                k = reconcile_observe(&r, &obs, err);
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
                if (c->dry_run)
                        report_plan(c, plan);
                else
                        k = run_down(&r, plan, err);
        }
        if (k >= 0 && !c->dry_run) {
                /* What a crash may have left that no record names: rules, namespaces, bridges. */
                struct firewall *fw = NULL;
                k = reconcile_firewall(&r, &fw, err);
                if (k >= 0)
                        k = firewall_remove_project(fw, project, err);
                if (k >= 0)
                        k = network_project_teardown(r.net, project, err);
                /* The supervisor rereads the (now empty) name table; its own end comes with the project's
                 * records, so a failed reload changes nothing that stays. */
                if (k >= 0 && supervisor_running(c->run_root, project))
                        (void) supervisor_op(c->run_root, project, "reload", NULL, NULL, NULL);
                if (k >= 0)
                        reconcile_publish_unmark(&r);
                if (k >= 0)
                        k = state_project_remove(c->root, c->run_root, project, err);
        }
        plan_free(plan);
        plan_desired_free(d);
        plan_observed_free(obs);
        reconciler_done(&r);
        return k;
}

int reconcile_apply(const struct reconcile_config *c, const struct stack_project *p, const struct plan *plan,
                    struct stack_error *err)
{
        if (c->dry_run) {
                report_plan(c, plan);
                return 0;
        }
        struct reconciler r;
        int k = reconciler_init(&r, c, p->name, p, err);
        if (k >= 0 && plan_has_publish(plan))
                k = reconcile_publish_mark(&r, err);
        if (k >= 0)
                k = apply_plan(plan, &reconcile_real_ops, &r, c->parallel, err);
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
                        int k = reconcile_service_condition(&r, p->services[s].name, STACK_DEP_STARTED, true,
                                                            err);
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
