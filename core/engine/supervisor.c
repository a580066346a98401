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

#include "core/engine/supervisor-internal.h"

struct supervisor *sup_current;

struct sup_container *find_container(struct supervisor *s, const char *name)
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
void container_save(struct supervisor *s, const struct sup_container *c)
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

/* ---- runtime ---- */

static int on_pidfd(sd_event_source *src, int fd, uint32_t revents, void *userdata);

/* A container whose init is not our child (adopted after a supervisor restart) is watched by pidfd. */
void container_watch(struct supervisor *s, struct sup_container *c)
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
        sup_event_start(s, c);
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
        _cleanup_close_ int logfd = container_log_open(c);
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
        /* A restart by policy is die, restart, start for docker: the runtime's create is no event there. */
        if (!c->restarting)
                sup_event(s, c, "create", NULL);
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
        _cleanup_close_ int logfd = container_log_open(c);
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
                sup_event_start(s, c);
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
        sup_event(s, c, "restart", NULL);
        c->restarting = true;
        int k = container_create(s, c, true, &e);
        c->restarting = false;
        if (k < 0) {
                /* Counts as another failed run: the policy decides whether and when to try again. */
                log_warning("supervisor: restart of %s failed: %s", c->name, e.msg);
                c->started_mono = now_usec();
                container_exited(s, c, -1);
        }
        stack_error_clear(&e);
        return 0;
}

void container_exited(struct supervisor *s, struct sup_container *c, int exit_code)
{
        c->state = CONTAINER_STATE_EXITED;
        c->exit_code = exit_code;
        c->finished_at = realtime_usec();
        sup_event_die(s, c, exit_code);
        if (c->stopped_by_user)
                sup_event(s, c, "stop", NULL);
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

/* Signals the container's init, and says so to the event stream as docker does. */
static void container_kill(struct supervisor *s, struct sup_container *c, int sig)
{
        if (kill(c->pid, sig) < 0)
                return;
        cJSON *a = cJSON_CreateObject();
        _cleanup_free_ char *num = xasprintf("%d", sig);
        cJSON_AddStringToObject(a, "signal", num);
        sup_event(s, c, "kill", a);
}

static int on_kill_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct sup_container *c = userdata;
        if (c->state == CONTAINER_STATE_RUNNING && c->pid > 0 && proc_alive(c->pid, c->pid_start))
                container_kill(sup_current, c, SIGKILL);
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
        container_kill(s, c, c->stop_signal > 0 ? c->stop_signal : SIGTERM);
        if (!c->kill_timer) {
                int r = sd_event_add_time_relative(s->event, &c->kill_timer, CLOCK_MONOTONIC, grace, 0,
                                                   on_kill_timer, c);
                if (r < 0) {
                        /* No timer, no grace: a stop that might otherwise never end kills now. */
                        log_warning("supervisor: no stop timer for %s (%s): killing it", c->name,
                                    strerror(-r));
                        c->kill_timer = NULL;
                        container_kill(s, c, SIGKILL);
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

void handle(struct supervisor *s, struct conn *conn, const cJSON *req)
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
        } else if (streq(op, "events")) {
                sup_events_subscribe(s, conn, (uint64_t) json_get_num(req, "since", 0));
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
        sup_events_free(s);
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
