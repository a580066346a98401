/* The planner over a table of (desired, observed) cases. */
#include <stdarg.h>

#include "core/base/cleanup.h"
#include "core/engine/plan.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

static struct plan_desired *desired_new(void)
{
        struct plan_desired *d = xcalloc(1, sizeof(*d));
        d->project = xstrdup("p");
        strv_push(&d->networks, "default");
        return d;
}

static struct plan_service *add_service(struct plan_desired *d, const char *name, const char *hash)
{
        d->services = xrealloc(d->services, (d->n_services + 1) * sizeof(struct plan_service));
        struct plan_service *s = &d->services[d->n_services++];
        *s = (struct plan_service){
            .name = xstrdup(name),
            .scale = 1,
            .config_hash = xstrdup(hash),
            .image_id = xstrdup("sha256:img"),
            .restart_no = true,
        };
        strv_push(&s->networks, "default");
        strv_push(&d->all_services, name);
        return s;
}

static void add_dep(struct plan_service *s, const char *on, enum stack_dep_condition c, bool restart)
{
        s->deps = xrealloc(s->deps, (s->n_deps + 1) * sizeof(struct plan_dep));
        s->deps[s->n_deps++] = (struct plan_dep){
            .service = xstrdup(on),
            .condition = c,
            .required = true,
            .restart = restart,
        };
}

static struct plan_observed *observed_new(void)
{
        return xcalloc(1, sizeof(struct plan_observed));
}

static struct plan_observed_container *add_container(struct plan_observed *o, const char *service,
                                                     int number, const char *hash, enum container_state st)
{
        o->containers = xrealloc(o->containers, (o->n_containers + 1) * sizeof(*o->containers));
        struct plan_observed_container *c = &o->containers[o->n_containers++];
        *c = (struct plan_observed_container){
            .name = xasprintf("p-%s-%d", service, number),
            .service = xstrdup(service),
            .number = number,
            .config_hash = xstrdup(hash),
            .image_id = xstrdup("sha256:img"),
            .state = st,
            .created_usec = o->n_containers * 1000,
        };
        strv_push(&c->networks, "default");
        return c;
}

/* Every action's prerequisites come before it, so the serial order is valid. */
static bool order_valid(const struct plan *p)
{
        for (size_t i = 0; i < p->n_actions; i++)
                for (size_t k = 0; k < p->actions[i].n_after; k++)
                        if (p->actions[i].after[k] >= i)
                                return false;
        return true;
}

static ssize_t find_action(const struct plan *p, enum plan_action_kind kind, const char *target)
{
        for (size_t i = 0; i < p->n_actions; i++)
                if (p->actions[i].kind == kind && streq(p->actions[i].target, target))
                        return i;
        return -1;
}

/* Whether action a (transitively) waits for action b. */
static bool waits_for(const struct plan *p, ssize_t a, ssize_t b)
{
        if (a < 0 || b < 0)
                return false;
        for (size_t k = 0; k < p->actions[a].n_after; k++) {
                ssize_t x = p->actions[a].after[k];
                if (x == b || waits_for(p, x, b))
                        return true;
        }
        return false;
}

static struct plan *run(const struct plan_desired *d, const struct plan_observed *o,
                        const struct plan_options *opt, const char *want, const char *name)
{
        struct plan *p = NULL;
        _cleanup_error_ struct stack_error error = {0};
        if (!ok(plan_compute(d, o, opt, &p, &error) == 0, "%s: plan computed", name)) {
                diag("%s", error.msg ? error.msg : "?");
                return NULL;
        }
        _cleanup_free_ char *got = plan_format(p);
        is_str(got, want, "%s: actions", name);
        ok(order_valid(p), "%s: prerequisites precede their actions", name);
        return p;
}

static const struct plan_options defaults = {.max_orphans = -1};

