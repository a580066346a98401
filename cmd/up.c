/* up, down, ps, logs, ls, wait and the hidden supervise: the commands of a running project. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "core/base/json.h"
#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/engine/images.h"
#include "core/image/image.h"
#include "core/base/log.h"
#include "core/runtime/logindex.h"
#include "core/engine/reconcile.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "core/base/util.h"

#define USEC_PER_SEC 1000000ULL

static struct reconcile_config config_from(const struct cmd_global *g)
{
        enum progress_mode mode = PROGRESS_PLAIN;
        if (streq(g->progress, "quiet"))
                mode = PROGRESS_QUIET;
        else if (streq(g->progress, "tty") || (streq(g->progress, "auto") && isatty(STDERR_FILENO)))
                mode = PROGRESS_TTY;
        return (struct reconcile_config){
            .root = g->root,
            .run_root = g->run_root,
            .runtime = g->runtime,
            .parallel = g->parallel,
            .dry_run = g->dry_run,
            .progress = mode,
            .stop_timeout_usec = -1,
        };
}

static int parse_int(const char *cmd, const char *opt, const char *s, int *ret)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (isempty(s) || *end || v < -1 || v > 1000000)
                return cmd_usage_error(cmd, "%s: invalid number \"%s\"", opt, s);
        *ret = (int) v;
        return 0;
}

/* ---- logs ---- */

struct log_follower {
        char *name;
        char *label; /* the prefix: service-N, as compose, or the container_name */
        char *path;
        off_t offset;          /* the next byte to read */
        struct strbuf partial; /* an unfinished line: it starts at offset - partial.len */
        struct logindex ix;    /* when each byte was written (core/runtime/logindex.h) */
};

/* -t, --since and --until: each line's time is that of its first byte in the log's time index. */
struct log_filter {
        bool timestamps;
        bool since_set, until_set;
        int64_t since, until; /* ns since the epoch, both inclusive */
};

static bool log_filter_timed(const struct log_filter *flt)
{
        return flt->timestamps || flt->since_set || flt->until_set;
}

static bool log_filter_hides(const struct log_filter *flt, int64_t t)
{
        return (flt->since_set && t < flt->since) || (flt->until_set && t > flt->until);
}

static const char *const colors[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

static void print_log_lines(struct log_follower *f, const char *data, size_t len, int width, bool prefix,
                            bool color, int idx, const struct log_filter *flt)
{
        off_t base = f->offset - (off_t) f->partial.len;
        strbuf_add(&f->partial, data, len);
        char *start = f->partial.buf;
        char *nl;
        while (start && (nl = memchr(start, '\n', f->partial.len - (size_t) (start - f->partial.buf)))) {
                int64_t t = log_filter_timed(flt)
                                ? logindex_time(&f->ix, (uint64_t) (base + (start - f->partial.buf)))
                                : 0;
                if (log_filter_hides(flt, t)) {
                        start = nl + 1;
                        continue;
                }
                if (prefix) {
                        if (color)
                                printf("\033[%sm%-*s |\033[0m ", colors[idx % ELEMENTSOF(colors)], width,
                                       f->label);
                        else
                                printf("%-*s | ", width, f->label);
                }
                if (flt->timestamps) {
                        char buf[LOGINDEX_TIME_MAX];
                        printf("%s ", logindex_format_time(t, buf));
                }
                fwrite(start, 1, (size_t) (nl - start) + 1, stdout);
                start = nl + 1;
        }
        if (start) {
                size_t rest = f->partial.len - (size_t) (start - f->partial.buf);
                memmove(f->partial.buf, start, rest);
                f->partial.len = rest;
                f->partial.buf[rest] = 0;
        }
        fflush(stdout);
}

static void follower_read(struct log_follower *f, int width, bool prefix, bool color, int idx,
                          const struct log_filter *flt)
{
        _cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return;
        if (st.st_size < f->offset)
                f->offset = 0; /* the container was recreated: its log starts over */
        if (lseek(fd, f->offset, SEEK_SET) < 0)
                return;
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                /* After the read: the index then covers the bytes read, or the mtime does. */
                if (log_filter_timed(flt))
                        logindex_refresh(&f->ix, f->path, fd);
                print_log_lines(f, buf, (size_t) n, width, prefix, color, idx, flt);
                f->offset += n;
        }
}

/* Starts at the last `tail` lines of the file (-1: all). */
static off_t tail_offset(const char *path, int tail)
{
        if (tail < 0)
                return 0;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (read_full_file(path, &data, &len, NULL) < 0)
                return 0;
        if (tail == 0)
                return (off_t) len;
        size_t pos = len;
        if (pos > 0 && data[pos - 1] == '\n')
                pos--;
        for (int n = 0; pos > 0; pos--)
                if (data[pos - 1] == '\n' && ++n == tail)
                        break;
        return (off_t) pos;
}

/* With --since/--until, starts at the first line in range, or `tail` lines in range from the end (the tail
 * applies after the filters); lines past --until are skipped when printed. */
static off_t filtered_start(struct log_follower *f, int tail, const struct log_filter *flt)
{
        if (!flt->since_set && !flt->until_set)
                return tail_offset(f->path, tail);
        _cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (fd < 0 || read_full_fd(fd, &data, &len) < 0)
                return 0;
        logindex_refresh(&f->ix, f->path, fd);
        off_t start = (off_t) len;
        if (tail == 0 || len == 0)
                return start;
        /* Line times only grow: walk back from the end until a line is older than --since. */
        size_t end = len, count = 0;
        if (data[end - 1] == '\n')
                end--;
        for (;;) {
                size_t b = end;
                while (b > 0 && data[b - 1] != '\n')
                        b--;
                int64_t t = logindex_time(&f->ix, b);
                if (flt->since_set && t < flt->since)
                        break;
                if (!flt->until_set || t <= flt->until) {
                        start = (off_t) b;
                        if (tail > 0 && ++count >= (size_t) tail)
                                break;
                }
                if (b == 0)
                        break;
                end = b - 1;
        }
        return start;
}

/* Where a container's log ended when attached `up` began: only what comes after is shown, as compose
 * attaches without the past logs. The inode tells a recreated container's new log from the old one. */
struct log_mark {
        char *name;
        dev_t dev;
        ino_t ino;
        off_t size;
};

/* The containers whose output is followed: new ones are added as they appear (scale up, recreate). */
struct log_set {
        struct log_follower *fs;
        size_t n;
        bool color, prefix;
        struct log_filter filter;
        struct log_mark *marks;
        size_t n_marks;
};

