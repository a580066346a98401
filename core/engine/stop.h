/* Stopping a project's live containers (attached `up` on Ctrl-C or --abort-on-container-exit) as a plan:
 * one stop action per live container, each after the stops of the containers that depend on it (the
 * graph's order), run through apply.c so that the containers of one step stop at once. The containers
 * stop through the project's supervisor, which waits for each one's grace period. */
#pragma once

#include <stdint.h>

#include "core/base/error.h"
#include "core/engine/plan.h"
#include "core/engine/status.h"
#include "spec/model.h"

struct graph;

enum stop_phase {
        STOP_STOPPING,
        STOP_STOPPED,
        STOP_FAILED, /* err set; the others still stop */
};

struct stop_config {
        struct status_config status; /* where the project's records and run state live */
        int64_t timeout_usec;        /* -1: each container's own stop_grace_period */
        /* When readable, what still stops is killed at once (a second Ctrl-C); -1: never. */
        int kill_fd;
        /* Progress, one call at a time; may be NULL. */
        void (*progress)(void *userdata, const char *name, enum stop_phase phase,
                         const struct stack_error *err);
        void *userdata;
};

/* The plan: a STOP_CONTAINER action for each live container in st, after the stops of the containers
 * whose service depends on its service in g (g may be NULL: no order). Pure. */
struct plan *stop_plan(const struct graph *g, const struct project_status *st);

/* Stops every live container of the project p (its graph orders the stops). A container that fails to
 * stop is reported through progress and does not keep the others running. */
int stop_project(const struct stop_config *c, const struct stack_project *p, struct stack_error *err);
