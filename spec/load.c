/* spec_load(): discovery -> .env -> parse each file -> project name -> interpolate -> include -> extends ->
 * merge -> the model -> profiles. Reads files and nothing else: no host state is touched. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/discover.h"
#include "spec/interpolate.h"
#include "spec/load.h"
#include "spec/loader.h"
#include "spec/merge.h"
#include "spec/parse.h"
#include "spec/yaml.h"

void load_ctx_done(struct load_ctx *ctx)
{
        free(ctx->stdin_data);
        for (size_t i = 0; i < ctx->n_cache; i++) {
                free(ctx->cache[i].path);
                node_free(ctx->cache[i].root);
        }
        free(ctx->cache);
        strv_free(ctx->include_chain);
        strv_free(ctx->warned);
        *ctx = (struct load_ctx){0};
}

int load_parse_file(struct load_ctx *ctx, const char *path, const char *name, unsigned flags,
                    struct node **ret, struct stack_error *err)
{
        if (!streq(path, "-"))
                return spec_yaml_read_file(path, name, flags, ret, err);
        if (!ctx->stdin_read) {
                int r = read_full_fd_max(STDIN_FILENO, NAMED_FILE_MAX, &ctx->stdin_data, &ctx->stdin_len);
                if (r == -EFBIG)
                        return stack_error_set(err, r,
                                               "the compose file on stdin is larger than %s, the limit",
                                               NAMED_FILE_MAX_TEXT);
                if (r < 0)
                        return stack_error_errno(err, -r, "read the compose file from stdin");
                ctx->stdin_read = true;
        }
        return spec_yaml_parse(ctx->stdin_data, ctx->stdin_len, name, ret, err);
}

int load_interpolate(struct load_ctx *ctx, struct node *root, const struct stack_kvlist *env,
                     struct stack_error *err)
{
        if (ctx->no_interpolate)
                return 0;
        /* The context's list of reported variables is the load's, so each unset variable warns once. */
        struct interpolate_context ic = {.env = env, .warned = TAKE_PTR(ctx->warned)};
        int r = interpolate_node_ctx(&ic, root, err);
        ctx->warned = TAKE_PTR(ic.warned);
        return r;
}

int load_files(struct load_ctx *ctx, char *const *files, char *const *names, struct node **roots,
               const char *project_dir, const struct stack_kvlist *env, struct node **ret,
               struct stack_error *err)
{
        _cleanup_node_ struct node *merged = NULL;
        for (size_t i = 0; files[i]; i++) {
                _cleanup_node_ struct node *root = roots && roots[i] ? TAKE_PTR(roots[i]) : NULL;
                int r = 0;
                if (!root)
                        r = load_parse_file(ctx, files[i], names[i], 0, &root, err);
                if (r < 0)
                        return r;
                if (root->kind == NODE_NULL)
                        continue; /* an empty file adds nothing */
                if (root->kind != NODE_MAPPING)
                        return spec_error(err, root->mark, NULL,
                                          "a compose file must be a mapping, got a %s",
                                          node_kind_name(root->kind));
                r = load_interpolate(ctx, root, env, err);
                if (r < 0)
                        return r;
                /* Includes first, so services may extend included ones, as compose does. */
                strv_push(&ctx->include_chain, files[i]);
                r = include_apply(ctx, root, project_dir, env, err);
                size_t n = strv_length(ctx->include_chain);
                free(ctx->include_chain[n - 1]);
                ctx->include_chain[n - 1] = NULL;
                if (r < 0)
                        return r;
                r = extends_apply(ctx, root, files[i], project_dir, env, err);
                if (r < 0)
                        return r;
                r = merge_tree(&merged, root, "", err);
                if (r < 0)
                        return r;
        }
        if (!merged)
                merged = node_new(NODE_MAPPING,
                                  (struct node_mark){.file = node_intern(names[0]), .line = 1, .column = 1});
        *ret = TAKE_PTR(merged);
        return 0;
}

