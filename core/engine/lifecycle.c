/* start, stop, restart, kill, pause, unpause and rm on a project's existing containers (lifecycle.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/graph.h"
#include "core/engine/lifecycle.h"
#include "core/engine/stop.h"
#include "core/engine/supervisor.h"
#include "core/runtime/container.h"
#include "core/runtime/runtime.h"
#include "core/runtime/volume.h"

/* ---- plans ---- */

static struct plan *plan_new(void)
{
        struct plan *p = xcalloc(1, sizeof(*p));
        p->actions = xcalloc(1, sizeof(*p->actions));
        p->warnings = xcalloc(1, sizeof(char *));
        return p;
}

static size_t emit(struct plan *p, enum plan_action_kind kind, const char *target, const char *service,
                   int number, const char *reason)
{
        p->actions = xrealloc(p->actions, (p->n_actions + 1) * sizeof(*p->actions));
        p->actions[p->n_actions] = (struct plan_action){
            .kind = kind,
            .target = xstrdup(target),
            .service = service ? xstrdup(service) : NULL,
            .number = number,
            .reason = xstrdup(reason),
        };
        return p->n_actions++;
}

static void after(struct plan *p, size_t action, size_t prerequisite)
{
        struct plan_action *a = &p->actions[action];
        for (size_t i = 0; i < a->n_after; i++)
                if (a->after[i] == prerequisite)
                        return;
        a->after = xrealloc(a->after, (a->n_after + 1) * sizeof(*a->after));
        a->after[a->n_after++] = prerequisite;
}

/* Index lists, one per service of the graph: the actions that bring each service's containers back. */
struct service_actions {
        size_t *ids;
        size_t n;
};

static void push_id(struct service_actions *s, size_t id)
{
        s->ids = xrealloc(s->ids, (s->n + 1) * sizeof(*s->ids));
        s->ids[s->n++] = id;
}

static void service_actions_free(struct service_actions *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(l[i].ids);
        free(l);
}

struct plan *lifecycle_stop_plan(const struct graph *g, const struct project_status *st,
                                 char *const *services)
{
        /* stop.c plans the project's stops; the selection is a view of the status holding only the
         * containers of the named services. */
        struct project_status view = {.containers = xcalloc(st->n + 1, sizeof(*st->containers))};
        for (size_t i = 0; i < st->n; i++)
                if (container_info_in(&st->containers[i], services))
                        view.containers[view.n++] = st->containers[i];
        struct plan *p = stop_plan(g, &view);
        free(view.containers);
        return p;
}

/* The actions of s's containers (first: the first of each container's actions) wait for its dependencies
 * in the set: a healthy or completed condition through a wait on the dependency, a started one by
 * coming after the dependency's starts. */
static void order_after_deps(struct plan *p, const struct graph *g, size_t si, const bool *in_set,
                             struct service_actions *done, const size_t *first, size_t n_first)
{
        const struct graph_service *gs = &g->services[si];
        for (size_t d = 0; d < gs->n_deps; d++) {
                const struct graph_dep *dep = &gs->deps[d];
                if (!in_set[dep->service])
                        continue;
                struct service_actions *prev = &done[dep->service];
                if (dep->condition == STACK_DEP_HEALTHY || dep->condition == STACK_DEP_COMPLETED) {
                        size_t w = emit(p, PLAN_WAIT_SERVICE, g->services[dep->service].name, NULL, 0,
                                        "dependency condition");
                        p->actions[w].condition = dep->condition;
                        for (size_t k = 0; k < prev->n; k++)
                                after(p, w, prev->ids[k]);
                        for (size_t k = 0; k < n_first; k++)
                                after(p, first[k], w);
                } else
                        for (size_t k = 0; k < prev->n; k++)
                                for (size_t f = 0; f < n_first; f++)
                                        after(p, first[f], prev->ids[k]);
        }
}

/* Whether a container needs a start to run again: not running, not about to, not frozen. */
static bool needs_start(const struct container_info *c)
{
        return !container_state_is_up(c->state) && c->state != CONTAINER_STATE_PAUSED;
}

static size_t count_containers(const struct project_status *st, const char *service)
{
        size_t n = 0;
        for (size_t i = 0; i < st->n; i++)
                if (streq(st->containers[i].service, service))
                        n++;
        return n;
}

/* Emits the actions of one service's containers for start (restart false) or restart; waits and orders
 * come first so that the plan stays in a valid serial order. */
