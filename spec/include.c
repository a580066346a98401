/* `include`: other compose applications loaded as sub-projects (their own directory, their own .env) whose
 * resources are copied into this one. Unlike -f files they are not merged: a name defined twice is an
 * error, so an included file never silently changes a service of the including one. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/discover.h"
#include "spec/loader.h"
#include "spec/merge.h"

struct include_entry {
        char **paths; /* absolute */
        char *project_dir;
        char **env_files; /* absolute; NULL: <project_dir>/.env when it exists */
        bool env_files_given;
};

static void include_entry_done(struct include_entry *e)
{
        strv_free(e->paths);
        free(e->project_dir);
        strv_free(e->env_files);
}

static int strings_of(const struct node *n, const char *path, const char *base, char ***ret,
                      struct stack_error *err)
{
        if (n->kind == NODE_SCALAR) {
                strv_consume(ret, path_absolute(base, n->scalar));
                return 0;
        }
        if (n->kind != NODE_SEQUENCE)
                return spec_error(err, n->mark, path, "expected a string or a list of strings, got %s",
                                  node_kind_name(n->kind));
        for (size_t i = 0; i < n->n_items; i++) {
                const struct node *item = n->items[i];
                if (item->kind != NODE_SCALAR) {
                        _cleanup_free_ char *p = node_path_index(path, i);
                        return spec_error(err, item->mark, p, "expected a string, got %s",
                                          node_kind_name(item->kind));
                }
                strv_consume(ret, path_absolute(base, item->scalar));
        }
        return 0;
}

static int parse_entry(const struct node *item, const char *path, const char *project_dir,
                       struct include_entry *e, struct stack_error *err)
{
        if (item->kind == NODE_SCALAR)
                return strings_of(item, path, project_dir, &e->paths, err);
        if (item->kind != NODE_MAPPING)
                return spec_error(err, item->mark, path,
                                  "expected a path or a mapping with \"path\", got %s",
                                  node_kind_name(item->kind));
        for (size_t i = 0; i < item->n_pairs; i++) {
                const struct node_pair *p = &item->pairs[i];
                _cleanup_free_ char *kp = node_path_key(path, p->key);
                int r;
                if (streq(p->key, "path"))
                        r = strings_of(p->value, kp, project_dir, &e->paths, err);
                else if (streq(p->key, "project_directory")) {
                        if (p->value->kind != NODE_SCALAR)
                                return spec_error(err, p->value->mark, kp, "expected a string, got %s",
                                                  node_kind_name(p->value->kind));
                        e->project_dir = path_absolute(project_dir, p->value->scalar);
                        r = 0;
                } else if (streq(p->key, "env_file")) {
                        e->env_files_given = true;
                        r = strings_of(p->value, kp, project_dir, &e->env_files, err);
                } else if (startswith(p->key, "x-"))
                        r = 0;
                else
                        r = spec_error(err, p->key_mark, path, "unknown key \"%s\"", p->key);
                if (r < 0)
                        return r;
        }
        if (!e->paths)
                return spec_error(err, item->mark, path, "\"path\" is required");
        return 0;
}

/* Same content, wherever it was written: including one file twice (directly and through another
 * include) defines the same resources twice without conflict. */
static bool same_tree(const struct node *a, const struct node *b)
{
        if (!a || !b)
                return a == b;
        if (a->kind != b->kind || a->n_items != b->n_items || a->n_pairs != b->n_pairs ||
            !streq_ptr(a->scalar, b->scalar))
                return false;
        for (size_t i = 0; i < a->n_items; i++)
                if (!same_tree(a->items[i], b->items[i]))
                        return false;
        for (size_t i = 0; i < a->n_pairs; i++)
                if (!streq(a->pairs[i].key, b->pairs[i].key) ||
                    !same_tree(a->pairs[i].value, b->pairs[i].value))
                        return false;
        return true;
}

/* A bare `KEY` in an included service's environment takes its value from the included project's
 * environment (its own .env), which the model parser, seeing only the including project, cannot know. */
static void resolve_bare_environment(struct node *sub, const struct stack_kvlist *env)
{
        struct node *services = node_get(sub, "services");
        for (size_t i = 0; services && i < services->n_pairs; i++) {
                struct node *e = node_get(services->pairs[i].value, "environment");
                if (!e)
                        continue;
                for (size_t j = 0; e->kind == NODE_SEQUENCE && j < e->n_items; j++) {
                        struct node *item = e->items[j];
                        const struct stack_kv *kv = item->kind == NODE_SCALAR && !strchr(item->scalar, '=')
                                                        ? stack_kvlist_get(env, item->scalar)
                                                        : NULL;
                        if (!kv || !kv->value)
                                continue;
                        char *s = xasprintf("%s=%s", item->scalar, kv->value);
                        free(item->scalar);
                        item->scalar = s;
                        item->quoted = true;
                }
                for (size_t j = 0; e->kind == NODE_MAPPING && j < e->n_pairs; j++) {
                        struct node *v = e->pairs[j].value;
                        const struct stack_kv *kv = stack_kvlist_get(env, e->pairs[j].key);
                        if (!v || v->kind != NODE_NULL || !kv || !kv->value)
                                continue;
                        struct node *n = node_new_scalar(kv->value, v->mark);
                        n->quoted = true;
                        node_free(v);
                        e->pairs[j].value = n;
                }
        }
}

