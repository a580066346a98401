/* The graph is tested on hand-built models, so these tests do not depend on the YAML loader. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/engine/graph.h"
#include "core/engine/stop.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

static struct node_mark at(unsigned line, unsigned column)
{
        return (struct node_mark){.file = node_intern("compose.yaml"), .line = line, .column = column};
}

static struct stack_project *project(const char *name)
{
        struct stack_project *p = xcalloc(1, sizeof(*p));
        p->name = xstrdup(name);
        p->settings.max_orphans = -1;
        return p;
}

/* Returns the index: p->services moves as it grows, so callers keep indices, not pointers. */
static size_t service(struct stack_project *p, const char *name, const char *image)
{
        p->services = xrealloc(p->services, (p->n_services + 1) * sizeof(struct stack_service));
        struct stack_service *s = &p->services[p->n_services];
        *s = (struct stack_service){
            .name = xstrdup(name),
            .image = image ? xstrdup(image) : NULL,
            .scale = 1,
            .mark = at(2 + (unsigned) p->n_services * 10, 3),
        };
        return p->n_services++;
}

static void depends(struct stack_project *p, size_t si, const char *on, enum stack_dep_condition c,
                    bool required, bool restart, unsigned line)
{
        struct stack_service *s = &p->services[si];
        s->depends_on = xrealloc(s->depends_on, (s->n_depends_on + 1) * sizeof(struct stack_dependency));
        s->depends_on[s->n_depends_on++] = (struct stack_dependency){
            .service = xstrdup(on),
            .condition = c,
            .required = required,
            .restart = restart,
            .mark = at(line, 9),
        };
}

static void network(struct stack_project *p, const char *key, bool external)
{
        p->networks = xrealloc(p->networks, (p->n_networks + 1) * sizeof(struct stack_network));
        p->networks[p->n_networks++] = (struct stack_network){
            .key = xstrdup(key),
            .name = external ? xstrdup(key) : xasprintf("%s_%s", p->name, key),
            .external = external,
            .enable_ipv4 = true,
        };
}

static void volume(struct stack_project *p, const char *key)
{
        p->volumes = xrealloc(p->volumes, (p->n_volumes + 1) * sizeof(struct stack_volume));
        p->volumes[p->n_volumes++] = (struct stack_volume){
            .key = xstrdup(key),
            .name = xasprintf("%s_%s", p->name, key),
        };
}

static void attach(struct stack_project *p, size_t si, const char *net)
{
        struct stack_service *s = &p->services[si];
        s->networks = xrealloc(s->networks, (s->n_networks + 1) * sizeof(struct stack_service_network));
        s->networks[s->n_networks++] =
            (struct stack_service_network){.name = xstrdup(net), .mark = at(30, 7)};
}

static void mount(struct stack_project *p, size_t si, enum stack_mount_type type, const char *source,
                  const char *target)
{
        struct stack_service *s = &p->services[si];
        s->volumes = xrealloc(s->volumes, (s->n_volumes + 1) * sizeof(struct stack_mount));
        s->volumes[s->n_volumes++] = (struct stack_mount){
            .type = type,
            .source = source ? xstrdup(source) : NULL,
            .target = xstrdup(target),
            .tmpfs_size = -1,
            .tmpfs_mode = -1,
            .mark = at(40, 9),
        };
}

struct built {
        int r;
        struct graph *g;
        struct stack_error err;
        char *warnings;
};

static void built_done(struct built *b)
{
        graph_free(b->g);
        stack_error_clear(&b->err);
        free(b->warnings);
}
#define _cleanup_built_ __attribute__((cleanup(built_done)))

static struct built build(const struct stack_project *p)
{
        struct built b = {0};
        b.r = graph_build(p, &b.g, &b.err);
        b.warnings = b.g ? strv_join(b.g->warnings, "\n") : NULL;
        if (!b.warnings)
                b.warnings = xstrdup("");
        return b;
}

static char *joined(char **l)
{
        char *s = strv_join(l, " ");
        strv_free(l);
        return s;
}

