/* A container's processes from its cgroup and /proc (top.h). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/top.h"

/* The directory of the cgroup of a process in the first of the cgroup v1 hierarchies wanted ("" for the
 * unified one of v2, mounted at the root or under it on a hybrid host). */
static int cgroup_dir_in(const char *proc, const char *cgroup_root, pid_t pid, const char *const *wanted,
                         size_t n_wanted, char **ret, struct stack_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%d/cgroup", proc, (int) pid);
        _cleanup_free_ char *text = NULL;
        int k = read_full_file(path, &text, NULL, err);
        if (k < 0)
                return k;
        _cleanup_strv_free_ char **lines = strv_split(text, "\n");
        for (size_t w = 0; w < n_wanted; w++)
                STRV_FOREACH (l, lines) {
                        /* "ID:CONTROLLERS:PATH"; the unified line has no controllers. */
                        char *c1 = strchr(*l, ':');
                        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                        if (!c2)
                                continue;
                        _cleanup_free_ char *ctrls = xstrndup(c1 + 1, (size_t) (c2 - c1 - 1));
                        _cleanup_strv_free_ char **list = strv_split(ctrls, ",");
                        bool match = *wanted[w] ? strv_contains(list, wanted[w]) : !*ctrls;
                        if (!match)
                                continue;
                        _cleanup_free_ char *v2 = path_join(cgroup_root, "cgroup.controllers");
                        const char *mount = *wanted[w] ? wanted[w] : path_exists(v2) ? "" : "unified";
                        *ret = xasprintf("%s/%s%s", cgroup_root, mount, c2 + 1);
                        return 0;
                }
        return stack_error_set(err, ENOENT, "process %d: no cgroup found in %s", (int) pid, path);
}

/* Every container has a pids, freezer and memory hierarchy on cgroup v1; v2 has the unified one. */
static int cgroup_dir(const char *proc, const char *cgroup_root, pid_t pid, char **ret,
                      struct stack_error *err)
{
        static const char *const wanted[] = {"pids", "freezer", "memory", ""};
        return cgroup_dir_in(proc, cgroup_root, pid, wanted, ELEMENTSOF(wanted), ret, err);
}

bool top_process_frozen(const char *proc, const char *cgroup_root, pid_t pid)
{
        static const char *const wanted[] = {"freezer", ""};
        _cleanup_free_ char *dir = NULL, *state = NULL, *freeze = NULL;
        if (cgroup_dir_in(proc, cgroup_root, pid, wanted, ELEMENTSOF(wanted), &dir, NULL) < 0)
                return false;
        _cleanup_free_ char *v1 = path_join(dir, "freezer.state"), *v2 = path_join(dir, "cgroup.freeze");
        if (read_full_file(v1, &state, NULL, NULL) >= 0)
                return !startswith(state, "THAWED");
        return read_full_file(v2, &freeze, NULL, NULL) >= 0 && startswith(freeze, "1");
}

static char *tty_name(unsigned tty_nr)
{
        unsigned major = (tty_nr >> 8) & 0xfff, minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
        if (tty_nr == 0)
                return xstrdup("?");
        if (major >= 136 && major <= 143)
                return xasprintf("pts/%u", minor + (major - 136) * 256);
        if (major == 4 && minor < 64)
                return xasprintf("tty%u", minor);
        return xstrdup("?");
}

struct clock_info {
        long hz;
        uint64_t boot_epoch; /* btime of /proc/stat */
        double uptime;
};

static int clock_info(const char *proc, struct clock_info *ret, struct stack_error *err)
{
        _cleanup_free_ char *sp = path_join(proc, "stat"), *up = path_join(proc, "uptime");
        _cleanup_free_ char *stat = NULL, *uptime = NULL;
        int k = read_full_file(sp, &stat, NULL, err);
        if (k >= 0)
                k = read_full_file(up, &uptime, NULL, err);
        if (k < 0)
                return k;
        const char *b = strstr(stat, "\nbtime ");
        *ret = (struct clock_info){
            .hz = sysconf(_SC_CLK_TCK),
            .boot_epoch = b ? strtoull(b + 7, NULL, 10) : 0,
            .uptime = strtod(uptime, NULL),
        };
        if (ret->hz <= 0)
                ret->hz = 100;
        return 0;
}

