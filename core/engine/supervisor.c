#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/engine/health.h"
#include "core/base/log.h"
#include "core/runtime/container-id.h"
#include "core/runtime/logindex.h"
#include "core/base/memtrim.h"
#include "core/engine/restart.h"
#include "core/runtime/runtime.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "core/engine/top.h"
#include "core/base/util.h"
#include "net/dns-records.h"
#include "net/dns.h"

#define USEC_PER_SEC 1000000ULL
#define PROBE_OUTPUT_MAX 4096

struct supervisor;
struct sup_container;

/* A process the supervisor started and waits for (a runtime command or a health probe). */
struct child {
        pid_t pid;
        void (*done)(struct supervisor *s, struct child *c, int status);
        struct sup_container *container;
        struct conn *conn; /* the client waiting for the result, if any */
        const char *what;  /* "create", "start", "probe", ... */
        int out_fd;        /* probe output */
        struct strbuf out;
        sd_event_source *out_source, *timeout;
        uint64_t start_usec;
        bool timed_out;
        char *name; /* "create": the container, looked up again when the runtime is done */
        bool start; /* "create": start it once created (op "run") */
        struct child *next;
};

struct sup_container {
        char *name;
        char *service;
        enum container_state state; /* CREATED, RUNNING or EXITED; RESTARTING is restart_timer */
        /* The init exited while its start was still pending (a quick one-shot): applied once started. */
        bool exited_early;
        int early_exit_code;
        pid_t pid;
        uint64_t pid_start;
        int pidfd;
        sd_event_source *pid_source;
        int exit_code;
        uint64_t started_at, finished_at; /* realtime */
        uint64_t started_mono;
        bool stopped_by_user;
        bool probing;
        int restart_count;
        struct stack_restart_policy restart;
        struct restart_state restart_state;
        struct health_settings health;
        struct health_state health_state;
        char **health_test; /* argv to exec */
        int stop_signal;
        uint64_t stop_grace_usec;
        char *log_path;
        struct logindex_watch *log_watch; /* stamps the log's growth, for `stack logs -t/--since` */
        char *bundle;
        sd_event_source *health_timer, *restart_timer, *kill_timer;
        /* The runtime's create or start in flight: other requests for the container wait for it, as they
         * did when the runtime ran inside the loop, so a `down` right after a killed `up` cannot slip in
         * between a create and its completion. */
        struct child *inflight;
        struct pending_req *pending;
        size_t n_pending;
        struct conn **stop_waiters;
        size_t n_stop_waiters;
};

struct conn {
        int fd;
        sd_event_source *source;
        struct strbuf in;
        struct supervisor *s;
        bool busy; /* a reply is pending on an asynchronous operation */
};

struct supervisor {
        struct supervisor_config cfg;
        sd_event *event;
        int listen_fd;
        char *dir;
        char *runtime_root;
        struct runtime *rt;
        struct dns_server *dns;
        int lock_fd;
        struct sup_container **containers;
        size_t n_containers;
        struct child *children;
};

/* One supervisor per process: the timers and pidfd sources of a container reach it through this. */
static struct supervisor *sup_current;

static void container_schedule_health(struct supervisor *s, struct sup_container *c, uint64_t delay);
static void container_exited(struct supervisor *s, struct sup_container *c, int exit_code);
static void handle(struct supervisor *s, struct conn *conn, const cJSON *req);

struct pending_req {
        struct conn *conn; /* NULL once the client has gone: the request is dropped */
        cJSON *req;
};

static void reply(struct conn *conn, cJSON *j)
{
        if (!conn)
                return;
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        if (text) {
                size_t len = strlen(text);
                /* Replies are small; the client reads them right away, so a blocking write is fine. */
                int fl = fcntl(conn->fd, F_GETFL);
                fcntl(conn->fd, F_SETFL, fl & ~O_NONBLOCK);
                if (write(conn->fd, text, len) < 0 || write(conn->fd, "\n", 1) < 0)
                        log_debug("supervisor: client went away: %m");
                fcntl(conn->fd, F_SETFL, fl);
        }
        conn->busy = false;
}

static void reply_ok(struct conn *conn)
{
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "ok", true);
        reply(conn, j);
}

static void reply_error(struct conn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_error(struct conn *conn, const char *fmt, ...)
{
        char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "error", msg ? msg : "error");
        free(msg);
        reply(conn, j);
}

static struct sup_container *find_container(struct supervisor *s, const char *name)
{
        for (size_t i = 0; i < s->n_containers; i++)
                if (streq(s->containers[i]->name, name))
                        return s->containers[i];
        return NULL;
}

static cJSON *container_json(const struct sup_container *c)
{
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", c->name);
        cJSON_AddStringToObject(j, "service", c->service ? c->service : "");
        cJSON_AddStringToObject(
            j, "state", container_state_to_string(c->restart_timer ? CONTAINER_STATE_RESTARTING : c->state));
        cJSON_AddNumberToObject(j, "pid", c->state == CONTAINER_STATE_RUNNING ? c->pid : 0);
        cJSON_AddNumberToObject(j, "exit_code", c->exit_code);
        cJSON_AddBoolToObject(j, "stopped", c->stopped_by_user);
        cJSON_AddNumberToObject(j, "started_at", (double) c->started_at);
        cJSON_AddNumberToObject(j, "finished_at", (double) c->finished_at);
        cJSON_AddNumberToObject(j, "restart_count", c->restart_count);
        cJSON_AddStringToObject(j, "health", health_status_name(c->health_state.status));
        cJSON *log = cJSON_AddArrayToObject(j, "health_log");
        for (int i = 0; i < c->health_state.n_log; i++) {
                const struct health_probe_result *p = &c->health_state.log[i];
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "start", (double) p->start_usec);
                cJSON_AddNumberToObject(e, "end", (double) p->end_usec);
                cJSON_AddNumberToObject(e, "exit_code", p->exit_code);
                cJSON_AddStringToObject(e, "output", p->output ? p->output : "");
                cJSON_AddItemToArray(log, e);
        }
        return j;
}

