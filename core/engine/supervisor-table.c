/* The supervisor's table of containers: read from the records the CLI writes, and re-adopted from the
 * status files a previous supervisor left. */
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
#include "core/engine/state.h"
#include "core/runtime/logindex.h"
#include "core/runtime/runtime.h"
#include "net/dns-records.h"
#include "net/dns.h"

void container_free(struct sup_container *c)
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
        free(c->image);
        free(c->oom_events);
        container_log_done(c);
        free(c->log_path);
        free(c->bundle);
        free(c);
}

static void container_configure(struct sup_container *c, const struct container_record *rec)
{
        const cJSON *spec = rec->spec;
        free(c->service);
        c->service = xstrdup(rec->service);
        free(c->image);
        c->image = json_get_str(spec, "image") ? xstrdup(json_get_str(spec, "image")) : NULL;
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
        container_log_configure(c, cJSON_GetObjectItemCaseSensitive(spec, "logging"));
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

int reload(struct supervisor *s, struct stack_error *err)
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
                        c->oom_kills = -1;
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

void forget(struct supervisor *s, const char *name)
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
                        sup_event(s, c, "destroy", NULL);
                        container_free(s->containers[i]);
                        s->containers[i] = s->containers[--s->n_containers];
                        break;
                }
        _cleanup_free_ char *path = xasprintf("%s/status/%s.json", s->dir, name);
        unlink(path);
}
