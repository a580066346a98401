/* A service's build key: the short form (a context) and the long mapping with dockerfile, args, target,
 * labels, additional contexts and the rest. */
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

static bool is_remote_context(const char *s)
{
        return strstr(s, "://") || startswith(s, "git@") || startswith(s, "github.com/");
}

/* additional_contexts values: a directory (made absolute), or a reference kept as written. */
static void resolve_additional_contexts(struct svc *c, struct stack_kvlist *l)
{
        for (size_t i = 0; i < l->n; i++) {
                char *v = l->items[i].value;
                if (!v || is_remote_context(v) || startswith(v, "service:") || startswith(v, "target:"))
                        continue;
                l->items[i].value = parse_resolve_path(c->st, v);
                free(v);
        }
}

static int parse_build_network(const struct node *v, const char *path, char **ret, struct stack_error *err)
{
        int r = parse_string(v, path, ret, err);
        if (r < 0 || !*ret)
                return r;
        if (!streq(*ret, "default") && !streq(*ret, "none") && !streq(*ret, "host"))
                return spec_error(err, v->mark, path,
                                  "unsupported build network \"%s\" (expected default, none or host)", *ret);
        return 0;
}

static int parse_build_mapping(struct svc *c, struct stack_build *b, const struct node *v, const char *path,
                               char **ret_context, struct stack_error *err)
{
        static const char *const keys[] = {"additional_contexts",
                                           "args",
                                           "cache_from",
                                           "cache_to",
                                           "context",
                                           "dockerfile",
                                           "dockerfile_inline",
                                           "entitlements",
                                           "extra_hosts",
                                           "isolation",
                                           "labels",
                                           "network",
                                           "no_cache",
                                           "no_cache_filter",
                                           "platforms",
                                           "privileged",
                                           "provenance",
                                           "pull",
                                           "sbom",
                                           "secrets",
                                           "shm_size",
                                           "ssh",
                                           "tags",
                                           "target",
                                           "ulimits",
                                           NULL};
        /* Keys of BuildKit features stack's builder does not have. */
        static const char *const unsupported[] = {"entitlements", "isolation",  "no_cache_filter",
                                                  "privileged",   "provenance", "sbom",
                                                  "ulimits",      NULL};
        int r;
        if ((r = parse_expect(v, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(v, path, keys, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_pairs; i++)
                if (strv_contains((char **) unsupported, v->pairs[i].key)) {
                        _cleanup_free_ char *p = node_path_key(path, v->pairs[i].key);
                        parse_unsupported(c->st, v->pairs[i].key, v->pairs[i].key_mark, p);
                }
#define P(key) _cleanup_free_ char *p_##key = node_path_key(path, #key)
        P(context);
        P(dockerfile);
        P(dockerfile_inline);
        P(args);
        P(target);
        P(labels);
        P(tags);
        P(no_cache);
        P(pull);
        P(network);
        P(extra_hosts);
        P(shm_size);
        P(secrets);
        P(ssh);
        P(additional_contexts);
        P(platforms);
        P(cache_from);
        P(cache_to);
#undef P
        if ((r = parse_string(node_get(v, "context"), p_context, ret_context, err)) < 0 ||
            (r = parse_string(node_get(v, "dockerfile"), p_dockerfile, &b->dockerfile, err)) < 0 ||
            (r = parse_string(node_get(v, "dockerfile_inline"), p_dockerfile_inline, &b->dockerfile_inline,
                              err)) < 0 ||
            (r = parse_kvlist(node_get(v, "args"), p_args, true, &b->args, err)) < 0 ||
            (r = parse_string(node_get(v, "target"), p_target, &b->target, err)) < 0 ||
            (r = parse_kvlist(node_get(v, "labels"), p_labels, false, &b->labels, err)) < 0 ||
            (r = parse_strv(node_get(v, "tags"), p_tags, false, &b->tags, err)) < 0 ||
            (r = parse_bool(node_get(v, "no_cache"), p_no_cache, &b->no_cache, err)) < 0 ||
            (r = parse_bool(node_get(v, "pull"), p_pull, &b->pull, err)) < 0 ||
            (r = parse_build_network(node_get(v, "network"), p_network, &b->network, err)) < 0 ||
            (r = svc_parse_extra_hosts(node_get(v, "extra_hosts"), p_extra_hosts, &b->extra_hosts, err)) <
                0 ||
            (r = parse_bytes(node_get(v, "shm_size"), p_shm_size, &b->shm_size, err)) < 0 ||
            (r = svc_parse_file_refs(c, node_get(v, "secrets"), p_secrets, true, &b->secrets, &b->n_secrets,
                                     err)) < 0 ||
            (r = parse_kvlist(node_get(v, "ssh"), p_ssh, true, &b->ssh, err)) < 0 ||
            (r = parse_kvlist(node_get(v, "additional_contexts"), p_additional_contexts, false,
                              &b->additional_contexts, err)) < 0 ||
            (r = parse_strv(node_get(v, "platforms"), p_platforms, false, &b->platforms, err)) < 0 ||
            (r = parse_strv(node_get(v, "cache_from"), p_cache_from, false, &b->cache_from, err)) < 0 ||
            (r = parse_strv(node_get(v, "cache_to"), p_cache_to, false, &b->cache_to, err)) < 0)
                return r;
        if (b->dockerfile && b->dockerfile_inline)
                return spec_error(err, node_get_pair(v, "dockerfile_inline")->key_mark, path,
                                  "dockerfile and dockerfile_inline are mutually exclusive");
        if (b->shm_size < 0)
                return spec_error(err, node_get(v, "shm_size")->mark, p_shm_size, "must not be negative");
        /* A bare arg takes its value from the environment, as compose does; unset, the Dockerfile's default
         * applies. */
        for (size_t i = 0; i < b->args.n; i++)
                if (!b->args.items[i].value) {
                        const struct stack_kv *kv =
                            stack_kvlist_get(c->st->ctx->environment, b->args.items[i].key);
                        if (kv && kv->value)
                                b->args.items[i].value = xstrdup(kv->value);
                }
        for (size_t i = 0; i < b->ssh.n; i++)
                if (b->ssh.items[i].value) {
                        char *abs = parse_resolve_path(c->st, b->ssh.items[i].value);
                        free(b->ssh.items[i].value);
                        b->ssh.items[i].value = abs;
                } else if (!streq(b->ssh.items[i].key, "default"))
                        return spec_error(
                            err, node_get(v, "ssh")->mark, p_ssh,
                            "ssh \"%s\": give a socket or key path (ID=PATH); only \"default\" "
                            "stands alone",
                            b->ssh.items[i].key);
        resolve_additional_contexts(c, &b->additional_contexts);
        stack_kvlist_sort(&b->labels);
        stack_kvlist_sort(&b->additional_contexts);
        return 0;
}

int k_build(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        struct stack_build *b = &c->s->build;
        int r;
        if (v->kind == NODE_NULL)
                return 0;
        b->present = true;
        b->mark = v->mark;
        _cleanup_free_ char *context = NULL;
        if (v->kind == NODE_SCALAR)
                context = xstrdup(v->scalar);
        else if ((r = parse_build_mapping(c, b, v, path, &context, err)) < 0)
                return r;
        if (!context)
                context = xstrdup(".");
        /* A remote context (git URL, tarball URL) stays as written. */
        if (is_remote_context(context))
                b->context = TAKE_PTR(context);
        else
                b->context = parse_resolve_path(c->st, context);
        return 0;
}

/* An empty string is "not set", as for compose (Go's zero value): `container_name: ${NAME}` with NAME unset
 * means no container_name. */