/* The last known state survives the supervisor: a new one (and `stack ps`) reads it back. */
static void container_save(struct supervisor *s, const struct sup_container *c)
{
        _cleanup_(cJSON_Deletep) cJSON *j = container_json(c);
        cJSON_AddNumberToObject(j, "pid_start", (double) c->pid_start);
        _cleanup_free_ char *path = xasprintf("%s/status/%s.json", s->dir, c->name);
        struct stack_error e = {0};
        if (json_write_file(path, j, &e) < 0)
                log_warning("supervisor: %s", e.msg);
        stack_error_clear(&e);
}

cJSON *supervisor_read_status(const char *run_root, const char *project, const char *name)
{
        _cleanup_free_ char *path = xasprintf("%s/projects/%s/status/%s.json", run_root, project, name);
        cJSON *j = NULL;
        if (json_read_file(path, &j, NULL) < 0)
                return NULL;
        return j;
}

char *supervisor_runtime_root(const char *run_root)
{
        return path_join(run_root, "runtime");
}

/* ---- children: runtime commands and probes ---- */

static struct child *child_find(struct supervisor *s, pid_t pid)
{
        for (struct child *c = s->children; c; c = c->next)
                if (c->pid == pid)
                        return c;
        return NULL;
}

static void child_free(struct supervisor *s, struct child *ch)
{
        for (struct child **p = &s->children; *p; p = &(*p)->next)
                if (*p == ch) {
                        *p = ch->next;
                        break;
                }
        sd_event_source_disable_unref(ch->out_source);
        sd_event_source_disable_unref(ch->timeout);
        if (ch->out_fd >= 0)
                close(ch->out_fd);
        strbuf_free(&ch->out);
        free(ch->name);
        free(ch);
}

/* Runs a health probe in a child of ours that waits for `runtime exec`, so the loop never blocks; the
 * child is its own process group so a timeout can end all of it. */
static struct child *probe_spawn(struct supervisor *s, const char *id, char *const *argv,
                                 struct stack_error *err)
{
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                stack_error_errno(err, errno, "pipe");
                return NULL;
        }
        pid_t pid = fork();
        if (pid < 0) {
                stack_error_errno(err, errno, "fork");
                close(pipefd[0]);
                close(pipefd[1]);
                return NULL;
        }
        if (pid == 0) {
                setpgid(0, 0);
                close(pipefd[0]);
                /* Not ours to keep: the singleton lock and the socket stay with the supervisor. */
                close(s->lock_fd);
                close(s->listen_fd);
                int status = 0;
                if (runtime_exec(s->rt, id, argv, pipefd[1], &status, NULL) < 0)
                        _exit(255);
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 255);
        }
        close(pipefd[1]);
        struct child *ch = xcalloc(1, sizeof(*ch));
        ch->pid = pid;
        ch->out_fd = pipefd[0];
        ch->start_usec = now_usec();
        fcntl(ch->out_fd, F_SETFL, O_NONBLOCK);
        ch->next = s->children;
        s->children = ch;
        return ch;
}

static int on_probe_output(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct child *ch = userdata;
        char buf[1024];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (ch->out.len < PROBE_OUTPUT_MAX)
                        strbuf_add(&ch->out, buf, (size_t) n);
        if (n == 0) {
                sd_event_source_set_enabled(src, SD_EVENT_OFF);
        }
        return 0;
}

static int on_child_timeout(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct child *ch = userdata;
        ch->timed_out = true;
        kill(-ch->pid, SIGKILL);
        return 0;
}

/* ---- runtime ---- */