/* The top-level `name:` of the last file that has one, interpolated: it is needed before the files are,
 * since they may use ${COMPOSE_PROJECT_NAME}. */
static int name_from_files(struct load_ctx *ctx, struct node *const *roots, size_t n,
                           const struct stack_kvlist *env, char **ret, struct node_mark *ret_mark,
                           struct stack_error *err)
{
        const struct node *name = NULL;
        for (size_t i = 0; i < n; i++) {
                const struct node *v = node_get(roots[i], "name");
                if (v && v->kind == NODE_SCALAR && !isempty(v->scalar))
                        name = v;
        }
        if (!name) {
                *ret = NULL;
                return 0;
        }
        *ret_mark = name->mark;
        if (ctx->no_interpolate) {
                *ret = xstrdup(name->scalar);
                return 0;
        }
        /* Shares the load's list of reported variables: the file is interpolated again later. */
        struct interpolate_context ic = {.env = env, .warned = TAKE_PTR(ctx->warned)};
        int r = interpolate_string_ctx(&ic, name->scalar, name->mark, "name", ret, err);
        ctx->warned = TAKE_PTR(ic.warned);
        return r;
}

static bool service_active(const struct stack_service *s, char *const *active)
{
        if (!s->profiles || !s->profiles[0] || strv_contains(active, "*"))
                return true;
        STRV_FOREACH (p, s->profiles)
                if (strv_contains(active, *p))
                        return true;
        return false;
}

static ssize_t service_index(const struct stack_project *p, const char *name)
{
        for (size_t i = 0; i < p->n_services; i++)
                if (streq(p->services[i].name, name))
                        return (ssize_t) i;
        return -1;
}

/* Profiles (15-profiles.md): a service with profiles is enabled only when one of them is active. A service
 * named on the command line is enabled anyway, with the services it depends on. Unlike docker compose we do
 * not also activate the named service's profiles: that would enable every other service of the profile,
 * and `stack up tool` should start tool and what it needs, nothing else. Disabled services leave the model
 * but their names are kept for orphan detection. */
static int apply_profiles(struct stack_project *p, char *const *profiles, char *const *named,
                          struct stack_error *err)
{
        _cleanup_strv_free_ char **active = strv_copy(profiles);
        _cleanup_free_ bool *on = xcalloc(p->n_services + 1, sizeof(bool));
        _cleanup_free_ size_t *queue = xcalloc(p->n_services + 1, sizeof(size_t));
        size_t nq = 0;
        STRV_FOREACH (n, named) {
                ssize_t i = service_index(p, *n);
                if (i < 0)
                        return stack_error_set(err, ENOENT, "no such service: %s", *n);
        }
        for (size_t i = 0; i < p->n_services; i++)
                on[i] = service_active(&p->services[i], active);
        /* Walk depends_on from the named services; every service enters the queue at most once. */
        _cleanup_free_ bool *seen = xcalloc(p->n_services + 1, sizeof(bool));
        STRV_FOREACH (n, named) {
                size_t i = (size_t) service_index(p, *n);
                if (!seen[i]) {
                        seen[i] = on[i] = true;
                        queue[nq++] = i;
                }
        }
        for (size_t q = 0; q < nq; q++) {
                const struct stack_service *s = &p->services[queue[q]];
                for (size_t d = 0; d < s->n_depends_on; d++) {
                        ssize_t j = service_index(p, s->depends_on[d].service);
                        if (j < 0 || seen[j])
                                continue;
                        seen[j] = on[j] = true;
                        queue[nq++] = (size_t) j;
                }
        }

