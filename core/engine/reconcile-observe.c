/* The observed state: stack's records checked against the runtime and the supervisor (the kernel and the
 * runtime are the truth, the records a record). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/runtime/container.h"
#include "core/runtime/runtime.h"
#include "core/runtime/volume.h"
#include "core/engine/reconcile-internal.h"

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

static int cmp_sup(const void *a, const void *b)
{
        const char *x = ((const struct supervisor_container *) a)->name;
        const char *y = ((const struct supervisor_container *) b)->name;
        return strcmp(x ? x : "", y ? y : "");
}

/* A container's state as the plan needs it. The supervisor that answers reaps and watches every container
 * of the project (child exits, pidfds of adopted ones), so its word on any state is current: only whether
 * the runtime still has the container is checked, by a stat of its state directory, and a no-op `up` runs
 * no runtime process. Without that answer (no supervisor, or it does not know the container) the runtime
 * is asked, and the status the last supervisor saved gives the exit code. */
static void observe_state(struct reconciler *r, const struct supervisor_container *live,
                          struct plan_observed_container *c)
{
        if (live && supervisor_container_known(live)) {
                if (!runtime_exists(r->host->runtime, c->name))
                        c->state = CONTAINER_STATE_DEAD; /* deleted behind stack's back: replace it */
                else if (live->state == CONTAINER_STATE_RESTARTING)
                        c->state = CONTAINER_STATE_RUNNING; /* the supervisor has it in hand */
                else
                        c->state = live->state;
                c->exit_code = live->exit_code;
                c->stopped = live->stopped;
                return;
        }
        struct container_status cs = {0};
        struct stack_error e = {0};
        if (container_state(r->host, c->name, &cs, &e) < 0)
                cs.state = CONTAINER_STATE_DEAD; /* the runtime cannot show it: replace it */
        stack_error_clear(&e);
        struct supervisor_container saved = {0};
        const struct supervisor_container *st = NULL;
        if (supervisor_saved_status(r->cfg->run_root, r->name, c->name, &saved) >= 0)
                st = &saved;
        c->state = cs.state;
        c->exit_code = st ? st->exit_code : 0;
        c->stopped = st && st->stopped;
        /* Saved as up by a supervisor that is gone, and exited since: nobody saw how it ended, so it is
         * not taken for a one-shot that completed. */
        if (c->state == CONTAINER_STATE_EXITED && st && container_state_is_up(st->state))
                c->exit_code = -1;
        supervisor_container_done(&saved);
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
        struct supervisor_container *live = NULL;
        size_t n_live = 0;
        /* Without the supervisor's answer every container is asked of the runtime instead. */
        if (n > 0 && supervisor_running(r->cfg->run_root, r->name) &&
            supervisor_status(r->cfg->run_root, r->name, &live, &n_live, NULL) >= 0 && n_live > 0)
                qsort(live, n_live, sizeof(*live), cmp_sup); /* found by bsearch: 500 stay cheap */

        struct plan_observed *o = xcalloc(1, sizeof(*o));
        o->containers = xcalloc(n + 1, sizeof(*o->containers));
        for (size_t i = 0; i < n; i++) {
                struct container_record *rec = recs[i];
                /* One-off containers (`stack run`) are no service's replicas: `up` leaves them alone (never
                 * orphans, never scaled away), only `down` removes them. */
                if (!r->down && rec->spec &&
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec->spec, "oneoff")))
                        continue;
                struct plan_observed_container *c = &o->containers[o->n_containers++];
                c->name = xstrdup(rec->name);
                c->service = xstrdup(rec->service);
                c->number = rec->number;
                c->config_hash = xstrdup(rec->config_hash);
                c->image_id = xstrdup(rec->image_id);
                c->networks = strv_copy(rec->networks);
                c->volumes = strv_copy(rec->volumes);
                c->created_usec = rec->created_usec;
                struct supervisor_container key = {.name = rec->name};
                const struct supervisor_container *found =
                    n_live ? bsearch(&key, live, n_live, sizeof(*live), cmp_sup) : NULL;
                observe_state(r, found, c);
        }
        supervisor_container_list_free(live, n_live);
        container_record_list_free(recs, n);

        k = state_network_list(r->cfg->root, r->name, &o->networks, err);
        if (k < 0) {
                plan_observed_free(o);
                return k;
        }
        _cleanup_free_ char *mark = publish_mark_path(r);
        o->publish_pending = access(mark, F_OK) == 0;
        /* The kernel is the truth for the firewall too: rules flushed behind stack's back are put back
         * by the next `up`. A check that cannot run leaves the plan as it was, with a warning; a network
         * that is gone or no longer in the file is the plan's to make, and it publishes then anyway. */
        if (!r->down && r->project && !o->publish_pending) {
                struct stack_error e = {0};
                int d = reconcile_firewall_drift(r, &o->firewall_drift, &e);
                if (d < 0 && d != -ENOENT)
                        reconcile_warn(r, "firewall check: %s", e.msg ? e.msg : "failed");
                stack_error_clear(&e);
        }
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