static void plan_service(struct plan *p, const struct graph *g, const struct project_status *st, size_t si,
                         const bool *in_set, struct service_actions *done, bool restart)
{
        const char *name = g->services[si].name;
        size_t n = count_containers(st, name);
        _cleanup_free_ size_t *first = xcalloc(n + 1, sizeof(size_t));
        size_t n_first = 0;
        /* The waits go first, so that the plan stays in a serial order; the containers' first actions are
         * tied to them once they exist. */
        size_t mark = p->n_actions;
        order_after_deps(p, g, si, in_set, done, NULL, 0);
        size_t waits_end = p->n_actions;
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (!streq(c->service, name))
                        continue;
                size_t stop = SIZE_MAX;
                if (restart && container_state_is_live(c->state))
                        stop = emit(p, PLAN_STOP_CONTAINER, c->name, c->service, c->number, "restart");
                if (!restart && !needs_start(c))
                        continue;
                size_t start = emit(p, PLAN_START_CONTAINER, c->name, c->service, c->number,
                                    restart ? "restart" : "start");
                if (stop != SIZE_MAX)
                        after(p, start, stop);
                first[n_first++] = stop != SIZE_MAX ? stop : start;
                push_id(&done[si], start);
        }
        /* Now tie the first actions to the waits just emitted, and to the starts of started-only deps. */
        for (size_t w = mark; w < waits_end; w++)
                for (size_t f = 0; f < n_first; f++)
                        after(p, first[f], w);
        const struct graph_service *gs = &g->services[si];
        for (size_t d = 0; d < gs->n_deps; d++) {
                const struct graph_dep *dep = &gs->deps[d];
                if (!in_set[dep->service] || dep->condition == STACK_DEP_HEALTHY ||
                    dep->condition == STACK_DEP_COMPLETED)
                        continue;
                for (size_t k = 0; k < done[dep->service].n; k++)
                        for (size_t f = 0; f < n_first; f++)
                                after(p, first[f], done[dep->service].ids[k]);
        }
}

static int plan_services(const struct graph *g, const struct project_status *st, char *const *set,
                         bool restart, struct plan **ret, struct stack_error *err)
{
        size_t ns = g->n_services;
        _cleanup_free_ bool *in_set = xcalloc(ns + 1, sizeof(bool));
        STRV_FOREACH (s, set) {
                size_t i = graph_service_index(g, *s);
                if (i == GRAPH_NONE)
                        return stack_error_set(err, ENOENT, "no such service: %s", *s);
                in_set[i] = true;
        }
        STRV_FOREACH (s, set) {
                const struct graph_service *gs = graph_service(g, *s);
                if (gs->spec->scale > 0 && count_containers(st, *s) == 0)
                        return stack_error_set(err, ENOENT, "service \"%s\" has no container to %s", *s,
                                               restart ? "restart" : "start");
        }
        struct plan *p = plan_new();
        struct service_actions *done = xcalloc(ns + 1, sizeof(*done));
        STRV_FOREACH (s, set)
                plan_service(p, g, st, graph_service_index(g, *s), in_set, done, restart);
        service_actions_free(done, ns + 1);
        /* Waits on a dependency that nothing of this plan starts are still kept: the dependents must not
         * start before it is healthy, whoever started it. */
        *ret = p;
        return 0;
}

int lifecycle_start_plan(const struct graph *g, const struct project_status *st, char *const *services,
                         struct plan **ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **set = NULL;
        if (services) {
                int k = graph_closure(g, services, &set, err);
                if (k < 0)
                        return k;
        } else
                set = graph_start_order(g);
        return plan_services(g, st, set, false, ret, err);
}

char **lifecycle_restart_services(const struct graph *g, char *const *services, bool no_deps)
{
        size_t ns = g->n_services;
        _cleanup_free_ bool *in = xcalloc(ns + 1, sizeof(bool));
        for (size_t i = 0; i < ns; i++)
                in[i] = !services || strv_contains(services, g->services[i].name);
        /* Dependents whose depends_on entry says `restart: true` follow their dependency, and theirs
         * follow them. */
        for (bool changed = !no_deps; changed;) {
                changed = false;
                for (size_t i = 0; i < ns; i++)
                        for (size_t d = 0; !in[i] && d < g->services[i].n_deps; d++)
                                if (g->services[i].deps[d].restart && in[g->services[i].deps[d].service])
                                        in[i] = changed = true;
        }
        char **order = graph_start_order(g);
        char **out = xcalloc(1, sizeof(char *));
        STRV_FOREACH (s, order)
                if (in[graph_service_index(g, *s)])
                        strv_push(&out, *s);
        strv_free(order);
        return out;
}

