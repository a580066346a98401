#include <stdlib.h>

#include "core/base/util.h"
#include "core/engine/apply.h"
#include "core/engine/graph.h"
#include "core/engine/stop.h"
#include "core/engine/supervisor.h"

static void add_after(struct plan_action *a, size_t prerequisite)
{
        a->after = xrealloc(a->after, (a->n_after + 1) * sizeof(*a->after));
        a->after[a->n_after++] = prerequisite;
}

struct plan *stop_plan(const struct graph *g, const struct project_status *st)
{
        struct plan *p = xcalloc(1, sizeof(*p));
        p->actions = xcalloc(st->n + 1, sizeof(*p->actions));
        p->warnings = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (!container_state_is_live(c->state))
                        continue;
                p->actions[p->n_actions++] = (struct plan_action){
                    .kind = PLAN_STOP_CONTAINER,
                    .target = xstrdup(c->name),
                    .service = xstrdup(c->service),
                    .number = c->number,
                    .reason = xstrdup("project stopping"),
                };
        }
        /* A container stops once every container that depends on it has stopped. */
        for (size_t i = 0; g && i < p->n_actions; i++)
                for (size_t k = 0; k < p->n_actions; k++)
                        if (graph_depends_on(g, p->actions[k].service, p->actions[i].service))
                                add_after(&p->actions[i], k);
        return p;
}

struct stopper {
        const struct stop_config *c;
        const char *project;
        const struct plan *plan;
        struct stack_error *errors; /* per action: why it did not stop */
};

static int run_stop(void *userdata, const struct plan_action *a, struct stack_error *err)
{
        struct stopper *s = userdata;
        struct stack_error *e = &s->errors[a - s->plan->actions];
        (void) supervisor_stop(s->c->status.run_root, s->project, a->target, s->c->timeout_usec,
                               s->c->kill_fd, e);
        /* Best effort: a container that cannot be stopped must not keep the others running. Its error is
         * reported with its progress. */
        return 0;
}

static void on_progress(void *userdata, const struct plan_action *a, const char *phase,
                        const struct stack_error *err)
{
        struct stopper *s = userdata;
        const struct stack_error *e = &s->errors[a - s->plan->actions];
        if (!s->c->progress)
                return;
        if (streq(phase, "start"))
                s->c->progress(s->c->userdata, a->target, STOP_STOPPING, NULL);
        else if (e->msg)
                s->c->progress(s->c->userdata, a->target, STOP_FAILED, e);
        else
                s->c->progress(s->c->userdata, a->target, STOP_STOPPED, NULL);
}

int stop_project(const struct stop_config *c, const struct stack_project *p, struct stack_error *err)
{
        _cleanup_project_status_ struct project_status st = {0};
        int k = status_project(&c->status, p->name, &st, err);
        if (k < 0)
                return k;
        /* The file was valid when up read it; should it fail now, the stops just lose their order. */
        _cleanup_graph_ struct graph *g = NULL;
        if (graph_build(p, &g, NULL) < 0)
                g = NULL;
        struct plan *plan = stop_plan(g, &st);
        struct stopper s = {.c = c,
                            .project = p->name,
                            .plan = plan,
                            .errors = xcalloc(plan->n_actions + 1, sizeof(*s.errors))};
        struct apply_ops ops = {.run = run_stop, .progress = on_progress};
        /* Every container of a step at once, as compose stops them. */
        k = apply_plan(plan, &ops, &s, 0, err);
        for (size_t i = 0; i < plan->n_actions; i++)
                stack_error_clear(&s.errors[i]);
        free(s.errors);
        plan_free(plan);
        return k;
}
