#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/engine/graph.h"
#include "core/runtime/container-id.h"
#include "core/base/log.h"
#include "core/base/util.h"

struct builder {
        const struct stack_project *p;
        struct graph *g;
        size_t cap_nodes, cap_edges;
        struct stack_error *err;
};

const char *graph_node_kind_name(enum graph_node_kind kind)
{
        switch (kind) {
        case GRAPH_NODE_NETWORK:
                return "network";
        case GRAPH_NODE_VOLUME:
                return "volume";
        case GRAPH_NODE_IMAGE:
                return "image";
        case GRAPH_NODE_CONTAINER:
                return "container";
        }
        return "?";
}

const char *graph_dep_condition_name(enum stack_dep_condition c)
{
        switch (c) {
        case STACK_DEP_STARTED:
                return "service_started";
        case STACK_DEP_HEALTHY:
                return "service_healthy";
        case STACK_DEP_COMPLETED:
                return "service_completed_successfully";
        }
        return "?";
}

void graph_free(struct graph *g)
{
        if (!g)
                return;
        for (size_t i = 0; i < g->n_nodes; i++)
                free(g->nodes[i].name);
        free(g->nodes);
        free(g->edges);
        for (size_t i = 0; i < g->n_services; i++) {
                free(g->services[i].deps);
                free(g->services[i].dependents);
                free(g->services[i].containers);
        }
        free(g->services);
        free(g->order);
        free(g->level_start);
        strv_free(g->warnings);
        free(g);
}

size_t graph_service_index(const struct graph *g, const char *name)
{
        for (size_t i = 0; i < g->n_services; i++)
                if (streq(g->services[i].name, name))
                        return i;
        return GRAPH_NONE;
}

const struct graph_service *graph_service(const struct graph *g, const char *name)
{
        size_t i = graph_service_index(g, name);
        return i == GRAPH_NONE ? NULL : &g->services[i];
}

static size_t find_node(const struct graph *g, enum graph_node_kind kind, const char *name)
{
        for (size_t i = 0; i < g->n_nodes; i++)
                if (g->nodes[i].kind == kind && streq(g->nodes[i].name, name))
                        return i;
        return GRAPH_NONE;
}

const struct graph_node *graph_node(const struct graph *g, enum graph_node_kind kind, const char *name)
{
        size_t i = find_node(g, kind, name);
        return i == GRAPH_NONE ? NULL : &g->nodes[i];
}

static size_t add_node(struct builder *b, enum graph_node_kind kind, char *name)
{
        struct graph *g = b->g;
        GROW(g->nodes, b->cap_nodes, g->n_nodes);
        g->nodes[g->n_nodes] = (struct graph_node){
            .kind = kind,
            .name = name,
            .service = GRAPH_NONE,
        };
        return g->n_nodes++;
}

static struct graph_edge *add_edge(struct builder *b, enum graph_edge_kind kind, size_t from, size_t to)
{
        struct graph *g = b->g;
        GROW(g->edges, b->cap_edges, g->n_edges);
        g->edges[g->n_edges] = (struct graph_edge){.kind = kind, .from = from, .to = to};
        return &g->edges[g->n_edges++];
}

/* Locates an error at the key that caused it when the model knows where that is. */
__attribute__((format(printf, 4, 5))) static int fail_at(struct builder *b, struct node_mark mark,
                                                         const char *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (mark.file)
                return spec_error(b->err, mark, path, "%s", msg ? msg : "invalid project");
        return stack_error_set(b->err, EINVAL, "%s", msg ? msg : "invalid project");
}

/* A located warning, reported with the graph rather than printed: the caller decides who sees it (a graph
 * built only to order a stop would otherwise repeat what `up` said). */
__attribute__((format(printf, 4, 5))) static void warn_at(struct graph *g, struct node_mark mark,
                                                          const char *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        struct stack_error w = {0};
        spec_error(&w, mark, path, "%s", msg ? msg : "warning");
        strv_push(&g->warnings, w.msg);
        stack_error_clear(&w);
}