static void log_set_mark(struct log_set *set, const cJSON *list)
{
        const cJSON *c;
        cJSON_ArrayForEach(c, list)
        {
                struct stat st;
                if (!json_get_str(c, "Name") || !json_get_str(c, "LogPath") ||
                    stat(json_get_str(c, "LogPath"), &st) < 0)
                        continue;
                set->marks = xrealloc(set->marks, (set->n_marks + 1) * sizeof(*set->marks));
                set->marks[set->n_marks++] = (struct log_mark){.name = xstrdup(json_get_str(c, "Name")),
                                                               .dev = st.st_dev,
                                                               .ino = st.st_ino,
                                                               .size = st.st_size};
        }
}

static off_t log_set_start(const struct log_set *set, const char *name, const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return 0;
        for (size_t i = 0; i < set->n_marks; i++)
                if (streq(set->marks[i].name, name) && set->marks[i].dev == st.st_dev &&
                    set->marks[i].ino == st.st_ino && set->marks[i].size <= st.st_size)
                        return set->marks[i].size;
        return 0;
}

/* Adds the containers of the listed services (NULL: all) that are not followed yet; the first round starts
 * `tail` lines from the end, later ones at the start of the new container's log. */
static void log_set_update(struct log_set *set, const cJSON *list, char **services, int tail, bool first)
{
        const cJSON *c;
        cJSON_ArrayForEach(c, list)
        {
                const char *name = json_get_str(c, "Name");
                if (!name || !json_get_str(c, "LogPath") ||
                    (services && !strv_contains(services, json_get_str(c, "Service"))))
                        continue;
                bool known = false;
                for (size_t i = 0; i < set->n; i++)
                        known |= streq(set->fs[i].name, name);
                if (known)
                        continue;
                set->fs = xrealloc(set->fs, (set->n + 1) * sizeof(*set->fs));
                struct log_follower *f = &set->fs[set->n++];
                *f = (struct log_follower){.name = xstrdup(name),
                                           .path = xstrdup(json_get_str(c, "LogPath"))};
                /* compose drops the project from a default name (web-1), but keeps a container_name */
                const char *project = json_get_str(c, "Project"), *service = json_get_str(c, "Service");
                _cleanup_free_ char *dflt =
                    project && service
                        ? xasprintf("%s-%s-%d", project, service, (int) json_get_num(c, "Number", 0))
                        : NULL;
                f->label = xstrdup(dflt && streq(dflt, name) ? name + strlen(project) + 1 : name);
                f->offset =
                    first ? filtered_start(f, tail, &set->filter) : log_set_start(set, name, f->path);
        }
}

static int log_set_width(const struct log_set *set)
{
        int width = 0;
        for (size_t i = 0; i < set->n; i++)
                if ((int) strlen(set->fs[i].label) > width)
                        width = (int) strlen(set->fs[i].label);
        return width;
}

static void log_set_print(struct log_set *set)
{
        int width = log_set_width(set);
        for (size_t i = 0; i < set->n; i++)
                follower_read(&set->fs[i], width, set->prefix, set->color, (int) i, &set->filter);
}

static void log_set_done(struct log_set *set)
{
        /* A last line without its newline is still output, as compose shows it: end it here. */
        int width = log_set_width(set);
        for (size_t i = 0; i < set->n; i++)
                if (set->fs[i].partial.len > 0)
                        print_log_lines(&set->fs[i], "\n", 1, width, set->prefix, set->color, (int) i,
                                        &set->filter);
        for (size_t i = 0; i < set->n; i++) {
                free(set->fs[i].name);
                free(set->fs[i].label);
                free(set->fs[i].path);
                strbuf_free(&set->fs[i].partial);
                logindex_done(&set->fs[i].ix);
        }
        free(set->fs);
        for (size_t i = 0; i < set->n_marks; i++)
                free(set->marks[i].name);
        free(set->marks);
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        interrupted++;
}

/* Prints the project's logs; with follow, keeps following new and restarted containers until Ctrl-C or,
 * when until_exit is set, until every container of the project has exited. */