static void test_fresh(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "db", "h1")->has_healthcheck = true;
        add_dep(add_service(d, "web", "h2"), "db", STACK_DEP_HEALTHY, false);
        struct plan_observed *o = observed_new();
        struct plan *p = run(d, o, &defaults,
                             "create network default: not found\n"
                             "create container p-db-1: not found\n"
                             "create container p-web-1: not found\n"
                             "update firewall of p: containers or networks changed\n"
                             "start container p-db-1: not found\n"
                             "wait for db healthy: web depends on it\n"
                             "start container p-web-1: not found\n",
                             "fresh project");
        if (p) {
                ok(waits_for(p, find_action(p, PLAN_START_CONTAINER, "p-web-1"),
                             find_action(p, PLAN_START_CONTAINER, "p-db-1")),
                   "fresh project: web starts only after db started and is healthy");
                ok(!waits_for(p, find_action(p, PLAN_CREATE_CONTAINER, "p-web-1"),
                              find_action(p, PLAN_START_CONTAINER, "p-db-1")),
                   "fresh project: web is created without waiting for db");
                ok(waits_for(p, find_action(p, PLAN_CREATE_CONTAINER, "p-db-1"),
                             find_action(p, PLAN_CREATE_NETWORK, "default")),
                   "fresh project: containers wait for their network");
        }
        plan_free(p);

        /* Nothing changed: a second up has nothing to do. */
        o->networks = NULL;
        strv_push(&o->networks, "default");
        add_container(o, "db", 1, "h1", CONTAINER_STATE_RUNNING);
        add_container(o, "web", 1, "h2", CONTAINER_STATE_RUNNING);
        plan_free(run(d, o, &defaults, "", "unchanged project"));

        struct plan_options no_start = defaults;
        no_start.no_start = true;
        struct plan_observed *empty = observed_new();
        plan_free(run(d, empty, &no_start,
                      "create network default: not found\n"
                      "create container p-db-1: not found\n"
                      "create container p-web-1: not found\n"
                      "update firewall of p: containers or networks changed\n",
                      "--no-start"));
        plan_observed_free(empty);
        plan_observed_free(o);
        plan_desired_free(d);
}

static void test_recreate(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "db", "h1-new");
        add_dep(add_service(d, "web", "h2"), "db", STACK_DEP_STARTED, true);
        add_dep(add_service(d, "worker", "h3"), "db", STACK_DEP_STARTED, false);
        struct plan_observed *o = observed_new();
        strv_push(&o->networks, "default");
        add_container(o, "db", 1, "h1", CONTAINER_STATE_RUNNING);
        add_container(o, "web", 1, "h2", CONTAINER_STATE_RUNNING);
        add_container(o, "worker", 1, "h3", CONTAINER_STATE_RUNNING);
        struct plan *p = run(d, o, &defaults,
                             "stop container p-web-1: dependency db was recreated\n"
                             "stop container p-db-1: configuration changed\n"
                             "remove container p-db-1: configuration changed\n"
                             "create container p-db-1: configuration changed\n"
                             "update firewall of p: containers or networks changed\n"
                             "start container p-db-1: configuration changed\n"
                             "wait for db started: web depends on it\n"
                             "start container p-web-1: dependency db was recreated\n",
                             "config change recreates it and restarts its restart:true dependents only");
        if (p)
                ok(waits_for(p, find_action(p, PLAN_STOP_CONTAINER, "p-db-1"),
                             find_action(p, PLAN_STOP_CONTAINER, "p-web-1")),
                   "dependents stop before their dependency");
        plan_free(p);

        struct plan_options always = defaults;
        always.always_recreate_deps = true;
        plan_free(run(d, o, &always,
                      "stop container p-worker-1: a dependency was recreated (--always-recreate-deps)\n"
                      "stop container p-web-1: a dependency was recreated (--always-recreate-deps)\n"
                      "stop container p-db-1: configuration changed\n"
                      "remove container p-db-1: configuration changed\n"
                      "remove container p-web-1: a dependency was recreated (--always-recreate-deps)\n"
                      "remove container p-worker-1: a dependency was recreated (--always-recreate-deps)\n"
                      "create container p-db-1: configuration changed\n"
                      "create container p-web-1: a dependency was recreated (--always-recreate-deps)\n"
                      "create container p-worker-1: a dependency was recreated (--always-recreate-deps)\n"
                      "update firewall of p: containers or networks changed\n"
                      "start container p-db-1: configuration changed\n"
                      "wait for db started: web depends on it\n"
                      "start container p-web-1: a dependency was recreated (--always-recreate-deps)\n"
                      "start container p-worker-1: a dependency was recreated (--always-recreate-deps)\n",
                      "--always-recreate-deps"));

        struct plan_options no_recreate = defaults;
        no_recreate.no_recreate = true;
        plan_free(run(d, o, &no_recreate, "", "--no-recreate keeps the outdated container"));

        /* image, network and volume changes */
        free(d->services[0].config_hash);
        d->services[0].config_hash = xstrdup("h1");
        free(d->services[1].image_id);
        d->services[1].image_id = xstrdup("sha256:other");
        strv_push(&d->services[2].networks, "back");
        strv_push(&d->networks, "back");
        plan_free(run(d, o, &defaults,
                      "stop container p-worker-1: networks changed\n"
                      "stop container p-web-1: image changed\n"
                      "remove container p-web-1: image changed\n"
                      "remove container p-worker-1: networks changed\n"
                      "create network back: not found\n"
                      "create container p-web-1: image changed\n"
                      "create container p-worker-1: networks changed\n"
                      "update firewall of p: containers or networks changed\n"
                      "wait for db started: web depends on it\n"
                      "start container p-web-1: image changed\n"
                      "start container p-worker-1: networks changed\n",
                      "image and network changes recreate"));

        struct plan_options force = defaults;
        force.force_recreate = true;
        force.services = strv_split("db", ",");
        force.no_deps = true;
        plan_free(run(d, o, &force,
                      "stop container p-web-1: dependency db was recreated\n"
                      "stop container p-db-1: --force-recreate\n"
                      "remove container p-db-1: --force-recreate\n"
                      "create network back: not found\n"
                      "create container p-db-1: --force-recreate\n"
                      "update firewall of p: containers or networks changed\n"
                      "start container p-db-1: --force-recreate\n"
                      "wait for db started: web depends on it\n"
                      "start container p-web-1: dependency db was recreated\n",
                      "--force-recreate of one service with --no-deps"));
        strv_free(force.services);
        plan_observed_free(o);
        plan_desired_free(d);
}