static int log_open(struct sup_container *c)
{
        if (!c->log_path)
                return open("/dev/null", O_WRONLY | O_CLOEXEC);
        _cleanup_free_ char *dir = path_dirname(c->log_path);
        mkdir_p(dir, 0700, NULL);
        return open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* (Re)starts the time index of the container's log: first the log's current size with its mtime, then each
 * growth as inotify reports it. Called whenever this supervisor starts or adopts the container, so output
 * written while no supervisor ran is stamped with the time of the last write before the adoption. */
static void container_index_log(struct supervisor *s, struct sup_container *c)
{
        logindex_watch_free(c->log_watch);
        c->log_watch = NULL;
        if (!c->log_path)
                return;
        struct stack_error e = {0};
        /* Without the index `stack logs` falls back to the file's mtime: worth a warning, not a failure. */
        if (logindex_watch_new(s->event, c->log_path, &c->log_watch, &e) < 0 && e.code != ENOENT)
                log_warning("supervisor: time index of %s: %s", c->name, e.msg);
        stack_error_clear(&e);
}

static int on_pidfd(sd_event_source *src, int fd, uint32_t revents, void *userdata);

/* A container whose init is not our child (adopted after a supervisor restart) is watched by pidfd. */
static void container_watch(struct supervisor *s, struct sup_container *c)
{
        sd_event_source_disable_unref(c->pid_source);
        c->pid_source = NULL;
        if (c->pidfd >= 0)
                close(c->pidfd);
        c->pidfd = (int) syscall(SYS_pidfd_open, c->pid, 0);
        if (c->pidfd < 0)
                return;
        if (sd_event_add_io(s->event, &c->pid_source, c->pidfd, EPOLLIN, on_pidfd, c) < 0) {
                close(c->pidfd);
                c->pidfd = -1;
        }
}

static bool is_our_child(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *text = NULL;
        if (read_full_file(path, &text, NULL, NULL) < 0)
                return false;
        char *p = strrchr(text, ')');
        int ppid = 0;
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
                return false;
        return ppid == getpid();
}

static void container_running(struct supervisor *s, struct sup_container *c)
{
        c->state = CONTAINER_STATE_RUNNING;
        c->started_at = realtime_usec();
        c->started_mono = now_usec();
        c->exit_code = 0;
        health_state_clear(&c->health_state);
        health_state_init(&c->health_state, &c->health);
        if (c->health.enabled)
                container_schedule_health(s, c, health_next_delay(&c->health, &c->health_state, 0));
        if (!is_our_child(c->pid))
                container_watch(s, c);
        container_save(s, c);
}

/* The init's pid, from the pid file the runtime wrote in the bundle at create. */
static void container_read_pid(struct sup_container *c)
{
        if (!c->bundle)
                return;
        _cleanup_free_ char *pidp = path_join(c->bundle, "pid");
        _cleanup_free_ char *text = NULL;
        if (read_full_file(pidp, &text, NULL, NULL) < 0)
                return;
        c->pid = (pid_t) atoi(text);
        c->pid_start = proc_start_time(c->pid);
}

static int container_start(struct supervisor *s, struct sup_container *c, struct stack_error *err)
{
        /* A supervisor that adopted a created container did not see its create: without the pid, the
         * started container would be watched by nobody and its exit never seen. */
        if (c->pid <= 0)
                container_read_pid(c);
        int r = runtime_start(s->rt, c->name, err);
        if (r < 0)
                return r;
        container_running(s, c);
        return 0;
}

static int container_created(struct supervisor *s, struct sup_container *c, bool start,
                             struct stack_error *err);

/* Creates the container from its bundle (and starts it): the runtime's create forks the container's init,
 * which is reparented to us, the subreaper, so its exit status comes to us. */
static int container_create(struct supervisor *s, struct sup_container *c, bool start,
                            struct stack_error *err)
{
        if (!c->bundle)
                return stack_error_set(err, EINVAL, "container %s has no bundle recorded", c->name);
        /* The runtime hands its own stdout and stderr to the container: the log file, opened for appending,
         * so the output outlives us. */
        _cleanup_close_ int logfd = log_open(c);
        if (logfd < 0)
                return stack_error_errno(err, errno, "open %s", c->log_path);
        container_index_log(s, c);
        int r = runtime_create(s->rt, c->name, c->bundle, logfd, err);
        if (r < 0)
                return r;
        return container_created(s, c, start, err);
}

/* The runtime's create has succeeded: note the init's pid and start time, and start it if asked. */
static int container_created(struct supervisor *s, struct sup_container *c, bool start,
                             struct stack_error *err)
{
        c->exited_early = false;
        c->pid = 0;
        container_read_pid(c);
        if (c->pid > 0) {
                /* container.c signals the init only through this record of pid and start time. */
                _cleanup_free_ char *initp = path_join(c->bundle, "init");
                _cleanup_free_ char *init =
                    xasprintf("%d %llu\n", (int) c->pid, (unsigned long long) c->pid_start);
                (void) write_file_atomic(initp, init, strlen(init), 0644, NULL);
        }
        c->state = CONTAINER_STATE_CREATED;
        container_save(s, c);
        return start ? container_start(s, c, err) : 0;
}

/* Handles the requests that waited for the container's create or start. One of them may start another
 * (a `start` after the create): those behind it wait again. */
static void run_pending(struct supervisor *s, const char *name)
{
        struct sup_container *c = find_container(s, name);
        if (!c || c->inflight || c->n_pending == 0)
                return;
        struct pending_req *list = c->pending;
        size_t n = c->n_pending;
        c->pending = NULL;
        c->n_pending = 0;
        for (size_t i = 0; i < n; i++) {
                if (list[i].conn)
                        handle(s, list[i].conn, list[i].req);
                cJSON_Delete(list[i].req);
        }
        free(list);
}

/* A runtime command for c running beside the loop: its exit calls done, which replies to conn. */
static void runtime_child_add(struct supervisor *s, struct sup_container *c, pid_t pid, const char *what,
                              void (*done)(struct supervisor *s, struct child *ch, int status), int out_fd,
                              bool start, struct conn *conn)
{
        struct child *ch = xcalloc(1, sizeof(*ch));
        *ch = (struct child){.pid = pid,
                             .done = done,
                             .conn = conn,
                             .what = what,
                             .out_fd = out_fd,
                             .start_usec = now_usec(),
                             .name = xstrdup(c->name),
                             .start = start,
                             .next = s->children};
        s->children = ch;
        c->inflight = ch;
}

static void on_create_done(struct supervisor *s, struct child *ch, int status)
{
        struct sup_container *c = find_container(s, ch->name);
        if (c)
                c->inflight = NULL;
        struct stack_error e = {0};
        if (!c)
                reply_error(ch->conn, "container %s was forgotten while it was created", ch->name);
        else if (runtime_create_finish(s->rt, c->name, c->bundle, status, &e) < 0 ||
                 container_created(s, c, ch->start, &e) < 0)
                reply_error(ch->conn, "%s", e.msg);
        else
                reply_ok(ch->conn);
        stack_error_clear(&e);
        run_pending(s, ch->name);
}

/* The `create` and `run` ops: the runtime's create runs while the loop goes on, so the containers of an `up`
 * are created side by side (each create takes tens of milliseconds), and the reply comes when it is done. */
static int container_create_async(struct supervisor *s, struct sup_container *c, bool start,
                                  struct conn *conn, struct stack_error *err)
{
        if (!c->bundle)
                return stack_error_set(err, EINVAL, "container %s has no bundle recorded", c->name);
        _cleanup_close_ int logfd = log_open(c);
        if (logfd < 0)
                return stack_error_errno(err, errno, "open %s", c->log_path);
        container_index_log(s, c);
        pid_t pid;
        int r = runtime_create_spawn(s->rt, c->name, c->bundle, logfd, &pid, err);
        if (r < 0)
                return r;
        runtime_child_add(s, c, pid, "create", on_create_done, -1, start, conn);
        return 0;
}

static void on_start_done(struct supervisor *s, struct child *ch, int status)
{
        /* The runtime's few lines of output, if any, wait in the pipe. */
        char buf[4096];
        ssize_t n = ch->out_fd >= 0 ? read(ch->out_fd, buf, sizeof(buf) - 1) : -1;
        buf[n > 0 ? n : 0] = 0;
        struct sup_container *c = find_container(s, ch->name);
        if (c)
                c->inflight = NULL;
        struct stack_error e = {0};
        if (!c)
                reply_error(ch->conn, "container %s was forgotten while it was started", ch->name);
        else if (runtime_start_finish(s->rt, c->name, status, buf, &e) < 0)
                reply_error(ch->conn, "%s", e.msg);
        else if (c->exited_early) {
                /* It ran and is already gone: record the run, then its exit (and the restart policy). */
                c->exited_early = false;
                c->state = CONTAINER_STATE_RUNNING;
                c->started_at = realtime_usec();
                c->started_mono = now_usec();
                container_exited(s, c, c->early_exit_code);
                reply_ok(ch->conn);
        } else {
                container_running(s, c);
                reply_ok(ch->conn);
        }
        stack_error_clear(&e);
        run_pending(s, ch->name);
}

/* The `start` op of a created container, without blocking the loop either. */
static int container_start_async(struct supervisor *s, struct sup_container *c, struct conn *conn,
                                 struct stack_error *err)
{
        if (c->pid <= 0)
                container_read_pid(c);
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return stack_error_errno(err, errno, "pipe");
        pid_t pid;
        int r = runtime_start_spawn(s->rt, c->name, pipefd[1], &pid, err);
        close(pipefd[1]);
        if (r < 0) {
                close(pipefd[0]);
                return r;
        }
        fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        runtime_child_add(s, c, pid, "start", on_start_done, pipefd[0], false, conn);
        return 0;
}

/* ---- exits, restarts, stops ---- */

struct restart_ctx {
        struct supervisor *s;
        struct sup_container *c;
};

static int on_restart_due(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct restart_ctx *rc = userdata;
        struct supervisor *s = rc->s;
        struct sup_container *c = rc->c;
        free(rc);
        sd_event_source_disable_unref(c->restart_timer);
        c->restart_timer = NULL;
        if (c->stopped_by_user)
                return 0;
        struct stack_error e = {0};
        runtime_delete(s->rt, c->name, true, NULL);
        c->restart_count++;
        log_info("supervisor: restarting %s (attempt %d)", c->name, c->restart_count);
        if (container_create(s, c, true, &e) < 0) {
                /* Counts as another failed run: the policy decides whether and when to try again. */
                log_warning("supervisor: restart of %s failed: %s", c->name, e.msg);
                c->started_mono = now_usec();
                container_exited(s, c, -1);
        }
        stack_error_clear(&e);
        return 0;
}

static void container_exited(struct supervisor *s, struct sup_container *c, int exit_code)
{
        c->state = CONTAINER_STATE_EXITED;
        c->exit_code = exit_code;
        c->finished_at = realtime_usec();
        sd_event_source_disable_unref(c->health_timer);
        c->health_timer = NULL;
        sd_event_source_disable_unref(c->kill_timer);
        c->kill_timer = NULL;
        sd_event_source_disable_unref(c->pid_source);
        c->pid_source = NULL;
        if (c->pidfd >= 0) {
                close(c->pidfd);
                c->pidfd = -1;
        }
        for (size_t i = 0; i < c->n_stop_waiters; i++)
                reply_ok(c->stop_waiters[i]);
        free(c->stop_waiters);
        c->stop_waiters = NULL;
        c->n_stop_waiters = 0;

        uint64_t delay = 0;
        uint64_t ran = now_usec() - c->started_mono;
        if (restart_decide(&c->restart, &c->restart_state, exit_code, c->stopped_by_user, ran, now_usec(),
                           &delay)) {
                struct restart_ctx *rc = xmalloc(sizeof(*rc));
                *rc = (struct restart_ctx){.s = s, .c = c};
                int r = sd_event_add_time_relative(s->event, &c->restart_timer, CLOCK_MONOTONIC, delay, 0,
                                                   on_restart_due, rc);
                if (r < 0) {
                        /* Without its timer the container stays exited, as if its policy said so: said
                         * in the log, and the next `up` starts it. */
                        log_warning("supervisor: cannot schedule the restart of %s: %s", c->name,
                                    strerror(-r));
                        free(rc);
                        c->restart_timer = NULL;
                }
        }
        container_save(s, c);
}

static int on_pidfd(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct sup_container *c = userdata;
        /* Not our child: the exit status is not ours to read. */
        container_exited(sup_current, c, -1);
        return 0;
}

static int on_kill_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct sup_container *c = userdata;
        if (c->state == CONTAINER_STATE_RUNNING && c->pid > 0 && proc_alive(c->pid, c->pid_start))
                kill(c->pid, SIGKILL);
        return 0;
}