int lifecycle_restart_plan(const struct graph *g, const struct project_status *st, char *const *services,
                           bool no_deps, struct plan **ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **set = lifecycle_restart_services(g, services, no_deps);
        return plan_services(g, st, set, true, ret, err);
}

struct plan *lifecycle_remove_plan(const struct project_status *st, char *const *names)
{
        struct plan *p = plan_new();
        _cleanup_free_ size_t *rm = xcalloc(strv_length(names) + 1, sizeof(size_t));
        size_t n = 0;
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (strv_contains(names, c->name))
                        rm[n++] = emit(p, PLAN_REMOVE_CONTAINER, c->name, c->service, c->number, "rm");
        }
        if (n == 0)
                return p;
        /* The firewall and the name table follow the containers that are left. */
        size_t publish = emit(p, PLAN_PUBLISH_PORTS, st->containers[0].project, NULL, 0, "rm");
        for (size_t i = 0; i < n; i++)
                after(p, publish, rm[i]);
        return p;
}

/* ---- running them ---- */

static int load_status(const struct reconcile_config *c, const struct stack_project *p,
                       struct project_status *ret, struct stack_error *err)
{
        struct status_config sc = {.root = c->root, .run_root = c->run_root, .runtime = c->runtime};
        return status_project(&sc, p->name, ret, err);
}

/* Stops and starts go through the supervisor, which must be there: a stop done behind its back would
 * look like a crash to the next one, and the restart policy would revive the container. */
static int ensure_supervisor(const struct reconcile_config *c, const struct stack_project *p,
                             const struct project_status *st, struct stack_error *err)
{
        if (st->n == 0 || c->dry_run)
                return 0;
        struct supervisor_config sc = {
            .root = c->root, .run_root = c->run_root, .project = p->name, .runtime = c->runtime};
        return supervisor_ensure(&sc, err);
}

static int open_runtime(const struct reconcile_config *c, struct runtime **ret, struct stack_error *err)
{
        _cleanup_free_ char *root = supervisor_runtime_root(c->run_root);
        return runtime_new(c->runtime, root, ret, err);
}

/* A frozen container cannot act on a signal: the ones about to be stopped are thawed first, as docker
 * does. */
static int thaw(const struct reconcile_config *c, const struct project_status *st, char *const *services,
                char *const *names, struct stack_error *err)
{
        struct runtime *rt = NULL;
        int k = 0;
        for (size_t i = 0; k >= 0 && i < st->n; i++) {
                const struct container_info *ci = &st->containers[i];
                if (ci->state != CONTAINER_STATE_PAUSED || !container_info_in(ci, services) ||
                    (names && !strv_contains(names, ci->name)) || c->dry_run)
                        continue;
                if (!rt)
                        k = open_runtime(c, &rt, err);
                if (k >= 0)
                        k = runtime_resume(rt, ci->name, err);
        }
        runtime_free(rt);
        return k;
}

static bool any_live(const struct project_status *st, char *const *services)
{
        for (size_t i = 0; i < st->n; i++)
                if (container_info_in(&st->containers[i], services) &&
                    container_state_is_live(st->containers[i].state))
                        return true;
        return false;
}

int lifecycle_stop(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                   struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = load_status(c, p, &st, err);
        if (k < 0 || !any_live(&st, services))
                return k;
        _cleanup_graph_ struct graph *g = NULL;
        if ((k = graph_build(p, &g, err)) < 0 || (k = ensure_supervisor(c, p, &st, err)) < 0 ||
            (k = thaw(c, &st, services, NULL, err)) < 0)
                return k;
        struct plan *plan = lifecycle_stop_plan(g, &st, services);
        k = reconcile_apply(c, p, plan, err);
        plan_free(plan);
        return k;
}

int lifecycle_start(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                    struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        _cleanup_graph_ struct graph *g = NULL;
        struct plan *plan = NULL;
        int k = load_status(c, p, &st, err);
        if (k >= 0)
                k = graph_build(p, &g, err);
        if (k >= 0)
                k = lifecycle_start_plan(g, &st, services, &plan, err);
        if (k >= 0)
                k = ensure_supervisor(c, p, &st, err);
        if (k >= 0)
                k = reconcile_apply(c, p, plan, err);
        if (plan)
                plan_free(plan);
        return k;
}

