/* The lifecycle verbs on a project's existing containers: start, stop, restart, kill, pause, unpause and
 * rm, as compose has them. Each acts on the containers of the given services (NULL: every service), in
 * dependency order (stops in reverse), and never creates a container: that is `up`'s (and `create`'s).
 *
 * Stops, starts and removals are plans run through the reconciler's executor (reconcile_apply), so they
 * reach the containers through the project's supervisor: it knows a container it stopped for a command is
 * not to be revived by its restart policy, and a container it starts again keeps its name, its network
 * namespace and its address. The plans are pure functions of the graph and the observed status, for the
 * unit tests. Kill goes through the supervisor too; pause and resume are the runtime's (the cgroup
 * freezer). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "core/engine/plan.h"
#include "core/engine/reconcile.h"
#include "core/engine/status.h"
#include "core/engine/top.h"
#include "spec/model.h"

struct graph;

/* ---- plans (pure) ---- */

/* Stops of the live containers of services (NULL: all), each after the stops of its dependents. */
struct plan *lifecycle_stop_plan(const struct graph *g, const struct project_status *st,
                                 char *const *services);
/* Starts of the containers of services and what they depend on that are not running, in dependency
 * order, waiting on a dependency's healthy or completed condition before its dependents start. A service
 * that has no container at all is an error ("service web has no container to start"). */
int lifecycle_start_plan(const struct graph *g, const struct project_status *st, char *const *services,
                         struct plan **ret, struct stack_error *err);
/* The services `restart` acts on: services (NULL: all) and, unless no_deps, every service that depends on
 * one of them with `restart: true`, transitively. In start order. */
char **lifecycle_restart_services(const struct graph *g, char *const *services, bool no_deps);
/* Restarts of every container of the restart services: a live one stops then starts, another just
 * starts; a service's containers go once those of its dependencies are back. */
int lifecycle_restart_plan(const struct graph *g, const struct project_status *st, char *const *services,
                           bool no_deps, struct plan **ret, struct stack_error *err);
/* Removals of the named containers, then one update of the project's published ports and names. */
struct plan *lifecycle_remove_plan(const struct project_status *st, char *const *names);

/* ---- the verbs ---- */

int lifecycle_stop(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                   struct stack_error *err);
int lifecycle_start(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                    struct stack_error *err);
int lifecycle_restart(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                      bool no_deps, struct stack_error *err);

/* Sends sig to the init of each running container of services. SIGKILL and a container's stop signal end
 * it for good (its restart policy does not bring it back, as docker's kill); another signal is only
 * delivered. *ret_names: the containers signalled. */
int lifecycle_kill(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                   int sig, char ***ret_names, struct stack_error *err);
/* Freezes (pause) or thaws the running (paused) containers of services. *ret_names: those changed. */
int lifecycle_pause(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                    bool pause, char ***ret_names, struct stack_error *err);

/* The containers of services that `rm` would remove: the stopped ones, with stop also the live ones. */
int lifecycle_removable(const struct reconcile_config *c, const struct stack_project *p,
                        char *const *services, bool stop, char ***ret_names, struct stack_error *err);
/* Stops (with stop) and removes the named containers; remove_volumes also removes their anonymous
 * volumes. Their networks stay, as compose's rm leaves them. */
int lifecycle_remove(const struct reconcile_config *c, const struct stack_project *p, char *const *names,
                     bool stop, bool remove_volumes, struct stack_error *err);

/* The processes of each running (or paused) container of services, by container name. */
struct lifecycle_top {
        char *name;
        struct top_process *procs;
        size_t n;
};
int lifecycle_top(const struct reconcile_config *c, const struct stack_project *p, char *const *services,
                  struct lifecycle_top **ret, size_t *ret_n, struct stack_error *err);
void lifecycle_top_free(struct lifecycle_top *l, size_t n);
