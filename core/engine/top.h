/* The processes of a container, as `docker compose top` lists them: found through the container's cgroup
 * (every process in it, whatever its parent), described from /proc in ps -ef's columns. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"

struct top_process {
        uid_t uid;
        pid_t pid, ppid;
        int cpu_percent;      /* ps's C: CPU time over lifetime, in percent (capped at 99) */
        uint64_t start_epoch; /* seconds since the epoch */
        char *tty;            /* "?" without a terminal, else "pts/N" or "ttyN" */
        uint64_t cpu_seconds; /* user + system */
        char *cmd;            /* the command line, or [comm] for one without */
};

/* The processes of the cgroup the process init_pid is in (its pids, freezer or memory hierarchy on cgroup
 * v1, the unified one on v2), sorted by pid. proc and cgroup_root: "/proc" and "/sys/fs/cgroup". */
int top_processes(const char *proc, const char *cgroup_root, pid_t init_pid, struct top_process **ret,
                  size_t *ret_n, struct stack_error *err);
void top_process_list_free(struct top_process *l, size_t n);
/* Whether the cgroup freezer holds the process's cgroup frozen (or freezing): such a process acts on no
 * signal, SIGKILL included, until it is thawed. */
bool top_process_frozen(const char *proc, const char *cgroup_root, pid_t pid);

/* ps's formats: STIME is HH:MM for a process started today, else "MonDD" this year, else the year; TIME
 * is [DD-]HH:MM:SS. now is the current time in seconds since the epoch. Write into buf (>= 16 bytes). */
const char *top_format_stime(uint64_t start_epoch, uint64_t now, char *buf, size_t size);
const char *top_format_time(uint64_t seconds, char *buf, size_t size);
/* A user name for the host's uid, else the number. */
char *top_user_name(uid_t uid);
