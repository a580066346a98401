#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/build/ignore.h"
#include "core/engine/ctrfs-open.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "core/engine/watch.h"
#include "core/runtime/oci.h"
#include "core/runtime/runtime.h"
#include "core/runtime/user.h"

/* ---- rules ---- */

struct wrule {
        const struct stack_service *svc;
        const struct stack_watch_rule *r;
        struct ignore *ignore;  /* the rule's own patterns, relative to its path */
        struct ignore *include; /* NULL: everything */
        struct ignore *context; /* the build context's .dockerignore; NULL without build: */
        const char *context_dir;
        bool bind_covered; /* the target is inside a bind mount: the container sees the files already */
};

struct watch_rules {
        struct wrule *rules;
        size_t n;
        const char **roots;
        size_t n_roots;
};

/* Names editors and tools write beside the files they work on: vim's swap files and its write test file,
 * emacs' lock and autosave files, JetBrains' safe-write copies, backup files. */
static const char *const default_ignored_names[] = {
    ".*.swp", ".*.swx", ".*.swo", "4913", "*~", ".#*", "#*#", "*___jb_tmp___", "*___jb_old___", NULL,
};

bool watch_default_ignored(const char *rel)
{
        _cleanup_strv_free_ char **parts = strv_split(rel, "/");
        STRV_FOREACH (p, parts)
                if (streq(*p, ".git"))
                        return true;
        const char *base = path_basename(rel);
        for (const char *const *g = default_ignored_names; *g; g++)
                if (fnmatch(*g, base, 0) == 0)
                        return true;
        return false;
}

static struct ignore *patterns(char *const *l)
{
        if (!l)
                return NULL;
        _cleanup_free_ char *text = strv_join(l, "\n");
        return ignore_parse(text);
}

static bool covered_by_bind(const struct stack_service *s, const char *target)
{
        for (size_t i = 0; target && i < s->n_volumes; i++) {
                const char *t = s->volumes[i].target;
                const char *rest = s->volumes[i].type == STACK_MOUNT_BIND ? startswith(target, t) : NULL;
                if (rest && (!*rest || *rest == '/' || streq(t, "/")))
                        return true;
        }
        return false;
}

static void add_root(struct watch_rules *w, const char *path)
{
        for (size_t i = 0; i < w->n_roots; i++)
                if (streq(w->roots[i], path))
                        return;
        w->roots = xrealloc(w->roots, (w->n_roots + 1) * sizeof(*w->roots));
        w->roots[w->n_roots++] = path;
}

static int add_rules(struct watch_rules *w, const struct stack_service *s, struct stack_error *err)
{
        bool has_context = s->build.present && s->build.context && path_is_dir(s->build.context);
        for (size_t i = 0; i < s->develop.n_watch; i++) {
                const struct stack_watch_rule *r = &s->develop.watch[i];
                w->rules = xrealloc(w->rules, (w->n + 1) * sizeof(*w->rules));
                struct wrule *x = &w->rules[w->n++];
                *x = (struct wrule){
                    .svc = s, .r = r, .ignore = patterns(r->ignore), .include = patterns(r->include)};
                const char *in_ctx = has_context ? startswith(r->path, s->build.context) : NULL;
                if (in_ctx && (!*in_ctx || *in_ctx == '/')) {
                        x->context_dir = s->build.context;
                        if (ignore_load(s->build.context, s->build.dockerfile, &x->context, err) < 0)
                                return stack_error_prefix(err, "service \"%s\"", s->name);
                }
                x->bind_covered = r->action != STACK_WATCH_REBUILD && r->action != STACK_WATCH_RESTART &&
                                  covered_by_bind(s, r->target);
                add_root(w, r->path);
        }
        return 0;
}