static void test_basic(void)
{
        _cleanup_project_ struct stack_project *p = project("demo");
        network(p, "default", false);
        network(p, "outside", true);
        volume(p, "data");
        size_t web = service(p, "web", "nginx:1.25");
        size_t db = service(p, "db", "postgres:16");
        size_t cache = service(p, "cache", "redis:7");
        size_t worker = service(p, "worker", "nginx:1.25");
        depends(p, web, "db", STACK_DEP_HEALTHY, true, false, 5);
        depends(p, web, "cache", STACK_DEP_STARTED, true, true, 6);
        depends(p, worker, "web", STACK_DEP_STARTED, false, false, 7);
        p->services[web].scale = 2;
        attach(p, web, "default");
        attach(p, web, "outside");
        attach(p, db, "default");
        mount(p, db, STACK_MOUNT_VOLUME, "data", "/var/lib/postgresql/data");
        mount(p, db, STACK_MOUNT_VOLUME, NULL, "/anonymous");
        mount(p, db, STACK_MOUNT_BIND, "/srv/conf", "/etc/conf");
        mount(p, db, STACK_MOUNT_TMPFS, NULL, "/tmp");
        attach(p, cache, "default");

        _cleanup_built_ struct built b = build(p);
        if (!ok(b.r == 0, "graph of a four-service project")) {
                diag("%s", b.err.msg);
                return;
        }
        _cleanup_free_ char *order = joined(graph_start_order(b.g));
        is_str(order, "cache db web worker", "start order: dependencies first, ties by name");
        _cleanup_free_ char *stop = joined(graph_stop_order(b.g));
        is_str(stop, "worker web db cache", "stop order is the reverse");
        is_int(graph_n_levels(b.g), 3, "three levels");
        _cleanup_free_ char *l0 = joined(graph_level(b.g, 0));
        _cleanup_free_ char *l1 = joined(graph_level(b.g, 1));
        _cleanup_free_ char *l2 = joined(graph_level(b.g, 2));
        _cleanup_free_ char *l3 = joined(graph_level(b.g, 3));
        is_str(l0, "cache db", "independent services share level 0");
        is_str(l1, "web", "level 1");
        is_str(l2, "worker", "an optional dependency that exists still orders");
        is_str(l3, "", "no level 3");

        _cleanup_free_ char *f = graph_format(b.g);
        is_str(
            f,
            "level 0: cache db\n"
            "level 1: web\n"
            "level 2: worker\n"
            "network demo_default\n"
            "network outside\n"
            "volume demo_data\n"
            "image nginx:1.25\n"
            "image postgres:16\n"
            "image redis:7\n"
            "container demo-cache-1: image redis:7, network demo_default\n"
            "container demo-db-1: image postgres:16, network demo_default, volume demo_data\n"
            "container demo-web-1: image nginx:1.25, network demo_default, network outside, after "
            "demo-cache-1 "
            "(service_started, restart), after demo-db-1 (service_healthy)\n"
            "container demo-web-2: image nginx:1.25, network demo_default, network outside, after "
            "demo-cache-1 "
            "(service_started, restart), after demo-db-1 (service_healthy)\n"
            "container demo-worker-1: image nginx:1.25, after demo-web-1 (service_started, optional), after "
            "demo-web-2 (service_started, optional)\n",
            "nodes and edges");

        const struct graph_service *gs = graph_service(b.g, "web");
        ok(gs && gs->n_deps == 2, "web has two dependencies");
        if (gs && gs->n_deps == 2) {
                is_str(b.g->services[gs->deps[0].service].name, "cache", "dependencies sorted by name");
                is_int(gs->deps[1].condition, STACK_DEP_HEALTHY, "condition kept");
                ok(gs->deps[1].required && !gs->deps[1].restart && !gs->deps[1].implicit, "flags kept");
                is_int(gs->n_containers, 2, "two replicas");
                is_int(gs->level, 1, "level stored on the service");
        }
        const struct graph_service *dbs = graph_service(b.g, "db");
        ok(dbs && dbs->n_dependents == 1 && b.g->services[dbs->dependents[0]].spec == &p->services[web],
           "db knows web depends on it");
        const struct graph_node *n = graph_node(b.g, GRAPH_NODE_CONTAINER, "demo-web-2");
        ok(n && n->number == 2 && b.g->services[n->service].spec == &p->services[web], "replica node");
        const struct graph_node *net = graph_node(b.g, GRAPH_NODE_NETWORK, "outside");
        ok(net && net->network && net->network->external, "external network node points at the model");
        ok(graph_node(b.g, GRAPH_NODE_CONTAINER, "demo-web-3") == NULL, "no third replica");
        ok(graph_service(b.g, "nope") == NULL, "unknown service");
        is_str(b.warnings, "", "no warnings");

        _cleanup_strv_free_ char **names = strv_split("web", ",");
        char **closure = NULL;
        is_int(graph_closure(b.g, names, &closure, &b.err), 0, "closure of web");
        _cleanup_free_ char *cl = joined(closure);
        is_str(cl, "cache db web", "web with its dependencies, in start order");
        _cleanup_strv_free_ char **bad = strv_split("web,ghost", ",");
        _cleanup_error_ struct stack_error err = {0};
        ok(graph_closure(b.g, bad, &closure, &err) == -ENOENT, "closure of an unknown service fails");
        is_str(err.msg, "no such service: ghost", "and names it");
}

