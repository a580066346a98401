/* The supervisor's insides, shared by the files it is split into: supervisor.c (the loop, the runtime's
 * create/start, exits, restarts and stops, the requests), supervisor-health.c (probes),
 * supervisor-table.c (the table of containers, read back from the records), supervisor-socket.c (the
 * control socket), supervisor-logs.c (log files: time index and rotation) and supervisor-events.c (the
 * event stream). Nothing outside core/engine/supervisor*.c includes it. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "core/base/util.h"
#include "core/engine/health.h"
#include "core/engine/restart.h"
#include "core/engine/supervisor.h"
#include "core/runtime/container-id.h"
#include "spec/logging.h"

#define USEC_PER_SEC 1000000ULL
#define PROBE_OUTPUT_MAX 4096

struct runtime;
struct dns_server;
struct logindex_watch;
struct logfile_rotator;
struct logindex;
struct container_record;

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
        char *image;                /* as the compose file names it: an attribute of its events */
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
        bool restarting;  /* recreated by its restart policy: no create event */
        long oom_kills;   /* the cgroup's OOM kill count when it started; -1: unknown */
        char *oom_events; /* that cgroup's memory.events */
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
        struct stack_log_limits log_limits;
        struct logfile_rotator *log_rotator; /* moves the output out to rotated files (json-file, local) */
        struct logindex *log_times;          /* the index as the rotator reads it, for the lines' times */
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
        struct sup_events *events;
};

struct pending_req {
        struct conn *conn; /* NULL once the client has gone: the request is dropped */
        cJSON *req;
};

/* One supervisor per process: the timers and pidfd sources of a container reach it through this. */
extern struct supervisor *sup_current;

/* supervisor.c */
struct sup_container *find_container(struct supervisor *s, const char *name);
void container_save(struct supervisor *s, const struct sup_container *c);
void container_watch(struct supervisor *s, struct sup_container *c);
void container_exited(struct supervisor *s, struct sup_container *c, int exit_code);
void handle(struct supervisor *s, struct conn *conn, const cJSON *req);

/* supervisor-health.c */
void container_schedule_health(struct supervisor *s, struct sup_container *c, uint64_t delay);

/* supervisor-table.c */
void container_free(struct sup_container *c);
int reload(struct supervisor *s, struct stack_error *err);
void forget(struct supervisor *s, const char *name);

/* supervisor-socket.c */
void reply(struct conn *conn, cJSON *j);
void reply_ok(struct conn *conn);
void reply_error(struct conn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int listen_socket(const char *path, int *ret, struct stack_error *err);
int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata);

/* supervisor-events.c */
/* Records an event of c and sends it to the subscribers; attrs (taken; NULL: none) become its attributes. */
void sup_event(struct supervisor *s, const struct sup_container *c, const char *action, cJSON *attrs);
/* die and the like: with the exit code as docker's exitCode attribute. */
void sup_event_exit(struct supervisor *s, const struct sup_container *c, const char *action, int exit_code);
/* start, noting the cgroup's OOM kill count so that die can tell whether the run had any. */
void sup_event_start(struct supervisor *s, struct sup_container *c);
/* die with its exit code, after an "oom" event when the OOM killer ended any of its processes. */
void sup_event_die(struct supervisor *s, struct sup_container *c, int exit_code);
/* The "events" op: replies ok, sends the backlog since since_usec, then every new event. */
void sup_events_subscribe(struct supervisor *s, struct conn *conn, uint64_t since_usec);
/* The subscriber went away. */
void sup_events_drop(struct supervisor *s, struct conn *conn);
void sup_events_free(struct supervisor *s);

/* supervisor-logs.c */
/* Opens the container's log for the runtime to hand to the container (/dev/null without one). */
int container_log_open(struct sup_container *c);
/* (Re)starts the watch of the container's log: time index, and rotation. */
void container_index_log(struct supervisor *s, struct sup_container *c);
/* Stops watching (the container is forgotten or the supervisor leaves). */
void container_log_done(struct sup_container *c);
/* The logging settings of the container's record ({"driver", "max_size", "max_file"}). */
void container_log_configure(struct sup_container *c, const cJSON *logging);