int watch_rules_new(const struct stack_project *p, char *const *services, struct watch_rules **ret,
                    struct stack_error *err)
{
        struct watch_rules *w = xcalloc(1, sizeof(*w));
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                if (services && !strv_contains(services, s->name))
                        continue;
                int r = add_rules(w, s, err);
                if (r < 0) {
                        watch_rules_free(w);
                        return r;
                }
        }
        if (w->n == 0) {
                watch_rules_free(w);
                _cleanup_free_ char *names = services ? strv_join(services, ", ") : NULL;
                return stack_error_set(
                    err, ENOENT, "none of the services%s%s has a develop.watch section: nothing to watch",
                    names ? " " : "", names ? names : "");
        }
        *ret = w;
        return 0;
}

void watch_rules_free(struct watch_rules *w)
{
        if (!w)
                return;
        for (size_t i = 0; i < w->n; i++) {
                ignore_free(w->rules[i].ignore);
                ignore_free(w->rules[i].include);
                ignore_free(w->rules[i].context);
        }
        free(w->rules);
        free(w->roots);
        free(w);
}

size_t watch_rules_roots(const struct watch_rules *w, const char ***ret)
{
        *ret = w->roots;
        return w->n_roots;
}

/* The part of path below root: "" for root itself, NULL when path is not inside. */
static const char *below(const char *path, const char *root)
{
        const char *rest = startswith(path, root);
        if (!rest)
                return NULL;
        if (!*rest)
                return rest;
        if (*rest == '/')
                return rest + 1;
        return streq(root, "/") ? rest : NULL;
}

static bool rule_wants(const struct wrule *x, const char *path, bool is_dir)
{
        const char *rel = below(path, x->r->path);
        if (!rel)
                return false;
        if (!*rel)
                return true;
        if (watch_default_ignored(rel))
                return false;
        if (x->ignore && ignore_match(x->ignore, rel, is_dir))
                return false;
        if (x->context) {
                const char *crel = below(path, x->context_dir);
                if (crel && *crel && ignore_match(x->context, crel, is_dir))
                        return false;
        }
        /* Directories are walked whatever include says: the files in them are what it selects. */
        if (x->include && !is_dir && !ignore_match(x->include, rel, false))
                return false;
        return true;
}

static char *rule_target(const struct wrule *x, const char *path)
{
        const char *rel = below(path, x->r->path);
        return rel && *rel ? path_join(x->r->target, rel) : xstrdup(x->r->target);
}

/* ---- planning a batch ---- */

static struct watch_service_plan *plan_for(struct watch_plan *p, const struct stack_service *s)
{
        for (size_t i = 0; i < p->n; i++)
                if (p->services[i].service == s)
                        return &p->services[i];
        p->services = xrealloc(p->services, (p->n + 1) * sizeof(*p->services));
        p->services[p->n] = (struct watch_service_plan){.service = s};
        return &p->services[p->n++];
}

static void add_sync(struct watch_service_plan *sp, const struct wrule *x, const struct watch_change *c)
{
        _cleanup_free_ char *target = rule_target(x, c->path);
        for (size_t i = 0; i < sp->n_syncs; i++)
                if (streq(sp->syncs[i].target, target)) {
                        sp->syncs[i].tree |= c->tree;
                        return;
                }
        sp->syncs = xrealloc(sp->syncs, (sp->n_syncs + 1) * sizeof(*sp->syncs));
        sp->syncs[sp->n_syncs++] = (struct watch_sync){
            .host = xstrdup(c->path),
            .target = TAKE_PTR(target),
            .tree = c->tree,
            .rule = x->r,
        };
}

static void add_exec(struct watch_service_plan *sp, const struct stack_watch_rule *r)
{
        for (size_t i = 0; i < sp->n_execs; i++)
                if (sp->execs[i] == r)
                        return;
        sp->execs = xrealloc(sp->execs, (sp->n_execs + 1) * sizeof(*sp->execs));
        sp->execs[sp->n_execs++] = r;
}

