/* `stack run`: one-off containers of a service, named <project>-<service>-run-<12 hex>, labelled
 * com.docker.compose.oneoff=True and recorded as one-offs, so that `up` never counts them as orphans nor
 * scales them away, the supervisor never restarts them (their restart policy is "no") and `down` removes
 * them with the rest of the project.
 *
 * Where it runs: attached (the default), the CLI runs the container itself with the runtime's `run`, whose
 * stdio (or pty, through the console socket) are the caller's and whose exit status is the container's:
 * the supervisor cannot hand a container the caller's terminal or stdin, and the caller waits for the exit
 * code anyway. Detached (-d), it is created and started through the project's supervisor as `up`'s
 * containers are, which reaps it and records its exit code and keeps its log. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "core/engine/reconcile.h"
#include "core/runtime/runtime.h"
#include "spec/model.h"

/* What `run`'s options change in the service. Each NULL/false leaves the service's own. */
struct run_overrides {
        char **command;         /* the command after SERVICE; NULL: the service's */
        const char *entrypoint; /* split on blanks; "" clears the image's */
        char **env;             /* KEY=VALUE, or KEY for our own value */
        char **labels;          /* KEY=VALUE */
        const char *user, *workdir;
        char **cap_add, **cap_drop;
        bool service_ports; /* publish the service's ports (not published otherwise) */
        char **publish;     /* -p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO], one port each */
};

/* The project with `service` as the one-off runs it: the overrides applied, no restart, no published
 * ports unless service_ports. Shares everything it does not change with p, which must outlive it. */
struct run_project;
int run_project_new(const struct stack_project *p, const char *service, const struct run_overrides *o,
                    struct run_project **ret, struct stack_error *err);
const struct stack_project *run_project_get(const struct run_project *rp);
void run_project_free(struct run_project *rp);

/* <project>-<service>-run-<12 random hex digits>. */
char *run_container_name(const char *project, const char *service);

struct run_request {
        const struct stack_project *project; /* from run_project_get() */
        const char *service;
        const char *name;
        bool detach;
        bool tty; /* attached: a pseudo-terminal relayed to stdio (stdio.in is the caller's terminal) */
        struct runtime_stdio stdio;
};

/* Creates the one-off container: networks, record, bundle; detached, also starts it through the
 * supervisor. Takes the project's lock for the time. */
int run_create(const struct reconcile_config *c, const struct run_request *rq, struct stack_error *err);
/* Runs a container made by run_create (attached) in the foreground until it exits; *ret_exit_code is its
 * exit code (128+N for signal N; 126/127 when its command could not be started, then err says why). */
int run_foreground(const struct reconcile_config *c, const struct run_request *rq, int *ret_exit_code,
                   struct stack_error *err);
/* Removes a one-off container and everything of it (runtime state, bundle, network attachments, firewall
 * and name records). */
int run_remove(const struct reconcile_config *c, const struct stack_project *p, const char *name,
               struct stack_error *err);
