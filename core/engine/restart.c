#include "core/engine/restart.h"

#define MSEC 1000ULL
#define SEC (1000ULL * MSEC)

bool restart_decide(const struct stack_restart_policy *p, struct restart_state *s, int exit_code,
                    bool stopped_by_user, uint64_t run_usec, uint64_t now_usec, uint64_t *ret_delay)
{
        if (stopped_by_user)
                return false;
        switch (p->policy) {
        case STACK_RESTART_NO:
                return false;
        case STACK_RESTART_ON_FAILURE:
                if (exit_code == 0)
                        return false;
                break;
        case STACK_RESTART_ALWAYS:
        case STACK_RESTART_UNLESS_STOPPED:
                break;
        }

        /* A run long enough to count as healthy starts the backoff (and the count, for plain policies)
         * over, so a service that crashes once a day is not throttled as if it crash-looped. */
        if (run_usec >= 10 * SEC) {
                s->backoff_usec = 0;
                if (p->window_usec <= 0 && p->policy != STACK_RESTART_ON_FAILURE)
                        s->attempts = 0;
        }
        if (p->window_usec > 0 && s->attempts > 0 && now_usec - s->window_start > (uint64_t) p->window_usec)
                s->attempts = 0;
        if (p->max_retries > 0 && s->attempts >= p->max_retries)
                return false;

        if (s->attempts == 0)
                s->window_start = now_usec;
        s->attempts++;

        uint64_t delay;
        if (p->delay_usec > 0)
                delay = p->delay_usec;
        else {
                delay = s->backoff_usec ? s->backoff_usec * 2 : 100 * MSEC;
                if (delay > 60 * SEC)
                        delay = 60 * SEC;
        }
        s->backoff_usec = delay;
        *ret_delay = delay;
        return true;
}