static void test_cycles(void)
{
        _cleanup_project_ struct stack_project *p = project("cyc");
        size_t a = service(p, "a", "img");
        size_t b = service(p, "b", "img");
        size_t c = service(p, "c", "img");
        depends(p, a, "b", STACK_DEP_STARTED, true, false, 3);
        depends(p, b, "c", STACK_DEP_STARTED, true, false, 4);
        depends(p, c, "a", STACK_DEP_HEALTHY, true, false, 5);
        _cleanup_built_ struct built r = build(p);
        ok(r.r == -EINVAL && !r.g, "a cycle is an error");
        is_str(r.err.msg, "dependency cycle: a -> b -> c -> a", "naming every service in it");

        _cleanup_project_ struct stack_project *p2 = project("cyc");
        size_t z = service(p2, "z", "img");
        size_t x = service(p2, "x", "img");
        size_t y = service(p2, "y", "img");
        service(p2, "aa", "img");
        depends(p2, z, "x", STACK_DEP_STARTED, true, false, 3);
        depends(p2, x, "y", STACK_DEP_STARTED, true, false, 4);
        depends(p2, y, "x", STACK_DEP_STARTED, false, false, 5);
        _cleanup_built_ struct built r2 = build(p2);
        is_str(r2.err.msg, "dependency cycle: x -> y -> x", "only the cycle, not the path into it");

        _cleanup_project_ struct stack_project *p3 = project("cyc");
        size_t s = service(p3, "self", "img");
        depends(p3, s, "self", STACK_DEP_STARTED, true, false, 3);
        _cleanup_built_ struct built r3 = build(p3);
        is_str(r3.err.msg, "dependency cycle: self -> self", "a service depending on itself");

        /* An implicit dependency closes a cycle too. */
        _cleanup_project_ struct stack_project *p4 = project("cyc");
        size_t app = service(p4, "app", "img");
        size_t vpn = service(p4, "vpn", "img");
        p4->services[app].network_mode = xstrdup("service:vpn");
        strv_push(&p4->services[vpn].links, "app:backend");
        _cleanup_built_ struct built r4 = build(p4);
        is_str(r4.err.msg, "dependency cycle: app -> vpn -> app", "cycle through network_mode and links");
}

static void test_missing(void)
{
        _cleanup_project_ struct stack_project *p = project("miss");
        size_t web = service(p, "web", "nginx");
        depends(p, web, "db", STACK_DEP_STARTED, true, false, 9);
        _cleanup_built_ struct built r = build(p);
        ok(r.r < 0, "dependency on an undefined service fails");
        is_str(
            r.err.msg,
            "compose.yaml:9:9: services.web.depends_on: service \"web\" depends on undefined service \"db\"",
            "located error");

        _cleanup_project_ struct stack_project *p2 = project("miss");
        web = service(p2, "web", "nginx");
        depends(p2, web, "db", STACK_DEP_STARTED, false, false, 9);
        _cleanup_built_ struct built r2 = build(p2);
        is_int(r2.r, 0, "an optional dependency on an undefined service is fine");
        contains(r2.warnings,
                 "compose.yaml:9:9: services.web.depends_on: service \"web\" depends on service \"db\", "
                 "which is not "
                 "defined: ignored (required: false)",
                 "with a warning");
        const struct graph_service *gs = r2.g ? graph_service(r2.g, "web") : NULL;
        ok(gs && gs->n_deps == 0 && gs->level == 0, "and no edge");

        _cleanup_project_ struct stack_project *p3 = project("miss");
        web = service(p3, "web", "nginx");
        depends(p3, web, "debug", STACK_DEP_STARTED, true, false, 11);
        strv_push(&p3->disabled_services, "debug");
        _cleanup_built_ struct built r3 = build(p3);
        ok(r3.r < 0, "dependency on a profile-disabled service fails");
        contains(r3.err.msg, "service \"debug\" is required by \"web\" but is disabled by its profiles",
                 "saying it is disabled");

        _cleanup_project_ struct stack_project *p4 = project("miss");
        web = service(p4, "web", "nginx");
        depends(p4, web, "debug", STACK_DEP_STARTED, false, false, 11);
        strv_push(&p4->disabled_services, "debug");
        _cleanup_built_ struct built r4 = build(p4);
        is_int(r4.r, 0, "optional dependency on a disabled service");
        contains(r4.warnings, "which is disabled by its profiles: ignored", "warns");

        _cleanup_project_ struct stack_project *p5 = project("miss");
        web = service(p5, "web", "nginx");
        strv_push(&p5->services[web].links, "db:database");
        _cleanup_built_ struct built r5 = build(p5);
        contains(r5.err.msg, "services.web.links: service \"web\" refers to undefined service \"db\"",
                 "a link to an undefined service fails");

        _cleanup_project_ struct stack_project *p6 = project("miss");
        web = service(p6, "web", "nginx");
        p6->services[web].ipc = xstrdup("service:shm");
        _cleanup_built_ struct built r6 = build(p6);
        contains(r6.err.msg, "services.web.ipc: service \"web\" refers to undefined service \"shm\"",
                 "ipc: service:X to an undefined service fails");
}

