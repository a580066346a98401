/* The executor: runs a plan's actions through a vtable, in dependency order, independent actions in
 * parallel (bounded). The real vtable drives the kernel, the runtime and the supervisor; the unit tests
 * use a fake that records the calls. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "core/engine/plan.h"

struct apply_ops {
        /* Runs one action. Called from worker threads: implementations must be thread-safe. */
        int (*run)(void *userdata, const struct plan_action *a, struct stack_error *err);
        /* Progress, called with a lock held so lines never interleave: phase is "start", "done" or
         * "failed" (err set). May be NULL. */
        void (*progress)(void *userdata, const struct plan_action *a, const char *phase,
                         const struct stack_error *err);
};

/* Runs the plan. parallel <= 0 means unlimited. Stops scheduling new actions after the first failure,
 * lets running ones finish, and returns the first error with the action named. */
int apply_plan(const struct plan *p, const struct apply_ops *ops, void *userdata, int parallel,
               struct stack_error *err);