static void container_stop(struct supervisor *s, struct sup_container *c, uint64_t grace, struct conn *conn)
{
        c->stopped_by_user = true;
        sd_event_source_disable_unref(c->restart_timer);
        c->restart_timer = NULL;
        if (c->state != CONTAINER_STATE_RUNNING || !proc_alive(c->pid, c->pid_start)) {
                if (c->state == CONTAINER_STATE_RUNNING)
                        container_exited(s, c, -1);
                reply_ok(conn);
                return;
        }
        if (conn) {
                c->stop_waiters = xrealloc(c->stop_waiters, (c->n_stop_waiters + 1) * sizeof(struct conn *));
                c->stop_waiters[c->n_stop_waiters++] = conn;
        }
        /* A paused container would take no signal, SIGKILL included, and never stop: thawed first. */
        if (top_process_frozen("/proc", "/sys/fs/cgroup", c->pid))
                (void) runtime_resume(s->rt, c->name, NULL);
        /* The signal goes to the container's init directly: it is this process's child or was adopted with
         * its start time checked, so the pid cannot have been reused. */
        kill(c->pid, c->stop_signal > 0 ? c->stop_signal : SIGTERM);
        if (!c->kill_timer) {
                int r = sd_event_add_time_relative(s->event, &c->kill_timer, CLOCK_MONOTONIC, grace, 0,
                                                   on_kill_timer, c);
                if (r < 0) {
                        /* No timer, no grace: a stop that might otherwise never end kills now. */
                        log_warning("supervisor: no stop timer for %s (%s): killing it", c->name,
                                    strerror(-r));
                        c->kill_timer = NULL;
                        kill(c->pid, SIGKILL);
                }
                return;
        }
        /* Already stopping: a shorter grace (a second Ctrl-C asks for none) brings the SIGKILL forward. */
        uint64_t now, due;
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) >= 0 &&
            sd_event_source_get_time(c->kill_timer, &due) >= 0 && now + grace < due) {
                /* Should this fail, the earlier SIGKILL time stands: the stop still ends. */
                (void) sd_event_source_set_time(c->kill_timer, now + grace);
                (void) sd_event_source_set_enabled(c->kill_timer, SD_EVENT_ONESHOT);
        }
}

