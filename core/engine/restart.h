/* Restart policies, pure: whether an exited container comes back, and after how long.
 *
 * `restart:` (no, always, on-failure[:N], unless-stopped) and deploy.restart_policy (condition none,
 * on-failure, any; delay; max_attempts; window) map onto one policy. The delay doubles from 100 ms up to
 * one minute, as Docker's does, and starts over once a run lasted at least 10 seconds; an explicit
 * deploy.restart_policy.delay is used as the fixed delay instead. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "spec/model.h"

struct restart_state {
        int attempts;          /* restarts so far (counted within the window, if one is set) */
        uint64_t window_start; /* monotonic usec of the first restart in the current window */
        uint64_t backoff_usec; /* the last delay used */
};

/* Decides whether to restart a container that exited with exit_code after running for run_usec.
 * stopped_by_user: stack stopped it (down, stop): never restart. On true, *ret_delay is the wait. */
bool restart_decide(const struct stack_restart_policy *p, struct restart_state *s, int exit_code,
                    bool stopped_by_user, uint64_t run_usec, uint64_t now_usec, uint64_t *ret_delay);
