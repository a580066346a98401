/* Driving the OCI runtime (crun by default, runc or another) through its command line.
 *
 * Every container's runtime state lives under the runtime's own --root inside stack's run root, so
 * stack's containers never mix with anybody else's and `stack` can always find them after a crash. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"

struct runtime;

enum runtime_status {
        RUNTIME_ABSENT,
        RUNTIME_CREATING,
        RUNTIME_CREATED,
        RUNTIME_RUNNING,
        RUNTIME_STOPPED,
        RUNTIME_PAUSED,
};

struct runtime_state {
        enum runtime_status status;
        pid_t pid; /* 0 when there is no process */
};

/* path: the runtime binary or a name looked up in PATH; NULL: $STACK_RUNTIME, else "crun".
 * state_root: the runtime's --root (created if missing). */
int runtime_new(const char *path, const char *state_root, struct runtime **ret, struct stack_error *err);
void runtime_free(struct runtime *rt);
const char *runtime_path(const struct runtime *rt);
/* Whether commands run in a private mount namespace without the cgroup v2 hierarchy (see runtime.c). */
bool runtime_hides_unified_cgroup(const struct runtime *rt);

/* `create --bundle B --pid-file <B>/pid ID`: the container's stdin is /dev/null and its stdout and stderr
 * are stdio_fd (a log file), which it keeps for its whole life, independent of us. */
/* The runtime's create without waiting for it: the caller reaps the pid (a subreaper's event loop) and hands
 * the wait status to runtime_create_finish(), which turns a failure into the runtime's own message. */
int runtime_create_spawn(struct runtime *rt, const char *id, const char *bundle, int stdio_fd,
                         pid_t *ret_pid, struct stack_error *err);
int runtime_create_finish(struct runtime *rt, const char *id, const char *bundle, int status,
                          struct stack_error *err);
int runtime_create(struct runtime *rt, const char *id, const char *bundle, int stdio_fd,
                   struct stack_error *err);
int runtime_start(struct runtime *rt, const char *id, struct stack_error *err);
/* The same without waiting, as runtime_create_spawn(): the output (for the error message) goes to out_fd. */
int runtime_start_spawn(struct runtime *rt, const char *id, int out_fd, pid_t *ret_pid,
                        struct stack_error *err);
int runtime_start_finish(struct runtime *rt, const char *id, int status, const char *output,
                         struct stack_error *err);
/* Signals the container's init. */
int runtime_kill(struct runtime *rt, const char *id, int sig, struct stack_error *err);
/* Freezes every process of the container (the cgroup freezer), and thaws them. */
int runtime_pause(struct runtime *rt, const char *id, struct stack_error *err);
int runtime_resume(struct runtime *rt, const char *id, struct stack_error *err);
/* Removes the container's runtime state and cgroup; a container that is already gone is success. */
int runtime_delete(struct runtime *rt, const char *id, bool force, struct stack_error *err);
/* Deletes (with force) every container of ids the runtime still knows, in as few runtime processes as it
 * allows; -EOPNOTSUPP for a runtime that can only delete one at a time (then runtime_delete each). A
 * failure may leave some deleted and others not: runtime_delete each of them then. */
int runtime_delete_many(struct runtime *rt, char *const *ids, struct stack_error *err);
/* RUNTIME_ABSENT (and 0) when the runtime does not know the container. */
int runtime_state(struct runtime *rt, const char *id, struct runtime_state *ret, struct stack_error *err);
/* Whether the runtime keeps state for id (a directory under its root), without running it. */
bool runtime_exists(struct runtime *rt, const char *id);
/* Whether the container was created but never started: crun and runc both keep an exec.fifo in the
 * container's state directory until `start` opens it. False for a runtime that does not. */
bool runtime_awaiting_start(struct runtime *rt, const char *id);
/* Runs argv in the container and waits; output goes to out_fd (-1: discarded). *ret_status is the exit
 * status as waitpid reports it. */
int runtime_exec(struct runtime *rt, const char *id, char *const *argv, int out_fd, int *ret_status,
                 struct stack_error *err);
/* The standard streams of a process the runtime starts on the caller's behalf (exec, run): each an fd the
 * caller owns, or -1 for /dev/null. */
struct runtime_stdio {
        int in, out, err;
};

struct runtime_exec_options {
        const char *process;        /* an OCI process object (process.json) to run in the container */
        const char *console_socket; /* with "terminal": true in it: where the runtime sends the pty master */
        const char *log;            /* the runtime's own errors, as JSON lines (runtime_read_log) */
        bool detach;                /* the runtime returns once the process runs */
        struct runtime_stdio stdio;
};
/* `exec --process P [--console-socket S] [--detach] ID` without waiting: the caller waits for *ret_pid,
 * whose exit status is the process's (or the runtime's 255 when it could not start it; the log says why). */
int runtime_exec_spawn(struct runtime *rt, const char *id, const struct runtime_exec_options *o,
                       pid_t *ret_pid, struct stack_error *err);
/* `run --bundle B [--console-socket S] ID` in the foreground, without waiting: the runtime creates and
 * starts the container, waits for it, deletes its state and exits with its exit status. stdio are the
 * container's (unless the bundle asks for a terminal). Errors go to <bundle>/runtime.log. */
int runtime_run_spawn(struct runtime *rt, const char *id, const char *bundle, const char *console_socket,
                      const struct runtime_stdio *stdio, pid_t *ret_pid, struct stack_error *err);
/* The error lines of a runtime's --log-format json log, joined by newlines; "" when there are none. */
char *runtime_read_log(const char *path);
/* The same with the runtime's exec options before the id ("--user", "1000:1000", "--cwd", "/app", ...). */
int runtime_exec_with(struct runtime *rt, const char *id, char *const *opts, char *const *argv, int out_fd,
                      int *ret_status, struct stack_error *err);
const char *runtime_status_to_string(enum runtime_status s);
/* Total wall time spent in runtime processes so far (for benchmarks: the rest is stack's own work). */
uint64_t runtime_time_usec(const struct runtime *rt);
unsigned runtime_calls(const struct runtime *rt);