static void test_implicit(void)
{
        _cleanup_project_ struct stack_project *p = project("impl");
        size_t web = service(p, "web", "nginx");
        size_t db = service(p, "db", "postgres");
        size_t vpn = service(p, "vpn", "wireguard");
        size_t side = service(p, "side", "busybox");
        (void) db;
        (void) vpn;
        strv_push(&p->services[web].links, "db:database");
        strv_push(&p->services[web].links, "vpn");
        depends(p, web, "vpn", STACK_DEP_HEALTHY, true, false, 3);
        p->services[side].network_mode = xstrdup("service:web");
        p->services[side].pid = xstrdup("host");
        _cleanup_built_ struct built b = build(p);
        if (!ok(b.r == 0, "implicit dependencies")) {
                diag("%s", b.err.msg);
                return;
        }
        const struct graph_service *w = graph_service(b.g, "web");
        ok(w && w->n_deps == 2, "links become dependencies");
        if (w && w->n_deps == 2) {
                ok(w->deps[0].implicit && w->deps[0].restart && w->deps[0].required &&
                       w->deps[0].condition == STACK_DEP_STARTED,
                   "a link: service_started, required, restart");
                ok(!w->deps[1].implicit && w->deps[1].condition == STACK_DEP_HEALTHY,
                   "an explicit depends_on wins over a link to the same service");
        }
        _cleanup_free_ char *order = joined(graph_start_order(b.g));
        is_str(order, "db vpn web side", "network_mode service:web orders side after web");
}

static void test_order(void)
{
        /* A diamond and a chain, listed in a scrambled order. */
        _cleanup_project_ struct stack_project *p = project("ord");
        size_t d = service(p, "d", "i");
        size_t c = service(p, "c", "i");
        size_t b = service(p, "b", "i");
        service(p, "a", "i");
        size_t z3 = service(p, "z3", "i");
        size_t z2 = service(p, "z2", "i");
        service(p, "z1", "i");
        depends(p, d, "c", STACK_DEP_STARTED, true, false, 1);
        depends(p, d, "b", STACK_DEP_STARTED, true, false, 1);
        depends(p, c, "a", STACK_DEP_STARTED, true, false, 1);
        depends(p, b, "a", STACK_DEP_STARTED, true, false, 1);
        depends(p, z3, "z2", STACK_DEP_STARTED, true, false, 1);
        depends(p, z2, "z1", STACK_DEP_STARTED, true, false, 1);
        _cleanup_built_ struct built r = build(p);
        if (!ok(r.r == 0, "diamond and chain"))
                return;
        _cleanup_free_ char *order = joined(graph_start_order(r.g));
        is_str(order, "a z1 b c z2 d z3", "by level, then by name");
        _cleanup_free_ char *l1 = joined(graph_level(r.g, 1));
        is_str(l1, "b c z2", "level 1");
        const struct graph_service *a = graph_service(r.g, "a");
        ok(a && a->n_dependents == 2 && streq(r.g->services[a->dependents[0]].name, "b") &&
               streq(r.g->services[a->dependents[1]].name, "c"),
           "dependents sorted by name");

        /* The same project built twice gives the same graph. */
        _cleanup_built_ struct built r2 = build(p);
        _cleanup_free_ char *f1 = graph_format(r.g), *f2 = r2.g ? graph_format(r2.g) : NULL;
        is_str(f2, f1, "deterministic");

        _cleanup_project_ struct stack_project *empty = project("empty");
        _cleanup_built_ struct built re = build(empty);
        ok(re.r == 0 && graph_n_levels(re.g) == 0 && re.g->n_nodes == 0,
           "an empty project has an empty graph");
        _cleanup_free_ char *eo = joined(graph_start_order(re.g));
        is_str(eo, "", "and an empty order");
}