static int import_section(struct node *root, struct node *sub, const char *section, const struct node *item,
                          const char *path, const char *sub_name, struct stack_error *err)
{
        struct node *from = node_get(sub, section);
        if (!from || from->kind != NODE_MAPPING || from->n_pairs == 0)
                return 0;
        struct node *to = node_get(root, section);
        if (to && to->kind != NODE_MAPPING && to->kind != NODE_NULL)
                return 0; /* the model parser reports the wrong kind */
        if (!to || to->kind == NODE_NULL) {
                const struct node_pair *tp = node_get_pair(root, section);
                node_set(root, section, tp ? tp->key_mark : item->mark, node_new(NODE_MAPPING, item->mark));
                to = node_get(root, section);
        }
        for (size_t i = 0; i < from->n_pairs; i++) {
                struct node_pair *fp = &from->pairs[i];
                const struct node_pair *clash = node_get_pair(to, fp->key);
                if (clash && same_tree(clash->value, fp->value))
                        continue;
                if (clash)
                        return spec_error(
                            err, item->mark, path,
                            "%s.%s from %s is already defined at %s:%u:%u; included resources are "
                            "not merged",
                            section, fp->key, sub_name, clash->key_mark.file ? clash->key_mark.file : "?",
                            clash->key_mark.line, clash->key_mark.column);
                node_set(to, fp->key, fp->key_mark, TAKE_PTR(fp->value));
        }
        return 0;
}

static int include_one(struct load_ctx *ctx, struct node *root, const struct node *item, const char *path,
                       const char *project_dir, const struct stack_kvlist *env, struct stack_error *err)
{
        _cleanup_(include_entry_done) struct include_entry e = {0};
        int r = parse_entry(item, path, project_dir, &e, err);
        if (r < 0)
                return r;
        if (!e.project_dir)
                e.project_dir = path_dirname(e.paths[0]);
        STRV_FOREACH (f, e.paths) {
                struct stat st;
                if (stat(*f, &st) < 0 || !S_ISREG(st.st_mode)) {
                        _cleanup_free_ char *shown = spec_display_path(*f, ctx->cwd);
                        return spec_error(err, item->mark, path, "%s: %s", shown,
                                          !path_exists(*f)  ? "no such file"
                                          : path_is_dir(*f) ? "is a directory"
                                                            : "not a regular file");
                }
        }

        if (strv_contains(ctx->include_chain, e.paths[0])) {
                _cleanup_strv_free_ char **shown = NULL;
                STRV_FOREACH (c, ctx->include_chain)
                        strv_consume(&shown, spec_display_path(*c, ctx->cwd));
                strv_consume(&shown, spec_display_path(e.paths[0], ctx->cwd));
                _cleanup_free_ char *chain = strv_join(shown, " -> ");
                return spec_error(err, item->mark, path, "include cycle: %s", chain);
        }

        /* The sub-project's .env only fills what the including project's environment leaves unset. */
        struct stack_kvlist sub_env = {0};
        for (size_t i = 0; i < env->n; i++)
                stack_kvlist_add(&sub_env, env->items[i].key, env->items[i].value);
        _cleanup_strv_free_ char **env_files = NULL;
        if (e.env_files_given) {
                STRV_FOREACH (f, e.env_files)
                        if (!streq(*f, "/dev/null"))
                                strv_push(&env_files, *f);
        } else {
                _cleanup_free_ char *dotenv = path_join(e.project_dir, ".env");
                if (path_exists(dotenv) && !path_is_dir(dotenv))
                        strv_push(&env_files, dotenv);
        }
        r = spec_env_fill_from_files(env_files, &sub_env, NULL, err);
        if (r < 0) {
                stack_kvlist_free(&sub_env);
                return stack_error_prefix(err, "%s:%u:%u: %s", item->mark.file, item->mark.line,
                                          item->mark.column, path);
        }

        _cleanup_strv_free_ char **names = NULL;
        STRV_FOREACH (p, e.paths)
                strv_consume(&names, spec_display_path(*p, ctx->cwd));
        _cleanup_node_ struct node *sub = NULL;
        r = load_files(ctx, e.paths, names, NULL, e.project_dir, &sub_env, &sub, err);
        if (r >= 0) {
                merge_finish(sub);
                resolve_bare_environment(sub, &sub_env);
        }
        stack_kvlist_free(&sub_env);
        if (r < 0)
                return r;
        load_resolve_project_paths(sub, e.project_dir);

        static const char *const sections[] = {"services", "networks", "volumes", "secrets", "configs"};
        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                r = import_section(root, sub, sections[i], item, path, names[0], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int include_apply(struct load_ctx *ctx, struct node *root, const char *project_dir,
                  const struct stack_kvlist *env, struct stack_error *err)
{
        const struct node *inc = node_get(root, "include");
        if (!inc)
                return 0;
        if (inc->kind != NODE_NULL && inc->kind != NODE_SEQUENCE)
                return spec_error(err, inc->mark, "include", "expected a sequence, got %s",
                                  node_kind_name(inc->kind));
        for (size_t i = 0; i < inc->n_items; i++) {
                _cleanup_free_ char *path = node_path_index("include", i);
                int r = include_one(ctx, root, inc->items[i], path, project_dir, env, err);
                if (r < 0)
                        return r;
        }
        node_remove(root, "include");
        return 0;
}