static void plan_change(struct watch_plan *p, const struct wrule *x, const struct watch_change *c)
{
        struct watch_service_plan *sp = plan_for(p, x->svc);
        switch (x->r->action) {
        case STACK_WATCH_REBUILD:
                sp->rebuild = true;
                return;
        case STACK_WATCH_RESTART:
                sp->restart = true;
                return;
        case STACK_WATCH_SYNC_RESTART:
                sp->restart = true;
                break;
        case STACK_WATCH_SYNC_EXEC:
                add_exec(sp, x->r);
                break;
        case STACK_WATCH_SYNC:
                break;
        }
        if (!x->bind_covered)
                add_sync(sp, x, c);
}

static int cmp_sync(const void *a, const void *b)
{
        return strcmp(((const struct watch_sync *) a)->target, ((const struct watch_sync *) b)->target);
}

/* A path inside a directory that appeared in the same batch is synced with that directory's tree. */
static void drop_inside_trees(struct watch_service_plan *sp)
{
        size_t k = 0;
        const char *tree = NULL;
        for (size_t i = 0; i < sp->n_syncs; i++) {
                struct watch_sync *x = &sp->syncs[i];
                const char *rest = tree ? startswith(x->target, tree) : NULL;
                if (rest && *rest == '/') {
                        free(x->host);
                        free(x->target);
                        continue;
                }
                sp->syncs[k++] = *x;
                if (x->tree)
                        tree = sp->syncs[k - 1].target;
        }
        sp->n_syncs = k;
}

void watch_plan_batch(const struct watch_rules *w, const struct watch_change *changes, size_t n,
                      struct watch_plan *ret)
{
        struct watch_plan p = {0};
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < w->n; k++)
                        if (rule_wants(&w->rules[k], changes[i].path, changes[i].is_dir))
                                plan_change(&p, &w->rules[k], &changes[i]);
        for (size_t i = 0; i < p.n; i++) {
                struct watch_service_plan *sp = &p.services[i];
                if (sp->n_syncs > 1)
                        qsort(sp->syncs, sp->n_syncs, sizeof(*sp->syncs), cmp_sync);
                drop_inside_trees(sp);
        }
        *ret = p;
}

void watch_plan_done(struct watch_plan *p)
{
        for (size_t i = 0; i < p->n; i++) {
                struct watch_service_plan *sp = &p->services[i];
                for (size_t k = 0; k < sp->n_syncs; k++) {
                        free(sp->syncs[k].host);
                        free(sp->syncs[k].target);
                }
                free(sp->syncs);
                free(sp->execs);
        }
        free(p->services);
        *p = (struct watch_plan){0};
}

/* ---- the containers of a service, looked up for every batch ---- */

struct wctr {
        char *name;
        char *service;
        pid_t pid;
        uint64_t start_time;
        struct ctrfs *fs;
        bool seen;   /* in this batch's records */
        bool missed; /* a batch could not reach it (not running): the next one compares every tree */
};

struct watcher {
        const struct watch_config *c;
        struct watch_rules *rules;
        int ifd;
        char **wd_paths; /* by watch descriptor */
        size_t n_wd;
        struct watch_change *batch;
        size_t n_batch;
        bool rescan;
        struct wctr *ctrs;
        size_t n_ctrs;
};

static void event(struct watcher *w, enum watch_event e, const char *service, size_t n, const char *detail)
{
        if (w->c->ops.event)
                w->c->ops.event(w->c->ops.userdata, e, service, n, detail);
}

static void wctr_close(struct wctr *x)
{
        ctrfs_free(x->fs);
        x->fs = NULL;
        x->pid = 0;
}

/* The containers of the project that stack has a record of, with their file systems opened lazily. A
 * cached root is kept only while its init is the same process (pid and start time): a restarted
 * container is opened again. */
