/* The planner. Pure: it only reads its inputs and allocates its result. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/engine/graph.h"
#include "core/engine/plan.h"
#include "core/base/util.h"

/* What the planner decided for one desired replica. */
enum replica_fate {
        FATE_KEEP,     /* exists and is right (running, or completed) */
        FATE_START,    /* exists and is right but is not running */
        FATE_CREATE,   /* does not exist */
        FATE_RECREATE, /* exists but is out of date */
        FATE_RESTART,  /* right, but a `restart: true` dependency is being replaced */
};

struct replica {
        const struct plan_service *service;
        int number;
        char *name;
        const struct plan_observed_container *observed;
        enum replica_fate fate;
        char *reason;
        /* action indices, SIZE_MAX when not emitted */
        size_t stop, remove, create, start;
};

/* Lookups by name over sorted indices, so that planning grows as n log n in services and containers,
 * never n^2. Every name comparison, here and in after(), is counted in *work (struct plan's `work`). */
struct lookup {
        const struct plan_desired *d;
        size_t *services; /* indices into d->services, sorted by name */
        const struct plan_observed *o;
        size_t *observed; /* indices into o->containers, sorted by service, then number */
        char **all;       /* d->all_services, sorted */
        size_t n_all;
        size_t *work;
};

struct builder {
        struct plan *plan;
        size_t cap;
        struct lookup lk;
};

static size_t emit(struct builder *b, enum plan_action_kind kind, const char *target, const char *service,
                   int number, char *reason)
{
        GROW(b->plan->actions, b->cap, b->plan->n_actions);
        struct plan_action *a = &b->plan->actions[b->plan->n_actions];
        *a = (struct plan_action){
            .kind = kind,
            .target = xstrdup(target),
            .service = service ? xstrdup(service) : NULL,
            .number = number,
            .reason = reason,
        };
        return b->plan->n_actions++;
}

static void after(struct builder *b, size_t action, size_t prerequisite)
{
        if (action == SIZE_MAX || prerequisite == SIZE_MAX || action == prerequisite)
                return;
        struct plan_action *a = &b->plan->actions[action];
        /* Repeats come in a row (one replica's prerequisites are added together), so only the last one
         * is checked: a full scan would make an action with n prerequisites cost n^2. A repeat that slips
         * through only means the executor checks it twice. */
        b->plan->work++;
        if (a->n_after > 0 && a->after[a->n_after - 1] == prerequisite)
                return;
        if ((a->n_after & (a->n_after - 1)) == 0) /* capacity doubles at powers of two */
                a->after = xrealloc(a->after, (a->n_after ? 2 * a->n_after : 1) * sizeof(size_t));
        a->after[a->n_after++] = prerequisite;
}

char *plan_container_name(const char *project, const struct plan_service *s, int number)
{
        return container_name(project, s->name, s->container_name, number);
}

