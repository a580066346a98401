/* The observed state: stack's records checked against the runtime and the supervisor (the kernel and the
 * runtime are the truth, the records a record), and the per-container status `ps` and `--wait` read. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/runtime/container.h"
#include "core/runtime/runtime.h"
#include "core/runtime/volume.h"
#include "core/engine/reconcile-internal.h"

static enum plan_container_state state_from_string(const char *s)
{
        if (!s)
                return PLAN_STATE_DEAD;
        if (streq(s, "running") || streq(s, "restarting"))
                return PLAN_STATE_RUNNING;
        if (streq(s, "created"))
                return PLAN_STATE_CREATED;
        if (streq(s, "paused"))
                return PLAN_STATE_PAUSED;
        if (streq(s, "exited"))
                return PLAN_STATE_EXITED;
        return PLAN_STATE_DEAD;
}

/* A plan that changes containers marks the project before it starts and run_publish clears the mark: a
 * run killed in between leaves it, and the next plan redoes the firewall and DNS update even when the
 * containers themselves are right by then. */
static char *publish_mark_path(const struct reconciler *r)
{
        _cleanup_free_ char *dir = state_project_run_dir(r->cfg->run_root, r->name);
        return path_join(dir, "publish-pending");
}

int reconcile_publish_mark(const struct reconciler *r, struct stack_error *err)
{
        _cleanup_free_ char *path = publish_mark_path(r);
        return write_file_atomic(path, "", 0, 0600, err);
}

void reconcile_publish_unmark(const struct reconciler *r)
{
        _cleanup_free_ char *path = publish_mark_path(r);
        /* Gone already is fine; a mark that cannot go only makes the next plan publish once more. */
        (void) unlink(path);
}

/* Each container's state: the supervisor's word when it runs, else the runtime's, with the last exit code
 * the supervisor recorded. The records alone are never trusted: a container the runtime no longer has is
 * "dead", and the plan replaces it. */