static void test_scale_and_states(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "web", "h")->scale = 3;
        add_service(d, "job", "j");
        struct plan_observed *o = observed_new();
        strv_push(&o->networks, "default");
        add_container(o, "web", 1, "h", CONTAINER_STATE_RUNNING);
        add_container(o, "job", 1, "j", CONTAINER_STATE_EXITED);
        plan_free(run(d, o, &defaults,
                      "create container p-web-2: not found\n"
                      "create container p-web-3: not found\n"
                      "update firewall of p: containers or networks changed\n"
                      "start container p-web-2: not found\n"
                      "start container p-web-3: not found\n",
                      "scale up adds the next numbers; a completed one-shot is left alone"));

        d->services[0].scale = 1;
        add_container(o, "web", 2, "h", CONTAINER_STATE_RUNNING);
        add_container(o, "web", 3, "h", CONTAINER_STATE_RUNNING);
        o->containers[1].exit_code = 1;
        plan_free(run(d, o, &defaults,
                      "stop container p-web-2: scale web to 1\n"
                      "remove container p-web-2: scale web to 1\n"
                      "stop container p-web-3: scale web to 1\n"
                      "remove container p-web-3: scale web to 1\n"
                      "update firewall of p: containers or networks changed\n"
                      "start container p-job-1: not running\n",
                      "scale down removes the highest numbers; a failed one-shot is started again"));
        plan_observed_free(o);
        plan_desired_free(d);
}

