#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/state.h"
#include "core/engine/status.h"
#include "core/engine/supervisor.h"
#include "core/runtime/container.h"
#include "core/runtime/runtime.h"

static int cmp_live(const void *a, const void *b)
{
        const char *x = ((const struct supervisor_container *) a)->name;
        const char *y = ((const struct supervisor_container *) b)->name;
        return strcmp(x ? x : "", y ? y : "");
}

/* The list sorted by cmp_live. */
static const struct supervisor_container *find_live(const struct supervisor_container *l, size_t n,
                                                    const char *name)
{
        struct supervisor_container key = {.name = (char *) name};
        return n ? bsearch(&key, l, n, sizeof(*l), cmp_live) : NULL;
}

static void info_ports(struct container_info *c, const cJSON *spec)
{
        const cJSON *pt, *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
        c->ports = xcalloc((size_t) cJSON_GetArraySize(ports) + 1, sizeof(*c->ports));
        cJSON_ArrayForEach(pt, ports)
        {
                const char *ip = json_get_str(pt, "host_ip"), *proto = json_get_str(pt, "protocol");
                c->ports[c->n_ports++] = (struct status_port){
                    .host_ip = xstrdup(ip ? ip : "0.0.0.0"),
                    .protocol = xstrdup(proto ? proto : "tcp"),
                    .target = (int) json_get_num(pt, "target", 0),
                    .published = (int) json_get_num(pt, "published", 0),
                };
        }
}

/* Whether the container's cgroup is frozen (stack pause): the v1 freezer's state, or v2's cgroup.freeze. */
static bool frozen(const char *run_root, const char *name)
{
        _cleanup_free_ char *cg = container_cgroup_path(run_root, name);
        _cleanup_free_ char *v1 = xasprintf("/sys/fs/cgroup/freezer%s/freezer.state", cg);
        _cleanup_free_ char *v2 = xasprintf("/sys/fs/cgroup%s/cgroup.freeze", cg);
        _cleanup_free_ char *text = NULL;
        if (read_full_file(v1, &text, NULL, NULL) >= 0)
                return startswith(text, "FROZEN") || startswith(text, "FREEZING");
        if (read_full_file(v2, &text, NULL, NULL) >= 0)
                return startswith(text, "1");
        return false;
}

/* The supervisor knows how a container ran; the runtime whether it still exists. A container the runtime
 * has lost is dead whatever was recorded. A supervisor that answers is the containers' reaper and watches
 * each one's process, so its word is current: a stat of the runtime's state directory is all that is
 * checked then, and no runtime process runs (that is most of a `ps`). Only a status saved by a supervisor
 * that is gone is checked against the runtime's own state: one recorded as exited that the runtime runs
 * was started again behind it. */
static enum container_state merge_state(const struct supervisor_container *sup, bool live,
                                        struct runtime *rt, const char *run_root, const char *name)
{
        enum container_state state = sup ? sup->state : CONTAINER_STATE_UNKNOWN;
        if (sup && live && supervisor_container_known(sup)) {
                if (rt && !runtime_exists(rt, name))
                        return CONTAINER_STATE_DEAD;
                /* The supervisor does not see the freezer: the cgroup says whether it is paused. */
                if (container_state_is_up(state) && frozen(run_root, name))
                        return CONTAINER_STATE_PAUSED;
                return state;
        }
        struct runtime_state rs = {0};
        if (!rt || runtime_state(rt, name, &rs, NULL) < 0)
                return state;
        if (rs.status == RUNTIME_ABSENT)
                return CONTAINER_STATE_DEAD;
        /* The supervisor does not see the freezer: a paused container is running to it. */
        if (rs.status == RUNTIME_PAUSED && container_state_is_up(state))
                return CONTAINER_STATE_PAUSED;
        /* The saved status said up, but its supervisor is gone and the process with it. */
        if (sup && rs.status == RUNTIME_STOPPED && container_state_is_up(state))
                return CONTAINER_STATE_EXITED;
        if (!sup || (rs.status == RUNTIME_RUNNING && state == CONTAINER_STATE_EXITED)) {
                switch (rs.status) {
                case RUNTIME_CREATING:
                case RUNTIME_CREATED:
                        return CONTAINER_STATE_CREATED;
                case RUNTIME_RUNNING:
                        return CONTAINER_STATE_RUNNING;
                case RUNTIME_PAUSED:
                        return CONTAINER_STATE_PAUSED;
                case RUNTIME_STOPPED:
                case RUNTIME_ABSENT:
                        return CONTAINER_STATE_EXITED;
                }
        }
        return state;
}