static int refresh_containers(struct watcher *w, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int r = state_container_list(w->c->status.root, w->c->project->name, &recs, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w->n_ctrs; i++)
                w->ctrs[i].seen = false;
        for (size_t k = 0; k < n; k++) {
                struct wctr *x = NULL;
                for (size_t i = 0; i < w->n_ctrs && !x; i++)
                        if (streq(w->ctrs[i].name, recs[k]->name))
                                x = &w->ctrs[i];
                if (!x) {
                        w->ctrs = xrealloc(w->ctrs, (w->n_ctrs + 1) * sizeof(*w->ctrs));
                        x = &w->ctrs[w->n_ctrs++];
                        *x = (struct wctr){.name = xstrdup(recs[k]->name),
                                           .service = xstrdup(recs[k]->service)};
                }
                x->seen = true;
        }
        container_record_list_free(recs, n);
        for (size_t i = 0; i < w->n_ctrs; i++)
                if (!w->ctrs[i].seen ||
                    (w->ctrs[i].fs && !proc_alive(w->ctrs[i].pid, w->ctrs[i].start_time)))
                        wctr_close(&w->ctrs[i]);
        return 0;
}

static int ctr_fs(struct watcher *w, struct wctr *x, struct stack_error *err)
{
        if (x->fs)
                return 0;
        int r = ctrfs_open_container(&w->c->status, w->c->project->name, x->name, &x->fs, err);
        if (r < 0)
                return r;
        x->pid = ctrfs_pid(x->fs);
        x->start_time = proc_start_time(x->pid);
        return 0;
}

/* ---- syncing ---- */

/* A file or symlink from the host to target, replacing whatever is there. */
static int put_one(const struct ctrfs *fs, const char *host, const char *target, struct stack_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *name = NULL;
        struct stack_error e = {0};
        /* The directory usually exists: one resolution then, the walk of mkdir -p only when it does not. */
        int r = ctrfs_open_parent(fs, target, &dfd, &name, &e);
        stack_error_clear(&e);
        if (r < 0) {
                _cleanup_free_ char *dir = path_dirname(target);
                if ((r = ctrfs_mkdir_p(fs, dir, 0755, err)) < 0 ||
                    (r = ctrfs_open_parent(fs, target, &dfd, &name, err)) < 0)
                        return r;
        }
        struct ctrfs_copy o = {.replace = true};
        return ctrfs_copy_at(AT_FDCWD, host, dfd, name, &o, err);
}

/* A host tree into target: only what differs in size or content is written (initial sync, new
 * directories, a rescan after an overflow), so an unchanged file is never rewritten whatever its mtime. */