/* ---- health ---- */

static void on_probe_done(struct supervisor *s, struct child *ch, int status)
{
        struct sup_container *c = ch->container;
        c->probing = false;
        /* Drain what is left of the output. */
        if (ch->out_fd >= 0)
                on_probe_output(ch->out_source, ch->out_fd, 0, ch);
        struct health_probe_result r = {
            .start_usec = realtime_usec() - (now_usec() - ch->start_usec),
            .end_usec = realtime_usec(),
            .exit_code = ch->timed_out       ? -1
                         : WIFEXITED(status) ? WEXITSTATUS(status)
                                             : -1,
            .output = ch->timed_out ? xstrdup("health check timed out") : strbuf_take(&ch->out),
        };
        if (c->state != CONTAINER_STATE_RUNNING) {
                free(r.output);
                return;
        }
        uint64_t since = now_usec() - c->started_mono;
        if (health_record(&c->health, &c->health_state, since, &r))
                log_info("supervisor: %s is %s", c->name, health_status_name(c->health_state.status));
        container_save(s, c);
        container_schedule_health(s, c, health_next_delay(&c->health, &c->health_state, since));
}

static int on_health_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct sup_container *c = userdata;
        struct supervisor *s = sup_current;
        sd_event_source_disable_unref(c->health_timer);
        c->health_timer = NULL;
        if (c->state != CONTAINER_STATE_RUNNING || c->probing || !c->health_test)
                return 0;
        struct stack_error e = {0};
        struct child *ch = probe_spawn(s, c->name, c->health_test, &e);
        if (!ch) {
                stack_error_clear(&e);
                container_schedule_health(s, c, c->health.interval_usec);
                return 0;
        }
        c->probing = true;
        ch->done = on_probe_done;
        ch->container = c;
        ch->what = "probe";
        int r = sd_event_add_io(s->event, &ch->out_source, ch->out_fd, EPOLLIN, on_probe_output, ch);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &ch->timeout, CLOCK_MONOTONIC,
                                               c->health.timeout_usec, 0, on_child_timeout, ch);
        if (r < 0) {
                /* A probe nobody reads or times out could hang the checks for good: end it now, and it
                 * counts as a failed probe when it is reaped. */
                log_warning("supervisor: health probe of %s not watched (%s): ended", c->name, strerror(-r));
                kill(-ch->pid, SIGKILL); /* its process group, as on_child_timeout */
        }
        return 0;
}

static void container_schedule_health(struct supervisor *s, struct sup_container *c, uint64_t delay)
{
        sd_event_source_disable_unref(c->health_timer);
        c->health_timer = NULL;
        int r = sd_event_add_time_relative(s->event, &c->health_timer, CLOCK_MONOTONIC, delay, 0,
                                           on_health_timer, c);
        if (r < 0) {
                log_warning("supervisor: health checks of %s stop: %s", c->name, strerror(-r));
                c->health_timer = NULL;
        }
}

/* ---- the table of containers, from the records ---- */

static void container_free(struct sup_container *c)
{
        sd_event_source_disable_unref(c->health_timer);
        sd_event_source_disable_unref(c->restart_timer);
        sd_event_source_disable_unref(c->kill_timer);
        sd_event_source_disable_unref(c->pid_source);
        if (c->pidfd >= 0)
                close(c->pidfd);
        health_state_clear(&c->health_state);
        strv_free(c->health_test);
        free(c->stop_waiters);
        for (size_t i = 0; i < c->n_pending; i++)
                cJSON_Delete(c->pending[i].req);
        free(c->pending);
        free(c->name);
        free(c->service);
        logindex_watch_free(c->log_watch);
        free(c->log_path);
        free(c->bundle);
        free(c);
}

static void container_configure(struct sup_container *c, const struct container_record *rec)
{
        const cJSON *spec = rec->spec;
        free(c->service);
        c->service = xstrdup(rec->service);
        const cJSON *restart = cJSON_GetObjectItemCaseSensitive(spec, "restart");
        const char *policy = json_get_str(restart, "policy");
        c->restart = (struct stack_restart_policy){
            .policy = !policy                           ? STACK_RESTART_NO
                      : streq(policy, "always")         ? STACK_RESTART_ALWAYS
                      : streq(policy, "on-failure")     ? STACK_RESTART_ON_FAILURE
                      : streq(policy, "unless-stopped") ? STACK_RESTART_UNLESS_STOPPED
                                                        : STACK_RESTART_NO,
            .max_retries = (int) json_get_num(restart, "max_retries", 0),
            .delay_usec = (int64_t) json_get_num(restart, "delay_usec", -1),
            .window_usec = (int64_t) json_get_num(restart, "window_usec", -1),
        };
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(spec, "health");
        c->health = (struct health_settings){
            .enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "enabled")),
            .interval_usec = (uint64_t) json_get_num(h, "interval_usec", 30 * USEC_PER_SEC),
            .timeout_usec = (uint64_t) json_get_num(h, "timeout_usec", 30 * USEC_PER_SEC),
            .start_period_usec = (uint64_t) json_get_num(h, "start_period_usec", 0),
            .start_interval_usec = (uint64_t) json_get_num(h, "start_interval_usec", 5 * USEC_PER_SEC),
            .retries = (int) json_get_num(h, "retries", 3),
        };
        strv_free(c->health_test);
        c->health_test = json_strv(cJSON_GetObjectItemCaseSensitive(h, "test"));
        if (!c->health_test[0])
                c->health.enabled = false;
        c->stop_signal = (int) json_get_num(spec, "stop_signal", SIGTERM);
        c->stop_grace_usec = (uint64_t) json_get_num(spec, "stop_grace_usec", 10 * USEC_PER_SEC);
        free(c->log_path);
        c->log_path = json_get_str(spec, "log") ? xstrdup(json_get_str(spec, "log")) : NULL;
        free(c->bundle);
        c->bundle = json_get_str(spec, "bundle") ? xstrdup(json_get_str(spec, "bundle")) : NULL;
}