/* One process from /proc/PID/{stat,status,cmdline}; -ENOENT when it has gone meanwhile. */
static int read_process(const char *proc, pid_t pid, const struct clock_info *ci, struct top_process *ret)
{
        _cleanup_free_ char *sp = xasprintf("%s/%d/stat", proc, (int) pid);
        _cleanup_free_ char *stp = xasprintf("%s/%d/status", proc, (int) pid);
        _cleanup_free_ char *cp = xasprintf("%s/%d/cmdline", proc, (int) pid);
        _cleanup_free_ char *stat = NULL, *status = NULL, *cmdline = NULL;
        size_t cmd_len = 0;
        if (read_full_file(sp, &stat, NULL, NULL) < 0 || read_full_file(stp, &status, NULL, NULL) < 0 ||
            read_full_file(cp, &cmdline, &cmd_len, NULL) < 0)
                return -ENOENT;
        /* The command name may hold spaces and parentheses: the fields start after the last ')'. */
        char *open = strchr(stat, '('), *close = strrchr(stat, ')');
        if (!open || !close || close < open)
                return -EINVAL;
        _cleanup_strv_free_ char **f = strv_split(close + 2, " ");
        if (strv_length(f) < 20)
                return -EINVAL;
        /* f[0] is field 3 of proc(5): ppid 4, tty_nr 7, utime 14, stime 15, starttime 22. */
        uint64_t ticks = strtoull(f[11], NULL, 10) + strtoull(f[12], NULL, 10);
        uint64_t start = strtoull(f[19], NULL, 10);
        double age = ci->uptime - (double) start / (double) ci->hz;
        double cpu = age > 0 ? (double) ticks / (double) ci->hz * 100.0 / age : 0;
        const char *uid = strstr(status, "\nUid:");
        for (size_t i = 0; i < cmd_len; i++)
                if (cmdline[i] == 0)
                        cmdline[i] = ' ';
        while (cmd_len > 0 && cmdline[cmd_len - 1] == ' ')
                cmdline[--cmd_len] = 0;
        *ret = (struct top_process){
            .uid = uid ? (uid_t) strtoul(uid + 5, NULL, 10) : 0,
            .pid = pid,
            .ppid = (pid_t) atoi(f[1]),
            .cpu_percent = cpu > 99 ? 99 : (int) cpu,
            .start_epoch = ci->boot_epoch + start / (uint64_t) ci->hz,
            .tty = tty_name((unsigned) strtoul(f[4], NULL, 10)),
            .cpu_seconds = ticks / (uint64_t) ci->hz,
            .cmd = cmd_len > 0 ? xstrdup(cmdline) : xasprintf("[%.*s]", (int) (close - open - 1), open + 1),
        };
        return 0;
}

static int cmp_pid(const void *a, const void *b)
{
        const struct top_process *x = a, *y = b;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

int top_processes(const char *proc, const char *cgroup_root, pid_t init_pid, struct top_process **ret,
                  size_t *ret_n, struct stack_error *err)
{
        _cleanup_free_ char *dir = NULL, *procs = NULL, *text = NULL;
        struct clock_info ci;
        int k = cgroup_dir(proc, cgroup_root, init_pid, &dir, err);
        if (k >= 0)
                k = clock_info(proc, &ci, err);
        if (k < 0)
                return k;
        procs = path_join(dir, "cgroup.procs");
        if ((k = read_full_file(procs, &text, NULL, err)) < 0)
                return k;
        _cleanup_strv_free_ char **pids = strv_split(text, "\n");
        struct top_process *l = xcalloc(strv_length(pids) + 1, sizeof(*l));
        size_t n = 0;
        STRV_FOREACH (p, pids)
                if (**p && read_process(proc, (pid_t) atoi(*p), &ci, &l[n]) >= 0)
                        n++;
        qsort(l, n, sizeof(*l), cmp_pid);
        *ret = l;
        *ret_n = n;
        return 0;
}

void top_process_list_free(struct top_process *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].tty);
                free(l[i].cmd);
        }
        free(l);
}

const char *top_format_stime(uint64_t start_epoch, uint64_t now, char *buf, size_t size)
{
        time_t s = (time_t) start_epoch, n = (time_t) now;
        struct tm ts, tn;
        localtime_r(&s, &ts);
        localtime_r(&n, &tn);
        size_t len;
        if (ts.tm_year != tn.tm_year)
                len = strftime(buf, size, "%Y", &ts);
        else if (ts.tm_yday != tn.tm_yday)
                len = strftime(buf, size, "%b%d", &ts);
        else
                len = strftime(buf, size, "%H:%M", &ts);
        if (len == 0 && size > 0)
                buf[0] = 0;
        return buf;
}

const char *top_format_time(uint64_t seconds, char *buf, size_t size)
{
        uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
        if (d > 0)
                snprintf(buf, size, "%llu-%02llu:%02llu:%02llu", (unsigned long long) d,
                         (unsigned long long) h, (unsigned long long) m, (unsigned long long) s);
        else
                snprintf(buf, size, "%02llu:%02llu:%02llu", (unsigned long long) h, (unsigned long long) m,
                         (unsigned long long) s);
        return buf;
}

char *top_user_name(uid_t uid)
{
        struct passwd pw, *res = NULL;
        char buf[1024];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
                return xstrdup(res->pw_name);
        return xasprintf("%u", (unsigned) uid);
}
