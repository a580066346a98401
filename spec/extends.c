/* `extends`: a service starts from another service (same file or another file) and merges its own
 * definition over it with the usual merge rules. Also the rewriting of relative host paths for services
 * that come from files in other directories. */
#include <errno.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/discover.h"
#include "spec/loader.h"
#include "spec/merge.h"

/* --- relative paths --- */

static bool is_remote(const char *s)
{
        return strstr(s, "://") || startswith(s, "git@") || startswith(s, "github.com/");
}

static void abs_scalar(struct node *n, const char *dir)
{
        if (!n || n->kind != NODE_SCALAR || isempty(n->scalar) || n->scalar[0] == '/' ||
            n->scalar[0] == '~' || is_remote(n->scalar))
                return;
        char *p = path_absolute(dir, n->scalar);
        free(n->scalar);
        n->scalar = p;
}

static void abs_scalars(struct node *n, const char *dir)
{
        if (n && n->kind == NODE_SEQUENCE)
                for (size_t i = 0; i < n->n_items; i++)
                        abs_scalar(n->items[i], dir);
        else
                abs_scalar(n, dir);
}

/* Short volume syntax names a host path when the source starts with '.', '/' or '~'; only the relative
 * ones ('.') need rewriting. */
static void abs_volume(struct node *v, const char *dir)
{
        if (v->kind == NODE_MAPPING) {
                if (streq_ptr(node_str(node_get(v, "type")), "bind"))
                        abs_scalar(node_get(v, "source"), dir);
                return;
        }
        if (v->kind != NODE_SCALAR || v->scalar[0] != '.')
                return;
        const char *colon = strchr(v->scalar, ':');
        if (!colon)
                return; /* a lone target: an anonymous volume */
        _cleanup_free_ char *src = xstrndup(v->scalar, colon - v->scalar);
        _cleanup_free_ char *abs = path_absolute(dir, src);
        char *s = xasprintf("%s%s", abs, colon);
        free(v->scalar);
        v->scalar = s;
}

void load_resolve_service_paths(struct node *svc, const char *dir)
{
        if (!svc || svc->kind != NODE_MAPPING)
                return;
        struct node *build = node_get(svc, "build");
        if (build && build->kind == NODE_MAPPING)
                abs_scalar(node_get(build, "context"), dir);
        else
                abs_scalar(build, dir);
        struct node *env_file = node_get(svc, "env_file");
        if (env_file && env_file->kind == NODE_SEQUENCE)
                for (size_t i = 0; i < env_file->n_items; i++) {
                        struct node *e = env_file->items[i];
                        abs_scalar(e->kind == NODE_MAPPING ? node_get(e, "path") : e, dir);
                }
        else
                abs_scalar(env_file, dir);
        abs_scalars(node_get(svc, "label_file"), dir);
        struct node *ext = node_get(svc, "extends");
        if (ext && ext->kind == NODE_MAPPING)
                abs_scalar(node_get(ext, "file"), dir);
        struct node *vols = node_get(svc, "volumes");
        for (size_t i = 0; vols && vols->kind == NODE_SEQUENCE && i < vols->n_items; i++)
                abs_volume(vols->items[i], dir);
}

void load_resolve_project_paths(struct node *root, const char *dir)
{
        struct node *services = node_get(root, "services");
        for (size_t i = 0; services && i < services->n_pairs; i++)
                load_resolve_service_paths(services->pairs[i].value, dir);
        static const char *const file_sections[] = {"secrets", "configs"};
        for (size_t s = 0; s < ELEMENTSOF(file_sections); s++) {
                struct node *sec = node_get(root, file_sections[s]);
                for (size_t i = 0; sec && i < sec->n_pairs; i++)
                        abs_scalar(node_get(sec->pairs[i].value, "file"), dir);
        }
        /* A local volume with `o: bind` is a bind mount of `device`. */
        struct node *vols = node_get(root, "volumes");
        for (size_t i = 0; vols && i < vols->n_pairs; i++) {
                struct node *opts = node_get(vols->pairs[i].value, "driver_opts");
                if (streq_ptr(node_str(node_get(opts, "o")), "bind"))
                        abs_scalar(node_get(opts, "device"), dir);
        }
}