int lifecycle_restart(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                      bool no_deps, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        _cleanup_graph_ struct graph *g = NULL;
        struct plan *plan = NULL;
        int k = load_status(c, p, &st, err);
        if (k >= 0)
                k = graph_build(p, &g, err);
        if (k >= 0)
                k = lifecycle_restart_plan(g, &st, services, no_deps, &plan, err);
        _cleanup_strv_free_ char **set = k >= 0 ? lifecycle_restart_services(g, services, no_deps) : NULL;
        if (k >= 0)
                k = ensure_supervisor(c, p, &st, err);
        if (k >= 0)
                k = thaw(c, &st, set, NULL, err);
        if (k >= 0)
                k = reconcile_apply(c, p, plan, err);
        if (plan)
                plan_free(plan);
        return k;
}

/* The containers of services in stop order (dependents first), those for which want() holds. */
static char **select_ordered(const struct stack_project *p, const struct project_status *st,
                             char *const *services, bool (*want)(const struct container_info *c))
{
        char **out = xcalloc(1, sizeof(char *));
        _cleanup_graph_ struct graph *g = NULL;
        _cleanup_strv_free_ char **order = NULL;
        if (graph_build(p, &g, NULL) >= 0)
                order = graph_stop_order(g);
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                /* Containers of services the graph does not know (orphans) come first, as in `down`. */
                if (container_info_in(c, services) && want(c) && !strv_contains(order, c->service))
                        strv_push(&out, c->name);
        }
        STRV_FOREACH (s, order)
                for (size_t i = 0; i < st->n; i++) {
                        const struct container_info *c = &st->containers[i];
                        if (streq(c->service, *s) && container_info_in(c, services) && want(c))
                                strv_push(&out, c->name);
                }
        return out;
}

static const struct container_info *find_info(const struct project_status *st, const char *name)
{
        for (size_t i = 0; i < st->n; i++)
                if (streq(st->containers[i].name, name))
                        return &st->containers[i];
        return NULL;
}

static bool is_running(const struct container_info *c)
{
        return c->state == CONTAINER_STATE_RUNNING || c->state == CONTAINER_STATE_PAUSED;
}

static int kill_one(const struct reconcile_config *c, const struct stack_project *p,
                    const struct container_info *ci, int sig, struct runtime **rt, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", "kill");
        cJSON_AddStringToObject(req, "name", ci->name);
        cJSON_AddNumberToObject(req, "signal", sig);
        _cleanup_(cJSON_Deletep) cJSON *reply = NULL;
        int k = supervisor_call(c->run_root, p->name, req, &reply, err);
        if (k < 0)
                return stack_error_prefix(err, "kill %s", ci->name);
        /* A frozen container ends only once thawed; one that is merely signalled stays as it was. */
        bool final = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "stopped"));
        if (final && ci->state == CONTAINER_STATE_PAUSED) {
                if (!*rt && (k = open_runtime(c, rt, err)) < 0)
                        return k;
                return runtime_resume(*rt, ci->name, err);
        }
        return 0;
}

int lifecycle_kill(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                   int sig, char ***ret_names, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = load_status(c, p, &st, err);
        if (k < 0)
                return k;
        _cleanup_strv_free_ char **names = select_ordered(p, &st, services, is_running);
        if (!c->dry_run && names[0] && (k = ensure_supervisor(c, p, &st, err)) < 0)
                return k;
        struct runtime *rt = NULL;
        STRV_FOREACH (n, names) {
                const struct container_info *ci = find_info(&st, *n);
                if (!c->dry_run && ci && (k = kill_one(c, p, ci, sig, &rt, err)) < 0)
                        break;
        }
        runtime_free(rt);
        if (k < 0)
                return k;
        *ret_names = TAKE_PTR(names);
        return 0;
}

static bool is_plain_running(const struct container_info *c)
{
        return c->state == CONTAINER_STATE_RUNNING;
}

static bool is_paused(const struct container_info *c)
{
        return c->state == CONTAINER_STATE_PAUSED;
}

int lifecycle_pause(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                    bool pause, char ***ret_names, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = load_status(c, p, &st, err);
        if (k < 0)
                return k;
        _cleanup_strv_free_ char **names =
            select_ordered(p, &st, services, pause ? is_plain_running : is_paused);
        if (!pause) /* thawed in start order */
                for (size_t i = 0, n = strv_length(names); i < n / 2; i++) {
                        char *t = names[i];
                        names[i] = names[n - 1 - i];
                        names[n - 1 - i] = t;
                }
        struct runtime *rt = NULL;
        if (!c->dry_run && names[0])
                k = open_runtime(c, &rt, err);
        STRV_FOREACH (n, names) {
                if (k < 0 || c->dry_run)
                        break;
                k = pause ? runtime_pause(rt, *n, err) : runtime_resume(rt, *n, err);
        }
        runtime_free(rt);
        if (k < 0)
                return k;
        *ret_names = TAKE_PTR(names);
        return 0;
}

