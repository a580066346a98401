/* `stack exec`: a command in a running container, through the OCI runtime's exec, so that it joins the
 * container's namespaces and cgroup and runs with the container's capabilities, seccomp filter, rlimits
 * and no_new_privs (the process object is the container's own, from its bundle, with the command, user,
 * working directory and environment changed as asked). */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "core/engine/reconcile.h"
#include "core/runtime/runtime.h"

struct exec_request {
        const char *project;
        const char *service;
        int index;           /* the replica's number, from 1 */
        char *const *argv;   /* the command; at least one word */
        char *const *env;    /* KEY=VALUE, or KEY for the value in our own environment */
        const char *user;    /* NULL: the container's */
        const char *workdir; /* NULL: the container's */
        bool privileged;     /* every capability the host grants, as docker exec --privileged */
        bool detach;         /* return once the process runs; its output goes nowhere */
        bool tty;            /* a pseudo-terminal relayed to stdio (stdio.in is the caller's terminal) */
        struct runtime_stdio stdio;
};

/* The running container of the service's replica: -ENOENT when the project has no such replica, -ESRCH
 * when it is not running (err says which, naming the service). */
int exec_find_container(const struct reconcile_config *c, const char *project, const char *service,
                        int index, char **ret_name, struct stack_error *err);

/* Runs the command and waits for it (unless detach). *ret_exit_code is what `stack exec` exits with: the
 * command's code, 128+N for signal N, and docker's 126 (cannot run) or 127 (not found) when the runtime
 * could not start it (then err says why and the function returns <0). */
int exec_run(const struct reconcile_config *c, const struct exec_request *rq, int *ret_exit_code,
             struct stack_error *err);

/* The exit code for a wait status of the runtime's exec or run, given the runtime's logged error (may be
 * empty): 126/127 for a command that could not be started. Pure; unit-tested. */
int exec_exit_code(int status, const char *runtime_error);