/* --- extends --- */

struct chain {
        const char *file[64];
        const char *service[64];
        size_t n;
};

static int cycle_error(const struct chain *c, const char *file, const char *service, struct node_mark mark,
                       const char *path, struct stack_error *err)
{
        struct strbuf b = {0};
        for (size_t i = 0; i < c->n; i++)
                strbuf_printf(&b, "%s (%s) -> ", c->service[i], path_basename(c->file[i]));
        strbuf_printf(&b, "%s (%s)", service, path_basename(file));
        _cleanup_free_ char *s = strbuf_take(&b);
        return spec_error(err, mark, path, "extends cycle: %s", s);
}

static int cached_file(struct load_ctx *ctx, const char *path, const struct stack_kvlist *env,
                       struct node **ret, struct stack_error *err)
{
        for (size_t i = 0; i < ctx->n_cache; i++)
                if (streq(ctx->cache[i].path, path)) {
                        *ret = ctx->cache[i].root;
                        return 0;
                }
        _cleanup_free_ char *name = spec_display_path(path, ctx->cwd);
        _cleanup_node_ struct node *root = NULL;
        int r = load_parse_file(ctx, path, name, 0, &root, err);
        if (r < 0)
                return r;
        r = load_interpolate(ctx, root, env, err);
        if (r < 0)
                return r;
        GROW(ctx->cache, ctx->cap_cache, ctx->n_cache);
        ctx->cache[ctx->n_cache++] = (struct load_cached_file){.path = xstrdup(path), .root = root};
        *ret = TAKE_PTR(root);
        return 0;
}

static int resolve(struct load_ctx *ctx, struct node *services, const char *file, const char *dir,
                   const char *name, const char *project_dir, const struct stack_kvlist *env,
                   struct chain *chain, struct stack_error *err);

static struct node_pair *find_pair(struct node *map, const char *key)
{
        for (size_t i = 0; map && map->kind == NODE_MAPPING && i < map->n_pairs; i++)
                if (streq(map->pairs[i].key, key))
                        return &map->pairs[i];
        return NULL;
}

static int resolve_base(struct load_ctx *ctx, struct node *services, const char *file, const char *dir,
                        const char *ref, const char *ref_file, const char *project_dir,
                        const struct stack_kvlist *env, struct chain *chain, struct node_mark mark,
                        const char *path, struct node **ret, struct stack_error *err)
{
        if (!ref_file) {
                if (!find_pair(services, ref))
                        return spec_error(err, mark, path, "service \"%s\" not found", ref);
                int r = resolve(ctx, services, file, dir, ref, project_dir, env, chain, err);
                if (r < 0)
                        return r;
                const struct node_pair *bp = find_pair(services, ref);
                *ret = bp ? node_copy(bp->value) : NULL;
                return 0;
        }
        _cleanup_free_ char *other = path_absolute(dir, ref_file);
        struct node *root;
        int r = cached_file(ctx, other, env, &root, err);
        if (r < 0)
                return stack_error_prefix(err, "%s:%u:%u: %s", mark.file, mark.line, mark.column, path);
        struct node *other_services = node_get(root, "services");
        if (!find_pair(other_services, ref))
                return spec_error(err, mark, path, "service \"%s\" not found in %s", ref, ref_file);
        /* A file reached through extends refers to further files relative to itself. */
        _cleanup_free_ char *other_dir = path_dirname(other);
        r = resolve(ctx, other_services, other, other_dir, ref, project_dir, env, chain, err);
        if (r < 0)
                return r;
        const struct node_pair *bp = find_pair(other_services, ref);
        struct node *base = bp ? node_copy(bp->value) : NULL;
        if (!streq(other_dir, project_dir))
                load_resolve_service_paths(base, other_dir);
        *ret = base;
        return 0;
}

