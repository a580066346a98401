/* A service's `develop:` section: the watch rules of `stack watch`, as the Compose Specification defines
 * them. Called once the rest of the service is parsed, so a rule can be checked against `build:`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/parse-internal.h"
#include "spec/units.h"

static const char *const develop_keys[] = {"watch", NULL};
static const char *const rule_keys[] = {"action",  "path",         "target", "ignore",
                                        "include", "initial_sync", "exec",   NULL};
static const char *const exec_keys[] = {"command", "user", "privileged", "working_dir", "environment", NULL};

static int parse_exec_command(const struct node *v, const char *path, char ***ret, struct stack_error *err)
{
        if (v->kind != NODE_SCALAR)
                return parse_strv(v, path, false, ret, err);
        const char *stop = NULL;
        if (units_shell_split(v->scalar, ret, &stop) < 0)
                return spec_error(err, v->mark, path, "invalid command line \"%s\": unbalanced quotes",
                                  v->scalar);
        if (stop)
                return spec_error(err, v->mark, path,
                                  "\"%s\": shell syntax is not run by a shell; use [\"sh\", \"-c\", ...]",
                                  stop);
        return 0;
}

static int parse_exec(const struct node *v, const char *path, struct stack_watch_exec *x,
                      struct stack_error *err)
{
        int r;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, exec_keys, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_pairs; i++) {
                const char *k = v->pairs[i].key;
                const struct node *e = v->pairs[i].value;
                _cleanup_free_ char *p = node_path_key(path, k);
                if (streq(k, "command"))
                        r = parse_exec_command(e, p, &x->command, err);
                else if (streq(k, "user"))
                        r = parse_string(e, p, &x->user, err);
                else if (streq(k, "privileged"))
                        r = parse_bool(e, p, &x->privileged, err);
                else if (streq(k, "working_dir"))
                        r = parse_string(e, p, &x->working_dir, err);
                else if (streq(k, "environment"))
                        r = parse_kvlist(e, p, false, &x->environment, err);
                if (r < 0)
                        return r;
        }
        if (!x->command || !x->command[0])
                return spec_error(err, v->mark, path, "exec needs a command");
        if (x->working_dir && x->working_dir[0] != '/')
                return spec_error(err, node_get(v, "working_dir")->mark, path,
                                  "working_dir \"%s\" must be an absolute path", x->working_dir);
        return 0;
}

/* Patterns are matched per path element (.dockerignore's rules); a glob in the watched path itself would
 * need a watch on every match, which compose refuses too. */
static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

static bool needs_target(enum stack_watch_action a)
{
        return a == STACK_WATCH_SYNC || a == STACK_WATCH_SYNC_RESTART || a == STACK_WATCH_SYNC_EXEC;
}

static int rule_keys_parse(struct parse_state *st, const struct node *v, const char *path,
                           struct stack_watch_rule *w, struct stack_error *err)
{
        int r = 0;
        for (size_t i = 0; i < v->n_pairs; i++) {
                const char *k = v->pairs[i].key;
                const struct node *e = v->pairs[i].value;
                _cleanup_free_ char *p = node_path_key(path, k);
                _cleanup_free_ char *s = NULL;
                if (streq(k, "action")) {
                        if ((r = parse_string(e, p, &s, err)) < 0)
                                return r;
                        int a = s ? stack_watch_action_from_string(s) : -1;
                        if (a < 0)
                                return spec_error(
                                    err, e->mark, p,
                                    "invalid action \"%s\" (expected sync, rebuild, sync+restart, "
                                    "restart or sync+exec)",
                                    s ? s : "");
                        w->action = (enum stack_watch_action) a;
                } else if (streq(k, "path")) {
                        if ((r = parse_string(e, p, &s, err)) < 0)
                                return r;
                        if (isempty(s))
                                return spec_error(err, e->mark, p, "path may not be empty");
                        if (has_glob(s))
                                return spec_error(err, e->mark, p,
                                                  "\"%s\": a path may not be a glob pattern (use ignore or "
                                                  "include for patterns)",
                                                  s);
                        w->path = parse_resolve_path(st, s);
                } else if (streq(k, "target"))
                        r = parse_string(e, p, &w->target, err);
                else if (streq(k, "ignore"))
                        r = parse_strv(e, p, true, &w->ignore, err);
                else if (streq(k, "include"))
                        r = parse_strv(e, p, true, &w->include, err);
                else if (streq(k, "initial_sync"))
                        r = parse_bool(e, p, &w->initial_sync, err);
                else if (streq(k, "exec"))
                        r = parse_exec(e, p, &w->exec, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_rule(struct parse_state *st, const struct node *v, const char *path,
                      const struct stack_service *s, struct stack_watch_rule *w, struct stack_error *err)
{
        int r;
        w->mark = v->mark;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, rule_keys, err)) < 0)
                return r;
        if (!node_get(v, "action"))
                return spec_error(err, v->mark, path, "action is required");
        if (!node_get(v, "path"))
                return spec_error(err, v->mark, path, "path is required");
        if ((r = rule_keys_parse(st, v, path, w, err)) < 0)
                return r;
        const char *action = stack_watch_action_to_string(w->action);
        if (needs_target(w->action) && isempty(w->target))
                return spec_error(err, v->mark, path, "action %s needs a target (the path in the container)",
                                  action);
        if (w->target && w->target[0] != '/')
                return spec_error(err, node_get(v, "target")->mark, path,
                                  "target \"%s\" must be an absolute path in the container", w->target);
        if (w->action == STACK_WATCH_SYNC_EXEC && !w->exec.command)
                return spec_error(err, v->mark, path, "action sync+exec needs exec.command");
        if (w->action != STACK_WATCH_SYNC_EXEC && node_get(v, "exec"))
                return spec_error(err, node_get(v, "exec")->mark, path,
                                  "exec is only run by action sync+exec");
        if (w->initial_sync && !needs_target(w->action))
                return spec_error(err, node_get(v, "initial_sync")->mark, path,
                                  "initial_sync applies to the sync actions only, not %s", action);
        _cleanup_free_ char *p_action = node_path_key(path, "action");
        if (w->action == STACK_WATCH_REBUILD && !s->build.present)
                return spec_error(err, node_get(v, "action")->mark, p_action,
                                  "action rebuild needs a build: section in service \"%s\"", s->name);
        return 0;
}

int parse_develop(struct parse_state *st, const struct node *v, const char *service_path,
                  struct stack_service *s, struct stack_error *err)
{
        if (!v || v->kind == NODE_NULL)
                return 0;
        _cleanup_free_ char *path = node_path_key(service_path, "develop");
        int r;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, develop_keys, err)) < 0)
                return r;
        const struct node *watch = node_get(v, "watch");
        if (!watch || watch->kind == NODE_NULL)
                return 0;
        _cleanup_free_ char *wpath = node_path_key(path, "watch");
        if ((r = parse_expect(watch, wpath, NODE_SEQUENCE, err)) < 0)
                return r;
        struct stack_develop *d = &s->develop;
        d->watch = xcalloc(watch->n_items + 1, sizeof(*d->watch));
        for (size_t i = 0; i < watch->n_items; i++) {
                _cleanup_free_ char *p = node_path_index(wpath, i);
                /* Counted first: a half-parsed rule is freed with the others. */
                struct stack_watch_rule *w = &d->watch[d->n_watch++];
                if ((r = parse_rule(st, watch->items[i], p, s, w, err)) < 0)
                        return r;
        }
        return 0;
}
