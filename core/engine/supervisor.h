/* The per-project supervisor: one small process on an sd-event loop that outlives the CLI.
 *
 * It is the child subreaper of the project's containers (it runs the runtime's `create` itself, so each
 * container's init is reparented to it), records exit codes and times, runs health checks on their
 * schedule, applies restart policies, and answers the CLI on a unix socket only root can open:
 *
 *   <run-root>/projects/<project>/supervisor.sock   control socket (one JSON request per line)
 *   <run-root>/projects/<project>/supervisor.pid    "<pid> <start time>"
 *   <run-root>/projects/<project>/status/<name>.json  last known state of each container
 *
 * Containers write their output straight to their log files, so they never depend on the supervisor: if
 * it dies, they keep running, and the next stack command starts a new supervisor that re-adopts them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"

struct cJSON;

struct supervisor_config {
        const char *root;
        const char *run_root;
        const char *project;
        const char *runtime;
        bool foreground; /* attached `up`: stay in the caller's session, do not detach */
};

/* Runs the supervisor's loop until the project has no containers left (or SIGTERM). */
int supervisor_run(const struct supervisor_config *c, struct stack_error *err);

/* Makes sure a supervisor runs for the project: checks the pid file (pid and start time), otherwise
 * starts `<self> supervise` detached and waits until its socket answers. */
int supervisor_ensure(const struct supervisor_config *c, struct stack_error *err);
/* Whether a supervisor is running for the project (without starting one). */
bool supervisor_running(const char *run_root, const char *project);

/* Sends one request and waits for its reply (a JSON object; {"error": "..."} becomes an error). */
int supervisor_call(const char *run_root, const char *project, const struct cJSON *request,
                    struct cJSON **ret_reply, struct stack_error *err);
/* Sends one request without waiting: the reply (one line) or EOF arrives on *ret_fd, which the caller
 * polls and closes. For the CLI waiting on many containers at once. */
int supervisor_send(const char *run_root, const char *project, const struct cJSON *request, int *ret_fd,
                    struct stack_error *err);
/* Convenience: {"op": op, "name": name} and an optional number field. */
int supervisor_op(const char *run_root, const char *project, const char *op, const char *name,
                  struct cJSON **ret_reply, struct stack_error *err);

/* The last state the supervisor recorded for a container (status/<name>.json); NULL if none. */
struct cJSON *supervisor_read_status(const char *run_root, const char *project, const char *name);

/* Where the runtime keeps its state for a run root, and the argv prefix to call it with. */
char *supervisor_runtime_root(const char *run_root);