static int sync_tree(const struct wrule *x, const struct ctrfs *fs, const char *host, const char *target,
                     size_t *count, struct stack_error *err)
{
        int r = ctrfs_mkdir_p(fs, target, 0755, err);
        if (r < 0)
                return r;
        _cleanup_closedir_ DIR *d = opendir(host);
        if (!d)
                return errno == ENOENT ? 0 : stack_error_errno(err, errno, "open %s", host);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = path_join(host, de->d_name);
                _cleanup_free_ char *tsub = path_join(target, de->d_name);
                struct stat st;
                if (lstat(sub, &st) < 0 || !rule_wants(x, sub, S_ISDIR(st.st_mode)))
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = sync_tree(x, fs, sub, tsub, count, err);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int fd = open(sub, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        bool same = false;
                        if (fd >= 0 && ctrfs_same_content(fs, tsub, fd, &same, NULL) >= 0 && same)
                                continue;
                        r = put_one(fs, sub, tsub, err);
                        (*count)++;
                } else if (S_ISLNK(st.st_mode)) {
                        r = put_one(fs, sub, tsub, err);
                        (*count)++;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct wrule *wrule_of(const struct watcher *w, const struct stack_watch_rule *r)
{
        for (size_t i = 0; i < w->rules->n; i++)
                if (w->rules->rules[i].r == r)
                        return &w->rules->rules[i];
        return NULL;
}

static int apply_sync(struct watcher *w, const struct ctrfs *fs, const struct watch_sync *s, size_t *count,
                      struct stack_error *err)
{
        struct stat st;
        if (lstat(s->host, &st) < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return stack_error_errno(err, errno, "%s", s->host);
                (*count)++;
                return ctrfs_remove(fs, s->target, err);
        }
        if (S_ISDIR(st.st_mode)) {
                if (s->tree)
                        return sync_tree(wrule_of(w, s->rule), fs, s->host, s->target, count, err);
                return ctrfs_mkdir_p(fs, s->target, 0755, err);
        }
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                return 0; /* sockets, fifos: nothing a container could use */
        (*count)++;
        return put_one(fs, s->host, s->target, err);
}

/* ---- restart and exec ---- */

static int restart_container(struct watcher *w, const char *name, struct stack_error *err)
{
        const struct status_config *sc = &w->c->status;
        int r = supervisor_stop(sc->run_root, w->c->project->name, name, -1, -1, err);
        if (r < 0)
                return r;
        return supervisor_op(sc->run_root, w->c->project->name, "start", name, NULL, err);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct runtime *, runtime_free)

/* The runtime's exec options for exec: the user as numeric ids (resolved in the container's own passwd
 * and group files), the directory, the environment, and every capability when privileged. */
static int exec_options(const struct ctrfs *fs, const struct stack_watch_exec *x, char ***ret,
                        struct stack_error *err)
{
        _cleanup_strv_free_ char **opts = NULL;
        if (x->user) {
                _cleanup_free_ char *passwd = NULL, *group = NULL;
                int fd;
                if (ctrfs_open(fs, "/etc/passwd", O_RDONLY, &fd, NULL) >= 0) {
                        (void) read_full_fd(fd, &passwd, NULL);
                        close(fd);
                }
                if (ctrfs_open(fs, "/etc/group", O_RDONLY, &fd, NULL) >= 0) {
                        (void) read_full_fd(fd, &group, NULL);
                        close(fd);
                }
                struct user_ids ids = {0};
                int r = user_resolve_text(passwd, group, x->user, NULL, &ids, err);
                if (r < 0)
                        return r;
                strv_push(&opts, "--user");
                strv_consume(&opts, xasprintf("%u:%u", ids.uid, ids.gid));
                user_ids_done(&ids);
        }
        if (x->working_dir) {
                strv_push(&opts, "--cwd");
                strv_push(&opts, x->working_dir);
        }
        for (size_t i = 0; i < x->environment.n; i++) {
                strv_push(&opts, "--env");
                strv_consume(&opts,
                             xasprintf("%s=%s", x->environment.items[i].key,
                                       x->environment.items[i].value ? x->environment.items[i].value : ""));
        }
        if (x->privileged) {
                /* What a privileged service gets: every capability stack holds. */
                struct stack_service all = {.privileged = true};
                _cleanup_strv_free_ char **caps = NULL;
                int r = oci_capabilities(&all, 0, &caps, err);
                if (r < 0)
                        return r;
                STRV_FOREACH (c, caps) {
                        strv_push(&opts, "--cap");
                        strv_push(&opts, *c);
                }
        }
        *ret = TAKE_PTR(opts);
        return 0;
}

/* The one place a watch rule's command is run in a container. */
static int exec_in(struct watcher *w, struct wctr *x, const struct stack_watch_exec *e,
                   struct stack_error *err)
{
        _cleanup_strv_free_ char **opts = NULL;
        int r = exec_options(x->fs, e, &opts, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rtroot = supervisor_runtime_root(w->c->status.run_root);
        _cleanup_(runtime_freep) struct runtime *rt = NULL;
        if ((r = runtime_new(w->c->status.runtime, rtroot, &rt, err)) < 0)
                return r;
        int status = 0;
        if ((r = runtime_exec_with(rt, x->name, opts, e->command, w->c->exec_out_fd, &status, err)) < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return stack_error_set(err, EIO, "%s: exited with %d", e->command[0],
                                       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
}

/* ---- applying a batch ---- */

static void report(struct watcher *w, const char *service, struct stack_error *e)
{
        event(w, WATCH_ERROR, service, 0, e->msg ? e->msg : "failed");
        stack_error_clear(e);
}

static void resync_service(struct watcher *w, const struct stack_service *svc, const struct ctrfs *fs,
                           size_t *count)
{
        for (size_t i = 0; i < w->rules->n; i++) {
                const struct wrule *x = &w->rules->rules[i];
                if (x->svc != svc || !x->r->target || x->bind_covered)
                        continue;
                struct watch_sync s = {
                    .host = x->r->path, .target = x->r->target, .tree = true, .rule = x->r};
                _cleanup_error_ struct stack_error e = {0};
                if (apply_sync(w, fs, &s, count, &e) < 0)
                        report(w, svc->name, &e);
        }
}

static void apply_to_container(struct watcher *w, const struct watch_service_plan *sp, struct wctr *x)
{
        const char *svc = sp->service->name;
        struct stack_error e = {0};
        if (ctr_fs(w, x, &e) < 0) {
                x->missed = x->missed || sp->n_syncs > 0;
                report(w, svc, &e);
                return;
        }
        size_t count = 0;
        if (x->missed) {
                /* What changed while it was down is found by comparing content, as the initial sync does. */
                resync_service(w, sp->service, x->fs, &count);
                x->missed = false;
        }
        for (size_t i = 0; i < sp->n_syncs; i++)
                if (apply_sync(w, x->fs, &sp->syncs[i], &count, &e) < 0) {
                        stack_error_prefix(&e, "%s: sync %s", x->name, sp->syncs[i].target);
                        report(w, svc, &e);
                }
        if (sp->n_syncs)
                event(w, WATCH_SYNCED, svc, count, x->name);
        if (sp->restart) {
                if (restart_container(w, x->name, &e) < 0) {
                        stack_error_prefix(&e, "restart %s", x->name);
                        report(w, svc, &e);
                }
                wctr_close(x); /* a new init, a new root */
                return;
        }
        for (size_t i = 0; i < sp->n_execs; i++)
                if (exec_in(w, x, &sp->execs[i]->exec, &e) < 0) {
                        stack_error_prefix(&e, "%s: exec", x->name);
                        report(w, svc, &e);
                }
}

static void apply_service(struct watcher *w, const struct watch_service_plan *sp)
{
        const char *svc = sp->service->name;
        struct stack_error e = {0};
        if (sp->rebuild) {
                event(w, WATCH_REBUILDING, svc, 0, NULL);
                if (!w->c->ops.rebuild || w->c->ops.rebuild(w->c->ops.userdata, sp->service, &e) < 0)
                        report(w, svc, &e);
                return;
        }
        if (sp->n_syncs)
                event(w, WATCH_SYNCING, svc, sp->n_syncs, NULL);
        if (sp->restart)
                event(w, WATCH_RESTARTING, svc, 0, NULL);
        for (size_t i = 0; i < sp->n_execs; i++) {
                _cleanup_free_ char *cmd = strv_join(sp->execs[i]->exec.command, " ");
                event(w, WATCH_EXECUTING, svc, 0, cmd);
        }
        bool any = false;
        for (size_t i = 0; i < w->n_ctrs; i++)
                if (streq(w->ctrs[i].service, svc)) {
                        any = true;
                        apply_to_container(w, sp, &w->ctrs[i]);
                }
        if (!any)
                event(w, WATCH_NOTE, svc, 0, "no container: start it with `stack up`");
}

static void apply_batch(struct watcher *w)
{
        _cleanup_error_ struct stack_error e = {0};
        struct watch_plan p = {0};
        watch_plan_batch(w->rules, w->batch, w->n_batch, &p);
        if (p.n > 0 && refresh_containers(w, &e) < 0)
                report(w, NULL, &e);
        else
                for (size_t i = 0; i < p.n; i++)
                        apply_service(w, &p.services[i]);
        watch_plan_done(&p);
        for (size_t i = 0; i < w->n_batch; i++)
                free(w->batch[i].path);
        w->n_batch = 0;
}

/* ---- inotify ---- */

#define WATCH_MASK                                                                                      \
        (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

static bool any_rule_wants(const struct watcher *w, const char *path, bool is_dir)
{
        for (size_t i = 0; i < w->rules->n; i++)
                if (rule_wants(&w->rules->rules[i], path, is_dir))
                        return true;
        return false;
}

/* Watches dir and every directory below it that some rule wants (a .git or node_modules that is ignored
 * costs no watch). Adding the same directory again only refreshes its path (after a rename). */
static int watch_tree(struct watcher *w, const char *dir, struct stack_error *err)
{
        int wd = inotify_add_watch(w->ifd, dir, WATCH_MASK);
        if (wd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0; /* gone already: its deletion is an event of its own */
                if (errno == ENOSPC)
                        return stack_error_set(
                            err, ENOSPC, "%s: out of inotify watches (raise fs.inotify.max_user_watches)",
                            dir);
                return stack_error_errno(err, errno, "watch %s", dir);
        }
        if ((size_t) wd >= w->n_wd) {
                size_t n = (size_t) wd * 2 + 16;
                w->wd_paths = xrealloc(w->wd_paths, n * sizeof(*w->wd_paths));
                memset(w->wd_paths + w->n_wd, 0, (n - w->n_wd) * sizeof(*w->wd_paths));
                w->n_wd = n;
        }
        free(w->wd_paths[wd]);
        w->wd_paths[wd] = xstrdup(dir);
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                _cleanup_free_ char *sub = path_join(dir, de->d_name);
                struct stat st;
                if (lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode) || !any_rule_wants(w, sub, true))
                        continue;
                int r = watch_tree(w, sub, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int watch_roots(struct watcher *w, struct stack_error *err)
{
        const char **roots;
        size_t n = watch_rules_roots(w->rules, &roots);
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                if (stat(roots[i], &st) < 0)
                        return stack_error_errno(err, errno, "develop.watch path %s", roots[i]);
                int r;
                if (S_ISDIR(st.st_mode))
                        r = watch_tree(w, roots[i], err);
                else {
                        /* A single file: its directory is watched, and only that name matches the rule. */
                        _cleanup_free_ char *dir = path_dirname(roots[i]);
                        r = watch_tree(w, dir, err);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static void add_change(struct watcher *w, const char *path, bool is_dir, bool tree)
{
        for (size_t i = 0; i < w->n_batch; i++)
                if (streq(w->batch[i].path, path)) {
                        w->batch[i].is_dir = is_dir;
                        w->batch[i].tree |= tree;
                        return;
                }
        w->batch = xrealloc(w->batch, (w->n_batch + 1) * sizeof(*w->batch));
        w->batch[w->n_batch++] =
            (struct watch_change){.path = xstrdup(path), .is_dir = is_dir, .tree = tree};
}

/* Every rule's whole tree as one change: after an overflow, and for initial_sync. Content is compared,
 * so what is already there is not written again. */
static void add_roots_as_trees(struct watcher *w, bool initial_only)
{
        for (size_t i = 0; i < w->rules->n; i++) {
                const struct wrule *x = &w->rules->rules[i];
                if (initial_only && !x->r->initial_sync)
                        continue;
                add_change(w, x->r->path, path_is_dir(x->r->path), true);
        }
}

static void read_events(struct watcher *w)
{
        char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
        for (;;) {
                ssize_t n = read(w->ifd, buf, sizeof(buf));
                if (n <= 0)
                        return;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                w->rescan = true;
                                continue;
                        }
                        if (ev->wd < 0 || (size_t) ev->wd >= w->n_wd || !w->wd_paths[ev->wd])
                                continue;
                        if (ev->mask & IN_IGNORED) {
                                free(w->wd_paths[ev->wd]);
                                w->wd_paths[ev->wd] = NULL;
                                continue;
                        }
                        if (ev->len == 0)
                                continue; /* the directory itself: its parent reports it */
                        _cleanup_free_ char *path = path_join(w->wd_paths[ev->wd], ev->name);
                        bool is_dir = ev->mask & IN_ISDIR;
                        bool tree = is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO));
                        /* A new directory is watched at once; files made in it before the watch was in
                         * place are found by the tree sync of the batch. */
                        if (tree && any_rule_wants(w, path, true)) {
                                _cleanup_error_ struct stack_error e = {0};
                                if (watch_tree(w, path, &e) < 0)
                                        report(w, NULL, &e);
                        }
                        add_change(w, path, is_dir, tree);
                }
        }
}

/* A batch ends when no event came for a quiet period: short for a single save (latency), longer once the
 * batch is large (a checkout, a build writing many files comes in bursts with short pauses). A stream
 * that never pauses is still cut into batches every few seconds. */
#define QUIET_USEC 20000ULL
#define QUIET_BURST_USEC 250000ULL
#define BURST_CHANGES 32
#define MAX_BATCH_USEC 5000000ULL

static int poll_timeout(const struct watcher *w, uint64_t first, uint64_t last)
{
        if (w->n_batch == 0 && !w->rescan)
                return -1;
        uint64_t quiet = w->n_batch >= BURST_CHANGES ? QUIET_BURST_USEC : QUIET_USEC;
        uint64_t now = now_usec(), end = last + quiet;
        if (end > first + MAX_BATCH_USEC)
                end = first + MAX_BATCH_USEC;
        return end <= now ? 0 : (int) ((end - now + 999) / 1000);
}

static void watcher_done(struct watcher *w)
{
        closep(&w->ifd);
        for (size_t i = 0; i < w->n_wd; i++)
                free(w->wd_paths[i]);
        free(w->wd_paths);
        for (size_t i = 0; i < w->n_batch; i++)
                free(w->batch[i].path);
        free(w->batch);
        for (size_t i = 0; i < w->n_ctrs; i++) {
                wctr_close(&w->ctrs[i]);
                free(w->ctrs[i].name);
                free(w->ctrs[i].service);
        }
        free(w->ctrs);
        watch_rules_free(w->rules);
}

static void note_bind_covered(struct watcher *w)
{
        for (size_t i = 0; i < w->rules->n; i++) {
                const struct wrule *x = &w->rules->rules[i];
                if (!x->bind_covered)
                        continue;
                _cleanup_free_ char *msg =
                    xasprintf("%s is inside a bind mount: the container sees %s already, it is not synced",
                              x->r->target, x->r->path);
                event(w, WATCH_NOTE, x->svc->name, 0, msg);
        }
}

int watch_run(const struct watch_config *c, struct stack_error *err)
{
        _cleanup_(watcher_done) struct watcher w = {.c = c, .ifd = -1};
        int r = watch_rules_new(c->project, c->services, &w.rules, err);
        if (r < 0)
                return r;
        w.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w.ifd < 0)
                return stack_error_errno(err, errno, "inotify");
        if ((r = watch_roots(&w, err)) < 0)
                return r;
        note_bind_covered(&w);
        event(&w, WATCH_READY, NULL, w.rules->n, NULL);
        add_roots_as_trees(&w, true);
        uint64_t first = now_usec(), last = first;
        for (;;) {
                struct pollfd fds[2] = {{.fd = w.ifd, .events = POLLIN},
                                        {.fd = c->stop_fd, .events = POLLIN}};
                int k = poll(fds, 2, poll_timeout(&w, first, last));
                if (k < 0 && errno != EINTR)
                        return stack_error_errno(err, errno, "poll");
                if (fds[1].revents)
                        return 0;
                if (k > 0 && fds[0].revents) {
                        if (w.n_batch == 0 && !w.rescan)
                                first = now_usec();
                        read_events(&w);
                        last = now_usec();
                        continue;
                }
                if (k != 0)
                        continue;
                if (w.rescan) {
                        w.rescan = false;
                        _cleanup_error_ struct stack_error e = {0};
                        if (watch_roots(&w, &e) < 0)
                                report(&w, NULL, &e);
                        add_roots_as_trees(&w, false);
                }
                apply_batch(&w);
        }
}