static void info_fill(struct container_info *c, const char *project, const char *run_root,
                      const struct container_record *rec,
                      const struct supervisor_container *sup, bool live, struct runtime *rt)
{
        const char *image = json_get_str(rec->spec, "image"), *log = json_get_str(rec->spec, "log");
        *c = (struct container_info){
            .name = xstrdup(rec->name),
            .service = xstrdup(rec->service),
            .project = xstrdup(project),
            .image = xstrdup(image),
            .log_path = xstrdup(log),
            .number = rec->number,
            .state = merge_state(sup, live, rt, run_root, rec->name),
            .created_usec = rec->created_usec,
        };
        if (sup) {
                c->health = sup->health;
                c->exit_code = sup->exit_code;
                c->restart_count = sup->restart_count;
                c->started_at = sup->started_at;
                c->finished_at = sup->finished_at;
                c->has_health_log = true;
                c->n_health_log = sup->n_health_log;
                for (int i = 0; i < sup->n_health_log; i++) {
                        c->health_log[i] = sup->health_log[i];
                        c->health_log[i].output = xstrdup(sup->health_log[i].output);
                }
        }
        info_ports(c, rec->spec);
}

int status_project(const struct status_config *c, const char *project, struct project_status *ret,
                   struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(c->root, project, &recs, &n, err);
        if (k < 0)
                return k;
        struct supervisor_container *live = NULL;
        size_t n_live = 0;
        /* No supervisor, or one that does not answer: its status files are the last word. */
        if (supervisor_running(c->run_root, project))
                (void) supervisor_status(c->run_root, project, &live, &n_live, NULL);
        if (n_live > 0)
                qsort(live, n_live, sizeof(*live), cmp_live); /* 500 lookups stay cheap */
        _cleanup_free_ char *rtroot = supervisor_runtime_root(c->run_root);
        struct runtime *rt = NULL;
        /* Without a record there is nothing to ask the runtime, and opening it would make its state
         * directory: a read-only command leaves the run root as it found it. */
        if (n > 0 && runtime_new(c->runtime, rtroot, &rt, NULL) < 0)
                rt = NULL; /* the states then stay as the supervisor recorded them */

        *ret = (struct project_status){.containers = xcalloc(n + 1, sizeof(*ret->containers))};
        for (size_t i = 0; i < n; i++) {
                const struct supervisor_container *sup = find_live(live, n_live, recs[i]->name);
                bool answered = sup;
                struct supervisor_container saved = {0};
                if (!sup && supervisor_saved_status(c->run_root, project, recs[i]->name, &saved) >= 0)
                        sup = &saved;
                info_fill(&ret->containers[ret->n++], project, c->run_root, recs[i], sup, answered, rt);
                supervisor_container_done(&saved);
        }
        runtime_free(rt);
        supervisor_container_list_free(live, n_live);
        container_record_list_free(recs, n);
        return 0;
}

void project_status_done(struct project_status *s)
{
        for (size_t i = 0; i < s->n; i++) {
                struct container_info *c = &s->containers[i];
                free(c->name);
                free(c->service);
                free(c->project);
                free(c->image);
                free(c->log_path);
                for (int k = 0; k < c->n_health_log; k++)
                        free(c->health_log[k].output);
                for (size_t k = 0; k < c->n_ports; k++) {
                        free(c->ports[k].host_ip);
                        free(c->ports[k].protocol);
                }
                free(c->ports);
        }
        free(s->containers);
        *s = (struct project_status){0};
}

const char *container_info_label(const struct container_info *c)
{
        return container_label(c->project, c->service, c->number, c->name);
}

bool container_info_in(const struct container_info *c, char *const *services)
{
        return !services || strv_contains(services, c->service);
}