/* --- dependencies ------------------------------------------------------------------------------------ */

static bool has_dep(const struct graph_service *s, size_t service)
{
        for (size_t i = 0; i < s->n_deps; i++)
                if (s->deps[i].service == service)
                        return true;
        return false;
}

/* Resolves one dependency of service `si` on `name`. A missing or disabled target is an error when the
 * dependency is required and a warning otherwise; `why` says where the dependency comes from. */
static int add_dep(struct builder *b, size_t si, const char *name, const struct stack_dependency *d,
                   bool implicit, const char *why, size_t *cap)
{
        struct graph *g = b->g;
        struct graph_service *s = &g->services[si];
        bool required = d ? d->required : true;
        struct node_mark mark = d ? d->mark : s->spec->mark;
        _cleanup_free_ char *path = xasprintf("services.%s.%s", s->name, why);

        size_t target = graph_service_index(g, name);
        if (target == GRAPH_NONE) {
                bool disabled = strv_contains(b->p->disabled_services, name);
                if (!required) {
                        warn_at(g, mark, path,
                                "service \"%s\" %s service \"%s\", which is %s: ignored (required: false)",
                                s->name, implicit ? "uses" : "depends on", name,
                                disabled ? "disabled by its profiles" : "not defined");
                        return 0;
                }
                if (disabled)
                        return fail_at(
                            b, mark, path,
                            "service \"%s\" is required by \"%s\" but is disabled by its profiles (enable "
                            "one of them with --profile)",
                            name, s->name);
                return fail_at(b, mark, path, "service \"%s\" %s undefined service \"%s\"", s->name,
                               implicit ? "refers to" : "depends on", name);
        }
        if (has_dep(s, target))
                return 0; /* an explicit depends_on entry wins over an implicit one */
        GROW(s->deps, *cap, s->n_deps);
        s->deps[s->n_deps++] = (struct graph_dep){
            .service = target,
            .condition = d ? d->condition : STACK_DEP_STARTED,
            .required = required,
            .restart = d ? d->restart : true,
            .implicit = implicit,
        };
        return 0;
}