static int resolve(struct load_ctx *ctx, struct node *services, const char *file, const char *dir,
                   const char *name, const char *project_dir, const struct stack_kvlist *env,
                   struct chain *chain, struct stack_error *err)
{
        struct node_pair *pair = find_pair(services, name);
        if (!pair || !pair->value || pair->value->kind != NODE_MAPPING)
                return 0;
        const struct node_pair *ep = node_get_pair(pair->value, "extends");
        if (!ep)
                return 0;
        _cleanup_free_ char *svc_path = xasprintf("services.%s", name);
        _cleanup_free_ char *path = xasprintf("%s.extends", svc_path);
        const struct node *ext = ep->value;
        const char *ref = NULL, *ref_file = NULL;
        if (ext && ext->kind == NODE_SCALAR)
                ref = ext->scalar;
        else if (ext && ext->kind == NODE_MAPPING) {
                for (size_t i = 0; i < ext->n_pairs; i++)
                        if (!streq(ext->pairs[i].key, "service") && !streq(ext->pairs[i].key, "file"))
                                return spec_error(err, ext->pairs[i].key_mark, path, "unknown key \"%s\"",
                                                  ext->pairs[i].key);
                const struct node *s = node_get(ext, "service");
                if (!s || s->kind != NODE_SCALAR)
                        return spec_error(err, ext->mark, path,
                                          "\"service\" is required and must be a string");
                ref = s->scalar;
                const struct node *f = node_get(ext, "file");
                if (f && f->kind != NODE_SCALAR)
                        return spec_error(err, f->mark, path, "\"file\" must be a string");
                ref_file = node_str(f);
        } else
                return spec_error(err, ext ? ext->mark : ep->key_mark, path,
                                  "expected a service name or a mapping with \"service\" and \"file\"");

        for (size_t i = 0; i < chain->n; i++)
                if (streq(chain->file[i], file) && streq(chain->service[i], name))
                        return cycle_error(chain, file, name, ext->mark, path, err);
        if (chain->n >= ELEMENTSOF(chain->file))
                return spec_error(err, ext->mark, path, "extends chain longer than %zu services",
                                  ELEMENTSOF(chain->file));
        chain->file[chain->n] = file;
        chain->service[chain->n++] = name;
        /* The base is resolved first, so a chain a -> b -> c merges c, then b, then a. */
        _cleanup_node_ struct node *base = NULL;
        struct node_mark mark = ext->mark;
        int r = resolve_base(ctx, services, file, dir, ref, ref_file, project_dir, env, chain, mark, path,
                             &base, err);
        chain->n--;
        if (r < 0)
                return r;
        /* The pair may have moved if resolving grew the mapping; look it up again. */
        pair = find_pair(services, name);
        if (!pair || !pair->value)
                return 0;
        node_remove(pair->value, "extends");
        node_remove(base, "extends");
        r = merge_tree(&base, pair->value, svc_path, err);
        if (r < 0)
                return r;
        node_free(pair->value);
        pair->value = TAKE_PTR(base);
        return 0;
}

int extends_apply(struct load_ctx *ctx, struct node *root, const char *file, const char *project_dir,
                  const struct stack_kvlist *env, struct stack_error *err)
{
        struct node *services = node_get(root, "services");
        if (!services || services->kind != NODE_MAPPING)
                return 0;
        for (size_t i = 0; i < services->n_pairs; i++) {
                struct chain chain = {.n = 0};
                /* The name is copied: resolving may replace the pair's value but never its key. */
                _cleanup_free_ char *name = xstrdup(services->pairs[i].key);
                /* As compose: in the project's own files, extends.file is relative to the project
                 * directory, like every other relative path of an -f file. */
                int r = resolve(ctx, services, file, project_dir, name, project_dir, env, &chain, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
