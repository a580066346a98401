/* The supervisor's health checks: probes run beside the loop, on the schedule health.c computes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/supervisor-internal.h"
#include "core/runtime/runtime.h"

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
        if (health_record(&c->health, &c->health_state, since, &r)) {
                log_info("supervisor: %s is %s", c->name, health_status_name(c->health_state.status));
                _cleanup_free_ char *action =
                    xasprintf("health_status: %s", health_status_name(c->health_state.status));
                sup_event(s, c, action, NULL);
        }
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

void container_schedule_health(struct supervisor *s, struct sup_container *c, uint64_t delay)
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