        /* A required dependency that the profiles leave out would never start, and its dependent would wait
         * on it for ever: an error, as the specification says. */
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                for (size_t d = 0; on[i] && d < s->n_depends_on; d++) {
                        const struct stack_dependency *dep = &s->depends_on[d];
                        ssize_t j = service_index(p, dep->service);
                        if (j < 0 || on[j] || !dep->required)
                                continue;
                        _cleanup_free_ char *path = xasprintf("services.%s.depends_on", s->name);
                        _cleanup_free_ char *needs = strv_join(p->services[j].profiles, ", ");
                        return spec_error(err, dep->mark, path,
                                          "service \"%s\" is disabled by the active profiles (it needs one of: "
                                          "%s); enable one or set required: false",
                                          dep->service, needs);
                }
        }

        size_t kept = 0;
        for (size_t i = 0; i < p->n_services; i++) {
                if (on[i]) {
                        p->services[kept++] = p->services[i];
                        continue;
                }
                strv_push(&p->disabled_services, p->services[i].name);
                stack_service_free_contents(&p->services[i]);
        }
        p->n_services = kept;
        strv_free(p->profiles);
        p->profiles = TAKE_PTR(active);
        return 0;
}

static void loadctx_donep(struct load_ctx *c)
{
        load_ctx_done(c);
}

static void roots_free(struct node **roots, size_t n)
{
        for (size_t i = 0; roots && i < n; i++)
                node_free(roots[i]);
        free(roots);
}

int spec_load(const struct spec_options *o, struct stack_project **ret, struct stack_error *err)
{
        _cleanup_discovery_ struct spec_discovery d = {0};
        int r = spec_discover(o, &d, err);
        if (r < 0)
                return r;
        _cleanup_(loadctx_donep) struct load_ctx ctx = {.cwd = d.cwd, .no_interpolate = o->no_interpolate};

        size_t n = strv_length(d.files);
        struct node **roots = xcalloc(n + 1, sizeof(struct node *));
        for (size_t i = 0; i < n && r >= 0; i++)
                r = load_parse_file(&ctx, d.files[i], d.names[i], READ_PIPE_OK, &roots[i], err);
        _cleanup_free_ char *name = NULL;
        struct node_mark name_mark = {0};
        if (r >= 0)
                r = name_from_files(&ctx, roots, n, &d.environment, &name, &name_mark, err);
        if (r >= 0)
                r = spec_discover_name(&d, name, name_mark, err);
        _cleanup_node_ struct node *tree = NULL;
        if (r >= 0)
                r = load_files(&ctx, d.files, d.names, roots, d.project_dir, &d.environment, &tree, err);
        roots_free(roots, n);
        if (r < 0)
                return r;
        merge_finish(tree);
        if (tree->n_pairs == 0)
                return stack_error_set(err, EINVAL, "%s: empty compose file", d.names[0]);

        /* The name compose settled on is the project's, whatever the files said. */
        const struct node_pair *np = node_get_pair(tree, "name");
        struct node *nv = node_new_scalar(d.project_name, np ? np->value->mark : tree->mark);
        nv->quoted = true;
        node_set(tree, "name", np ? np->key_mark : tree->mark, nv);

        struct spec_parse_context pctx = {
            .project_name = d.project_name,
            .working_dir = d.project_dir,
            .environment = &d.environment,
            .no_interpolate = o->no_interpolate,
        };
        _cleanup_project_ struct stack_project *p = NULL;
        r = spec_parse_project(tree, &pctx, &p, err);
        if (r < 0)
                return r;
        r = apply_profiles(p, d.profiles, o->services, err);
        if (r < 0)
                return r;

        if (!p->working_dir)
                p->working_dir = xstrdup(d.project_dir);
        strv_free(p->config_files);
        p->config_files = strv_copy(d.files);
        strv_free(p->env_files);
        p->env_files = strv_copy(d.env_files);
        if (p->environment.n == 0)
                for (size_t i = 0; i < d.environment.n; i++)
                        stack_kvlist_add(&p->environment, d.environment.items[i].key,
                                         d.environment.items[i].value);
        *ret = TAKE_PTR(p);
        return 0;
}