static void test_containers(void)
{
        _cleanup_project_ struct stack_project *p = project("ct");
        size_t fixed = service(p, "fixed", "busybox");
        size_t many = service(p, "many", "busybox");
        size_t none = service(p, "none", "busybox");
        size_t built = service(p, "built", NULL);
        size_t bare = service(p, "bare", NULL);
        p->services[fixed].container_name = xstrdup("my-fixed");
        p->services[many].scale = 3;
        p->services[none].scale = 0;
        p->services[built].build.present = true;
        p->services[built].build.context = xstrdup("/src");
        (void) bare;
        depends(p, many, "none", STACK_DEP_STARTED, true, false, 1);
        _cleanup_built_ struct built r = build(p);
        if (!ok(r.r == 0, "containers")) {
                diag("%s", r.err.msg);
                return;
        }
        ok(graph_node(r.g, GRAPH_NODE_CONTAINER, "my-fixed") != NULL, "container_name used");
        ok(graph_node(r.g, GRAPH_NODE_CONTAINER, "ct-many-1") &&
               graph_node(r.g, GRAPH_NODE_CONTAINER, "ct-many-3"),
           "replicas numbered from 1");
        is_int(graph_service(r.g, "none")->n_containers, 0, "scale 0: no container");
        is_int(graph_service(r.g, "many")->level, 1, "but it still orders its dependents");
        ok(graph_node(r.g, GRAPH_NODE_IMAGE, "ct-built") != NULL,
           "a built image is named <project>-<service>");
        is_int(graph_service(r.g, "bare")->image, GRAPH_NONE, "no image, no build: no image node");
        size_t images = 0;
        for (size_t i = 0; i < r.g->n_nodes; i++)
                images += r.g->nodes[i].kind == GRAPH_NODE_IMAGE;
        is_int(images, 2, "images are shared between services");

        _cleanup_project_ struct stack_project *p2 = project("ct");
        size_t s = service(p2, "s", "busybox");
        p2->services[s].container_name = xstrdup("one");
        p2->services[s].scale = 2;
        _cleanup_built_ struct built r2 = build(p2);
        contains(r2.err.msg, "services.s: container_name \"one\" cannot be used with 2 replicas",
                 "container_name with replicas fails");

        _cleanup_project_ struct stack_project *p3 = project("ct");
        size_t s1 = service(p3, "s1", "busybox");
        size_t s2 = service(p3, "s2", "busybox");
        p3->services[s1].container_name = xstrdup("ct-s2-1");
        (void) s2;
        _cleanup_built_ struct built r3 = build(p3);
        contains(r3.err.msg, "container name \"ct-s2-1\" is already used by service", "clashing names fail");
}

static void test_undefined_resources(void)
{
        _cleanup_project_ struct stack_project *p = project("res");
        size_t s = service(p, "s", "busybox");
        attach(p, s, "back");
        _cleanup_built_ struct built r = build(p);
        is_str(r.err.msg,
               "compose.yaml:30:7: services.s.networks: service \"s\" refers to undefined network \"back\"",
               "undefined network");

        _cleanup_project_ struct stack_project *p2 = project("res");
        s = service(p2, "s", "busybox");
        mount(p2, s, STACK_MOUNT_VOLUME, "data", "/data");
        _cleanup_built_ struct built r2 = build(p2);
        is_str(r2.err.msg,
               "compose.yaml:40:9: services.s.volumes: service \"s\" refers to undefined volume \"data\"",
               "undefined volume");
}

static struct container_info info(const char *name, const char *service, enum container_state state)
{
        return (struct container_info){.name = (char *) name, .service = (char *) service, .state = state};
}