/* Re-adopts what a previous supervisor left: a container is running if the pid it recorded is alive with
 * the same start time. */
static void container_adopt(struct supervisor *s, struct sup_container *c)
{
        _cleanup_(cJSON_Deletep) cJSON *st =
            supervisor_read_status(s->cfg.run_root, s->cfg.project, c->name);
        if (!st)
                return;
        enum container_state state = container_state_from_string(json_get_str(st, "state"));
        pid_t pid = (pid_t) json_get_num(st, "pid", 0);
        uint64_t start = (uint64_t) json_get_num(st, "pid_start", 0);
        c->exit_code = (int) json_get_num(st, "exit_code", 0);
        c->started_at = (uint64_t) json_get_num(st, "started_at", 0);
        c->finished_at = (uint64_t) json_get_num(st, "finished_at", 0);
        c->restart_count = (int) json_get_num(st, "restart_count", 0);
        /* a stop asked by a stack command outlives this supervisor: the next up must know it */
        c->stopped_by_user = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "stopped"));
        /* A supervisor killed between the runtime's `start` and saving it leaves "created" for a container
         * that runs or has run: the runtime knows (its start fifo is gone once started). */
        struct runtime_state rs = {0};
        if (state == CONTAINER_STATE_CREATED && !runtime_awaiting_start(s->rt, c->name) &&
            runtime_state(s->rt, c->name, &rs, NULL) >= 0) {
                if (rs.status == RUNTIME_RUNNING && rs.pid > 0) {
                        state = CONTAINER_STATE_RUNNING;
                        pid = rs.pid;
                        start = proc_start_time(rs.pid);
                        c->started_at = realtime_usec();
                } else if (rs.status == RUNTIME_STOPPED)
                        state = CONTAINER_STATE_UNKNOWN; /* it ran and exited unseen: handled below */
        }
        if (container_state_is_up(state) && proc_alive(pid, start)) {
                c->pid = pid;
                c->pid_start = start;
                c->state = CONTAINER_STATE_RUNNING;
                c->started_mono = now_usec();
                health_state_init(&c->health_state, &c->health);
                if (c->health.enabled)
                        container_schedule_health(s, c, 0);
                container_watch(s, c);
                container_index_log(s, c);
        } else if (state == CONTAINER_STATE_CREATED) {
                c->state = CONTAINER_STATE_CREATED;
                container_index_log(s, c);
        } else {
                c->state = CONTAINER_STATE_EXITED;
                if (state != CONTAINER_STATE_EXITED) {
                        /* It died while nobody watched: record that, and apply its policy now. */
                        c->started_mono = now_usec();
                        container_exited(s, c, c->exit_code ? c->exit_code : -1);
                }
        }
}

/* The project's name table, as the reconciler last wrote it; the responder answers on each network's
 * gateway. A failure here costs name resolution, not the containers, so it is only logged. */
static void dns_reload(struct supervisor *s)
{
        _cleanup_free_ char *path = dns_records_path(s->cfg.run_root, s->cfg.project);
        if (!path_exists(path))
                return;
        struct stack_error e = {0};
        _cleanup_strv_free_ char **skipped = NULL;
        if (!s->dns && dns_server_new(s->event, &s->dns, &e) < 0)
                log_warning("supervisor: DNS responder: %s", e.msg);
        else if (dns_server_reload(s->dns, path, &skipped, &e) < 0)
                log_warning("supervisor: DNS responder: %s", e.msg);
        STRV_FOREACH (w, skipped)
                log_warning("supervisor: DNS responder: %s", *w);
        stack_error_clear(&e);
}

static int reload(struct supervisor *s, struct stack_error *err)
{
        dns_reload(s);
        struct container_record **recs = NULL;
        size_t n = 0;
        int r = state_container_list(s->cfg.root, s->cfg.project, &recs, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct sup_container *c = find_container(s, recs[i]->name);
                if (!c) {
                        c = xcalloc(1, sizeof(*c));
                        c->name = xstrdup(recs[i]->name);
                        c->pidfd = -1;
                        c->state = CONTAINER_STATE_EXITED;
                        s->containers = xrealloc(s->containers, (s->n_containers + 1) * sizeof(c));
                        s->containers[s->n_containers++] = c;
                        container_configure(c, recs[i]);
                        container_adopt(s, c);
                } else
                        container_configure(c, recs[i]);
        }
        container_record_list_free(recs, n);
        return 0;
}

static void forget(struct supervisor *s, const char *name)
{
        for (size_t i = 0; i < s->n_containers; i++)
                if (streq(s->containers[i]->name, name)) {
                        struct sup_container *c = s->containers[i];
                        /* Forgotten means removed: an init still alive here was made by a create that
                         * finished after the CLI had removed the container (a `down` racing a killed
                         * `up`), and nobody else would ever end it. */
                        if ((c->state == CONTAINER_STATE_CREATED || c->state == CONTAINER_STATE_RUNNING) &&
                            c->pid > 0 && proc_alive(c->pid, c->pid_start))
                                runtime_delete(s->rt, c->name, true, NULL);
                        container_free(s->containers[i]);
                        s->containers[i] = s->containers[--s->n_containers];
                        break;
                }
        _cleanup_free_ char *path = xasprintf("%s/status/%s.json", s->dir, name);
        unlink(path);
}

/* ---- the control socket ---- */

