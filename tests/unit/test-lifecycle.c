/* The lifecycle verbs' plans (core/engine/lifecycle.c) on a parsed project and hand-made statuses, and
 * top's ps formats. */
#include <time.h>

#include "core/engine/graph.h"
#include "core/engine/lifecycle.h"
#include "core/engine/top.h"
#include "tests/unit/spec-test.h"
#include "tests/unit/tap.h"

static const char yaml[] = "services:\n"
                           "  db:\n"
                           "    image: x\n"
                           "    healthcheck: {test: [CMD, 'true']}\n"
                           "  app:\n"
                           "    image: x\n"
                           "    depends_on: {db: {condition: service_healthy, restart: true}}\n"
                           "  side:\n"
                           "    image: x\n"
                           "    depends_on: [db]\n"
                           "  edge:\n"
                           "    image: x\n"
                           "    depends_on: {app: {condition: service_started, restart: true}}\n"
                           "  lone:\n"
                           "    image: x\n";

/* A status of demo-<service>-1 containers in the given states, sorted by name as status_project's. */
static void add(struct project_status *st, const char *service, enum container_state state)
{
        st->containers = xrealloc(st->containers, (st->n + 1) * sizeof(*st->containers));
        st->containers[st->n++] = (struct container_info){
            .name = xasprintf("demo-%s-1", service),
            .service = xstrdup(service),
            .project = xstrdup("demo"),
            .number = 1,
            .state = state,
        };
}

static ssize_t find(const struct plan *p, enum plan_action_kind kind, const char *target)
{
        for (size_t i = 0; i < p->n_actions; i++)
                if (p->actions[i].kind == kind && streq(p->actions[i].target, target))
                        return (ssize_t) i;
        return -1;
}

/* Whether action a (transitively) comes after action b. */
static bool comes_after(const struct plan *p, ssize_t a, ssize_t b)
{
        if (a < 0 || b < 0)
                return false;
        for (size_t i = 0; i < p->actions[a].n_after; i++)
                if ((ssize_t) p->actions[a].after[i] == b ||
                    comes_after(p, (ssize_t) p->actions[a].after[i], b))
                        return true;
        return false;
}

static bool serial_order(const struct plan *p)
{
        for (size_t i = 0; i < p->n_actions; i++)
                for (size_t k = 0; k < p->actions[i].n_after; k++)
                        if (p->actions[i].after[k] >= i)
                                return false;
        return true;
}

static void test_restart_services(const struct graph *g)
{
        char *db[] = {"db", NULL}, *app[] = {"app", NULL}, *side[] = {"side", NULL};
        _cleanup_strv_free_ char **a = lifecycle_restart_services(g, db, false);
        _cleanup_free_ char *as = strv_join(a, " ");
        is_str(as, "db app edge", "restart db: app (restart: true) and edge (restart: true on app) follow");
        _cleanup_strv_free_ char **b = lifecycle_restart_services(g, db, true);
        _cleanup_free_ char *bs = strv_join(b, " ");
        is_str(bs, "db", "--no-deps: db alone");
        _cleanup_strv_free_ char **c = lifecycle_restart_services(g, app, false);
        _cleanup_free_ char *cs = strv_join(c, " ");
        is_str(cs, "app edge", "restart app: not its dependency db");
        _cleanup_strv_free_ char **d = lifecycle_restart_services(g, side, false);
        _cleanup_free_ char *ds = strv_join(d, " ");
        is_str(ds, "side", "side has no restart: true dependents");
        _cleanup_strv_free_ char **e = lifecycle_restart_services(g, NULL, false);
        is_int(strv_length(e), 5, "no service named: all of them");
}

static void test_stop(const struct graph *g, const struct project_status *st)
{
        char *names[] = {"db", "app", NULL};
        struct plan *p = lifecycle_stop_plan(g, st, names);
        is_int(p->n_actions, 2, "stop db app: two stops (side and edge are not named)");
        ok(comes_after(p, find(p, PLAN_STOP_CONTAINER, "demo-db-1"),
                       find(p, PLAN_STOP_CONTAINER, "demo-app-1")),
           "db stops after app, which depends on it");
        plan_free(p);
        p = lifecycle_stop_plan(g, st, NULL);
        is_int(p->n_actions, 4, "stop everything: the four live containers (lone has exited)");
        ok(find(p, PLAN_STOP_CONTAINER, "demo-lone-1") < 0, "no stop for the exited one");
        plan_free(p);
}