int reconcile_observe(struct reconciler *r, struct plan_observed **ret, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(r->cfg->root, r->name, &recs, &n, err);
        if (k < 0)
                return k;
        _cleanup_(cJSON_Deletep) cJSON *status = NULL;
        /* Without the supervisor's answer every container is asked of the runtime instead. */
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
                struct container_state cs = {0};
                struct stack_error e = {0};
                if (found && streq_ptr(json_get_str(found, "state"), "running"))
                        cs.status = CONTAINER_RUNNING;
                else if (container_state(r->host, rec->name, &cs, &e) < 0)
                        cs.status = CONTAINER_ABSENT; /* the runtime cannot show it: replace it */
                stack_error_clear(&e);
                _cleanup_(cJSON_Deletep) cJSON *saved =
                    found ? NULL : supervisor_read_status(r->cfg->run_root, r->name, rec->name);
                const cJSON *st = found ? found : saved;
                switch (cs.status) {
                case CONTAINER_ABSENT:
                        c->state = PLAN_STATE_DEAD;
                        break;
                case CONTAINER_CREATED:
                        c->state = PLAN_STATE_CREATED;
                        break;
                case CONTAINER_RUNNING:
                        c->state = PLAN_STATE_RUNNING;
                        break;
                case CONTAINER_PAUSED:
                        c->state = PLAN_STATE_PAUSED;
                        break;
                case CONTAINER_STOPPED:
                        c->state = PLAN_STATE_EXITED;
                        break;
                }
                if (st && c->state == PLAN_STATE_EXITED &&
                    state_from_string(json_get_str(st, "state")) == PLAN_STATE_RUNNING)
                        c->state = PLAN_STATE_RUNNING; /* restarting: the supervisor has it in hand */
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

const cJSON *reconcile_find_status(const cJSON *list, const char *name)
{
        const cJSON *item;
        cJSON_ArrayForEach(item, list) if (streq_ptr(json_get_str(item, "name"), name)) return item;
        return NULL;
}

int reconcile_status(const struct reconcile_config *c, const char *project, cJSON **ret,
                     struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(c->root, project, &recs, &n, err);
        if (k < 0)
                return k;
        _cleanup_(cJSON_Deletep) cJSON *status = NULL;
        /* Without the supervisor's answer the saved status and the runtime's word remain. */
        if (supervisor_running(c->run_root, project))
                (void) supervisor_op(c->run_root, project, "status", NULL, &status, NULL);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(status, "containers");
        _cleanup_free_ char *rtroot = supervisor_runtime_root(c->run_root);
        struct runtime *rt = NULL;
        /* No runtime (not installed): the states are the supervisor's and the saved ones alone. */
        if (runtime_new(c->runtime, rtroot, &rt, NULL) < 0)
                rt = NULL;

        cJSON *out = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "Name", recs[i]->name);
                cJSON_AddStringToObject(j, "Service", recs[i]->service);
                cJSON_AddNumberToObject(j, "Number", recs[i]->number);
                cJSON_AddStringToObject(
                    j, "Image",
                    json_get_str(recs[i]->spec, "image") ? json_get_str(recs[i]->spec, "image") : "");
                cJSON_AddStringToObject(j, "Project", project);
                const cJSON *st = reconcile_find_status(list, recs[i]->name);
                _cleanup_(cJSON_Deletep) cJSON *saved =
                    st ? NULL : supervisor_read_status(c->run_root, project, recs[i]->name);
                if (!st)
                        st = saved;
                const char *state = st ? json_get_str(st, "state") : NULL;
                struct runtime_state rs = {0};
                if (rt && runtime_state(rt, recs[i]->name, &rs, NULL) >= 0) {
                        if (rs.status == RUNTIME_ABSENT)
                                state = "dead";
                        else if (!st || (rs.status == RUNTIME_RUNNING && state && streq(state, "exited")))
                                state = runtime_status_to_string(rs.status);
                }
                cJSON_AddStringToObject(j, "State", state ? state : "unknown");
                cJSON_AddStringToObject(j, "Health",
                                        st && json_get_str(st, "health") ? json_get_str(st, "health") : "");
                cJSON_AddNumberToObject(j, "ExitCode", st ? json_get_num(st, "exit_code", 0) : 0);
                cJSON_AddNumberToObject(j, "RestartCount", st ? json_get_num(st, "restart_count", 0) : 0);
                cJSON_AddNumberToObject(j, "StartedAt", st ? json_get_num(st, "started_at", 0) : 0);
                cJSON_AddNumberToObject(j, "FinishedAt", st ? json_get_num(st, "finished_at", 0) : 0);
                cJSON_AddNumberToObject(j, "Created", (double) recs[i]->created_usec);
                if (st && cJSON_GetObjectItemCaseSensitive(st, "health_log"))
                        cJSON_AddItemToObject(
                            j, "HealthLog",
                            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(st, "health_log"), true));
                cJSON *pubs = cJSON_AddArrayToObject(j, "Publishers");
                const cJSON *pt;
                cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(recs[i]->spec, "ports"))
                {
                        cJSON *e = cJSON_CreateObject();
                        cJSON_AddStringToObject(
                            e, "URL", json_get_str(pt, "host_ip") ? json_get_str(pt, "host_ip") : "0.0.0.0");
                        cJSON_AddNumberToObject(e, "TargetPort", json_get_num(pt, "target", 0));
                        cJSON_AddNumberToObject(e, "PublishedPort", json_get_num(pt, "published", 0));
                        cJSON_AddStringToObject(e, "Protocol",
                                                json_get_str(pt, "protocol") ? json_get_str(pt, "protocol")
                                                                             : "tcp");
                        cJSON_AddItemToArray(pubs, e);
                }
                cJSON_AddStringToObject(
                    j, "LogPath",
                    json_get_str(recs[i]->spec, "log") ? json_get_str(recs[i]->spec, "log") : "");
                cJSON_AddItemToArray(out, j);
        }
        runtime_free(rt);
        container_record_list_free(recs, n);
        *ret = out;
        return 0;
}