static void test_orphans(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "web", "h");
        struct plan_observed *o = observed_new();
        strv_push(&o->networks, "default");
        strv_push(&o->networks, "old");
        add_container(o, "web", 1, "h", CONTAINER_STATE_RUNNING);
        for (int i = 1; i <= 5; i++) {
                _cleanup_free_ char *svc = xasprintf("old%d", i);
                struct plan_observed_container *c = add_container(o, svc, 1, "x", CONTAINER_STATE_RUNNING);
                strv_push(&c->networks, "old");
        }
        struct plan_options max3 = defaults;
        max3.max_orphans = 3;
        struct plan *p =
            run(d, o, &max3,
                "stop container p-old1-1: orphan beyond max_orphans=3 (5 orphans, oldest removed first)\n"
                "remove container p-old1-1: orphan beyond max_orphans=3 (5 orphans, oldest removed first)\n"
                "stop container p-old2-1: orphan beyond max_orphans=3 (5 orphans, oldest removed first)\n"
                "remove container p-old2-1: orphan beyond max_orphans=3 (5 orphans, oldest removed first)\n"
                "update firewall of p: containers or networks changed\n",
                "max_orphans=3 removes exactly the two oldest of five");
        if (p && ok(p->warnings && p->warnings[0], "the remaining orphans are warned about"))
                contains(p->warnings[0], "[p-old3-1 p-old4-1 p-old5-1]", "the warning names them");
        plan_free(p);

        struct plan_options all = defaults;
        all.remove_orphans = true;
        p = run(d, o, &all,
                "stop container p-old1-1: orphan (--remove-orphans)\n"
                "remove container p-old1-1: orphan (--remove-orphans)\n"
                "stop container p-old2-1: orphan (--remove-orphans)\n"
                "remove container p-old2-1: orphan (--remove-orphans)\n"
                "stop container p-old3-1: orphan (--remove-orphans)\n"
                "remove container p-old3-1: orphan (--remove-orphans)\n"
                "stop container p-old4-1: orphan (--remove-orphans)\n"
                "remove container p-old4-1: orphan (--remove-orphans)\n"
                "stop container p-old5-1: orphan (--remove-orphans)\n"
                "remove container p-old5-1: orphan (--remove-orphans)\n"
                "remove network old: no longer used\n"
                "update firewall of p: containers or networks changed\n",
                "--remove-orphans removes all orphans and their network");
        if (p)
                ok(!p->warnings, "no orphan warning once they are gone");
        plan_free(p);

        struct plan_options max0 = defaults;
        max0.max_orphans = 0;
        p = NULL;
        _cleanup_error_ struct stack_error e = {0};
        plan_compute(d, o, &max0, &p, &e);
        ok(p && find_action(p, PLAN_REMOVE_NETWORK, "old") >= 0 &&
               find_action(p, PLAN_REMOVE_CONTAINER, "p-old5-1") >= 0,
           "max_orphans=0 removes every orphan");
        plan_free(p);
        plan_observed_free(o);
        plan_desired_free(d);
}

static void test_down(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "db", "h1");
        add_dep(add_service(d, "web", "h2"), "db", STACK_DEP_HEALTHY, false);
        struct plan_observed *o = observed_new();
        strv_push(&o->networks, "default");
        strv_push(&o->volumes, "data");
        add_container(o, "db", 1, "h1", CONTAINER_STATE_RUNNING);
        add_container(o, "web", 1, "h2", CONTAINER_STATE_RUNNING);
        add_container(o, "gone", 1, "h3", CONTAINER_STATE_EXITED);
        struct plan_options down = defaults;
        down.down = true;
        struct plan *p = run(d, o, &down,
                             "remove container p-gone-1: project is going down\n"
                             "stop container p-web-1: project is going down\n"
                             "remove container p-web-1: project is going down\n"
                             "stop container p-db-1: project is going down\n"
                             "remove container p-db-1: project is going down\n"
                             "remove network default: project is going down\n",
                             "down removes containers then networks, keeps volumes");
        if (p) {
                ok(waits_for(p, find_action(p, PLAN_STOP_CONTAINER, "p-db-1"),
                             find_action(p, PLAN_STOP_CONTAINER, "p-web-1")),
                   "down stops the dependent before its dependency");
                ok(waits_for(p, find_action(p, PLAN_REMOVE_NETWORK, "default"),
                             find_action(p, PLAN_REMOVE_CONTAINER, "p-web-1")),
                   "the network goes after its containers");
                struct plan *stops = NULL, *rest = NULL;
                plan_split(p, PLAN_STOP_CONTAINER, &stops, &rest);
                _cleanup_free_ char *s = plan_format(stops);
                _cleanup_free_ char *r = plan_format(rest);
                is_str(s,
                       "stop container p-web-1: project is going down\n"
                       "stop container p-db-1: project is going down\n",
                       "split: the stops in their order");
                is_str(r,
                       "remove container p-gone-1: project is going down\n"
                       "remove container p-web-1: project is going down\n"
                       "remove container p-db-1: project is going down\n"
                       "remove network default: project is going down\n",
                       "split: the rest in its order");
                ok(order_valid(stops) && order_valid(rest), "split: prerequisites precede their actions");
                ok(waits_for(stops, find_action(stops, PLAN_STOP_CONTAINER, "p-db-1"),
                             find_action(stops, PLAN_STOP_CONTAINER, "p-web-1")),
                   "split: the dependency still stops after its dependent");
                ok(waits_for(rest, find_action(rest, PLAN_REMOVE_NETWORK, "default"),
                             find_action(rest, PLAN_REMOVE_CONTAINER, "p-db-1")),
                   "split: the network still goes after its containers");
                ok(rest->actions[find_action(rest, PLAN_REMOVE_CONTAINER, "p-web-1")].n_after == 0,
                   "split: a removal no longer waits for a stop of the other plan");
                plan_free(stops);
                plan_free(rest);
        }
        plan_free(p);
        down.remove_volumes = true;
        p = NULL;
        _cleanup_error_ struct stack_error e = {0};
        plan_compute(d, o, &down, &p, &e);
        ok(p && find_action(p, PLAN_REMOVE_VOLUME, "data") >= 0, "down -v removes volumes");
        plan_free(p);
        plan_observed_free(o);
        plan_desired_free(d);
}

