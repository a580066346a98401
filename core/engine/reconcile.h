/* observe -> plan -> apply: making the host match a project, and taking it down again.
 *
 * The desired state comes from the model (with each service's config hash and image ID), the observed
 * state from stack's records checked against the runtime and the supervisor, the plan from plan.c, and
 * the actions run through apply.c with the real executor: networks and namespaces through net/, bundles
 * through container.c, the runtime's create/start/stop through the project's supervisor (the containers'
 * subreaper), and one firewall update per plan. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "core/base/error.h"
#include "core/engine/plan.h"
#include "spec/model.h"

enum progress_mode {
        PROGRESS_PLAIN,
        PROGRESS_TTY,
        PROGRESS_QUIET,
};

struct reconcile_config {
        const char *root;
        const char *run_root;
        const char *runtime;
        int parallel; /* -1: unlimited */
        bool dry_run;
        enum progress_mode progress;
        int64_t stop_timeout_usec; /* -t: -1 for each container's own stop_grace_period */
};

/* Brings the project up. With dry_run, prints the plan and changes nothing. */
int reconcile_up(const struct reconcile_config *c, const struct stack_project *p,
                 const struct plan_options *o, struct stack_error *err);
/* Takes the project down. p may be NULL when the compose file is gone: then stack's records say what to
 * remove. remove_volumes in o also removes the project's named volumes (from p, or every volume the
 * records name). */
int reconcile_down(const struct reconcile_config *c, const char *project, const struct stack_project *p,
                   const struct plan_options *o, struct stack_error *err);

/* Waits until every container of the given services (NULL: all) is running (healthy where it has a
 * health check) or, for one-shot services, exited 0. timeout_usec 0: no limit. */
int reconcile_wait_ready(const struct reconcile_config *c, const struct stack_project *p, char **services,
                         uint64_t timeout_usec, struct stack_error *err);