static int show_logs(const struct reconcile_config *cfg, const char *project, char **services, bool follow,
                     int tail, bool prefix, bool until_exit, const struct log_filter *flt)
{
        struct log_set set = {
            .prefix = prefix, .color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR"), .filter = *flt};
        for (unsigned round = 0;; round++) {
                /* Once --until has passed, what was written by then has been read: following can end. */
                bool past_until = flt->until_set && logindex_now_ns() > flt->until;
                _cleanup_(cJSON_Deletep) cJSON *list = NULL;
                struct stack_error e = {0};
                if (reconcile_status(cfg, project, &list, &e) < 0) {
                        cmd_fail(&e);
                        stack_error_clear(&e);
                        break;
                }
                bool any_running = false;
                const cJSON *c;
                cJSON_ArrayForEach(c, list)
                {
                        const char *state = json_get_str(c, "State");
                        if ((!services || strv_contains(services, json_get_str(c, "Service"))) && state &&
                            (streq(state, "running") || streq(state, "restarting") ||
                             streq(state, "created")))
                                any_running = true;
                }
                log_set_update(&set, list, services, tail, round == 0);
                log_set_print(&set);
                if (!follow || interrupted || past_until || (until_exit && !any_running && round > 0))
                        break;
                usleep(100000);
        }
        log_set_done(&set);
        return EXIT_OK;
}

/* ---- up ---- */

static void up_usage(void)
{
        puts(
            "Usage: stack up [OPTIONS] [SERVICE...]\n"
            "\n"
            "Create and start containers.\n"
            "\n"
            "Options:\n"
            "      --build                  Build images before starting containers\n"
            "      --no-build               Do not build images, even when missing\n"
            "  -d, --detach                 Run containers in the background\n"
            "      --wait                   Wait for services to be running|healthy (implies -d)\n"
            "      --wait-timeout SECONDS   Maximum duration to wait for the project to be running|healthy\n"
            "      --remove-orphans         Remove containers for services not defined in the file\n"
            "      --max-orphans N          Keep at most N orphans, removing the oldest "
            "($STACK_MAX_ORPHANS,\n"
            "                               x-stack.max_orphans; default 3)\n"
            "      --force-recreate         Recreate containers even if nothing changed\n"
            "      --no-recreate            Don't recreate containers that exist\n"
            "      --always-recreate-deps   Recreate dependent containers\n"
            "      --no-deps                Don't start linked services\n"
            "      --no-start               Don't start the services after creating them\n"
            "      --scale SERVICE=NUM      Scale SERVICE to NUM instances (overrides scale:)\n"
            "  -t, --timeout SECONDS        Shutdown timeout when stopping containers\n"
            "      --abort-on-container-exit     Stop all containers if any container was stopped\n"
            "      --abort-on-container-failure  Stop all containers if any container exited with failure\n"
            "      --exit-code-from SERVICE Return the exit code of the selected service container\n"
            "      --no-log-prefix          Don't print prefix in logs\n"
            "      --dry-run                Print the plan and change nothing\n"
            "      --pull always|missing|never  Pull images before starting (default: each pull_policy)\n"
            "      --quiet-pull             Pull without printing progress\n"
            "  -h, --help                   Show this help");
}

static int max_orphans_default(const struct stack_project *p, int flag)
{
        if (flag >= 0)
                return flag;
        const char *env = getenv("STACK_MAX_ORPHANS");
        if (!isempty(env))
                return atoi(env);
        if (p && p->settings.max_orphans >= 0)
                return p->settings.max_orphans;
        return 3;
}

static bool env_true(const char *name)
{
        const char *v = getenv(name);
        return v && (streq(v, "1") || streq(v, "true") || streq(v, "True") || streq(v, "yes"));
}

/* Stops every running container of the project (attached `up` on Ctrl-C, --abort-on-container-exit). */
struct stopping {
        const char *name, *service;
        int fd; /* the supervisor answers on it once the container has stopped; -1: done */
};

/* Does a container of a service that depends on `service` still run (or stop) among the rest? */
static bool has_running_dependent(const struct stack_project *p, const struct stopping *st, size_t n,
                                  const char *service)
{
        for (size_t i = 0; i < n; i++) {
                const struct stack_service *s =
                    st[i].service ? stack_project_service(p, st[i].service) : NULL;
                for (size_t k = 0; s && k < s->n_depends_on; k++)
                        if (streq(s->depends_on[k].service, service) && !streq(s->name, service))
                                return true;
        }
        return false;
}

static void stop_send(const struct reconcile_config *cfg, const char *project, struct stopping *c,
                      bool force)
{
        _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", "stop");
        cJSON_AddStringToObject(req, "name", c->name);
        if (force || cfg->stop_timeout_usec >= 0)
                cJSON_AddNumberToObject(req, "timeout_usec", force ? 0 : (double) cfg->stop_timeout_usec);
        _cleanup_error_ struct stack_error e = {0};
        int fd;
        if (supervisor_send(cfg->run_root, project, req, &fd, &e) < 0) {
                fprintf(stderr, "stack: %s\n", e.msg);
                return;
        }
        if (force)
                close(fd); /* the first request's answer is the one awaited */
        else
                c->fd = fd;
}

/* Stops the running containers as compose does on Ctrl-C: dependents before what they depend on, the
 * containers of one step at once. A second Ctrl-C asks the supervisor to kill what is still stopping. */
static void stop_project(const struct reconcile_config *cfg, const struct stack_project *p)
{
        _cleanup_(cJSON_Deletep) cJSON *list = NULL;
        if (reconcile_status(cfg, p->name, &list, NULL) < 0)
                return;
        size_t n = 0;
        _cleanup_free_ struct stopping *st = xcalloc((size_t) cJSON_GetArraySize(list) + 1, sizeof(*st));
        const cJSON *c;
        cJSON_ArrayForEach(c, list)
        {
                const char *state = json_get_str(c, "State");
                if (state && !streq(state, "exited") && !streq(state, "dead") && json_get_str(c, "Name"))
                        st[n++] = (struct stopping){json_get_str(c, "Name"), json_get_str(c, "Service"), -1};
        }
        _cleanup_free_ struct pollfd *pfd = xcalloc(n + 1, sizeof(*pfd));
        bool forced = false;
        while (n > 0) {
                /* This step: every container no other remaining one depends on (all of them on a cycle). */
                size_t m = 0;
                for (size_t i = 0; i < n; i++)
                        if (!st[i].service || !has_running_dependent(p, st, n, st[i].service)) {
                                struct stopping t = st[m];
                                st[m++] = st[i];
                                st[i] = t;
                        }
                if (m == 0)
                        m = n;
                for (size_t i = 0; i < m; i++) {
                        fprintf(stderr, " Container %s Stopping\n", st[i].name);
                        stop_send(cfg, p->name, &st[i], forced);
                }
                for (;;) {
                        size_t waiting = 0;
                        for (size_t i = 0; i < m; i++) {
                                pfd[i] = (struct pollfd){.fd = st[i].fd, .events = POLLIN};
                                waiting += st[i].fd >= 0;
                        }
                        if (waiting == 0)
                                break;
                        if (poll(pfd, m, -1) < 0) {
                                if (errno == EINTR && interrupted > 1 && !forced) {
                                        forced = true;
                                        for (size_t i = 0; i < m; i++)
                                                if (st[i].fd >= 0)
                                                        stop_send(cfg, p->name,
                                                                  &(struct stopping){st[i].name, NULL, -1},
                                                                  true);
                                }
                                continue;
                        }
                        for (size_t i = 0; i < m; i++)
                                if (st[i].fd >= 0 && pfd[i].revents) {
                                        char buf[512];
                                        ssize_t k = read(st[i].fd, buf, sizeof(buf) - 1);
                                        if (k < 0 && errno == EINTR)
                                                continue;
                                        buf[k > 0 ? k : 0] = 0;
                                        if (k > 0 && strstr(buf, "\"error\""))
                                                fprintf(stderr, "stack: %s: %s", st[i].name, buf);
                                        else
                                                fprintf(stderr, " Container %s Stopped\n", st[i].name);
                                        close(st[i].fd);
                                        st[i].fd = -1;
                                }
                }
                memmove(st, st + m, (n - m) * sizeof(*st));
                n -= m;
        }
}

/* Attached `up`: stream output until Ctrl-C (then stop gracefully; a second Ctrl-C kills) or, with the
 * abort options, until a container exits. Returns the exit code for the command. */
static int attach(const struct reconcile_config *cfg, const struct stack_project *p, char **services,
                  bool prefix, bool abort_exit, bool abort_failure, const char *exit_from,
                  struct log_set *set_in)
{
        struct sigaction sa = {.sa_handler = on_interrupt};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        struct log_set set = *set_in;
        *set_in = (struct log_set){0};
        set.prefix = prefix;
        set.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        int code = EXIT_OK;
        while (!interrupted) {
                _cleanup_(cJSON_Deletep) cJSON *list = NULL;
                if (reconcile_status(cfg, p->name, &list, NULL) < 0)
                        break;
                const cJSON *c;
                bool stop = false, any = false;
                cJSON_ArrayForEach(c, list)
                {
                        const char *state = json_get_str(c, "State");
                        if (services && !strv_contains(services, json_get_str(c, "Service")))
                                continue;
                        any = true;
                        bool exited = state && (streq(state, "exited") || streq(state, "dead"));
                        int ec = (int) json_get_num(c, "ExitCode", 0);
                        bool from = exit_from && streq_ptr(json_get_str(c, "Service"), exit_from);
                        if (exited && (abort_exit || (abort_failure && ec != 0) || from)) {
                                stop = true;
                                if (exit_from ? from : ec != 0)
                                        code = ec;
                        }
                }
                log_set_update(&set, list, services, -1, false);
                log_set_print(&set);
                if (stop || !any)
                        break;
                usleep(100000);
        }
        if (interrupted)
                fputs("Gracefully stopping... (press Ctrl+C again to force)\n", stderr);
        if (!isempty(getenv("NOTIFY_SOCKET")))
                sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        stop_project(cfg, p);
        log_set_done(&set);
        return code;
}

static int up_images(const struct cmd_global *g, const struct stack_project *p,
                     const struct images_options *io, struct stack_error *err)
{
        _cleanup_image_store_ struct image_store *s = NULL;
        int r = image_store_open(g->root, &s, err);
        return r < 0 ? r : images_ensure(s, p, io, err);
}

int cmd_up(struct cmd_global *g, int argc, char **argv)
{
        enum {
                ARG_WAIT = 0x100,
                ARG_WAIT_TIMEOUT,
                ARG_REMOVE_ORPHANS,
                ARG_MAX_ORPHANS,
                ARG_FORCE_RECREATE,
                ARG_NO_RECREATE,
                ARG_ALWAYS_RECREATE_DEPS,
                ARG_NO_DEPS,
                ARG_NO_START,
                ARG_SCALE,
                ARG_ABORT_EXIT,
                ARG_ABORT_FAILURE,
                ARG_EXIT_CODE_FROM,
                ARG_NO_LOG_PREFIX,
                ARG_DRY_RUN,
                ARG_IGNORED,
                ARG_IGNORED_ARG,
                ARG_BUILD,
                ARG_NO_BUILD,
                ARG_PULL,
                ARG_QUIET_PULL,
        };
        static const struct option options[] = {
            {"detach", no_argument, NULL, 'd'},
            {"wait", no_argument, NULL, ARG_WAIT},
            {"wait-timeout", required_argument, NULL, ARG_WAIT_TIMEOUT},
            {"remove-orphans", no_argument, NULL, ARG_REMOVE_ORPHANS},
            {"max-orphans", required_argument, NULL, ARG_MAX_ORPHANS},
            {"force-recreate", no_argument, NULL, ARG_FORCE_RECREATE},
            {"no-recreate", no_argument, NULL, ARG_NO_RECREATE},
            {"always-recreate-deps", no_argument, NULL, ARG_ALWAYS_RECREATE_DEPS},
            {"no-deps", no_argument, NULL, ARG_NO_DEPS},
            {"no-start", no_argument, NULL, ARG_NO_START},
            {"scale", required_argument, NULL, ARG_SCALE},
            {"timeout", required_argument, NULL, 't'},
            {"abort-on-container-exit", no_argument, NULL, ARG_ABORT_EXIT},
            {"abort-on-container-failure", no_argument, NULL, ARG_ABORT_FAILURE},
            {"exit-code-from", required_argument, NULL, ARG_EXIT_CODE_FROM},
            {"no-log-prefix", no_argument, NULL, ARG_NO_LOG_PREFIX},
            {"dry-run", no_argument, NULL, ARG_DRY_RUN},
            {"no-color", no_argument, NULL, ARG_IGNORED},
            {"build", no_argument, NULL, ARG_BUILD},
            {"no-build", no_argument, NULL, ARG_NO_BUILD},
            {"quiet-pull", no_argument, NULL, ARG_QUIET_PULL},
            {"pull", required_argument, NULL, ARG_PULL},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct plan_options o = {.max_orphans = -1};
        struct images_options io = {.parallel = g->parallel, .registry.progress = cmd_pull_progress};
        bool detach = false, wait = false, prefix = true, abort_exit = false, abort_failure = false;
        bool build = false, no_build = false;
        int wait_timeout = 0, timeout = -1, max_orphans = -1;
        _cleanup_free_ char *exit_from = NULL;
        _cleanup_strv_free_ char **scales = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "dt:h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        detach = true;
                        break;
                case ARG_WAIT:
                        wait = detach = true;
                        break;
                case ARG_WAIT_TIMEOUT:
                        if (parse_int("up", "--wait-timeout", optarg, &wait_timeout) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_REMOVE_ORPHANS:
                        o.remove_orphans = true;
                        break;
                case ARG_MAX_ORPHANS:
                        if (parse_int("up", "--max-orphans", optarg, &max_orphans) != 0 || max_orphans < 0)
                                return EXIT_USAGE;
                        break;
                case ARG_FORCE_RECREATE:
                        o.force_recreate = true;
                        break;
                case ARG_NO_RECREATE:
                        o.no_recreate = true;
                        break;
                case ARG_ALWAYS_RECREATE_DEPS:
                        o.always_recreate_deps = true;
                        break;
                case ARG_NO_DEPS:
                        o.no_deps = true;
                        break;
                case ARG_NO_START:
                        o.no_start = true;
                        break;
                case ARG_SCALE:
                        if (!strchr(optarg, '='))
                                return cmd_usage_error("up", "--scale: expected SERVICE=NUM, got \"%s\"",
                                                       optarg);
                        strv_push(&scales, optarg);
                        break;
                case 't':
                        if (parse_int("up", "--timeout", optarg, &timeout) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_ABORT_EXIT:
                        abort_exit = true;
                        break;
                case ARG_ABORT_FAILURE:
                        abort_failure = true;
                        break;
                case ARG_EXIT_CODE_FROM:
                        free(exit_from);
                        exit_from = xstrdup(optarg);
                        break;
                case ARG_NO_LOG_PREFIX:
                        prefix = false;
                        break;
                case ARG_DRY_RUN:
                        g->dry_run = true;
                        break;
                case ARG_BUILD:
                        build = true;
                        break;
                case ARG_NO_BUILD:
                        no_build = true;
                        break;
                case ARG_PULL:
                        if (!streq(optarg, "always") && !streq(optarg, "missing") && !streq(optarg, "never"))
                                return cmd_usage_error(
                                    "up", "--pull: expected always, missing or never, got \"%s\"", optarg);
                        io.policy = optarg;
                        break;
                case ARG_QUIET_PULL:
                        io.registry.progress = NULL;
                        break;
                case ARG_IGNORED:
                case ARG_IGNORED_ARG:
                        break;
                case 'h':
                        up_usage();
                        return EXIT_OK;
                default:
                        return cmd_usage_error("up", "invalid option");
                }
        }
        if (o.force_recreate && o.no_recreate)
                return cmd_usage_error("up", "--force-recreate and --no-recreate are incompatible");
        if (build && no_build)
                return cmd_usage_error("up", "--build and --no-build are incompatible");
        if (detach && (abort_exit || abort_failure || exit_from))
                return cmd_usage_error("up",
                                       "--abort-on-container-exit and --exit-code-from cannot be combined "
                                       "with --detach or --wait");
        char **services = optind < argc ? strv_copy(argv + optind) : NULL;
        _cleanup_strv_free_ char **services_owned = services;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, services, &p);
        if (ret != EXIT_OK)
                return ret;
        STRV_FOREACH (sc, scales) {
                _cleanup_free_ char *name = xstrndup(*sc, strchr(*sc, '=') - *sc);
                int n;
                if (parse_int("up", "--scale", strchr(*sc, '=') + 1, &n) != 0 || n < 0)
                        return EXIT_USAGE;
                bool found = false;
                for (size_t i = 0; i < p->n_services; i++)
                        if (streq(p->services[i].name, name)) {
                                p->services[i].scale = n;
                                found = true;
                        }
                if (!found)
                        return cmd_usage_error("up", "--scale: no such service: %s", name);
        }
        STRV_FOREACH (s, services)
                if (!stack_project_service(p, *s)) {
                        fprintf(stderr, "stack up: no such service: %s\n", *s);
                        return EXIT_ERROR;
                }
        o.services = services;
        if (!o.remove_orphans && env_true("COMPOSE_REMOVE_ORPHANS"))
                o.remove_orphans = true;
        o.max_orphans = max_orphans_default(p, max_orphans);
        if (env_true("COMPOSE_IGNORE_ORPHANS") && !o.remove_orphans && max_orphans < 0)
                o.max_orphans = -1;

        /* --build rebuilds every service with build: first; otherwise images_ensure() below builds only the
         * missing images (and pull_policy: build ones) through the builder. The config hash sees the new
         * image ID, so only services whose image changed are recreated. */
        if (build && !g->dry_run) {
                struct cmd_build_options bo = {0};
                int br = cmd_build_services(g, p, NULL, &bo);
                if (br != EXIT_OK)
                        return br;
        }
        struct cmd_build_context bctx = {.g = g, .p = p};
        if (!no_build) {
                io.build = cmd_build_image;
                io.build_userdata = &bctx;
        }

        struct reconcile_config cfg = config_from(g);
        if (timeout >= 0)
                cfg.stop_timeout_usec = (int64_t) timeout * (int64_t) USEC_PER_SEC;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_close_ int lock = -1;
        if (!cfg.dry_run && state_lock_project(g->run_root, p->name, &lock, &err) < 0)
                return cmd_fail(&err);
        /* Under a Type=notify unit, systemd hears how far we are, and READY=1 only once every service is
         * running or healthy: units ordered after this one wait for the whole stack, at boot too. */
        bool notify = !isempty(getenv("NOTIFY_SOCKET")) && !cfg.dry_run;
        if (notify)
                sd_notifyf(0, "STATUS=Bringing up project %s", p->name);
        /* Attached, the output shown starts now: note where each existing container's log ends. */
        _cleanup_(log_set_done) struct log_set marks = {0};
        if (!detach && !wait && !cfg.dry_run) {
                _cleanup_(cJSON_Deletep) cJSON *before = NULL;
                if (reconcile_status(&cfg, p->name, &before, NULL) >= 0)
                        log_set_mark(&marks, before);
        }
        /* Every image is present (pulled per pull_policy) before anything is created. */
        io.services = services;
        io.include_deps = !o.no_deps;
        if (streq(g->progress, "quiet"))
                io.registry.progress = NULL;
        if (!cfg.dry_run && up_images(g, p, &io, &err) < 0) {
                if (notify)
                        sd_notifyf(0, "STATUS=Failed: %s", err.msg);
                return cmd_fail(&err);
        }
        if (reconcile_up(&cfg, p, &o, &err) < 0) {
                if (notify)
                        sd_notifyf(0, "STATUS=Failed: %s", err.msg);
                return cmd_fail(&err);
        }
        if (cfg.dry_run || o.no_start)
                return EXIT_OK;
        /* Waiting and attaching need no lock: other commands may act on the project meanwhile. */
        closep(&lock);
        if (notify) {
                sd_notify(0, "STATUS=Waiting for services to be running or healthy");
                if (reconcile_wait_ready(&cfg, p, services, (uint64_t) wait_timeout * USEC_PER_SEC, &err) <
                    0) {
                        sd_notifyf(0, "STATUS=Failed: %s", err.msg);
                        return cmd_fail(&err);
                }
                sd_notifyf(0, "READY=1\nSTATUS=Project %s is up", p->name);
        }
        if (wait) {
                if (reconcile_wait_ready(&cfg, p, services, (uint64_t) wait_timeout * USEC_PER_SEC, &err) <
                    0)
                        return cmd_fail(&err);
                return EXIT_OK;
        }
        if (detach)
                return EXIT_OK;
        return attach(&cfg, p, services, prefix, abort_exit || exit_from, abort_failure, exit_from, &marks);
}

/* ---- down ---- */

/* The images `down --rmi` removes. `all`: every image a service of the project uses (from the file, and
 * from the records of its containers when the file is gone). `local`: compose's images built for a
 * service without an `image:` name; stack does not build, so there are none. */
static char **rmi_images(const struct reconcile_config *cfg, const char *project,
                         const struct stack_project *p, bool all)
{
        char **refs = NULL;
        if (!all)
                return refs;
        for (size_t i = 0; p && i < p->n_services; i++)
                if (!isempty(p->services[i].image) && !strv_contains(refs, p->services[i].image))
                        strv_push(&refs, p->services[i].image);
        _cleanup_(cJSON_Deletep) cJSON *list = NULL;
        if (reconcile_status(cfg, project, &list, NULL) >= 0) {
                const cJSON *c;
                cJSON_ArrayForEach(c, list)
                {
                        const char *img = json_get_str(c, "Image");
                        if (!isempty(img) && !strv_contains(refs, img))
                                strv_push(&refs, img);
                }
        }
        return refs;
}

/* Removes the images once the containers are gone; one still used by another project's container stays,
 * with a warning, as compose leaves an image in use. */
static int rmi_remove(const struct cmd_global *g, const struct reconcile_config *cfg, char **refs)
{
        if (!refs)
                return EXIT_OK;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *s = NULL;
        if (image_store_open(g->root, &s, &err) < 0)
                return cmd_fail(&err);
        int ret = EXIT_OK;
        STRV_FOREACH (r, refs) {
                _cleanup_error_ struct stack_error e = {0};
                _cleanup_strv_free_ char **untagged = NULL;
                _cleanup_free_ char *deleted = NULL;
                struct image_remove_options o = {.run_root = cfg->run_root};
                int k = image_remove(s, *r, &o, &untagged, &deleted, &e);
                if (k == -ENOENT)
                        continue;
                if (k == -EBUSY) {
                        log_warning("image %s is kept: %s", *r, e.msg);
                        continue;
                }
                if (k < 0) {
                        ret = cmd_fail(&e);
                        continue;
                }
                if (cfg->progress == PROGRESS_TTY)
                        fprintf(stderr, " \033[32m✔\033[0m Image %-28s Removed\n", *r);
                else if (cfg->progress != PROGRESS_QUIET)
                        fprintf(stderr, " Image %s Removed\n", *r);
        }
        return ret;
}

int cmd_down(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_REMOVE_ORPHANS = 0x100, ARG_RMI, ARG_DRY_RUN };
        static const struct option options[] = {
            {"volumes", no_argument, NULL, 'v'},
            {"remove-orphans", no_argument, NULL, ARG_REMOVE_ORPHANS},
            {"rmi", required_argument, NULL, ARG_RMI},
            {"timeout", required_argument, NULL, 't'},
            {"dry-run", no_argument, NULL, ARG_DRY_RUN},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct plan_options o = {.down = true, .max_orphans = -1};
        int timeout = -1, c;
        const char *rmi = NULL;
        while ((c = getopt_long(argc, argv, "vt:h", options, NULL)) >= 0) {
                switch (c) {
                case 'v':
                        o.remove_volumes = true;
                        break;
                case ARG_REMOVE_ORPHANS:
                        o.remove_orphans = true;
                        break;
                case ARG_RMI:
                        if (!streq(optarg, "local") && !streq(optarg, "all"))
                                return cmd_usage_error("down", "--rmi: expected local or all");
                        rmi = optarg;
                        break;
                case 't':
                        if (parse_int("down", "--timeout", optarg, &timeout) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_DRY_RUN:
                        g->dry_run = true;
                        break;
                case 'h':
                        puts("Usage: stack down [OPTIONS]\n"
                             "\n"
                             "Stop and remove containers, networks (and with -v, volumes).\n"
                             "Works from the compose file or, when it is gone, from stack's records (-p "
                             "NAME).\n"
                             "\n"
                             "Options:\n"
                             "  -v, --volumes          Remove named volumes declared in the file and "
                             "anonymous ones\n"
                             "      --remove-orphans   Remove containers for services not defined in the "
                             "file\n"
                             "      --rmi local|all    Also remove images: all used by services, or only "
                             "local ones\n"
                             "                         (built without an image name: none, stack does not "
                             "build)\n"
                             "  -t, --timeout SECONDS  Shutdown timeout\n"
                             "      --dry-run          Print the plan and change nothing\n"
                             "  -h, --help             Show this help");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("down", "invalid option");
                }
        }
        if (optind < argc)
                return cmd_usage_error("down", "unexpected argument \"%s\"", argv[optind]);

        _cleanup_project_ struct stack_project *p = NULL;
        const char *name = g->project_name;
        if (g->files || !name) {
                int ret = cmd_load_project(g, NULL, &p);
                if (ret != EXIT_OK)
                        return ret;
                name = p->name;
        } else {
                /* -p NAME: the file may be gone; the records know what to remove. */
                struct stack_project *loaded = NULL;
                struct cmd_global quiet = *g;
                enum log_level lvl = log_get_level();
                log_set_level(LOG_LEVEL_ERROR);
                int saved = dup(STDERR_FILENO);
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(null, STDERR_FILENO);
                if (cmd_load_project(&quiet, NULL, &loaded) == EXIT_OK && streq(loaded->name, name))
                        p = loaded;
                else if (loaded)
                        stack_project_free(loaded);
                dup2(saved, STDERR_FILENO);
                close(saved);
                close(null);
                log_set_level(lvl);
        }
        struct reconcile_config cfg = config_from(g);
        if (timeout >= 0)
                cfg.stop_timeout_usec = (int64_t) timeout * (int64_t) USEC_PER_SEC;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_close_ int lock = -1;
        if (!cfg.dry_run && state_lock_project(g->run_root, name, &lock, &err) < 0)
                return cmd_fail(&err);
        _cleanup_strv_free_ char **images = rmi ? rmi_images(&cfg, name, p, streq(rmi, "all")) : NULL;
        if (reconcile_down(&cfg, name, p, &o, &err) < 0)
                return cmd_fail(&err);
        if (cfg.dry_run) {
                STRV_FOREACH (r, images)
                        printf("remove image %s\n", *r);
                return EXIT_OK;
        }
        return rmi_remove(g, &cfg, images);
}

/* ---- ps ---- */

static char *format_status(const cJSON *c)
{
        const char *state = json_get_str(c, "State");
        const char *health = json_get_str(c, "Health");
        uint64_t now = realtime_usec();
        if (state && (streq(state, "running") || streq(state, "restarting"))) {
                uint64_t since = (uint64_t) json_get_num(c, "StartedAt", 0);
                uint64_t secs = since && now > since ? (now - since) / USEC_PER_SEC : 0;
                _cleanup_free_ char *up = secs < 60 ? xasprintf("%llu seconds", (unsigned long long) secs)
                                          : secs < 3600
                                              ? xasprintf("%llu minutes", (unsigned long long) secs / 60)
                                              : xasprintf("%llu hours", (unsigned long long) secs / 3600);
                if (streq(state, "restarting"))
                        return xasprintf("Restarting (%d)", (int) json_get_num(c, "ExitCode", 0));
                if (health && *health)
                        return xasprintf("Up %s (%s)", up, health);
                return xasprintf("Up %s", up);
        }
        if (state && streq(state, "exited"))
                return xasprintf("Exited (%d)", (int) json_get_num(c, "ExitCode", 0));
        return xstrdup(state && streq(state, "created") ? "Created" : state ? state : "unknown");
}

static char *format_ports(const cJSON *c)
{
        struct strbuf b = {0};
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "Publishers"))
        {
                if (b.len)
                        strbuf_puts(&b, ", ");
                strbuf_printf(&b, "%s:%d->%d/%s", json_get_str(p, "URL"),
                              (int) json_get_num(p, "PublishedPort", 0),
                              (int) json_get_num(p, "TargetPort", 0), json_get_str(p, "Protocol"));
        }
        return strbuf_take(&b);
}

