#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/engine/apply.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"

enum action_state {
        ACTION_PENDING,
        ACTION_RUNNING,
        ACTION_DONE,
        ACTION_FAILED,
};

struct runner {
        const struct plan *plan;
        const struct apply_ops *ops;
        void *userdata;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        enum action_state *state;
        size_t remaining; /* not yet done */
        size_t running;
        bool failed;
        struct stack_error first_error;
};

static bool ready(const struct runner *r, size_t i)
{
        const struct plan_action *a = &r->plan->actions[i];
        if (r->state[i] != ACTION_PENDING)
                return false;
        for (size_t k = 0; k < a->n_after; k++)
                if (r->state[a->after[k]] != ACTION_DONE)
                        return false;
        return true;
}

/* Called with the lock held: the next runnable action, or SIZE_MAX. */
static size_t next_ready(const struct runner *r)
{
        for (size_t i = 0; i < r->plan->n_actions; i++)
                if (ready(r, i))
                        return i;
        return SIZE_MAX;
}

static void *worker(void *arg)
{
        struct runner *r = arg;
        pthread_mutex_lock(&r->lock);
        for (;;) {
                size_t i = SIZE_MAX;
                while (!r->failed && r->remaining > 0 && (i = next_ready(r)) == SIZE_MAX) {
                        if (r->running == 0) {
                                /* Nothing runs and nothing can: the plan's prerequisites loop. */
                                r->failed = true;
                                stack_error_set(&r->first_error, EDEADLK, "plan has circular prerequisites");
                                break;
                        }
                        pthread_cond_wait(&r->changed, &r->lock);
                }
                if (r->failed || r->remaining == 0)
                        break;
                const struct plan_action *a = &r->plan->actions[i];
                r->state[i] = ACTION_RUNNING;
                r->running++;
                if (r->ops->progress)
                        r->ops->progress(r->userdata, a, "start", NULL);
                pthread_mutex_unlock(&r->lock);

                struct stack_error e = {0};
                int ret = r->ops->run(r->userdata, a, &e);

                pthread_mutex_lock(&r->lock);
                r->running--;
                if (ret < 0) {
                        r->state[i] = ACTION_FAILED;
                        if (!r->failed) {
                                r->failed = true;
                                if (!e.msg)
                                        stack_error_errno(&e, ret, "failed");
                                r->first_error = e;
                                e = (struct stack_error){0};
                        }
                        if (r->ops->progress)
                                r->ops->progress(r->userdata, a, "failed", &r->first_error);
                } else {
                        r->state[i] = ACTION_DONE;
                        r->remaining--;
                        if (r->ops->progress)
                                r->ops->progress(r->userdata, a, "done", NULL);
                }
                stack_error_clear(&e);
                pthread_cond_broadcast(&r->changed);
        }
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

int apply_plan(const struct plan *p, const struct apply_ops *ops, void *userdata, int parallel,
               struct stack_error *err)
{
        if (p->n_actions == 0)
                return 0;
        struct runner r = {
            .plan = p,
            .ops = ops,
            .userdata = userdata,
            .lock = PTHREAD_MUTEX_INITIALIZER,
            .changed = PTHREAD_COND_INITIALIZER,
            .remaining = p->n_actions,
        };
        r.state = xcalloc(p->n_actions, sizeof(enum action_state));

        size_t n = parallel > 0 ? (size_t) parallel : p->n_actions;
        if (n > p->n_actions)
                n = p->n_actions;
        /* Waits for health can block for a long time; a generous cap keeps threads cheap but bounded. */
        if (n > 64)
                n = 64;
        _cleanup_free_ pthread_t *threads = xcalloc(n, sizeof(pthread_t));
        size_t started = 0;
        for (; started < n; started++)
                if (pthread_create(&threads[started], NULL, worker, &r) != 0)
                        break;
        if (started == 0)
                worker(&r); /* no threads to be had: run serially in this one */
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);

        free(r.state);
        pthread_mutex_destroy(&r.lock);
        pthread_cond_destroy(&r.changed);
        if (r.failed) {
                if (err && !err->msg)
                        *err = r.first_error;
                else
                        stack_error_clear(&r.first_error);
                return -(err && err->code ? err->code : EIO);
        }
        return 0;
}