static int collect_deps(struct builder *b, size_t si)
{
        struct graph_service *s = &b->g->services[si];
        const struct stack_service *spec = s->spec;
        size_t cap = 0;
        int r;

        for (size_t i = 0; i < spec->n_depends_on; i++) {
                r = add_dep(b, si, spec->depends_on[i].service, &spec->depends_on[i], false, "depends_on",
                            &cap);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH (l, spec->links) {
                /* "service" or "service:alias" */
                const char *colon = strchr(*l, ':');
                _cleanup_free_ char *target = colon ? xstrndup(*l, colon - *l) : xstrdup(*l);
                r = add_dep(b, si, target, NULL, true, "links", &cap);
                if (r < 0)
                        return r;
        }
        const struct {
                const char *key, *value;
        } namespaces[] = {
            {"network_mode", spec->network_mode},
            {"ipc", spec->ipc},
            {"pid", spec->pid},
            {"uts", spec->uts},
            {"cgroup", spec->cgroup},
        };
        for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
                const char *target =
                    namespaces[i].value ? startswith(namespaces[i].value, "service:") : NULL;
                if (!target)
                        continue;
                r = add_dep(b, si, target, NULL, true, namespaces[i].key, &cap);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_dep(const void *a, const void *b, void *userdata)
{
        const struct graph *g = userdata;
        const struct graph_dep *x = a, *y = b;
        return strcmp(g->services[x->service].name, g->services[y->service].name);
}

static int cmp_service_index(const void *a, const void *b, void *userdata)
{
        const struct graph *g = userdata;
        const size_t *x = a, *y = b;
        return strcmp(g->services[*x].name, g->services[*y].name);
}

static int cmp_level_then_name(const void *a, const void *b, void *userdata)
{
        const struct graph *g = userdata;
        const size_t *x = a, *y = b;
        const struct graph_service *sx = &g->services[*x], *sy = &g->services[*y];
        if (sx->level != sy->level)
                return sx->level < sy->level ? -1 : 1;
        return strcmp(sx->name, sy->name);
}

enum { WHITE, GREY, BLACK };

/* Depth-first search; `stack` holds the path from the root so a back edge can print the whole cycle. */
static int find_cycle(struct builder *b, size_t si, unsigned char *color, size_t *stack, size_t depth)
{
        struct graph *g = b->g;
        color[si] = GREY;
        stack[depth] = si;
        for (size_t i = 0; i < g->services[si].n_deps; i++) {
                size_t t = g->services[si].deps[i].service;
                if (color[t] == GREY) {
                        size_t start = depth;
                        while (stack[start] != t)
                                start--;
                        struct strbuf msg = {0};
                        for (size_t k = start; k <= depth; k++)
                                strbuf_printf(&msg, "%s -> ", g->services[stack[k]].name);
                        strbuf_puts(&msg, g->services[t].name);
                        _cleanup_free_ char *m = strbuf_take(&msg);
                        return stack_error_set(b->err, EINVAL, "dependency cycle: %s", m);
                }
                if (color[t] == WHITE) {
                        int r = find_cycle(b, t, color, stack, depth + 1);
                        if (r < 0)
                                return r;
                }
        }
        color[si] = BLACK;
        return 0;
}

static int check_cycles(struct builder *b, const size_t *by_name)
{
        struct graph *g = b->g;
        _cleanup_free_ unsigned char *color = xcalloc(g->n_services + 1, 1);
        _cleanup_free_ size_t *stack = xcalloc(g->n_services + 1, sizeof(size_t));
        for (size_t i = 0; i < g->n_services; i++)
                if (color[by_name[i]] == WHITE) {
                        int r = find_cycle(b, by_name[i], color, stack, 0);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* The graph is acyclic here, so the recursion ends; `done` memoizes. */
static unsigned compute_level(struct graph *g, size_t si, bool *done)
{
        struct graph_service *s = &g->services[si];
        if (done[si])
                return s->level;
        unsigned level = 0;
        for (size_t i = 0; i < s->n_deps; i++) {
                unsigned l = compute_level(g, s->deps[i].service, done) + 1;
                if (l > level)
                        level = l;
        }
        s->level = level;
        done[si] = true;
        return level;
}

static void compute_order(struct graph *g)
{
        _cleanup_free_ bool *done = xcalloc(g->n_services + 1, sizeof(bool));
        g->n_levels = 0;
        for (size_t i = 0; i < g->n_services; i++) {
                unsigned l = compute_level(g, i, done);
                if (l + 1 > g->n_levels)
                        g->n_levels = l + 1;
        }
        g->order = xcalloc(g->n_services + 1, sizeof(size_t));
        for (size_t i = 0; i < g->n_services; i++)
                g->order[i] = i;
        qsort_r(g->order, g->n_services, sizeof(size_t), cmp_level_then_name, g);
        g->level_start = xcalloc(g->n_levels + 1, sizeof(size_t));
        size_t k = 0;
        for (unsigned l = 0; l < g->n_levels; l++) {
                g->level_start[l] = k;
                while (k < g->n_services && g->services[g->order[k]].level == l)
                        k++;
        }
        g->level_start[g->n_levels] = g->n_services;

        /* Who depends on whom, the other way round: stopping a service first stops its dependents. */
        _cleanup_free_ size_t *caps = xcalloc(g->n_services + 1, sizeof(size_t));
        for (size_t k2 = 0; k2 < g->n_services; k2++) {
                size_t si = g->order[k2];
                for (size_t i = 0; i < g->services[si].n_deps; i++) {
                        struct graph_service *t = &g->services[g->services[si].deps[i].service];
                        size_t ti = g->services[si].deps[i].service;
                        GROW(t->dependents, caps[ti], t->n_dependents);
                        t->dependents[t->n_dependents++] = si;
                }
        }
        for (size_t i = 0; i < g->n_services; i++)
                if (g->services[i].n_dependents > 1)
                        qsort_r(g->services[i].dependents, g->services[i].n_dependents, sizeof(size_t),
                                cmp_service_index, g);
}

/* --- nodes and edges --------------------------------------------------------------------------------- */

static char *image_name(const struct stack_project *p, const struct stack_service *s)
{
        if (s->image)
                return xstrdup(s->image);
        if (s->build.present) /* what compose names an image it builds */
                return xasprintf("%s-%s", p->name, s->name);
        return NULL;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void add_resource_nodes(struct builder *b)
{
        const struct stack_project *p = b->p;
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct stack_network *n = &p->networks[i];
                size_t id = add_node(b, GRAPH_NODE_NETWORK, xstrdup(n->name ? n->name : n->key));
                b->g->nodes[id].network = n;
        }
        for (size_t i = 0; i < p->n_volumes; i++) {
                const struct stack_volume *v = &p->volumes[i];
                size_t id = add_node(b, GRAPH_NODE_VOLUME, xstrdup(v->name ? v->name : v->key));
                b->g->nodes[id].volume = v;
        }
        _cleanup_strv_free_ char **images = NULL;
        for (size_t i = 0; i < p->n_services; i++) {
                _cleanup_free_ char *img = image_name(p, &p->services[i]);
                if (img && !strv_contains(images, img))
                        strv_push(&images, img);
        }
        size_t n = strv_length(images);
        if (n > 1)
                qsort(images, n, sizeof(char *), cmp_str);
        STRV_FOREACH (img, images)
                add_node(b, GRAPH_NODE_IMAGE, xstrdup(*img));
}

static int add_containers(struct builder *b, size_t si)
{
        struct graph *g = b->g;
        struct graph_service *s = &g->services[si];
        const struct stack_service *spec = s->spec;
        _cleanup_free_ char *path = xasprintf("services.%s", s->name);

        if (spec->scale < 0)
                return fail_at(b, spec->mark, path, "invalid scale %d", spec->scale);
        if (spec->container_name && spec->scale > 1)
                return fail_at(
                    b, spec->mark, path,
                    "container_name \"%s\" cannot be used with %d replicas: container names are unique",
                    spec->container_name, spec->scale);
        if (spec->tty || spec->stdin_open)
                /* Output goes to the log file, which must outlive every stack process: no terminal. */
                warn_at(g, spec->mark, path,
                        "tty and stdin_open are not supported; the containers run without a terminal");
        _cleanup_free_ char *img = image_name(b->p, spec);
        s->image = img ? find_node(g, GRAPH_NODE_IMAGE, img) : GRAPH_NONE;

        s->containers = xcalloc(spec->scale + 1, sizeof(size_t));
        for (int n = 1; n <= spec->scale; n++) {
                char *name = container_name(b->p->name, s->name, spec->container_name, n);
                size_t other = find_node(g, GRAPH_NODE_CONTAINER, name);
                if (other != GRAPH_NONE) {
                        int r = fail_at(b, spec->mark, path,
                                        "container name \"%s\" is already used by service \"%s\"", name,
                                        g->services[g->nodes[other].service].name);
                        free(name);
                        return r;
                }
                size_t id = add_node(b, GRAPH_NODE_CONTAINER, name);
                g->nodes[id].service = si;
                g->nodes[id].number = n;
                s->containers[s->n_containers++] = id;
        }
        return 0;
}

static int add_container_edges(struct builder *b, size_t si)
{
        struct graph *g = b->g;
        struct graph_service *s = &g->services[si];
        const struct stack_service *spec = s->spec;

        for (size_t c = 0; c < s->n_containers; c++) {
                size_t from = s->containers[c];
                if (s->image != GRAPH_NONE)
                        add_edge(b, GRAPH_EDGE_IMAGE, from, s->image);
                for (size_t i = 0; i < spec->n_networks; i++) {
                        const struct stack_service_network *sn = &spec->networks[i];
                        const struct stack_network *n = stack_project_network(b->p, sn->name);
                        size_t to =
                            n ? find_node(g, GRAPH_NODE_NETWORK, n->name ? n->name : n->key) : GRAPH_NONE;
                        if (to == GRAPH_NONE) {
                                _cleanup_free_ char *path = xasprintf("services.%s.networks", s->name);
                                return fail_at(b, sn->mark, path,
                                               "service \"%s\" refers to undefined network \"%s\"", s->name,
                                               sn->name);
                        }
                        add_edge(b, GRAPH_EDGE_ATTACH, from, to)->attachment = sn;
                }
                for (size_t i = 0; i < spec->n_volumes; i++) {
                        const struct stack_mount *m = &spec->volumes[i];
                        if (m->type != STACK_MOUNT_VOLUME || !m->source)
                                continue; /* binds, tmpfs and anonymous volumes are the container's own */
                        const struct stack_volume *v = stack_project_volume(b->p, m->source);
                        size_t to =
                            v ? find_node(g, GRAPH_NODE_VOLUME, v->name ? v->name : v->key) : GRAPH_NONE;
                        if (to == GRAPH_NONE) {
                                _cleanup_free_ char *path = xasprintf("services.%s.volumes", s->name);
                                return fail_at(b, m->mark, path,
                                               "service \"%s\" refers to undefined volume \"%s\"", s->name,
                                               m->source);
                        }
                        add_edge(b, GRAPH_EDGE_MOUNT, from, to)->mount = m;
                }
                for (size_t i = 0; i < s->n_deps; i++) {
                        const struct graph_dep *d = &s->deps[i];
                        const struct graph_service *t = &g->services[d->service];
                        for (size_t k = 0; k < t->n_containers; k++) {
                                struct graph_edge *e =
                                    add_edge(b, GRAPH_EDGE_DEPENDS, from, t->containers[k]);
                                e->condition = d->condition;
                                e->required = d->required;
                                e->restart = d->restart;
                        }
                }
        }
        return 0;
}

int graph_build(const struct stack_project *p, struct graph **ret, struct stack_error *err)
{
        if (isempty(p->name))
                return stack_error_set(err, EINVAL, "project has no name");
        struct graph *g = xcalloc(1, sizeof(*g));
        _cleanup_graph_ struct graph *owned = g;
        struct builder b = {.p = p, .g = g, .err = err};
        g->project = p;
        g->n_services = p->n_services;
        g->services = xcalloc(p->n_services + 1, sizeof(struct graph_service));
        for (size_t i = 0; i < p->n_services; i++) {
                g->services[i].spec = &p->services[i];
                g->services[i].name = p->services[i].name;
                g->services[i].image = GRAPH_NONE;
                if (graph_service_index(g, p->services[i].name) != i)
                        return fail_at(&b, p->services[i].mark, NULL, "service \"%s\" is defined twice",
                                       p->services[i].name);
        }

        /* Everything below walks services by name, so errors and warnings come out in the same order
         * whatever order the model lists them in. */
        _cleanup_free_ size_t *by_name = xcalloc(g->n_services + 1, sizeof(size_t));
        for (size_t i = 0; i < g->n_services; i++)
                by_name[i] = i;
        qsort_r(by_name, g->n_services, sizeof(size_t), cmp_service_index, g);

        int r;
        for (size_t i = 0; i < g->n_services; i++) {
                r = collect_deps(&b, by_name[i]);
                if (r < 0)
                        return r;
                struct graph_service *s = &g->services[by_name[i]];
                if (s->n_deps > 1)
                        qsort_r(s->deps, s->n_deps, sizeof(struct graph_dep), cmp_dep, g);
        }
        r = check_cycles(&b, by_name);
        if (r < 0)
                return r;
        compute_order(g);

        add_resource_nodes(&b);
        for (size_t i = 0; i < g->n_services; i++) {
                r = add_containers(&b, by_name[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < g->n_services; i++) {
                r = add_container_edges(&b, by_name[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(owned);
        return 0;
}

/* --- views ------------------------------------------------------------------------------------------- */

char **graph_start_order(const struct graph *g)
{
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < g->n_services; i++)
                strv_push(&l, g->services[g->order[i]].name);
        return l;
}

char **graph_stop_order(const struct graph *g)
{
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = g->n_services; i > 0; i--)
                strv_push(&l, g->services[g->order[i - 1]].name);
        return l;
}

unsigned graph_n_levels(const struct graph *g)
{
        return g->n_levels;
}

char **graph_level(const struct graph *g, unsigned level)
{
        char **l = xcalloc(1, sizeof(char *));
        if (level >= g->n_levels)
                return l;
        for (size_t i = g->level_start[level]; i < g->level_start[level + 1]; i++)
                strv_push(&l, g->services[g->order[i]].name);
        return l;
}

static void mark_closure(const struct graph *g, size_t si, bool *in)
{
        if (in[si])
                return;
        in[si] = true;
        for (size_t i = 0; i < g->services[si].n_deps; i++)
                mark_closure(g, g->services[si].deps[i].service, in);
}

bool graph_depends_on(const struct graph *g, const char *service, const char *dependency)
{
        size_t a = graph_service_index(g, service), b = graph_service_index(g, dependency);
        if (a == GRAPH_NONE || b == GRAPH_NONE || a == b)
                return false;
        _cleanup_free_ bool *in = xcalloc(g->n_services + 1, sizeof(bool));
        mark_closure(g, a, in);
        return in[b];
}

int graph_closure(const struct graph *g, char *const *names, char ***ret, struct stack_error *err)
{
        _cleanup_free_ bool *in = xcalloc(g->n_services + 1, sizeof(bool));
        STRV_FOREACH (n, names) {
                size_t si = graph_service_index(g, *n);
                if (si == GRAPH_NONE)
                        return stack_error_set(err, ENOENT, "no such service: %s", *n);
                mark_closure(g, si, in);
        }
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < g->n_services; i++)
                if (in[g->order[i]])
                        strv_push(&l, g->services[g->order[i]].name);
        *ret = l;
        return 0;
}

char *graph_format(const struct graph *g)
{
        struct strbuf b = {0};
        for (unsigned l = 0; l < g->n_levels; l++) {
                _cleanup_strv_free_ char **names = graph_level(g, l);
                _cleanup_free_ char *joined = strv_join(names, " ");
                strbuf_printf(&b, "level %u: %s\n", l, joined);
        }
        for (size_t i = 0; i < g->n_nodes; i++) {
                const struct graph_node *n = &g->nodes[i];
                strbuf_printf(&b, "%s %s", graph_node_kind_name(n->kind), n->name);
                const char *sep = ":";
                for (size_t e = 0; e < g->n_edges; e++) {
                        const struct graph_edge *ed = &g->edges[e];
                        if (ed->from != i)
                                continue;
                        const struct graph_node *to = &g->nodes[ed->to];
                        if (ed->kind == GRAPH_EDGE_DEPENDS) {
                                strbuf_printf(&b, "%s after %s (%s%s%s)", sep, to->name,
                                              graph_dep_condition_name(ed->condition),
                                              ed->required ? "" : ", optional",
                                              ed->restart ? ", restart" : "");
                        } else {
                                strbuf_printf(&b, "%s %s %s", sep, graph_node_kind_name(to->kind), to->name);
                        }
                        sep = ",";
                }
                strbuf_putc(&b, '\n');
        }
        return strbuf_take(&b);
}
