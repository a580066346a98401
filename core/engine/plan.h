/* The planner: a pure function from (desired, observed) to an ordered set of actions, each with a reason.
 *
 * No I/O happens here. The desired state comes from the model (services with their config hash, image and
 * attachments), the observed state from the kernel, the runtime and stack's records. The result is a DAG:
 * every action lists the actions that must finish before it, so the executor can run independent actions
 * in parallel and still respect depends_on and teardown order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/runtime/container-id.h"
#include "spec/model.h"

struct plan_dep {
        char *service;
        enum stack_dep_condition condition;
        bool required;
        bool restart;
};

struct plan_service {
        char *name;
        int scale;
        char *container_name; /* fixed name (container_name:), or NULL for <project>-<service>-<n> */
        char *config_hash;
        char *image_id;
        char **networks; /* keys of the networks it attaches to */
        char **volumes;  /* keys of the named volumes it mounts */
        struct plan_dep *deps;
        size_t n_deps;
        char *joins; /* network_mode service:NAME: NAME, whose replica 1 is created before this one */
        bool has_healthcheck;
        bool restart_no; /* restart policy "no": an exited container with status 0 is "completed" */
};

struct plan_desired {
        char *project;
        struct plan_service *services; /* enabled services */
        size_t n_services;
        char **all_services; /* every service of the file, enabled or not (orphans are the others) */
        char **networks;     /* keys of the project's own (non-external) networks in use */
        char **volumes;      /* keys of the project's own (non-external) volumes */
        /* Dependency order is the graph's (graph.h); the planner never works it out again: */
        char **start_order; /* service names, each after what it depends on (graph_start_order); NULL:
                             * the order of `services` */
        char **targets;     /* the services `up SERVICE...` acts on: those named and, unless --no-deps,
                             * what they depend on (graph_closure); NULL: the named ones, or all */
};

struct plan_observed_container {
        char *name;
        char *service;
        int number;
        char *config_hash;
        char *image_id;
        char **networks;
        char **volumes;
        enum container_state state; /* never RESTARTING: observe reports it RUNNING */
        int exit_code;
        bool stopped;          /* stopped by a stack command, not exited on its own: up starts it again */
        uint64_t created_usec; /* realtime, orders orphans by age */
};

struct plan_observed {
        struct plan_observed_container *containers;
        size_t n_containers;
        char **networks;      /* keys of the project networks that exist */
        char **volumes;       /* keys of the project volumes that exist */
        bool publish_pending; /* an earlier apply changed containers but did not finish their firewall
                               * and DNS update (it was killed): this plan must do it */
        char *firewall_drift; /* the kernel lacks rules the project's containers have (flushed behind
                               * stack's back): why the plan publishes again; NULL when they are there */
};

struct plan_options {
        bool down;           /* plan teardown: the desired state is empty */
        bool remove_volumes; /* down -v */
        bool force_recreate;
        bool no_recreate;
        bool always_recreate_deps;
        bool no_deps; /* act on the named services only, not their dependencies */
        bool no_start;
        bool remove_orphans;
        int max_orphans; /* orphans beyond this many are removed, oldest first; -1: no limit */
        char **services; /* services named on the command line; NULL: all */
};

enum plan_action_kind {
        PLAN_CREATE_NETWORK,
        PLAN_CREATE_VOLUME,
        PLAN_CREATE_CONTAINER,
        PLAN_START_CONTAINER,
        PLAN_WAIT_SERVICE, /* wait for a service's depends_on condition */
        PLAN_STOP_CONTAINER,
        PLAN_REMOVE_CONTAINER,
        PLAN_REMOVE_NETWORK,
        PLAN_REMOVE_VOLUME,
        PLAN_PUBLISH_PORTS, /* bring the project's firewall rules in line with its containers and networks */
};

struct plan_action {
        enum plan_action_kind kind;
        char *target;                       /* container, network or volume key; service name for WAIT */
        char *service;                      /* the container's service */
        int number;                         /* the container's replica number */
        enum stack_dep_condition condition; /* WAIT */
        char *reason;
        size_t *after; /* indices of actions that must finish first */
        size_t n_after;
};

struct plan {
        struct plan_action *actions; /* in a valid serial order */
        size_t n_actions;
        char **warnings; /* e.g. compose's orphan warning */
        size_t work;     /* name comparisons and prerequisites the planner went through: for the tests,
                          * which check that it grows as n log n with the project, never n^2 */
};

/* Computes the plan. Returns 0, or -EINVAL with err set for an inconsistent input (a start order or target
 * naming a service the desired state lacks). */
int plan_compute(const struct plan_desired *desired, const struct plan_observed *observed,
                 const struct plan_options *options, struct plan **ret, struct stack_error *err);

struct graph;
/* Takes the desired state's start order and, for `up SERVICE...`, its targets from the project's graph. */
int plan_desired_order(struct plan_desired *d, const struct graph *g, const struct plan_options *o,
                       struct stack_error *err);
/* The actions of `kind` as one plan and all others as a second one, each keeping the prerequisites among
 * its own actions. Sound when every prerequisite across the two points from the second plan to the
 * first: then running the first to its end before the second meets them all (a teardown's stops before
 * its removals), and any the other way round only ordered a removal before a stop, which no longer
 * matters once the stops run first. Pure. */
void plan_split(const struct plan *p, enum plan_action_kind kind, struct plan **ret_first,
                struct plan **ret_rest);
void plan_free(struct plan *p);
const char *plan_action_kind_name(enum plan_action_kind kind);
/* One line per action, "create container web-1: not found", for --dry-run and the tests. */
char *plan_format(const struct plan *p);

/* The container name of replica `number` of a service. */
char *plan_container_name(const char *project, const struct plan_service *s, int number);

void plan_desired_free(struct plan_desired *d);
void plan_observed_free(struct plan_observed *o);
