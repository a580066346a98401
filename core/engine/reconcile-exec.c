/* The executor apply.c runs a plan through: one function per action kind (networks, volumes and waits
 * here, containers in reconcile-containers.c, publishing in reconcile-publish.c), and the actions' progress
 * handed to the caller as events. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/netmodel.h"
#include "core/runtime/volume.h"
#include "core/engine/reconcile-internal.h"

/* ---- networks ---- */

const struct network_info *reconcile_network_get(struct reconciler *r, const char *key,
                                                 struct stack_error *err)
{
        for (size_t i = 0; i < r->n_nets; i++)
                if (streq(r->nets[i].key, key))
                        return &r->nets[i].info;
        const struct stack_network *n = r->project ? stack_project_network(r->project, key) : NULL;
        if (!n) {
                stack_error_set(err, ENOENT, "network %s is not defined", key);
                return NULL;
        }
        struct netmodel_network m;
        if (netmodel_network(r->name, n, &m, err) < 0)
                return NULL;
        struct network_info info = {0};
        int k = network_setup(r->net, &m.spec, &info, err);
        netmodel_network_done(&m);
        if (k < 0) {
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
        const struct network_info *info = reconcile_network_get(r, key, err);
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
        /* Without its record the network's name is unknown here; the teardown of the whole project
         * finds what is left of it by the bridge's alias and the IPAM records. */
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

/* ---- waiting on depends_on conditions ---- */

/* Whether every container of the service meets the condition: 1 yes, 0 not yet, <0 never (err set). */
int reconcile_service_condition(struct reconciler *r, const char *service, enum stack_dep_condition cond,
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
        int e = reconcile_ensure_supervisor(r, err);
        if (e < 0)
                return e;
        for (unsigned i = 0;; i++) {
                int k = reconcile_service_condition(r, service, cond, false, err);
                if (k != 0)
                        return k < 0 ? k : 0;
                usleep(i < 20 ? 50000 : 200000);
        }
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
                return reconcile_create_container(r, a, err);
        case PLAN_START_CONTAINER: {
                int k = reconcile_ensure_supervisor(r, err);
                if (k < 0)
                        return k;
                return supervisor_op(r->cfg->run_root, r->name, "start", a->target, NULL, err);
        }
        case PLAN_WAIT_SERVICE:
                return run_wait(r, a->target, a->condition, err);
        case PLAN_STOP_CONTAINER:
                return reconcile_stop_container(r, a->target, err);
        case PLAN_REMOVE_CONTAINER:
                return reconcile_remove_container(r, a->target, err);
        case PLAN_PUBLISH_PORTS:
                return reconcile_publish(r, err);
        }
        return stack_error_set(err, EINVAL, "unknown action");
}

/* Hands the executor's progress to the caller as typed events. */
static void exec_progress(void *userdata, const struct plan_action *a, const char *phase,
                          const struct stack_error *err)
{
        struct reconciler *r = userdata;
        const struct reconcile_events *ev = r->cfg->events;
        if (!ev || !ev->action)
                return;
        enum reconcile_phase ph = streq(phase, "start")  ? RECONCILE_START
                                  : streq(phase, "done") ? RECONCILE_DONE
                                                         : RECONCILE_FAILED;
        ev->action(ev->userdata, a, ph, err);
}

const struct apply_ops reconcile_real_ops = {
    .run = exec_run,
    .progress = exec_progress,
};
