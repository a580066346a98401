/* The executor with a fake vtable: order, bounded parallelism, failure handling. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "core/engine/apply.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

struct fake {
        pthread_mutex_t lock;
        int running, max_running;
        size_t done_order[64];
        size_t n_done;
        const struct plan *plan;
        const char *fail_target;
        int progress_lines;
};

static int fake_run(void *userdata, const struct plan_action *a, struct stack_error *err)
{
        struct fake *f = userdata;
        pthread_mutex_lock(&f->lock);
        f->running++;
        if (f->running > f->max_running)
                f->max_running = f->running;
        pthread_mutex_unlock(&f->lock);
        usleep(20000);
        pthread_mutex_lock(&f->lock);
        f->running--;
        f->done_order[f->n_done++] = a - f->plan->actions;
        pthread_mutex_unlock(&f->lock);
        if (f->fail_target && streq(a->target, f->fail_target))
                return stack_error_set(err, EIO, "%s: boom", a->target);
        return 0;
}

static void fake_progress(void *userdata, const struct plan_action *a, const char *phase,
                          const struct stack_error *err)
{
        struct fake *f = userdata;
        f->progress_lines++;
}

static const struct apply_ops ops = {.run = fake_run, .progress = fake_progress};

/* A fan: one network, then N independent containers, then one waiting on all of them. */
static struct plan *fan(size_t n)
{
        struct plan *p = xcalloc(1, sizeof(*p));
        p->actions = xcalloc(n + 2, sizeof(struct plan_action));
        p->n_actions = n + 2;
        p->actions[0] = (struct plan_action){.kind = PLAN_CREATE_NETWORK, .target = xstrdup("net")};
        for (size_t i = 1; i <= n; i++) {
                struct plan_action *a = &p->actions[i];
                *a = (struct plan_action){.kind = PLAN_CREATE_CONTAINER, .target = xasprintf("c%zu", i)};
                a->after = xcalloc(1, sizeof(size_t));
                a->n_after = 1;
        }
        struct plan_action *last = &p->actions[n + 1];
        *last = (struct plan_action){.kind = PLAN_START_CONTAINER, .target = xstrdup("last")};
        last->after = xcalloc(n, sizeof(size_t));
        for (size_t i = 0; i < n; i++)
                last->after[i] = i + 1;
        last->n_after = n;
        return p;
}

static size_t position(const struct fake *f, size_t action)
{
        for (size_t i = 0; i < f->n_done; i++)
                if (f->done_order[i] == action)
                        return i;
        return SIZE_MAX;
}

int main(void)
{
        struct plan *p = fan(6);
        struct fake f = {.lock = PTHREAD_MUTEX_INITIALIZER, .plan = p};
        _cleanup_error_ struct stack_error err = {0};
        is_int(apply_plan(p, &ops, &f, 3, &err), 0, "the plan runs");
        is_int(f.n_done, 8, "every action ran once");
        is_int(position(&f, 0), 0, "the network came first");
        is_int(position(&f, 7), 7, "the joining action came last");
        ok(f.max_running <= 3, "never more than --parallel 3 at once (saw %d)", f.max_running);
        ok(f.max_running >= 2, "independent actions did run in parallel (saw %d)", f.max_running);
        is_int(f.progress_lines, 16, "a start and a done line per action");

        struct fake serial = {.lock = PTHREAD_MUTEX_INITIALIZER, .plan = p};
        is_int(apply_plan(p, &ops, &serial, 1, &err), 0, "serial run");
        is_int(serial.max_running, 1, "--parallel 1 is serial");

        struct fake failing = {.lock = PTHREAD_MUTEX_INITIALIZER, .plan = p, .fail_target = "net"};
        ok(apply_plan(p, &ops, &failing, 4, &err) == -EIO, "a failure is returned");
        contains(err.msg, "net: boom", "with the action's error");
        is_int(failing.n_done, 1, "nothing that depends on the failed action runs");

        plan_free(p);
        struct plan empty = {0};
        is_int(apply_plan(&empty, &ops, &f, 2, &err), 0, "an empty plan is a no-op");
        return done_testing();
}