static bool is_running(const cJSON *c)
{
        const char *state = json_get_str(c, "State");
        return state && (streq(state, "running") || streq(state, "restarting"));
}

/* The project a command acts on: -p, else the compose file's. */
static int project_name_for(struct cmd_global *g, char **ret)
{
        if (g->project_name && !g->files) {
                *ret = xstrdup(g->project_name);
                return EXIT_OK;
        }
        _cleanup_project_ struct stack_project *p = NULL;
        int r = cmd_load_project(g, NULL, &p);
        if (r != EXIT_OK)
                return r;
        *ret = xstrdup(p->name);
        return EXIT_OK;
}

int cmd_ps(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_SERVICES = 0x100, ARG_FORMAT, ARG_STATUS };
        static const struct option options[] = {
            {"all", no_argument, NULL, 'a'},
            {"quiet", no_argument, NULL, 'q'},
            {"services", no_argument, NULL, ARG_SERVICES},
            {"format", required_argument, NULL, ARG_FORMAT},
            {"status", required_argument, NULL, ARG_STATUS},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool all = false, quiet = false, only_services = false;
        const char *format = "table";
        _cleanup_strv_free_ char **statuses = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "aqh", options, NULL)) >= 0) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_SERVICES:
                        only_services = true;
                        break;
                case ARG_FORMAT:
                        if (!streq(optarg, "table") && !streq(optarg, "json"))
                                return cmd_usage_error("ps", "--format: expected table or json");
                        format = optarg;
                        break;
                case ARG_STATUS:
                        strv_push(&statuses, optarg);
                        break;
                case 'h':
                        puts("Usage: stack ps [OPTIONS] [SERVICE...]\n"
                             "\n"
                             "List containers.\n"
                             "\n"
                             "Options:\n"
                             "  -a, --all            Show all containers, also stopped ones\n"
                             "  -q, --quiet          Only display names\n"
                             "      --services       Display services\n"
                             "      --format FORMAT  table or json\n"
                             "      --status STATUS  Filter by state: created, restarting, running, exited, "
                             "dead\n"
                             "  -h, --help           Show this help");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("ps", "invalid option");
                }
        }
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_free_ char *name = NULL;
        int ret = project_name_for(g, &name);
        if (ret != EXIT_OK)
                return ret;
        struct reconcile_config cfg = config_from(g);
        _cleanup_(cJSON_Deletep) cJSON *list = NULL;
        _cleanup_error_ struct stack_error err = {0};
        if (reconcile_status(&cfg, name, &list, &err) < 0)
                return cmd_fail(&err);
        _cleanup_(cJSON_Deletep) cJSON *shown = cJSON_CreateArray();
        const cJSON *item;
        cJSON_ArrayForEach(item, list)
        {
                if (services && !strv_contains(services, json_get_str(item, "Service")))
                        continue;
                if (statuses ? !strv_contains(statuses, json_get_str(item, "State"))
                             : (!all && !is_running(item)))
                        continue;
                cJSON_AddItemToArray(shown, cJSON_Duplicate(item, true));
        }
        if (only_services) {
                _cleanup_strv_free_ char **seen = NULL;
                cJSON_ArrayForEach(item, shown) if (!strv_contains(seen, json_get_str(item, "Service")))
                {
                        strv_push(&seen, json_get_str(item, "Service"));
                        puts(json_get_str(item, "Service"));
                }
                return EXIT_OK;
        }
        if (quiet) {
                cJSON_ArrayForEach(item, shown) puts(json_get_str(item, "Name"));
                return EXIT_OK;
        }
        if (streq(format, "json")) {
                _cleanup_free_ char *text = cJSON_PrintUnformatted(shown);
                puts(text);
                return EXIT_OK;
        }
        printf("%-28s %-30s %-12s %-26s %s\n", "NAME", "IMAGE", "SERVICE", "STATUS", "PORTS");
        cJSON_ArrayForEach(item, shown)
        {
                _cleanup_free_ char *status = format_status(item);
                _cleanup_free_ char *ports = format_ports(item);
                printf("%-28s %-30s %-12s %-26s %s\n", json_get_str(item, "Name"),
                       json_get_str(item, "Image"), json_get_str(item, "Service"), status, ports);
        }
        return EXIT_OK;
}