/* The start order is the graph's (plan_desired_order): the planner follows it, whatever order the services
 * come in, and refuses one that names a service it does not have. */
static void test_given_order(void)
{
        struct plan_desired *d = desired_new();
        add_dep(add_service(d, "web", "h2"), "db", STACK_DEP_STARTED, false);
        add_service(d, "db", "h1");
        d->start_order = strv_split("db,web", ",");
        struct plan_observed *o = observed_new();
        plan_free(run(d, o, &defaults,
                      "create network default: not found\n"
                      "create container p-db-1: not found\n"
                      "create container p-web-1: not found\n"
                      "update firewall of p: containers or networks changed\n"
                      "start container p-db-1: not found\n"
                      "wait for db started: web depends on it\n"
                      "start container p-web-1: not found\n",
                      "the given start order"));
        struct plan_options only_web = {.max_orphans = -1};
        d->targets = strv_split("web", ",");
        only_web.services = d->targets;
        plan_free(run(d, o, &only_web,
                      "create network default: not found\n"
                      "create container p-web-1: not found\n"
                      "update firewall of p: containers or networks changed\n"
                      "wait for db started: web depends on it\n"
                      "start container p-web-1: not found\n",
                      "targets as given (the graph's closure is the caller's), as --no-deps"));
        strv_free(d->start_order);
        d->start_order = strv_split("db,nope", ",");
        struct plan *p = NULL;
        _cleanup_error_ struct stack_error error = {0};
        ok(plan_compute(d, o, &defaults, &p, &error) < 0 && !p,
           "an order naming an unknown service is refused");
        contains(error.msg, "unknown service \"nope\"", "and named");
        plan_observed_free(o);
        plan_desired_free(d);
}

static void test_stopped_and_pending(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "web", "h");
        struct plan_observed *o = observed_new();
        strv_push(&o->networks, "default");
        struct plan_observed_container *c = add_container(o, "web", 1, "h", CONTAINER_STATE_EXITED);
        plan_free(run(d, o, &defaults, "", "an exited 0 one-shot is complete"));
        c->stopped = true;
        plan_free(run(d, o, &defaults, "start container p-web-1: not running\n",
                      "a service stack stopped (exit 0 on request) is started again"));
        c->stopped = false;
        c->state = CONTAINER_STATE_RUNNING;
        o->publish_pending = true;
        plan_free(run(d, o, &defaults, "update firewall of p: an interrupted run left it undone\n",
                      "an update interrupted before its firewall step is finished by the next up"));
        o->publish_pending = false;
        o->firewall_drift = xstrdup("repair firewall: 3 rules of project p missing or changed");
        plan_free(run(d, o, &defaults,
                      "update firewall of p: repair firewall: 3 rules of project p missing or changed\n",
                      "rules flushed behind stack's back are published again, with the reason"));
        plan_observed_free(o);
        plan_desired_free(d);
}