static void conn_free(struct conn *conn)
{
        sd_event_source_disable_unref(conn->source);
        close(conn->fd);
        strbuf_free(&conn->in);
        free(conn);
}

/* The supervisor leaves once the project has no container left: none in its table, none recorded (a
 * command may be about to ask for one it just recorded), and nothing in flight. */
static int on_idle(sd_event_source *src, uint64_t usec, void *userdata);

static void maybe_exit(struct supervisor *s)
{
        if (s->n_containers > 0 || s->children)
                return;
        struct stack_error e = {0};
        reload(s, &e);
        stack_error_clear(&e);
        if (s->n_containers == 0)
                sd_event_exit(s->event, 0);
}

static void handle(struct supervisor *s, struct conn *conn, const cJSON *req)
{
        const char *op = json_get_str(req, "op");
        const char *name = json_get_str(req, "name");
        struct sup_container *c = name ? find_container(s, name) : NULL;
        struct stack_error e = {0};
        conn->busy = true;
        if (c && c->inflight) {
                c->pending = xrealloc(c->pending, (c->n_pending + 1) * sizeof(*c->pending));
                c->pending[c->n_pending++] = (struct pending_req){conn, cJSON_Duplicate(req, true)};
                return;
        }

        if (!op) {
                reply_error(conn, "request without op");
        } else if (streq(op, "ping")) {
                reply_ok(conn);
        } else if (streq(op, "status")) {
                _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
                cJSON *list = cJSON_AddArrayToObject(j, "containers");
                for (size_t i = 0; i < s->n_containers; i++)
                        cJSON_AddItemToArray(list, container_json(s->containers[i]));
                reply(conn, j);
        } else if (streq(op, "reload")) {
                if (reload(s, &e) < 0)
                        reply_error(conn, "%s", e.msg);
                else
                        reply_ok(conn);
                maybe_exit(s);
        } else if (streq(op, "forget")) {
                if (name)
                        forget(s, name);
                reply_ok(conn);
                maybe_exit(s);
        } else if (!c) {
                /* create/start/stop name a container the CLI recorded just before: load it first. */
                reload(s, &e);
                stack_error_clear(&e);
                c = name ? find_container(s, name) : NULL;
                if (!c)
                        reply_error(conn, "unknown container %s", name ? name : "(none)");
                else
                        handle(s, conn, req);
        } else if (streq(op, "create") || streq(op, "run")) {
                c->stopped_by_user = false;
                c->restart_state = (struct restart_state){0};
                if (container_create_async(s, c, streq(op, "run"), conn, &e) < 0)
                        reply_error(conn, "%s", e.msg);
        } else if (streq(op, "start")) {
                c->stopped_by_user = false;
                int k = 0;
                bool pending = false;
                if (c->state == CONTAINER_STATE_CREATED) {
                        k = container_start_async(s, c, conn, &e);
                        pending = k >= 0;
                } else if (c->state == CONTAINER_STATE_EXITED) {
                        /* The runtime cannot start an exited container again: it is made anew from its
                         * bundle, over the same writable layer. */
                        sd_event_source_disable_unref(c->restart_timer);
                        c->restart_timer = NULL;
                        runtime_delete(s->rt, c->name, true, NULL);
                        k = container_create(s, c, true, &e);
                }
                if (k < 0)
                        reply_error(conn, "%s", e.msg);
                else if (!pending)
                        reply_ok(conn);
        } else if (streq(op, "kill")) {
                int sig = (int) json_get_num(req, "signal", SIGKILL);
                /* As docker's kill: SIGKILL or the stop signal ends the container for good. */
                bool final = sig == SIGKILL || sig == c->stop_signal;
                if (c->state != CONTAINER_STATE_RUNNING || !proc_alive(c->pid, c->pid_start))
                        reply_error(conn, "container %s is not running", c->name);
                else if (kill(c->pid, sig) < 0)
                        reply_error(conn, "kill %s: %s", c->name, strerror(errno));
                else {
                        if (final) {
                                c->stopped_by_user = true;
                                container_save(s, c);
                        }
                        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
                        cJSON_AddBoolToObject(j, "ok", true);
                        cJSON_AddBoolToObject(j, "stopped", final);
                        reply(conn, j);
                }
        } else if (streq(op, "stop")) {
                uint64_t grace = (uint64_t) json_get_num(req, "timeout_usec", (double) c->stop_grace_usec);
                container_stop(s, c, grace, conn);
        } else {
                reply_error(conn, "unknown op %s", op);
        }
        stack_error_clear(&e);
}

static int on_idle(sd_event_source *src, uint64_t usec, void *userdata)
{
        maybe_exit(userdata);
        return 0;
}

static int on_conn(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct conn *conn = userdata;
        struct supervisor *s = conn->s;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                /* The client is gone. Operations it waits for still complete; their replies go nowhere. */
                for (struct child *ch = s->children; ch; ch = ch->next)
                        if (ch->conn == conn)
                                ch->conn = NULL;
                for (size_t i = 0; i < s->n_containers; i++)
                        for (size_t k = 0; k < s->containers[i]->n_stop_waiters; k++)
                                if (s->containers[i]->stop_waiters[k] == conn)
                                        s->containers[i]->stop_waiters[k] = NULL;
                for (size_t i = 0; i < s->n_containers; i++)
                        for (size_t k = 0; k < s->containers[i]->n_pending; k++)
                                if (s->containers[i]->pending[k].conn == conn)
                                        s->containers[i]->pending[k].conn = NULL;
                conn_free(conn);
                return 0;
        }
        strbuf_add(&conn->in, buf, (size_t) n);
        char *nl;
        while (!conn->busy && conn->in.buf && (nl = memchr(conn->in.buf, '\n', conn->in.len))) {
                *nl = 0;
                _cleanup_(cJSON_Deletep) cJSON *req = cJSON_Parse(conn->in.buf);
                size_t used = (size_t) (nl - conn->in.buf) + 1;
                memmove(conn->in.buf, nl + 1, conn->in.len - used);
                conn->in.len -= used;
                conn->in.buf[conn->in.len] = 0;
                if (!req)
                        reply_error(conn, "malformed request");
                else
                        handle(s, conn, req);
        }
        return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct supervisor *s = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        /* Only root may drive the supervisor: the socket's mode says so too, this makes sure. */
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                close(cfd);
                return 0;
        }
        struct conn *conn = xcalloc(1, sizeof(*conn));
        conn->fd = cfd;
        conn->s = s;
        if (sd_event_add_io(s->event, &conn->source, cfd, EPOLLIN, on_conn, conn) < 0) {
                close(cfd);
                free(conn);
        }
        return 0;
}

