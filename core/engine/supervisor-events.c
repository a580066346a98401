/* The supervisor's event stream: what happened to each container (create, start, die with its exit code,
 * health_status, kill, restart, stop, destroy), timestamped, kept in a short backlog and sent to every
 * client that subscribed with {"op": "events", "since": usec}. The backlog lets `stack events` started
 * before an `up` see that up's first events even if it connects a moment later. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/supervisor-internal.h"

#define EVENTS_BACKLOG 256

struct sup_events {
        cJSON *backlog[EVENTS_BACKLOG]; /* a ring: oldest at head */
        size_t head, n;
        struct conn **subs;
        size_t n_subs;
};

static struct sup_events *events_of(struct supervisor *s)
{
        if (!s->events)
                s->events = xcalloc(1, sizeof(*s->events));
        return s->events;
}

/* One line to a subscriber. A client that does not read is dropped rather than left to block the loop. */
static bool send_line(struct conn *conn, const cJSON *ev)
{
        _cleanup_free_ char *text = cJSON_PrintUnformatted(ev);
        if (!text)
                return true;
        size_t len = strlen(text);
        text[len] = '\n';
        ssize_t n = send(conn->fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        return n == (ssize_t) len + 1;
}

void sup_events_drop(struct supervisor *s, struct conn *conn)
{
        struct sup_events *ev = s->events;
        for (size_t i = 0; ev && i < ev->n_subs; i++)
                if (ev->subs[i] == conn) {
                        ev->subs[i] = ev->subs[--ev->n_subs];
                        return;
                }
}

void sup_event(struct supervisor *s, const struct sup_container *c, const char *action, cJSON *attrs)
{
        struct sup_events *ev = events_of(s);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "time", (double) realtime_usec());
        cJSON_AddStringToObject(e, "action", action);
        cJSON_AddStringToObject(e, "name", c->name);
        cJSON_AddStringToObject(e, "service", c->service ? c->service : "");
        if (!attrs)
                attrs = cJSON_CreateObject();
        cJSON_AddStringToObject(attrs, "name", c->name);
        if (c->image)
                cJSON_AddStringToObject(attrs, "image", c->image);
        cJSON_AddItemToObject(e, "attributes", attrs);
        log_debug("supervisor: event %s %s", action, c->name);
        for (size_t i = 0; i < ev->n_subs;) {
                struct conn *conn = ev->subs[i];
                if (send_line(conn, e)) {
                        i++;
                        continue;
                }
                ev->subs[i] = ev->subs[--ev->n_subs];
                /* Its socket ends: the client sees EOF and may subscribe again from its last event. */
                shutdown(conn->fd, SHUT_RDWR);
        }
        if (ev->n == EVENTS_BACKLOG) {
                cJSON_Delete(ev->backlog[ev->head]);
                ev->head = (ev->head + 1) % EVENTS_BACKLOG;
                ev->n--;
        }
        ev->backlog[(ev->head + ev->n++) % EVENTS_BACKLOG] = e;
}

void sup_event_exit(struct supervisor *s, const struct sup_container *c, const char *action, int exit_code)
{
        cJSON *a = cJSON_CreateObject();
        _cleanup_free_ char *code = xasprintf("%d", exit_code);
        cJSON_AddStringToObject(a, "exitCode", code);
        sup_event(s, c, action, a);
}

/* How many processes of the container the OOM killer has ended so far, from the memory cgroup its init
 * runs in (as /proc says, so it holds whatever cgroup namespace or manager placed
 * it); -1 when that cannot be read. The cgroup outlives the init until the runtime's delete, so it is
 * still there when the supervisor reaps the init. */
static long oom_read(const char *events_path)
{
        _cleanup_free_ char *text = NULL;
        if (!events_path || read_full_file(events_path, &text, NULL, NULL) < 0)
                return -1;
        const char *p = strstr(text, "oom_kill ");
        return p ? strtol(p + strlen("oom_kill "), NULL, 10) : -1;
}

/* cgroup v1's memory controller keeps the count in memory.oom_control, v2 in memory.events; both as an
 * "oom_kill N" line. */
static char *oom_events_path(pid_t pid)
{
        _cleanup_free_ char *proc = xasprintf("/proc/%d/cgroup", (int) pid);
        _cleanup_free_ char *text = NULL;
        if (pid <= 0 || read_full_file(proc, &text, NULL, NULL) < 0)
                return NULL;
        const char *p = strstr(text, ":memory:");
        if (p) {
                size_t n = strcspn(p + 8, "\n");
                return xasprintf("/sys/fs/cgroup/memory%.*s/memory.oom_control", (int) n, p + 8);
        }
        p = strncmp(text, "0::", 3) == 0 ? text : strstr(text, "\n0::");
        if (!p)
                return NULL;
        p += *p == '\n' ? 4 : 3;
        return xasprintf("/sys/fs/cgroup%.*s/memory.events", (int) strcspn(p, "\n"), p);
}

void sup_event_start(struct supervisor *s, struct sup_container *c)
{
        free(c->oom_events);
        c->oom_events = oom_events_path(c->pid);
        c->oom_kills = oom_read(c->oom_events);
        sup_event(s, c, "start", NULL);
}

void sup_event_die(struct supervisor *s, struct sup_container *c, int exit_code)
{
        /* docker reports each OOM kill as it happens; the supervisor learns of them when the init exits,
         * and reports "oom" then, before "die", when the run had any. */
        long n = c->oom_kills >= 0 ? oom_read(c->oom_events) : -1;
        if (n > c->oom_kills)
                sup_event(s, c, "oom", NULL);
        c->oom_kills = -1;
        sup_event_exit(s, c, "die", exit_code);
}

void sup_events_subscribe(struct supervisor *s, struct conn *conn, uint64_t since_usec)
{
        struct sup_events *ev = events_of(s);
        reply_ok(conn);
        /* The connection now only carries events: no reply is pending on it. */
        conn->busy = true;
        for (size_t i = 0; i < ev->n; i++) {
                const cJSON *e = ev->backlog[(ev->head + i) % EVENTS_BACKLOG];
                if ((uint64_t) json_get_num(e, "time", 0) >= since_usec && !send_line(conn, e))
                        return;
        }
        ev->subs = xrealloc(ev->subs, (ev->n_subs + 1) * sizeof(*ev->subs));
        ev->subs[ev->n_subs++] = conn;
}

void sup_events_free(struct supervisor *s)
{
        struct sup_events *ev = s->events;
        if (!ev)
                return;
        for (size_t i = 0; i < ev->n; i++)
                cJSON_Delete(ev->backlog[(ev->head + i) % EVENTS_BACKLOG]);
        free(ev->subs);
        free(ev);
        s->events = NULL;
}