/* network_mode service:NAME: the joiner is made in its target's namespace, so after the target is made. */
static void test_joiner(void)
{
        struct plan_desired *d = desired_new();
        add_service(d, "vpn", "h1")->container_name = xstrdup("tunnel");
        struct plan_service *c = add_service(d, "client", "h2");
        c->joins = xstrdup("vpn");
        strv_free(c->networks);
        c->networks = xcalloc(1, sizeof(char *));
        add_dep(c, "vpn", STACK_DEP_STARTED, false);
        struct plan_observed *o = observed_new();
        struct plan *p = run(d, o, &defaults,
                             "create network default: not found\n"
                             "create container tunnel: not found\n"
                             "create container p-client-1: not found\n"
                             "update firewall of p: containers or networks changed\n"
                             "start container tunnel: not found\n"
                             "wait for vpn started: client depends on it\n"
                             "start container p-client-1: not found\n",
                             "joiner");
        if (p)
                ok(waits_for(p, find_action(p, PLAN_CREATE_CONTAINER, "p-client-1"),
                             find_action(p, PLAN_CREATE_CONTAINER, "tunnel")),
                   "joiner: created only after the container whose namespace it joins");
        plan_free(p);
        plan_desired_free(d);
        plan_observed_free(o);
}

/* n services, each depending on the one before and on the first; observed: each has its running
 * container. */
static size_t planner_work(size_t n, bool observed, bool down, bool *ret_ok)
{
        struct plan_desired *d = desired_new();
        struct plan_observed *o = observed_new();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = xasprintf("s%05zu", i);
                struct plan_service *s = add_service(d, name, "h");
                if (i > 0)
                        add_dep(s, "s00000", STACK_DEP_STARTED, false);
                if (i > 1) {
                        _cleanup_free_ char *prev = xasprintf("s%05zu", i - 1);
                        add_dep(s, prev, STACK_DEP_HEALTHY, false);
                }
                if (observed)
                        add_container(o, name, 1, "h", CONTAINER_STATE_RUNNING);
        }
        if (observed)
                strv_push(&o->networks, "default");
        struct plan_options opt = defaults;
        opt.down = down;
        struct plan *p = NULL;
        _cleanup_error_ struct stack_error e = {0};
        *ret_ok = plan_compute(d, o, &opt, &p, &e) == 0 && order_valid(p);
        size_t work = p ? p->work : 0;
        if (p && down)
                *ret_ok = *ret_ok && p->n_actions == 2 * n + 1;
        else if (p && observed)
                *ret_ok = *ret_ok && p->n_actions == 0;
        else if (p)
                *ret_ok = *ret_ok && p->n_actions > 2 * n;
        plan_free(p);
        plan_observed_free(o);
        plan_desired_free(d);
        return work;
}

/* Planning 1,000 and 2,000 services: the work (name comparisons and prerequisites, counted by the planner)
 * grows as n log n. Twice the services costing over 2.5 times the work would be quadratic creeping in. */
static void test_scale(void)
{
        static const struct {
                const char *what;
                bool observed, down;
        } cases[] = {
            {"a fresh up", false, false},
            {"a no-op up", true, false},
            {"a down", true, true},
        };
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                bool ok1 = false, ok2 = false;
                size_t w1 = planner_work(1000, cases[c].observed, cases[c].down, &ok1);
                size_t w2 = planner_work(2000, cases[c].observed, cases[c].down, &ok2);
                ok(ok1 && ok2, "%s of 1,000 and 2,000 services: the plan is right", cases[c].what);
                diag("%s: work %zu for 1,000 services, %zu for 2,000", cases[c].what, w1, w2);
                ok(w1 > 0 && w1 < 1000 * 200,
                   "%s of 1,000 services: under 200 steps a service (n^2 is 1,000)", cases[c].what);
                ok(w2 * 10 < w1 * 25, "%s: twice the services, under 2.5 times the work", cases[c].what);
        }
}

int main(void)
{
        test_joiner();
        test_stopped_and_pending();
        test_fresh();
        test_recreate();
        test_scale_and_states();
        test_orphans();
        test_down();
        test_given_order();
        test_scale();
        return done_testing();
}