static int cmp_service(const void *a, const void *b, void *userdata)
{
        const struct plan_desired *d = userdata;
        return strcmp(d->services[*(const size_t *) a].name, d->services[*(const size_t *) b].name);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cmp_observed_key(const struct plan_observed_container *c, const char *service, int number)
{
        int r = strcmp(c->service, service);
        return r ? r : (c->number > number) - (c->number < number);
}

static int cmp_observed(const void *a, const void *b, void *userdata)
{
        const struct plan_observed *o = userdata;
        const struct plan_observed_container *y = &o->containers[*(const size_t *) b];
        return cmp_observed_key(&o->containers[*(const size_t *) a], y->service, y->number);
}

static void lookup_init(struct lookup *lk, const struct plan_desired *d, const struct plan_observed *o,
                        size_t *work)
{
        *lk = (struct lookup){.d = d, .o = o, .work = work};
        lk->services = xcalloc(d->n_services + 1, sizeof(size_t));
        for (size_t i = 0; i < d->n_services; i++)
                lk->services[i] = i;
        qsort_r(lk->services, d->n_services, sizeof(size_t), cmp_service, (void *) d);
        lk->n_all = strv_length(d->all_services);
        lk->all = xcalloc(lk->n_all + 1, sizeof(char *));
        if (lk->n_all > 0)
                memcpy(lk->all, d->all_services, lk->n_all * sizeof(char *));
        qsort(lk->all, lk->n_all, sizeof(char *), cmp_str);
        if (!o)
                return;
        lk->observed = xcalloc(o->n_containers + 1, sizeof(size_t));
        for (size_t i = 0; i < o->n_containers; i++)
                lk->observed[i] = i;
        qsort_r(lk->observed, o->n_containers, sizeof(size_t), cmp_observed, (void *) o);
}

static void lookup_done(struct lookup *lk)
{
        free(lk->all); /* the strings are d's */
        free(lk->services);
        free(lk->observed);
}

static ssize_t service_index(const struct lookup *lk, const char *name)
{
        size_t lo = 0, hi = lk->d->n_services;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                (*lk->work)++;
                int r = strcmp(lk->d->services[lk->services[mid]].name, name);
                if (r == 0)
                        return (ssize_t) lk->services[mid];
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

/* Whether the file defines the service at all, enabled or not. */
static bool known_service(const struct lookup *lk, const char *name)
{
        size_t lo = 0, hi = lk->n_all;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                (*lk->work)++;
                int r = strcmp(lk->all[mid], name);
                if (r == 0)
                        return true;
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

static const struct plan_service *find_service(const struct lookup *lk, const char *name)
{
        ssize_t i = service_index(lk, name);
        return i < 0 ? NULL : &lk->d->services[i];
}

/* The services in start order, as indices: the graph's order when the caller took it (plan_desired_order),
 * else the order they were given in. */
static int start_order(const struct lookup *lk, size_t *order, size_t *ret_n, struct stack_error *err)
{
        const struct plan_desired *d = lk->d;
        size_t n = 0;
        if (!d->start_order) {
                for (size_t i = 0; i < d->n_services; i++)
                        order[n++] = i;
        } else
                STRV_FOREACH (name, d->start_order) {
                        ssize_t i = service_index(lk, *name);
                        if (i < 0 || n == d->n_services)
                                return stack_error_set(err, EINVAL,
                                                       "start order names unknown service \"%s\"", *name);
                        order[n++] = (size_t) i;
                }
        if (n != d->n_services)
                return stack_error_set(err, EINVAL, "start order leaves out services");
        *ret_n = n;
        return 0;
}

/* Marks the services `up` acts on: the targets the graph gave, else those named, else all. */
static int select_targets(const struct lookup *lk, const struct plan_options *o, bool *targeted,
                          struct stack_error *err)
{
        const struct plan_desired *d = lk->d;
        char *const *names = d->targets ? d->targets : o->services;
        if (!names) {
                for (size_t i = 0; i < d->n_services; i++)
                        targeted[i] = true;
                return 0;
        }
        STRV_FOREACH (name, names) {
                ssize_t i = service_index(lk, *name);
                if (i < 0 && d->targets)
                        return stack_error_set(err, EINVAL, "target names unknown service \"%s\"", *name);
                if (i >= 0)
                        targeted[i] = true;
        }
        return 0;
}

int plan_desired_order(struct plan_desired *d, const struct graph *g, const struct plan_options *o,
                       struct stack_error *err)
{
        strv_free(d->start_order);
        d->start_order = NULL;
        strv_free(d->targets);
        d->targets = NULL;
        /* The graph knows every enabled service; the desired state may hold fewer (scale 0 is still
         * there), so only those it has are kept. */
        _cleanup_strv_free_ char **order = graph_start_order(g);
        size_t work = 0;
        _cleanup_(lookup_done) struct lookup lk = {0};
        lookup_init(&lk, d, NULL, &work);
        d->start_order = xcalloc(strv_length(order) + 1, sizeof(char *));
        size_t n = 0;
        STRV_FOREACH (name, order)
                if (find_service(&lk, *name))
                        d->start_order[n++] = xstrdup(*name);
        if (!o->services)
                return 0;
        if (o->no_deps) {
                d->targets = strv_copy(o->services);
                return 0;
        }
        _cleanup_strv_free_ char **closure = NULL;
        int k = graph_closure(g, o->services, &closure, err);
        if (k < 0)
                return k;
        d->targets = xcalloc(1, sizeof(char *));
        STRV_FOREACH (name, closure)
                if (find_service(&lk, *name))
                        strv_push(&d->targets, *name);
        return 0;
}

static bool strv_equal_sets(char *const *a, char *const *b)
{
        if (strv_length(a) != strv_length(b))
                return false;
        STRV_FOREACH (s, a)
                if (!strv_contains(b, *s))
                        return false;
        return true;
}

/* Why an existing container must be replaced, or NULL when it is up to date. */
static char *outdated_reason(const struct plan_service *s, const struct plan_observed_container *c)
{
        if (!streq_ptr(s->config_hash, c->config_hash))
                return xstrdup("configuration changed");
        if (!streq_ptr(s->image_id, c->image_id))
                return xstrdup("image changed");
        if (!strv_equal_sets(s->networks, c->networks))
                return xstrdup("networks changed");
        if (!strv_equal_sets(s->volumes, c->volumes))
                return xstrdup("volumes changed");
        return NULL;
}

static bool is_active(enum container_state st)
{
        return st == CONTAINER_STATE_RUNNING || st == CONTAINER_STATE_PAUSED ||
               st == CONTAINER_STATE_CREATED;
}

/* A one-shot that ran to success is done; one that stack stopped (Ctrl-C, --abort-on-container-exit)
 * exited 0 only because it was asked to, and the next up must start it again. */
static bool completed(const struct plan_service *s, const struct plan_observed_container *c)
{
        return c->state == CONTAINER_STATE_EXITED && c->exit_code == 0 && s->restart_no && !c->stopped;
}

static const struct plan_observed_container *find_observed(const struct lookup *lk, const char *service,
                                                           int number)
{
        size_t lo = 0, hi = lk->o->n_containers;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                (*lk->work)++;
                const struct plan_observed_container *c = &lk->o->containers[lk->observed[mid]];
                int r = cmp_observed_key(c, service, number);
                if (r == 0)
                        return c;
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static int cmp_age(const void *a, const void *b)
{
        const struct plan_observed_container *x = *(const struct plan_observed_container *const *) a;
        const struct plan_observed_container *y = *(const struct plan_observed_container *const *) b;
        if (x->created_usec != y->created_usec)
                return x->created_usec < y->created_usec ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* Stops (when needed) and removes an observed container that has no future. */
static size_t emit_teardown(struct builder *b, const struct plan_observed_container *c, const char *reason,
                            size_t *ret_stop)
{
        size_t stop = SIZE_MAX;
        if (is_active(c->state))
                stop = emit(b, PLAN_STOP_CONTAINER, c->name, c->service, c->number, xstrdup(reason));
        size_t rm = emit(b, PLAN_REMOVE_CONTAINER, c->name, c->service, c->number, xstrdup(reason));
        after(b, rm, stop);
        if (ret_stop)
                *ret_stop = stop;
        return rm;
}

static int plan_down(struct builder *b, const struct plan_desired *d, const struct plan_observed *o,
                     const struct plan_options *opt, struct stack_error *err)
{
        size_t ns = d->n_services, n = o->n_containers;
        _cleanup_free_ size_t *order = xcalloc(ns + 1, sizeof(size_t));
        size_t n_order = 0;
        int r = start_order(&b->lk, order, &n_order, err);
        if (r < 0)
                return r;

        /* Each container's service, and the containers of each service in the order observed. */
        _cleanup_free_ ssize_t *svc = xcalloc(n + 1, sizeof(ssize_t));
        _cleanup_free_ size_t *first = xcalloc(ns + 1, sizeof(size_t)); /* by service: start in `by_svc` */
        _cleanup_free_ size_t *count = xcalloc(ns + 1, sizeof(size_t));
        _cleanup_free_ size_t *by_svc = xcalloc(n + 1, sizeof(size_t));
        for (size_t i = 0; i < n; i++)
                if ((svc[i] = service_index(&b->lk, o->containers[i].service)) >= 0)
                        count[svc[i]]++;
        for (size_t k = 1; k < ns; k++)
                first[k] = first[k - 1] + count[k - 1];
        _cleanup_free_ size_t *fill = xcalloc(ns + 1, sizeof(size_t));
        for (size_t i = 0; i < n; i++)
                if (svc[i] >= 0)
                        by_svc[first[svc[i]] + fill[svc[i]]++] = i;

        /* Dependents go first: containers of unknown services (no known dependencies), then the services in
         * reverse start order. */
        _cleanup_free_ size_t *seq = xcalloc(n + 1, sizeof(size_t));
        size_t n_seq = 0;
        for (size_t i = 0; i < n; i++)
                if (svc[i] < 0)
                        seq[n_seq++] = i;
        for (size_t k = n_order; k-- > 0;)
                for (size_t x = 0; x < count[order[k]]; x++)
                        seq[n_seq++] = by_svc[first[order[k]] + x];

        _cleanup_free_ size_t *stops = xcalloc(n + 1, sizeof(size_t));
        _cleanup_free_ size_t *removes = xcalloc(n + 1, sizeof(size_t));
        _cleanup_free_ size_t *pos = xcalloc(n + 1, sizeof(size_t));
        for (size_t x = 0; x < n_seq; x++) {
                size_t j = seq[x];
                removes[j] = emit_teardown(b, &o->containers[j], "project is going down", &stops[j]);
                pos[j] = x;
        }
        /* A container stops only after those that depend on it, which come earlier in the sequence (a
         * file order the graph refused may put one later: that order is then not kept). */
        for (size_t x = 0; x < n_seq; x++) {
                size_t j = seq[x];
                if (svc[j] < 0)
                        continue;
                const struct plan_service *sj = &d->services[svc[j]];
                for (size_t k = 0; k < sj->n_deps; k++) {
                        ssize_t si = service_index(&b->lk, sj->deps[k].service);
                        for (size_t y = 0; si >= 0 && si != svc[j] && y < count[si]; y++) {
                                size_t i = by_svc[first[si] + y];
                                if (pos[i] < pos[j])
                                        continue;
                                after(b, stops[i] != SIZE_MAX ? stops[i] : removes[i],
                                      stops[j] != SIZE_MAX ? stops[j] : removes[j]);
                        }
                }
        }

        STRV_FOREACH (net, o->networks) {
                size_t a = emit(b, PLAN_REMOVE_NETWORK, *net, NULL, 0, xstrdup("project is going down"));
                for (size_t i = 0; i < n; i++)
                        after(b, a, removes[i]);
        }
        if (opt->remove_volumes)
                STRV_FOREACH (vol, o->volumes) {
                        size_t a = emit(b, PLAN_REMOVE_VOLUME, *vol, NULL, 0, xstrdup("down --volumes"));
                        for (size_t i = 0; i < n; i++)
                                after(b, a, removes[i]);
                }
        return 0;
}

static void plan_orphans(struct builder *b, const struct plan_observed *o, const struct plan_options *opt,
                         size_t **removes, size_t *n_removes, bool *orphaned)
{
        _cleanup_free_ const struct plan_observed_container **orphans =
            xcalloc(o->n_containers + 1, sizeof(*orphans));
        size_t n = 0;
        for (size_t i = 0; i < o->n_containers; i++)
                if (!known_service(&b->lk, o->containers[i].service)) {
                        orphans[n++] = &o->containers[i];
                        orphaned[i] = true;
                }
        if (n == 0)
                return;
        qsort(orphans, n, sizeof(*orphans), cmp_age);

        size_t drop = 0;
        if (opt->remove_orphans)
                drop = n;
        else if (opt->max_orphans >= 0 && n > (size_t) opt->max_orphans)
                drop = n - opt->max_orphans;

        if (drop < n) {
                struct strbuf names = {0};
                for (size_t i = drop; i < n; i++)
                        strbuf_printf(&names, "%s%s", i > drop ? " " : "", orphans[i]->name);
                strv_consume(&b->plan->warnings,
                             xasprintf("Found orphan containers ([%s]) for this project. If you removed or "
                                       "renamed this service in your compose file, you can run this "
                                       "command with the --remove-orphans flag to clean it up.",
                                       names.buf));
                strbuf_free(&names);
        }
        for (size_t i = 0; i < drop; i++) {
                _cleanup_free_ char *reason =
                    opt->remove_orphans
                        ? xstrdup("orphan (--remove-orphans)")
                        : xasprintf("orphan beyond max_orphans=%d (%zu orphans, oldest removed first)",
                                    opt->max_orphans, n);
                *removes = xrealloc(*removes, (*n_removes + 1) * sizeof(size_t));
                (*removes)[(*n_removes)++] = emit_teardown(b, orphans[i], reason, NULL);
                orphaned[orphans[i] - o->containers] = false; /* gone: its networks may go too */
        }
}

static int plan_up(struct builder *b, const struct plan_desired *d, const struct plan_observed *o,
                   const struct plan_options *opt, struct stack_error *err)
{
        size_t ns = d->n_services;
        _cleanup_free_ bool *targeted = xcalloc(ns + 1, sizeof(bool));
        _cleanup_free_ size_t *order = xcalloc(ns + 1, sizeof(size_t));
        size_t n_order = 0;
        int failed = start_order(&b->lk, order, &n_order, err);
        if (failed < 0 || (failed = select_targets(&b->lk, opt, targeted, err)) < 0)
                return failed;

        /* 1. Decide every replica's fate. */
        size_t n_rep = 0, cap_rep = 0;
        struct replica *reps = NULL;
        _cleanup_free_ bool *replaced = xcalloc(ns + 1, sizeof(bool)); /* some replica recreated */
        /* Each service's replicas are contiguous in reps: [rep_begin, rep_end). */
        _cleanup_free_ size_t *rep_begin = xcalloc(ns + 1, sizeof(size_t));
        _cleanup_free_ size_t *rep_end = xcalloc(ns + 1, sizeof(size_t));
        for (size_t oi = 0; oi < n_order; oi++) {
                size_t i = order[oi];
                const struct plan_service *s = &d->services[i];
                rep_begin[i] = n_rep;
                if (!targeted[i]) {
                        /* Not acted on, but a running replica may still need a `restart: true` restart. */
                        for (int num = 1; num <= s->scale; num++) {
                                const struct plan_observed_container *c =
                                    find_observed(&b->lk, s->name, num);
                                if (!c || c->state != CONTAINER_STATE_RUNNING)
                                        continue;
                                GROW(reps, cap_rep, n_rep);
                                reps[n_rep++] = (struct replica){
                                    .service = s,
                                    .number = num,
                                    .name = plan_container_name(d->project, s, num),
                                    .observed = c,
                                    .fate = FATE_KEEP,
                                    .stop = SIZE_MAX,
                                    .remove = SIZE_MAX,
                                    .create = SIZE_MAX,
                                    .start = SIZE_MAX,
                                };
                        }
                        rep_end[i] = n_rep;
                        continue;
                }
                bool dep_replaced = false;
                for (size_t k = 0; k < s->n_deps; k++) {
                        ssize_t j = service_index(&b->lk, s->deps[k].service);
                        if (j >= 0 && replaced[j])
                                dep_replaced = true;
                }
                for (int num = 1; num <= s->scale; num++) {
                        GROW(reps, cap_rep, n_rep);
                        struct replica *r = &reps[n_rep++];
                        *r = (struct replica){
                            .service = s,
                            .number = num,
                            .name = plan_container_name(d->project, s, num),
                            .observed = find_observed(&b->lk, s->name, num),
                            .stop = SIZE_MAX,
                            .remove = SIZE_MAX,
                            .create = SIZE_MAX,
                            .start = SIZE_MAX,
                        };
                        _cleanup_free_ char *why = r->observed ? outdated_reason(s, r->observed) : NULL;
                        if (!r->observed) {
                                r->fate = FATE_CREATE;
                                r->reason = xstrdup("not found");
                        } else if (r->observed->state == CONTAINER_STATE_DEAD) {
                                r->fate = FATE_RECREATE;
                                r->reason = xstrdup("the runtime no longer has it");
                        } else if (opt->force_recreate) {
                                r->fate = FATE_RECREATE;
                                r->reason = xstrdup("--force-recreate");
                        } else if (!opt->no_recreate && why) {
                                r->fate = FATE_RECREATE;
                                r->reason = TAKE_PTR(why);
                        } else if (!opt->no_recreate && dep_replaced && opt->always_recreate_deps) {
                                r->fate = FATE_RECREATE;
                                r->reason = xstrdup("a dependency was recreated (--always-recreate-deps)");
                        } else if (r->observed->state == CONTAINER_STATE_RUNNING ||
                                   completed(s, r->observed)) {
                                r->fate = FATE_KEEP;
                        } else {
                                r->fate = FATE_START;
                                r->reason = xstrdup("not running");
                        }
                        if (r->fate == FATE_RECREATE)
                                replaced[i] = true;
                }
                rep_end[i] = n_rep;
        }
        /* Which replicas depend on each service: rdeps[rdep_begin[i] .. rdep_begin[i + 1]). */
        _cleanup_free_ size_t *rdep_begin = xcalloc(ns + 2, sizeof(size_t));
        size_t n_rdeps = 0;
        for (size_t ri = 0; ri < n_rep; ri++)
                for (size_t k = 0; k < reps[ri].service->n_deps; k++) {
                        ssize_t j = service_index(&b->lk, reps[ri].service->deps[k].service);
                        if (j >= 0) {
                                rdep_begin[j + 1]++;
                                n_rdeps++;
                        }
                }
        for (size_t i = 0; i < ns; i++)
                rdep_begin[i + 1] += rdep_begin[i];
        _cleanup_free_ size_t *rdeps = xcalloc(n_rdeps + 1, sizeof(size_t));
        _cleanup_free_ size_t *rdep_fill = xcalloc(ns + 1, sizeof(size_t));
        for (size_t ri = 0; ri < n_rep; ri++)
                for (size_t k = 0; k < reps[ri].service->n_deps; k++) {
                        ssize_t j = service_index(&b->lk, reps[ri].service->deps[k].service);
                        if (j >= 0)
                                rdeps[rdep_begin[j] + rdep_fill[j]++] = ri;
                }

        /* `restart: true`: a running dependent is restarted when its dependency is replaced. */
        for (size_t ri = 0; ri < n_rep; ri++) {
                struct replica *r = &reps[ri];
                if (r->fate != FATE_KEEP || !r->observed || r->observed->state != CONTAINER_STATE_RUNNING)
                        continue;
                for (size_t k = 0; k < r->service->n_deps; k++) {
                        ssize_t j = service_index(&b->lk, r->service->deps[k].service);
                        if (j >= 0 && replaced[j] && r->service->deps[k].restart) {
                                r->fate = FATE_RESTART;
                                r->reason = xasprintf("dependency %s was recreated", d->services[j].name);
                                break;
                        }
                }
        }

        /* 2. Orphans and scale-down: containers of the project that have no place in the desired state. */
        _cleanup_free_ size_t *gone = NULL;
        size_t n_gone = 0;
        _cleanup_free_ bool *orphaned = xcalloc(o->n_containers + 1, sizeof(bool));
        plan_orphans(b, o, opt, &gone, &n_gone, orphaned);
        for (size_t i = 0; i < o->n_containers; i++) {
                const struct plan_observed_container *c = &o->containers[i];
                ssize_t si = service_index(&b->lk, c->service);
                if (si < 0 || !targeted[si] || c->number <= d->services[si].scale)
                        continue;
                _cleanup_free_ char *reason = xasprintf("scale %s to %d", c->service, d->services[si].scale);
                gone = xrealloc(gone, (n_gone + 1) * sizeof(size_t));
                gone[n_gone++] = emit_teardown(b, c, reason, NULL);
        }

        /* 3. Stops, in reverse dependency order: dependents first. */
        for (size_t ri = n_rep; ri-- > 0;) {
                struct replica *r = &reps[ri];
                if ((r->fate != FATE_RECREATE && r->fate != FATE_RESTART) || !is_active(r->observed->state))
                        continue;
                r->stop =
                    emit(b, PLAN_STOP_CONTAINER, r->name, r->service->name, r->number, xstrdup(r->reason));
                size_t si = (size_t) (r->service - d->services);
                for (size_t x = rdep_begin[si]; x < rdep_begin[si + 1]; x++)
                        if (rdeps[x] > ri)
                                after(b, r->stop, reps[rdeps[x]].stop);
        }
        for (size_t ri = 0; ri < n_rep; ri++) {
                struct replica *r = &reps[ri];
                if (r->fate != FATE_RECREATE)
                        continue;
                r->remove =
                    emit(b, PLAN_REMOVE_CONTAINER, r->name, r->service->name, r->number, xstrdup(r->reason));
                after(b, r->remove, r->stop);
        }

        /* 4. Networks and volumes the containers need. */
        _cleanup_strv_free_ char **net_keys = NULL;
        _cleanup_free_ size_t *net_actions = NULL;
        STRV_FOREACH (net, d->networks) {
                if (strv_contains(o->networks, *net))
                        continue;
                net_actions = xrealloc(net_actions, (strv_length(net_keys) + 1) * sizeof(size_t));
                net_actions[strv_length(net_keys)] =
                    emit(b, PLAN_CREATE_NETWORK, *net, NULL, 0, xstrdup("not found"));
                strv_push(&net_keys, *net);
        }
        _cleanup_strv_free_ char **vol_keys = NULL;
        _cleanup_free_ size_t *vol_actions = NULL;
        STRV_FOREACH (vol, d->volumes) {
                if (strv_contains(o->volumes, *vol))
                        continue;
                vol_actions = xrealloc(vol_actions, (strv_length(vol_keys) + 1) * sizeof(size_t));
                vol_actions[strv_length(vol_keys)] =
                    emit(b, PLAN_CREATE_VOLUME, *vol, NULL, 0, xstrdup("not found"));
                strv_push(&vol_keys, *vol);
        }

        /* 5. Creates, in dependency order. */
        bool changed = n_gone > 0 || net_actions != NULL;
        for (size_t ri = 0; ri < n_rep; ri++) {
                struct replica *r = &reps[ri];
                const struct plan_service *s = r->service;
                if (r->fate != FATE_CREATE && r->fate != FATE_RECREATE)
                        continue;
                changed = true;
                r->create = emit(b, PLAN_CREATE_CONTAINER, r->name, s->name, r->number, xstrdup(r->reason));
                after(b, r->create, r->remove);
                for (size_t k = 0; k < strv_length(net_keys); k++)
                        if (strv_contains(s->networks, net_keys[k]))
                                after(b, r->create, net_actions[k]);
                for (size_t k = 0; k < strv_length(vol_keys); k++)
                        if (strv_contains(s->volumes, vol_keys[k]))
                                after(b, r->create, vol_actions[k]);
                /* A replaced container's successor may take over its address or port only once the old one
                 * is gone; scale-down and orphan removals free resources too. */
                for (size_t k = 0; k < n_gone; k++)
                        after(b, r->create, gone[k]);
        }

        /* A container that joins another's network namespace is made once that namespace exists. */
        for (size_t ri = 0; ri < n_rep; ri++) {
                const char *joins = reps[ri].service->joins;
                for (size_t rj = 0; joins && rj < n_rep; rj++)
                        if (reps[rj].number == 1 && streq(reps[rj].service->name, joins))
                                after(b, reps[ri].create, reps[rj].create);
        }

        /* 6. Networks nobody uses any more (their last orphans were removed). */
        _cleanup_free_ size_t *net_removes = NULL;
        size_t n_net_removes = 0;
        STRV_FOREACH (net, o->networks) {
                if (strv_contains(d->networks, *net))
                        continue;
                bool used = false;
                for (size_t i = 0; i < o->n_containers; i++)
                        if (orphaned[i] && strv_contains(o->containers[i].networks, *net))
                                used = true;
                for (size_t i = 0; i < d->n_services; i++)
                        if (!targeted[i] && strv_contains(d->services[i].networks, *net))
                                used = true;
                if (used)
                        continue;
                size_t a = emit(b, PLAN_REMOVE_NETWORK, *net, NULL, 0, xstrdup("no longer used"));
                for (size_t k = 0; k < n_gone; k++)
                        after(b, a, gone[k]);
                net_removes = xrealloc(net_removes, (n_net_removes + 1) * sizeof(size_t));
                net_removes[n_net_removes++] = a;
                changed = true;
        }

        /* 7. Published ports and network rules follow the containers' addresses: one firewall update for
         * the whole plan, once every container that will exist has its address and before any starts. */
        size_t publish = SIZE_MAX;
        if (changed || o->publish_pending || o->firewall_drift) {
                publish = emit(b, PLAN_PUBLISH_PORTS, d->project, NULL, 0,
                               xstrdup(changed              ? "containers or networks changed"
                                       : o->publish_pending ? "an interrupted run left it undone"
                                                            : o->firewall_drift));
                for (size_t ri = 0; ri < n_rep; ri++) {
                        after(b, publish, reps[ri].create);
                        after(b, publish, reps[ri].remove);
                }
                for (size_t k = 0; k < n_gone; k++)
                        after(b, publish, gone[k]);
                for (size_t k = 0; k < n_net_removes; k++)
                        after(b, publish, net_removes[k]);
                for (size_t k = 0; k < strv_length(net_keys); k++)
                        after(b, publish, net_actions[k]);
        }

        /* 8. Starts in dependency order; a start waits for its dependencies' conditions. */
        /* The wait for a service's condition, one per (service, condition): waits[service * 3 + cond]. */
        size_t *waits = xcalloc(ns * 3 + 1, sizeof(size_t));
        for (size_t x = 0; x < ns * 3; x++)
                waits[x] = SIZE_MAX;
        for (size_t ri = 0; ri < n_rep; ri++) {
                struct replica *r = &reps[ri];
                const struct plan_service *s = r->service;
                if (r->fate == FATE_KEEP || opt->no_start)
                        continue;
                _cleanup_free_ size_t *deps_waits = xcalloc(s->n_deps + 1, sizeof(size_t));
                for (size_t k = 0; k < s->n_deps; k++) {
                        const struct plan_dep *dep = &s->deps[k];
                        deps_waits[k] = SIZE_MAX;
                        ssize_t j = service_index(&b->lk, dep->service);
                        if (j < 0)
                                continue;
                        size_t *w = &waits[(size_t) j * 3 + (size_t) dep->condition % 3];
                        if (*w == SIZE_MAX) {
                                *w = emit(b, PLAN_WAIT_SERVICE, dep->service, dep->service, 0,
                                          xasprintf("%s depends on it", s->name));
                                b->plan->actions[*w].condition = dep->condition;
                                for (size_t rj = rep_begin[j]; rj < rep_end[j] && rj < ri; rj++) {
                                        after(b, *w, reps[rj].start);
                                        after(b, *w, reps[rj].create);
                                }
                        }
                        deps_waits[k] = *w;
                }
                r->start = emit(b, PLAN_START_CONTAINER, r->name, s->name, r->number, xstrdup(r->reason));
                after(b, r->start, r->create);
                after(b, r->start, r->stop);
                after(b, r->start, publish);
                for (size_t k = 0; k < s->n_deps; k++)
                        after(b, r->start, deps_waits[k]);
        }
        free(waits);

        for (size_t ri = 0; ri < n_rep; ri++) {
                free(reps[ri].name);
                free(reps[ri].reason);
        }
        free(reps);
        return 0;
}

int plan_compute(const struct plan_desired *desired, const struct plan_observed *observed,
                 const struct plan_options *options, struct plan **ret, struct stack_error *err)
{
        struct builder b = {.plan = xcalloc(1, sizeof(struct plan))};
        lookup_init(&b.lk, desired, observed, &b.plan->work);
        int r = options->down ? plan_down(&b, desired, observed, options, err)
                              : plan_up(&b, desired, observed, options, err);
        lookup_done(&b.lk);
        if (r < 0) {
                plan_free(b.plan);
                return r;
        }
        *ret = b.plan;
        return 0;
}

/* Copies the actions `take` selects from p into a new plan, with their prerequisites renumbered; those on
 * actions left out are dropped. */
static struct plan *plan_select(const struct plan *p, const bool *take, size_t *index)
{
        struct plan *q = xcalloc(1, sizeof(*q));
        q->actions = xcalloc(p->n_actions + 1, sizeof(*q->actions));
        q->warnings = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < p->n_actions; i++)
                index[i] = take[i] ? q->n_actions++ : SIZE_MAX;
        for (size_t i = 0; i < p->n_actions; i++) {
                if (!take[i])
                        continue;
                const struct plan_action *a = &p->actions[i];
                struct plan_action *c = &q->actions[index[i]];
                *c = (struct plan_action){
                    .kind = a->kind,
                    .target = xstrdup(a->target),
                    .service = a->service ? xstrdup(a->service) : NULL,
                    .number = a->number,
                    .condition = a->condition,
                    .reason = a->reason ? xstrdup(a->reason) : NULL,
                    .after = xcalloc(a->n_after + 1, sizeof(size_t)),
                };
                for (size_t k = 0; k < a->n_after; k++)
                        if (index[a->after[k]] != SIZE_MAX)
                                c->after[c->n_after++] = index[a->after[k]];
        }
        return q;
}

void plan_split(const struct plan *p, enum plan_action_kind kind, struct plan **ret_first,
                struct plan **ret_rest)
{
        _cleanup_free_ bool *take = xcalloc(p->n_actions + 1, sizeof(bool));
        _cleanup_free_ size_t *index = xcalloc(p->n_actions + 1, sizeof(size_t));
        for (size_t i = 0; i < p->n_actions; i++)
                take[i] = p->actions[i].kind == kind;
        *ret_first = plan_select(p, take, index);
        for (size_t i = 0; i < p->n_actions; i++)
                take[i] = !take[i];
        *ret_rest = plan_select(p, take, index);
        strv_free((*ret_rest)->warnings);
        (*ret_rest)->warnings = strv_copy(p->warnings);
}

void plan_free(struct plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_actions; i++) {
                free(p->actions[i].target);
                free(p->actions[i].service);
                free(p->actions[i].reason);
                free(p->actions[i].after);
        }
        free(p->actions);
        strv_free(p->warnings);
        free(p);
}

const char *plan_action_kind_name(enum plan_action_kind kind)
{
        static const char *const names[] = {
            [PLAN_CREATE_NETWORK] = "create network",
            [PLAN_CREATE_VOLUME] = "create volume",
            [PLAN_CREATE_CONTAINER] = "create container",
            [PLAN_START_CONTAINER] = "start container",
            [PLAN_WAIT_SERVICE] = "wait for",
            [PLAN_STOP_CONTAINER] = "stop container",
            [PLAN_REMOVE_CONTAINER] = "remove container",
            [PLAN_REMOVE_NETWORK] = "remove network",
            [PLAN_REMOVE_VOLUME] = "remove volume",
            [PLAN_PUBLISH_PORTS] = "update firewall of",
        };
        return names[kind];
}

static const char *condition_name(enum stack_dep_condition c)
{
        switch (c) {
        case STACK_DEP_STARTED:
                return "started";
        case STACK_DEP_HEALTHY:
                return "healthy";
        case STACK_DEP_COMPLETED:
                return "completed successfully";
        }
        return "?";
}

char *plan_format(const struct plan *p)
{
        struct strbuf b = {0};
        for (size_t i = 0; i < p->n_actions; i++) {
                const struct plan_action *a = &p->actions[i];
                if (a->kind == PLAN_WAIT_SERVICE)
                        strbuf_printf(&b, "wait for %s %s: %s\n", a->target, condition_name(a->condition),
                                      a->reason);
                else
                        strbuf_printf(&b, "%s %s: %s\n", plan_action_kind_name(a->kind), a->target,
                                      a->reason);
        }
        return strbuf_take(&b);
}

void plan_desired_free(struct plan_desired *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_services; i++) {
                struct plan_service *s = &d->services[i];
                free(s->name);
                free(s->container_name);
                free(s->joins);
                free(s->config_hash);
                free(s->image_id);
                strv_free(s->networks);
                strv_free(s->volumes);
                for (size_t k = 0; k < s->n_deps; k++)
                        free(s->deps[k].service);
                free(s->deps);
        }
        free(d->services);
        free(d->project);
        strv_free(d->all_services);
        strv_free(d->networks);
        strv_free(d->volumes);
        strv_free(d->start_order);
        strv_free(d->targets);
        free(d);
}

void plan_observed_free(struct plan_observed *o)
{
        if (!o)
                return;
        for (size_t i = 0; i < o->n_containers; i++) {
                struct plan_observed_container *c = &o->containers[i];
                free(c->name);
                free(c->service);
                free(c->config_hash);
                free(c->image_id);
                strv_free(c->networks);
                strv_free(c->volumes);
        }
        free(o->containers);
        strv_free(o->networks);
        strv_free(o->volumes);
        free(o->firewall_drift);
        free(o);
}
