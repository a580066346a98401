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
#include "core/engine/health.h"
#include "core/runtime/container-id.h"

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

/* The supervisor's word on one container, as its "status" reply and its status files carry it. */
struct supervisor_container {
        char *name;
        char *service;
        enum container_state state; /* CREATED, RUNNING, RESTARTING or EXITED */
        enum health_status health;
        pid_t pid;
        int exit_code;
        int restart_count;
        bool stopped;                                          /* stopped by a stack command */
        uint64_t started_at, finished_at;                      /* realtime */
        struct health_probe_result health_log[HEALTH_LOG_MAX]; /* most recent last */
        int n_health_log;
};
void supervisor_container_done(struct supervisor_container *c);
/* Whether the supervisor's word on c can be taken as it is. An exit it never saw start (started_at 0: a
 * create interrupted with the `up` that asked for it, a table rebuilt from the records) says nothing of how
 * the container ended, and must be asked of the runtime; otherwise a container that never ran would pass
 * for a one-shot that completed. */
bool supervisor_container_known(const struct supervisor_container *c);
/* Parses one container's status object (the wire's and the status file's shape). */
void supervisor_container_from_json(const struct cJSON *j, struct supervisor_container *ret);

/* Every container the running supervisor knows, sorted as it keeps them. -ECONNREFUSED and friends when
 * none runs. */
int supervisor_status(const char *run_root, const char *project, struct supervisor_container **ret,
                      size_t *ret_n, struct stack_error *err);
/* The recorded state of one container (status/<name>.json): 0, or -ENOENT when there is none. */
int supervisor_saved_status(const char *run_root, const char *project, const char *name,
                            struct supervisor_container *ret);
void supervisor_container_list_free(struct supervisor_container *l, size_t n);

/* Reads one reply line from fd and parses it; {"error": "..."} becomes an error. */
int supervisor_receive(int fd, const char *project, struct cJSON **ret_reply, struct stack_error *err);
/* Asks the supervisor to stop a container (timeout_usec -1: its own grace period) and waits until it has
 * stopped. When cancel_fd (-1: none) becomes readable meanwhile, a second request asks it to kill the
 * container at once, and the first request's answer is still awaited. */
int supervisor_stop(const char *run_root, const char *project, const char *name, int64_t timeout_usec,
                    int cancel_fd, struct stack_error *err);

struct stack_logging;
/* A service's logging as its container record carries it for the supervisor: {"driver", "max_size",
 * "max_file"}. The compose file was validated when loaded (spec/logging.h): here a value that does not
 * resolve gets the bounded default. */
struct cJSON *supervisor_log_spec(const struct stack_logging *l);

/* Where the runtime keeps its state for a run root, and the argv prefix to call it with. */
char *supervisor_runtime_root(const char *run_root);