static void test_start(const struct graph *g)
{
        struct project_status st = {0};
        add(&st, "app", CONTAINER_STATE_EXITED);
        add(&st, "db", CONTAINER_STATE_EXITED);
        add(&st, "edge", CONTAINER_STATE_EXITED);
        add(&st, "lone", CONTAINER_STATE_RUNNING);
        add(&st, "side", CONTAINER_STATE_PAUSED);
        struct stack_error err = {0};
        struct plan *p = NULL;
        char *app[] = {"app", NULL};
        ok(lifecycle_start_plan(g, &st, app, &p, &err) == 0, "start app: planned");
        _cleanup_free_ char *text = plan_format(p);
        is_str(text,
               "start container demo-db-1: start\n"
               "wait for db healthy: dependency condition\n"
               "start container demo-app-1: start\n",
               "start app: its dependency db first, then the wait for db to be healthy, then app");
        ok(comes_after(p, find(p, PLAN_START_CONTAINER, "demo-app-1"), find(p, PLAN_WAIT_SERVICE, "db")),
           "app starts once db is healthy");
        ok(comes_after(p, find(p, PLAN_WAIT_SERVICE, "db"), find(p, PLAN_START_CONTAINER, "demo-db-1")),
           "the wait comes after db's start");
        ok(serial_order(p), "the plan is in a serial order");
        plan_free(p);

        ok(lifecycle_start_plan(g, &st, NULL, &p, &err) == 0, "start all: planned");
        ok(find(p, PLAN_START_CONTAINER, "demo-lone-1") < 0, "a running container is not started");
        ok(find(p, PLAN_START_CONTAINER, "demo-side-1") < 0, "nor a paused one");
        ok(comes_after(p, find(p, PLAN_START_CONTAINER, "demo-edge-1"),
                       find(p, PLAN_START_CONTAINER, "demo-app-1")),
           "edge starts after app (service_started: after its start)");
        ok(serial_order(p), "in a serial order");
        plan_free(p);

        struct project_status none = {0};
        add(&none, "db", CONTAINER_STATE_EXITED);
        ok(lifecycle_start_plan(g, &none, app, &p, &err) < 0, "start app without an app container fails");
        contains(err.msg, "service \"app\" has no container to start", "saying which service");
        stack_error_clear(&err);
        project_status_done(&none);
        project_status_done(&st);
}

static void test_restart(const struct graph *g)
{
        struct project_status st = {0};
        add(&st, "app", CONTAINER_STATE_RUNNING);
        add(&st, "db", CONTAINER_STATE_RUNNING);
        add(&st, "edge", CONTAINER_STATE_EXITED);
        add(&st, "lone", CONTAINER_STATE_RUNNING);
        add(&st, "side", CONTAINER_STATE_RUNNING);
        struct stack_error err = {0};
        struct plan *p = NULL;
        char *db[] = {"db", NULL};
        ok(lifecycle_restart_plan(g, &st, db, false, &p, &err) == 0, "restart db: planned");
        _cleanup_free_ char *text = plan_format(p);
        is_str(text,
               "stop container demo-db-1: restart\n"
               "start container demo-db-1: restart\n"
               "wait for db healthy: dependency condition\n"
               "stop container demo-app-1: restart\n"
               "start container demo-app-1: restart\n"
               "start container demo-edge-1: restart\n",
               "db restarts, then app once db is healthy, then edge (exited: just started)");
        ok(comes_after(p, find(p, PLAN_STOP_CONTAINER, "demo-app-1"), find(p, PLAN_WAIT_SERVICE, "db")),
           "app stops only once db is back and healthy");
        ok(comes_after(p, find(p, PLAN_START_CONTAINER, "demo-edge-1"),
                       find(p, PLAN_START_CONTAINER, "demo-app-1")),
           "edge after app");
        ok(serial_order(p), "in a serial order");
        plan_free(p);
        project_status_done(&st);
}

static void test_remove(const struct project_status *st)
{
        char *names[] = {"demo-lone-1", "demo-side-1", NULL};
        struct plan *p = lifecycle_remove_plan(st, names);
        _cleanup_free_ char *text = plan_format(p);
        is_str(text,
               "remove container demo-lone-1: rm\n"
               "remove container demo-side-1: rm\n"
               "update firewall of demo: rm\n",
               "rm: the named containers, then the ports and names of what is left");
        ok(comes_after(p, 2, 0) && comes_after(p, 2, 1), "the update after both removals");
        plan_free(p);
        char *nothing[] = {"demo-gone-1", NULL};
        p = lifecycle_remove_plan(st, nothing);
        is_int(p->n_actions, 0, "nothing to remove: an empty plan");
        plan_free(p);
}

static void test_top_formats(void)
{
        char buf[32];
        is_str(top_format_time(0, buf, sizeof(buf)), "00:00:00", "TIME of a process that used no CPU");
        is_str(top_format_time(3723, buf, sizeof(buf)), "01:02:03", "TIME in hours, minutes, seconds");
        is_str(top_format_time(2 * 86400 + 5, buf, sizeof(buf)), "2-00:00:05", "TIME past a day");
        setenv("TZ", "UTC", 1);
        tzset();
        /* 2026-12-05 07:25:00 UTC */
        uint64_t now = 1796455500;
        is_str(top_format_stime(now - 3600, now, buf, sizeof(buf)), "06:25", "STIME today: the time");
        is_str(top_format_stime(now - 3 * 86400, now, buf, sizeof(buf)), "Dec02",
               "earlier this year: the day");
        is_str(top_format_stime(now - 400 * 86400, now, buf, sizeof(buf)), "2025", "another year: the year");
        _cleanup_free_ char *root = top_user_name(0);
        is_str(root, "root", "uid 0 is root");
}

int main(void)
{
        test_env_init();
        struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(yaml, &err);
        if (!ok(p != NULL, "the project parses"))
                diag("%s", err.msg);
        _cleanup_graph_ struct graph *g = NULL;
        if (!p || !ok(graph_build(p, &g, &err) == 0, "its graph builds"))
                return done_testing();
        test_restart_services(g);
        struct project_status st = {0};
        add(&st, "app", CONTAINER_STATE_RUNNING);
        add(&st, "db", CONTAINER_STATE_RUNNING);
        add(&st, "edge", CONTAINER_STATE_RUNNING);
        add(&st, "lone", CONTAINER_STATE_EXITED);
        add(&st, "side", CONTAINER_STATE_RUNNING);
        test_stop(g, &st);
        test_start(g);
        test_restart(g);
        test_remove(&st);
        project_status_done(&st);
        test_top_formats();
        return done_testing();
}