static bool is_stopped(const struct container_info *c)
{
        return !is_running(c) && !container_state_is_up(c->state);
}

static bool is_any(const struct container_info *c)
{
        return true;
}

int lifecycle_removable(const struct reconcile_config *c, const struct stack_project *p,
                        char *const *services, bool stop, char ***ret_names, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = load_status(c, p, &st, err);
        if (k < 0)
                return k;
        *ret_names = select_ordered(p, &st, services, stop ? is_any : is_stopped);
        return 0;
}

/* The anonymous volumes of a container: the service's volume mounts without a source. */
static int remove_anonymous_volumes(const struct reconcile_config *c, const struct stack_project *p,
                                    const struct container_info *ci, struct stack_error *err)
{
        const struct stack_service *s = stack_project_service(p, ci->service);
        for (size_t i = 0; s && i < s->n_volumes; i++) {
                const struct stack_mount *m = &s->volumes[i];
                if (m->type != STACK_MOUNT_VOLUME || m->source)
                        continue;
                _cleanup_free_ char *name = container_anonymous_volume_name(ci->name, m->target);
                int k = volume_remove(c->root, name, err);
                if (k < 0)
                        return k;
        }
        return 0;
}

int lifecycle_remove(const struct reconcile_config *c, const struct stack_project *p, char *const *names,
                     bool stop, bool remove_volumes, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = load_status(c, p, &st, err);
        if (k < 0)
                return k;
        /* Only what is asked: a view holding the named containers. */
        struct project_status view = {.containers = xcalloc(st.n + 1, sizeof(*st.containers))};
        for (size_t i = 0; i < st.n; i++)
                if (strv_contains(names, st.containers[i].name))
                        view.containers[view.n++] = st.containers[i];
        if (stop && any_live(&view, NULL)) {
                _cleanup_graph_ struct graph *g = NULL;
                if ((k = graph_build(p, &g, err)) >= 0 && (k = ensure_supervisor(c, p, &view, err)) >= 0 &&
                    (k = thaw(c, &view, NULL, NULL, err)) >= 0) {
                        struct plan *plan = lifecycle_stop_plan(g, &view, NULL);
                        k = reconcile_apply(c, p, plan, err);
                        plan_free(plan);
                }
        }
        if (k >= 0) {
                struct plan *plan = lifecycle_remove_plan(&view, names);
                k = reconcile_apply(c, p, plan, err);
                plan_free(plan);
        }
        for (size_t i = 0; k >= 0 && remove_volumes && !c->dry_run && i < view.n; i++)
                k = remove_anonymous_volumes(c, p, &view.containers[i], err);
        free(view.containers);
        return k;
}

int lifecycle_top(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                  struct lifecycle_top **ret, size_t *ret_n, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = load_status(c, p, &st, err);
        if (k < 0)
                return k;
        struct lifecycle_top *l = xcalloc(st.n + 1, sizeof(*l));
        size_t n = 0;
        struct runtime *rt = NULL;
        for (size_t i = 0; k >= 0 && i < st.n; i++) {
                const struct container_info *ci = &st.containers[i];
                if (!container_info_in(ci, services) || !is_running(ci))
                        continue;
                /* The runtime's word on the init: it is what the cgroup is found from. */
                struct runtime_state rs = {0};
                if (!rt)
                        k = open_runtime(c, &rt, err);
                if (k >= 0)
                        k = runtime_state(rt, ci->name, &rs, err);
                if (k < 0 || rs.pid <= 0)
                        continue; /* gone meanwhile: nothing to list */
                struct lifecycle_top *t = &l[n];
                k = top_processes("/proc", "/sys/fs/cgroup", rs.pid, &t->procs, &t->n, err);
                if (k >= 0) {
                        t->name = xstrdup(ci->name);
                        n++;
                } else
                        stack_error_prefix(err, "container %s", ci->name);
        }
        runtime_free(rt);
        if (k < 0) {
                lifecycle_top_free(l, n);
                return k;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

void lifecycle_top_free(struct lifecycle_top *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].name);
                top_process_list_free(l[i].procs, l[i].n);
        }
        free(l);
}