/* ---- logs ---- */

int cmd_logs(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_TAIL = 0x100, ARG_NO_LOG_PREFIX, ARG_SINCE, ARG_UNTIL, ARG_IGNORED };
        static const struct option options[] = {
            {"follow", no_argument, NULL, 'f'},
            {"tail", required_argument, NULL, ARG_TAIL},
            {"n", required_argument, NULL, 'n'},
            {"no-log-prefix", no_argument, NULL, ARG_NO_LOG_PREFIX},
            {"since", required_argument, NULL, ARG_SINCE},
            {"until", required_argument, NULL, ARG_UNTIL},
            {"timestamps", no_argument, NULL, 't'},
            {"no-color", no_argument, NULL, ARG_IGNORED},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool follow = false, prefix = true;
        int tail = -1, c;
        struct log_filter flt = {0};
        /* Relative times count back from one instant, whatever the order of the flags. */
        int64_t now = logindex_now_ns();
        while ((c = getopt_long(argc, argv, "fn:th", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        follow = true;
                        break;
                case 'n':
                case ARG_TAIL:
                        if (streq(optarg, "all"))
                                tail = -1;
                        else if (parse_int("logs", "--tail", optarg, &tail) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_NO_LOG_PREFIX:
                        prefix = false;
                        break;
                case ARG_SINCE:
                case ARG_UNTIL: {
                        int64_t *v = c == ARG_SINCE ? &flt.since : &flt.until;
                        if (logindex_parse_time(optarg, now, v) < 0)
                                return cmd_usage_error(
                                    "logs",
                                    "%s: invalid value \"%s\": expected a time (RFC 3339 as "
                                    "2026-11-23T21:00:00Z, or Unix seconds) or a duration "
                                    "before now (42m, 1h30m, 10s)",
                                    c == ARG_SINCE ? "--since" : "--until", optarg);
                        *(c == ARG_SINCE ? &flt.since_set : &flt.until_set) = true;
                        break;
                }
                case 't':
                        flt.timestamps = true;
                        break;
                case ARG_IGNORED:
                        break;
                case 'h':
                        puts(
                            "Usage: stack logs [OPTIONS] [SERVICE...]\n"
                            "\n"
                            "View output from containers.\n"
                            "\n"
                            "Options:\n"
                            "  -f, --follow         Follow log output, also of restarted and new "
                            "containers\n"
                            "      --since TIME     Show lines written since TIME: RFC 3339 "
                            "(2026-11-23T21:00:00Z,\n"
                            "                       2026-11-23T22:00:00.5+01:00), Unix seconds, or a "
                            "duration before\n"
                            "                       now (42m, 1h30m, 10s)\n"
                            "      --until TIME     Show lines written before TIME (same forms)\n"
                            "  -n, --tail N         Number of lines to show from the end of each log, after "
                            "--since\n"
                            "                       and --until (or all)\n"
                            "  -t, --timestamps     Show when each line was written\n"
                            "      --no-log-prefix  Don't print the container name in front of each line\n"
                            "  -h, --help           Show this help\n"
                            "\n"
                            "A line's time is when the supervisor saw it in the log (normally within "
                            "milliseconds);\n"
                            "lines written while no supervisor ran share the time of the last of them.");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("logs", "invalid option");
                }
        }
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_free_ char *name = NULL;
        int ret = project_name_for(g, &name);
        if (ret != EXIT_OK)
                return ret;
        struct reconcile_config cfg = config_from(g);
        struct sigaction sa = {.sa_handler = on_interrupt};
        sigaction(SIGINT, &sa, NULL);
        return show_logs(&cfg, name, services, follow, tail, prefix, false, &flt);
}

/* ---- ls ---- */

int cmd_ls(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"all", no_argument, NULL, 'a'},
            {"quiet", no_argument, NULL, 'q'},
            {"format", required_argument, NULL, 'F'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool all = false, quiet = false, json = false;
        int c;
        while ((c = getopt_long(argc, argv, "aqh", options, NULL)) >= 0) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'F':
                        json = streq(optarg, "json");
                        break;
                case 'h':
                        puts("Usage: stack ls [OPTIONS]\n\nList projects on this host.\n\n"
                             "  -a, --all        Show all projects, also stopped ones\n"
                             "  -q, --quiet      Only display names\n"
                             "      --format F   table or json");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("ls", "invalid option");
                }
        }
        struct reconcile_config cfg = config_from(g);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **projects = NULL;
        if (state_project_list(g->root, &projects, &err) < 0)
                return cmd_fail(&err);
        _cleanup_(cJSON_Deletep) cJSON *out = cJSON_CreateArray();
        if (!quiet && !json)
                printf("%-24s %-20s %s\n", "NAME", "STATUS", "CONFIG FILES");
        STRV_FOREACH (name, projects) {
                _cleanup_(cJSON_Deletep) cJSON *list = NULL;
                if (reconcile_status(&cfg, *name, &list, NULL) < 0)
                        continue;
                int running = 0, exited = 0;
                const cJSON *item;
                cJSON_ArrayForEach(item, list)
                {
                        if (is_running(item))
                                running++;
                        else
                                exited++;
                }
                if (!all && running == 0)
                        continue;
                _cleanup_strv_free_ char **files = NULL;
                state_project_read(g->root, *name, NULL, &files, NULL);
                _cleanup_free_ char *joined = strv_join(files, ",");
                _cleanup_free_ char *status = running && exited
                                                  ? xasprintf("running(%d), exited(%d)", running, exited)
                                              : running ? xasprintf("running(%d)", running)
                                                        : xasprintf("exited(%d)", exited);
                if (quiet)
                        puts(*name);
                else if (json) {
                        cJSON *j = cJSON_CreateObject();
                        cJSON_AddStringToObject(j, "Name", *name);
                        cJSON_AddStringToObject(j, "Status", status);
                        cJSON_AddStringToObject(j, "ConfigFiles", joined);
                        cJSON_AddItemToArray(out, j);
                } else
                        printf("%-24s %-20s %s\n", *name, status, joined);
        }
        if (json) {
                _cleanup_free_ char *text = cJSON_PrintUnformatted(out);
                puts(text);
        }
        return EXIT_OK;
}