static const struct plan_action *stop_of(const struct plan *p, const char *name, size_t *ret_index)
{
        for (size_t i = 0; i < p->n_actions; i++)
                if (streq(p->actions[i].target, name)) {
                        *ret_index = i;
                        return &p->actions[i];
                }
        return NULL;
}

static bool stops_after(const struct plan *p, const char *name, const char *before)
{
        size_t i, k;
        const struct plan_action *a = stop_of(p, name, &i);
        if (!a || !stop_of(p, before, &k))
                return false;
        for (size_t j = 0; j < a->n_after; j++)
                if (a->after[j] == k)
                        return true;
        return false;
}

/* Stopping follows the graph: a container stops after those that need it, even through a service that is
 * not running; what is not live gets no action. */
static void test_stop_plan(void)
{
        _cleanup_project_ struct stack_project *p = project("st");
        size_t web = service(p, "web", "nginx");
        size_t app = service(p, "app", "app");
        service(p, "db", "postgres");
        service(p, "cache", "redis");
        depends(p, web, "app", STACK_DEP_STARTED, true, false, 5);
        depends(p, app, "db", STACK_DEP_HEALTHY, true, false, 6);
        _cleanup_built_ struct built b = build(p);
        ok(b.r == 0, "graph for the stop plan");
        struct container_info c[] = {
            info("st-web-1", "web", CONTAINER_STATE_RUNNING),
            info("st-web-2", "web", CONTAINER_STATE_RESTARTING),
            info("st-app-1", "app", CONTAINER_STATE_EXITED),
            info("st-db-1", "db", CONTAINER_STATE_RUNNING),
            info("st-cache-1", "cache", CONTAINER_STATE_DEAD),
            info("orphan-1", "gone", CONTAINER_STATE_CREATED),
        };
        struct project_status st = {.containers = c, .n = ELEMENTSOF(c)};
        struct plan *plan = stop_plan(b.g, &st);
        is_int((int) plan->n_actions, 4, "one stop per live container (exited and dead ones have none)");
        ok(stops_after(plan, "st-db-1", "st-web-1") && stops_after(plan, "st-db-1", "st-web-2"),
           "db stops after web, which needs it through app (not running)");
        size_t i;
        ok(stop_of(plan, "st-web-1", &i) && plan->actions[i].n_after == 0, "web stops at once");
        ok(stop_of(plan, "orphan-1", &i) && plan->actions[i].n_after == 0, "an orphan has no order");
        ok(stop_of(plan, "st-app-1", &i) == NULL, "the exited app is not stopped again");
        ok(plan->actions[0].kind == PLAN_STOP_CONTAINER, "stop actions");
        plan_free(plan);

        struct plan *unordered = stop_plan(NULL, &st);
        ok(stop_of(unordered, "st-db-1", &i) && unordered->actions[i].n_after == 0, "no graph: no order");
        plan_free(unordered);
}

/* One naming rule, and the words of the one state enum. */
static void test_names(void)
{
        _cleanup_free_ char *a = container_name("shop", "web", NULL, 2);
        _cleanup_free_ char *b = container_name("shop", "web", "front", 1);
        is_str(a, "shop-web-2", "default name");
        is_str(b, "front", "container_name wins");
        is_str(container_label("shop", "web", 2, a), "web-2", "label drops the project");
        is_str(container_label("shop", "web", 1, "shop-web-9"), "shop-web-9",
               "a name that is not the default stays");
        for (int s = 0; s < _CONTAINER_STATE_MAX; s++)
                ok(container_state_from_string(container_state_to_string(s)) == (enum container_state) s,
                   "state %s round-trips", container_state_to_string(s));
        ok(container_state_from_string("stopped") == CONTAINER_STATE_UNKNOWN, "an unknown word is unknown");
        ok(container_state_is_up(CONTAINER_STATE_RESTARTING) &&
               !container_state_is_up(CONTAINER_STATE_CREATED),
           "restarting counts as up, created does not");
        ok(container_state_is_live(CONTAINER_STATE_PAUSED) && !container_state_is_live(CONTAINER_STATE_DEAD),
           "paused is live, dead is not");
}

int main(void)
{
        test_stop_plan();
        test_names();
        test_basic();
        test_cycles();
        test_missing();
        test_implicit();
        test_order();
        test_containers();
        test_undefined_resources();
        return done_testing();
}