static int on_sigchld(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        struct supervisor *s = userdata;
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);
                if (pid <= 0)
                        break;
                struct child *ch = child_find(s, pid);
                if (ch) {
                        if (ch->done)
                                ch->done(s, ch, status);
                        child_free(s, ch);
                        continue;
                }
                bool known = false;
                for (size_t i = 0; i < s->n_containers; i++) {
                        struct sup_container *c = s->containers[i];
                        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        if (c->pid == pid && c->state == CONTAINER_STATE_RUNNING) {
                                container_exited(s, c, code);
                                known = true;
                        } else if (c->pid == pid && c->state == CONTAINER_STATE_CREATED) {
                                /* Reaped before the runtime's start was: on_start_done applies it. */
                                c->exited_early = true;
                                c->early_exit_code = code;
                                known = true;
                        }
                }
                (void) known; /* exits of probe helpers' children and other strays need no action */
        }
        return 0;
}

static int on_term(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        struct supervisor *s = userdata;
        /* Leaving is safe: the containers keep running and the next command adopts them. */
        sd_event_exit(s->event, 0);
        return 0;
}

static int listen_socket(const char *path, int *ret, struct stack_error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return stack_error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "socket");
        unlink(path);
        mode_t old = umask(0077);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return stack_error_errno(err, errno, "bind %s", path);
        if (listen(fd, 64) < 0)
                return stack_error_errno(err, errno, "listen %s", path);
        *ret = TAKE_FD(fd);
        return 0;
}

static int supervisor_setup(struct supervisor *s, struct stack_error *err)
{
        _cleanup_free_ char *status_dir = path_join(s->dir, "status");
        int r = mkdir_p(status_dir, 0700, err);
        if (r < 0)
                return r;
        /* One supervisor per project: the lock is held until the process ends (see supervisor_running). */
        _cleanup_free_ char *lockpath = path_join(s->dir, "supervisor.lock");
        s->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0)
                return stack_error_errno(err, errno, "open %s", lockpath);
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return stack_error_set(err, EALREADY, "another supervisor runs for project %s",
                                       s->cfg.project);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return stack_error_errno(err, errno, "become a subreaper");
        r = runtime_new(s->cfg.runtime, s->runtime_root, &s->rt, err);
        if (r < 0)
                return r;
        r = sd_event_new(&s->event);
        if (r < 0)
                return stack_error_errno(err, r, "sd_event_new");
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* Without these the supervisor would reap nothing or die on the first signal: no start then. */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return stack_error_errno(err, errno, "block signals");
        signal(SIGPIPE, SIG_IGN);
        static const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(s->event, NULL, sigs[i], sigs[i] == SIGCHLD ? on_sigchld : on_term,
                                        s);
                if (r < 0)
                        return stack_error_errno(err, r, "watch signal %s", strsignal(sigs[i]));
        }

        _cleanup_free_ char *sock = path_join(s->dir, "supervisor.sock");
        r = listen_socket(sock, &s->listen_fd, err);
        if (r < 0)
                return r;
        r = sd_event_add_io(s->event, NULL, s->listen_fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return stack_error_errno(err, r, "watch %s", sock);
        r = reload(s, err);
        if (r < 0)
                return r;
        /* Started for a project that then got no container (its `up` failed early): leave after a while. */
        r = sd_event_add_time_relative(s->event, NULL, CLOCK_MONOTONIC, 30 * USEC_PER_SEC, 0, on_idle, s);
        if (r < 0)
                return stack_error_errno(err, r, "idle timer");
        _cleanup_free_ char *pidpath = path_join(s->dir, "supervisor.pid");
        _cleanup_free_ char *pidtext =
            xasprintf("%d %llu\n", (int) getpid(), (unsigned long long) proc_start_time(getpid()));
        return write_file_atomic(pidpath, pidtext, strlen(pidtext), 0600, err);
}

static void supervisor_done(struct supervisor *s)
{
        for (size_t i = 0; i < s->n_containers; i++)
                container_free(s->containers[i]);
        free(s->containers);
        while (s->children)
                child_free(s, s->children);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        dns_server_free(s->dns);
        sd_event_unref(s->event);
        runtime_free(s->rt);
        free(s->dir);
        free(s->runtime_root);
        sup_current = NULL;
}

int supervisor_run(const struct supervisor_config *cfg, struct stack_error *err)
{
        struct supervisor s = {.cfg = *cfg, .listen_fd = -1, .lock_fd = -1};
        unsetenv("NOTIFY_SOCKET"); /* see supervisor_ensure() */
        sup_current = &s;
        s.dir = state_project_run_dir(cfg->run_root, cfg->project);
        s.runtime_root = supervisor_runtime_root(cfg->run_root);
        int r = supervisor_setup(&s, err);
        if (r >= 0) {
                /* Set up and about to idle for hours: unmap the program and library pages that only
                 * loading and setup touched (see memtrim.h); what the loop uses comes back on demand. */
                (void) memtrim_file_mappings();
                r = sd_event_loop(s.event);
                r = r < 0 ? stack_error_errno(err, r, "event loop") : 0;
                /* Gone for good: the pid file and socket go with it. */
                _cleanup_free_ char *pidpath = path_join(s.dir, "supervisor.pid");
                _cleanup_free_ char *sock = path_join(s.dir, "supervisor.sock");
                unlink(pidpath);
                unlink(sock);
        }
        supervisor_done(&s);
        return r;
}
