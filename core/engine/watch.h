/* `stack watch`: the services' develop.watch rules applied to a running project.
 *
 * One inotify instance watches every rule's tree (directories that appear are added as they come; a queue
 * overflow makes the watcher walk the trees again). Events are gathered into a batch until the event
 * stream has been quiet for a short while; each batch then becomes, per affected service, one action:
 * rebuild (which supersedes the rest), else the changed files synced into each running container through
 * its mount namespace (core/runtime/ctrfs.h: nothing is needed in the image), then at most one restart and
 * the sync+exec commands. The containers are looked up again for every batch, so a container that was
 * restarted or recreated keeps being synced.
 *
 * Ignored without configuration: .git directories and editor swap, backup and temporary files. A service
 * with build: also has its context's .dockerignore applied. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "core/engine/status.h"
#include "spec/model.h"

/* ---- the pure part: which rules a batch of changed paths triggers ---- */

struct watch_rules;

/* The rules of the services named (NULL: every service that has develop.watch). -ENOENT naming the
 * services when none of them has a rule. */
int watch_rules_new(const struct stack_project *p, char *const *services, struct watch_rules **ret,
                    struct stack_error *err);
void watch_rules_free(struct watch_rules *w);
/* Every directory or file a rule watches (absolute), for the inotify side. */
size_t watch_rules_roots(const struct watch_rules *w, const char ***ret);

/* Whether a path relative to a watched tree is one of the files nobody wants synced: .git, editor swap and
 * backup files. */
bool watch_default_ignored(const char *rel);

struct watch_change {
        char *path;  /* absolute, on the host */
        bool is_dir; /* as the event said (a deleted path cannot be asked) */
        bool tree;   /* a directory that appeared (created or moved in): its whole content is new */
};

struct watch_sync {
        char *host;   /* absolute host path */
        char *target; /* absolute container path */
        bool tree;
        const struct stack_watch_rule *rule;
};

struct watch_service_plan {
        const struct stack_service *service;
        bool rebuild;
        bool restart;
        struct watch_sync *syncs; /* sorted by target: parents before children */
        size_t n_syncs;
        const struct stack_watch_rule **execs; /* sync+exec rules hit, each once */
        size_t n_execs;
};

struct watch_plan {
        struct watch_service_plan *services;
        size_t n;
};

/* The actions for a batch of changes. Pure. */
void watch_plan_batch(const struct watch_rules *w, const struct watch_change *changes, size_t n,
                      struct watch_plan *ret);
void watch_plan_done(struct watch_plan *p);

/* ---- running it ---- */

enum watch_event {
        WATCH_READY,      /* every tree is watched: changes from now on are seen */
        WATCH_SYNCING,    /* n changes to the service's containers */
        WATCH_SYNCED,     /* a batch applied to the service: n files written or removed */
        WATCH_RESTARTING, /* the service's containers */
        WATCH_REBUILDING,
        WATCH_EXECUTING, /* detail: the command */
        WATCH_NOTE,      /* detail: something the user should know (a path skipped) */
        WATCH_ERROR,     /* detail: what failed; the watcher goes on */
};

struct watch_ops {
        void (*event)(void *userdata, enum watch_event e, const char *service, size_t n, const char *detail);
        /* Builds the service's image again and recreates its containers through the normal up path. */
        int (*rebuild)(void *userdata, const struct stack_service *s, struct stack_error *err);
        void *userdata;
};

struct watch_config {
        const struct stack_project *project;
        char *const *services; /* NULL: all with develop.watch */
        struct status_config status;
        int stop_fd;     /* readable: the watcher returns */
        int exec_out_fd; /* where sync+exec commands write (-1: discarded) */
        struct watch_ops ops;
};

/* Watches until stop_fd is readable. Errors of single actions are reported as WATCH_ERROR and do not end
 * the watcher; only a watcher that cannot start returns one. */
int watch_run(const struct watch_config *c, struct stack_error *err);