/* ---- wait ---- */

int cmd_wait(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"down-project", no_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool down_project = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'D':
                        down_project = true;
                        break;
                case 'h':
                        puts("Usage: stack wait [OPTIONS] SERVICE...\n\n"
                             "Block until containers of all (or the given) services stop; exits with the "
                             "first\n"
                             "non-zero exit code.\n\n"
                             "      --down-project   Take the project down once they have stopped");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("wait", "invalid option");
                }
        }
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, NULL, &p);
        if (ret != EXIT_OK)
                return ret;
        struct reconcile_config cfg = config_from(g);
        struct sigaction sa = {.sa_handler = on_interrupt};
        sigaction(SIGINT, &sa, NULL);
        int code = 0;
        while (!interrupted) {
                _cleanup_(cJSON_Deletep) cJSON *list = NULL;
                _cleanup_error_ struct stack_error err = {0};
                if (reconcile_status(&cfg, p->name, &list, &err) < 0)
                        return cmd_fail(&err);
                bool running = false;
                const cJSON *item;
                cJSON_ArrayForEach(item, list)
                {
                        if (services && !strv_contains(services, json_get_str(item, "Service")))
                                continue;
                        if (is_running(item) || streq_ptr(json_get_str(item, "State"), "created"))
                                running = true;
                        else if (!code)
                                code = (int) json_get_num(item, "ExitCode", 0);
                }
                if (!running)
                        break;
                usleep(200000);
        }
        if (down_project) {
                struct plan_options o = {.down = true, .max_orphans = -1};
                _cleanup_error_ struct stack_error err = {0};
                if (reconcile_down(&cfg, p->name, p, &o, &err) < 0)
                        return cmd_fail(&err);
        }
        return code;
}

/* ---- supervise (internal) ---- */

int cmd_supervise(struct cmd_global *g, int argc, char **argv)
{
        if (argc != 2 || streq(argv[1], "--help"))
                return cmd_usage_error("supervise",
                                       "usage: stack supervise PROJECT (started by stack itself)");
        struct supervisor_config c = {
            .root = g->root,
            .run_root = g->run_root,
            .project = argv[1],
            .runtime = g->runtime,
        };
        _cleanup_error_ struct stack_error err = {0};
        if (supervisor_run(&c, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
