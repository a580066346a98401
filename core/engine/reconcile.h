/* observe -> plan -> apply: making the host match a project, and taking it down again.
 *
 * The desired state comes from the model (with each service's config hash and image ID), the observed
 * state from stack's records checked against the runtime and the supervisor, the plan from plan.c, and
 * the actions run through apply.c with the real executor: networks and namespaces through net/, bundles
 * through container.c, the runtime's create/start/stop through the project's supervisor (the containers'
 * subreaper), and one firewall update per plan through the firewall interface (net/firewall.h).
 *
 * The engine prints nothing: what happens is reported as typed events to the caller (struct
 * reconcile_events), which draws them (cmd/progress.c), and errors come back in a stack_error.
 *
 * The parts, each in its own file: reconcile-desired.c (model -> desired state), reconcile-observe.c
 * (records, runtime and supervisor -> observed state; status), reconcile-exec.c (the executor: networks,
 * volumes, waits, dispatch), reconcile-containers.c (creating, stopping and removing containers),
 * reconcile-publish.c (firewall and DNS), and this file's entry points in reconcile.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/engine/plan.h"
#include "net/firewall.h"
#include "spec/model.h"

enum reconcile_phase {
        RECONCILE_START,
        RECONCILE_DONE,
        RECONCILE_FAILED,
};

/* What the reconciler reports. Every member may be NULL. Called from the executor's worker threads, one
 * call at a time (apply.c holds its lock), so lines drawn from them never interleave. */
struct reconcile_events {
        void *userdata;
        /* An action of the plan starts, is done, or failed (err set). */
        void (*action)(void *userdata, const struct plan_action *a, enum reconcile_phase phase,
                       const struct stack_error *err);
        /* With dry_run: the plan that would run. Nothing is changed. */
        void (*plan)(void *userdata, const struct plan *plan);
        /* Something the user should know that does not stop the reconcile: a planner warning, a
         * failed conntrack cleanup. */
        void (*warning)(void *userdata, const char *msg);
};

struct reconcile_config {
        const char *root;
        const char *run_root;
        const char *runtime;
        int parallel; /* -1: unlimited */
        bool dry_run;
        int64_t stop_timeout_usec;             /* -t: -1 for each container's own stop_grace_period */
        const struct reconcile_events *events; /* NULL: nothing is reported */
        /* The firewall to publish through. NULL: firewall_open(firewall_backend) when first needed (a
         * reconcile that publishes nothing never opens one). Not freed by the reconciler. */
        struct firewall *firewall;
        const char *firewall_backend; /* NULL: the host's default */
};

/* Brings the project up. With dry_run, reports the plan and changes nothing. */
int reconcile_up(const struct reconcile_config *c, const struct stack_project *p,
                 const struct plan_options *o, struct stack_error *err);
/* Takes the project down. p may be NULL when the compose file is gone: then stack's records say what to
 * remove. remove_volumes in o also removes the project's named volumes (from p, or every volume the
 * records name). */
int reconcile_down(const struct reconcile_config *c, const char *project, const struct stack_project *p,
                   const struct plan_options *o, struct stack_error *err);

/* Runs a plan made elsewhere (the lifecycle verbs' stops, starts and removals) through the real executor,
 * with its progress reported as events. With dry_run, reports the plan and changes nothing. */
int reconcile_apply(const struct reconcile_config *c, const struct stack_project *p, const struct plan *plan,
                    struct stack_error *err);

/* Waits until every container of the given services (NULL: all) is running (healthy where it has a
 * health check) or, for one-shot services, exited 0. timeout_usec 0: no limit. */
int reconcile_wait_ready(const struct reconcile_config *c, const struct stack_project *p, char **services,
                         uint64_t timeout_usec, struct stack_error *err);
