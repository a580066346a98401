/* A service's environment: the environment key, env_file entries (required or not, raw or interpolated) and
 * the resolution of bare keys from the process environment. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/dotenv.h"
#include "spec/parse-internal.h"
#include "spec/units.h"
#include "spec/parse-service-internal.h"

/* ---- environment ---- */

int k_environment(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        (void) path;
        (void) err;
        c->environment = v;
        return 0;
}

int k_env_file(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        (void) path;
        (void) err;
        c->env_file = v;
        return 0;
}

/* format: raw reads the file as `docker run --env-file` does: KEY=VALUE lines taken verbatim (no quotes,
 * no interpolation), blank and # lines skipped, a bare KEY taken from the environment when set. */
static int read_raw_env_file(const char *path, const struct stack_kvlist *env, struct stack_kvlist *ret,
                             struct stack_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_named_file(path, 0, &data, &len, err);
        if (r < 0)
                return r;
        char *p = data;
        if (startswith(p, "\xef\xbb\xbf"))
                p += 3;
        unsigned lineno = 0;
        while (p && *p) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = '\0';
                lineno++;
                size_t l = strlen(p);
                if (l > 0 && p[l - 1] == '\r')
                        p[l - 1] = '\0';
                while (isspace((unsigned char) *p))
                        p++;
                if (*p && *p != '#') {
                        char *eq = strchr(p, '=');
                        _cleanup_free_ char *key = eq ? xstrndup(p, (size_t) (eq - p)) : xstrdup(p);
                        if (strpbrk(key, " \t\v\f"))
                                return stack_error_set(err, EINVAL,
                                                       "%s:%u: variable '%s' contains whitespaces", path,
                                                       lineno, key);
                        if (eq)
                                stack_kvlist_set(ret, key, eq + 1);
                        else {
                                const struct stack_kv *kv = stack_kvlist_get(env, key);
                                if (kv && kv->value)
                                        stack_kvlist_set(ret, key, kv->value);
                        }
                }
                p = nl ? nl + 1 : NULL;
        }
        return 0;
}

static int read_env_file(struct svc *c, const struct node *n, const char *path, const char *file,
                         bool required, bool raw, struct stack_error *err)
{
        _cleanup_free_ char *abs = parse_resolve_path(c->st, file);
        if (!path_exists(abs)) {
                if (!required)
                        return 0;
                return spec_error(err, n->mark, path, "env file %s not found", abs);
        }
        struct stack_kvlist kv = {0};
        _cleanup_error_ struct stack_error e = {0};
        int r = raw ? read_raw_env_file(abs, c->st->ctx->environment, &kv, &e)
                    : dotenv_read_file(abs, 0, c->st->ctx->environment, &kv, &e);
        if (r < 0) {
                stack_kvlist_free(&kv);
                return spec_error(err, n->mark, path, "%s", e.msg ? e.msg : "cannot read env file");
        }
        for (size_t i = 0; i < kv.n; i++)
                stack_kvlist_set(&c->s->environment, kv.items[i].key, kv.items[i].value);
        stack_kvlist_free(&kv);
        strv_push(&c->s->env_files, abs);
        return 0;
}

static int apply_env_files(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"path", "required", "format", NULL};
        int r;
        if (!v || v->kind == NODE_NULL)
                return 0;
        if (v->kind == NODE_SCALAR)
                return read_env_file(c, v, path, v->scalar, true, false, err);
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind == NODE_SCALAR) {
                        if ((r = read_env_file(c, it, p, it->scalar, true, false, err)) < 0)
                                return r;
                        continue;
                }
                if ((r = parse_expect(it, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(it, p, keys, err)) < 0)
                        return r;
                _cleanup_free_ char *file = NULL, *format = NULL;
                bool required = true;
                _cleanup_free_ char *p_path = node_path_key(p, "path");
                _cleanup_free_ char *p_req = node_path_key(p, "required");
                _cleanup_free_ char *p_fmt = node_path_key(p, "format");
                if ((r = parse_string(node_get(it, "path"), p_path, &file, err)) < 0 ||
                    (r = parse_bool(node_get(it, "required"), p_req, &required, err)) < 0 ||
                    (r = parse_string(node_get(it, "format"), p_fmt, &format, err)) < 0)
                        return r;
                if (!file)
                        return spec_error(err, it->mark, p, "path is required");
                if (format && !streq(format, "dotenv") && !streq(format, "raw"))
                        return spec_error(err, node_get(it, "format")->mark, p_fmt,
                                          "unsupported env_file format \"%s\" (dotenv or raw)", format);
                if ((r = read_env_file(c, it, p, file, required, format && streq(format, "raw"), err)) < 0)
                        return r;
        }
        return 0;
}

/* A bare KEY takes its value from the interpolation environment, or stays unset (NULL) as compose does. */
static void resolve_bare_keys(struct svc *c, struct stack_kvlist *env)
{
        for (size_t i = 0; i < env->n; i++) {
                if (env->items[i].value)
                        continue;
                const struct stack_kv *kv = stack_kvlist_get(c->st->ctx->environment, env->items[i].key);
                if (kv && kv->value)
                        env->items[i].value = xstrdup(kv->value);
        }
}

int svc_apply_environment(struct svc *c, struct stack_error *err)
{
        _cleanup_free_ char *p_ef = node_path_key(c->path, "env_file");
        _cleanup_free_ char *p_env = node_path_key(c->path, "environment");
        struct stack_kvlist env = {0};
        int r;

        if ((r = apply_env_files(c, c->env_file, p_ef, err)) < 0)
                return r;
        /* `environment` wins over env_file entries. */
        if ((r = parse_kvlist(c->environment, p_env, true, &env, err)) < 0) {
                stack_kvlist_free(&env);
                return r;
        }
        resolve_bare_keys(c, &env);
        for (size_t i = 0; i < env.n; i++)
                stack_kvlist_set(&c->s->environment, env.items[i].key, env.items[i].value);
        stack_kvlist_free(&env);
        stack_kvlist_sort(&c->s->environment);
        return 0;
}
