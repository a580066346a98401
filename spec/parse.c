/* The final node tree -> struct stack_project: the top level, networks, volumes, secrets, configs,
 * x-stack, and the checks that span services. One service is parsed in spec/parse-service.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/parse-internal.h"
#include "spec/parse.h"
#include "spec/units.h"

void parse_unsupported(struct parse_state *st, const char *key, struct node_mark mark, const char *path)
{
        if (strv_contains(st->warned, key))
                return;
        strv_push(&st->warned, key);
        spec_warning(mark, path, "not supported by stack yet, ignored");
}

static int type_error(const struct node *n, const char *path, const char *want, struct stack_error *err)
{
        return spec_error(err, n->mark, path, "must be %s, not a %s", want, node_kind_name(n->kind));
}

int parse_expect(const struct node *n, const char *path, enum node_kind kind, struct stack_error *err)
{
        static const char *const names[] = {
            [NODE_NULL] = "null",
            [NODE_SCALAR] = "a string",
            [NODE_SEQUENCE] = "a list",
            [NODE_MAPPING] = "a mapping",
        };
        if (n->kind != kind)
                return type_error(n, path, names[kind], err);
        return 0;
}

int parse_string(const struct node *n, const char *path, char **ret, struct stack_error *err)
{
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "a string", err);
        free(*ret);
        *ret = xstrdup(n->scalar);
        return 0;
}

int parse_bool(const struct node *n, const char *path, bool *ret, struct stack_error *err)
{
        bool v, legacy;
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "a boolean", err);
        if (units_parse_bool(n->scalar, &v, &legacy) < 0)
                return spec_error(err, n->mark, path, "invalid boolean \"%s\"", n->scalar);
        if (legacy)
                spec_warning(n->mark, path,
                             "\"%s\" for boolean is not supported by YAML 1.2, please use `%s`", n->scalar,
                             v ? "true" : "false");
        *ret = v;
        return 0;
}

int parse_int(const struct node *n, const char *path, int64_t min, int64_t max, int64_t *ret,
              struct stack_error *err)
{
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "an integer", err);
        int r = units_parse_int(n->scalar, min, max, ret);
        if (r == -ERANGE)
                return spec_error(err, n->mark, path, "%s is out of range [%lld, %lld]", n->scalar,
                                  (long long) min, (long long) max);
        if (r < 0)
                return spec_error(err, n->mark, path, "invalid integer \"%s\"", n->scalar);
        return 0;
}

int parse_duration(const struct node *n, const char *path, int64_t *ret_usec, struct stack_error *err)
{
        int64_t v;
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "a duration", err);
        int r = units_parse_duration(n->scalar, &v);
        if (r < 0) {
                int64_t plain;
                if (units_parse_int(n->scalar, INT64_MIN, INT64_MAX, &plain) == 0)
                        return spec_error(err, n->mark, path,
                                          "invalid duration \"%s\": missing unit (for example \"%ss\")",
                                          n->scalar, n->scalar);
                return spec_error(err, n->mark, path, "invalid duration \"%s\"", n->scalar);
        }
        if (v < 0)
                return spec_error(err, n->mark, path, "duration \"%s\" must not be negative", n->scalar);
        *ret_usec = v;
        return 0;
}

int parse_bytes(const struct node *n, const char *path, int64_t *ret, struct stack_error *err)
{
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "a byte size", err);
        if (units_parse_bytes(n->scalar, ret) < 0)
                return spec_error(err, n->mark, path, "invalid size \"%s\"", n->scalar);
        return 0;
}

int parse_double(const struct node *n, const char *path, double *ret, struct stack_error *err)
{
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "a number", err);
        char *end;
        errno = 0;
        double v = strtod(n->scalar, &end);
        if (isempty(n->scalar) || *end || errno == ERANGE || v != v)
                return spec_error(err, n->mark, path, "invalid number \"%s\"", n->scalar);
        *ret = v;
        return 0;
}

int parse_mode(const struct node *n, const char *path, int *ret, struct stack_error *err)
{
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind != NODE_SCALAR)
                return type_error(n, path, "a file mode", err);
        const char *s = n->scalar;
        int base = 10;
        if (startswith(s, "0o") || startswith(s, "0O")) {
                s += 2;
                base = 8;
        } else if (s[0] == '0' && s[1])
                base = 8;
        char *end;
        errno = 0;
        long v = strtol(s, &end, base);
        if (isempty(s) || *end || errno || v < 0 || v > 07777)
                return spec_error(err, n->mark, path, "invalid file mode \"%s\"", n->scalar);
        *ret = (int) v;
        return 0;
}

int parse_strv(const struct node *n, const char *path, bool or_string, char ***ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **l = NULL;
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind == NODE_SCALAR && or_string) {
                strv_push(&l, n->scalar);
        } else if (n->kind == NODE_SEQUENCE) {
                l = xcalloc(1, sizeof(char *));
                for (size_t i = 0; i < n->n_items; i++) {
                        const struct node *it = n->items[i];
                        if (it->kind != NODE_SCALAR) {
                                _cleanup_free_ char *p = node_path_index(path, i);
                                return type_error(it, p, "a string", err);
                        }
                        strv_push(&l, it->scalar);
                }
        } else
                return type_error(n, path, or_string ? "a string or a list" : "a list", err);
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 0;
}

int parse_kvlist(const struct node *n, const char *path, bool allow_unset, struct stack_kvlist *ret,
                 struct stack_error *err)
{
        if (!n || n->kind == NODE_NULL)
                return 0;
        if (n->kind == NODE_MAPPING) {
                for (size_t i = 0; i < n->n_pairs; i++) {
                        const struct node *v = n->pairs[i].value;
                        if (v->kind == NODE_NULL) {
                                stack_kvlist_set(ret, n->pairs[i].key, allow_unset ? NULL : "");
                                continue;
                        }
                        if (v->kind != NODE_SCALAR) {
                                _cleanup_free_ char *p = node_path_key(path, n->pairs[i].key);
                                return type_error(v, p, "a string, number, boolean or null", err);
                        }
                        stack_kvlist_set(ret, n->pairs[i].key, v->scalar);
                }
                return 0;
        }
        if (n->kind != NODE_SEQUENCE)
                return type_error(n, path, "a mapping or a list", err);
        for (size_t i = 0; i < n->n_items; i++) {
                const struct node *it = n->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                if (it->kind != NODE_SCALAR)
                        return type_error(it, p, "a string", err);
                const char *eq = strchr(it->scalar, '=');
                _cleanup_free_ char *key =
                    eq ? xstrndup(it->scalar, (size_t) (eq - it->scalar)) : xstrdup(it->scalar);
                if (isempty(key))
                        return spec_error(err, it->mark, p, "missing key in \"%s\"", it->scalar);
                /* A key twice in one file's list is a mistake (which one was meant?); an override file's
                 * list setting it again is how overrides work. */
                for (size_t j = 0; j < i; j++) {
                        const struct node *prev = n->items[j];
                        size_t klen = strlen(key);
                        if (prev->kind == NODE_SCALAR && streq_ptr(prev->mark.file, it->mark.file) &&
                            strncmp(prev->scalar, key, klen) == 0 &&
                            (prev->scalar[klen] == '=' || prev->scalar[klen] == '\0'))
                                return spec_error(err, it->mark, p, "%s is already set by %s[%zu] (line %u)",
                                                  key, path, j, prev->mark.line);
                }
                stack_kvlist_set(ret, key, eq ? eq + 1 : (allow_unset ? NULL : ""));
        }
        return 0;
}

int parse_check_keys(const struct node *n, const char *path, const char *const *allowed,
                     struct stack_error *err)
{
        for (size_t i = 0; n && n->kind == NODE_MAPPING && i < n->n_pairs; i++) {
                const char *k = n->pairs[i].key;
                if (startswith(k, "x-"))
                        continue;
                bool ok = false;
                for (const char *const *a = allowed; *a && !ok; a++)
                        ok = streq(*a, k);
                if (!ok)
                        return spec_error(err, n->pairs[i].key_mark, path,
                                          "additional property \"%s\" is not allowed", k);
        }
        return 0;
}

char *parse_resolve_path(const struct parse_state *st, const char *p)
{
        if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
                const struct stack_kv *kv = stack_kvlist_get(st->ctx->environment, "HOME");
                const char *home = kv && kv->value ? kv->value : getenv("HOME");
                if (isempty(home))
                        home = "/root";
                return path_absolute(home, p[1] ? p + 2 : ".");
        }
        return path_absolute(st->ctx->working_dir ? st->ctx->working_dir : "/", p);
}

bool parse_is_ip(const char *s, int *ret_family)
{
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, s, buf) == 1) {
                if (ret_family)
                        *ret_family = AF_INET;
                return true;
        }
        if (inet_pton(AF_INET6, s, buf) == 1) {
                if (ret_family)
                        *ret_family = AF_INET6;
                return true;
        }
        return false;
}

bool parse_valid_object_name(const char *s)
{
        if (isempty(s) || strlen(s) > 255 || !isalnum((unsigned char) s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
                        return false;
        return true;
}

/* "10.0.0.0/24" or "fd00::/64". */
static bool is_cidr(const char *s)
{
        const char *slash = strchr(s, '/');
        if (!slash)
                return false;
        _cleanup_free_ char *addr = xstrndup(s, (size_t) (slash - s));
        int family;
        int64_t len;
        if (!parse_is_ip(addr, &family))
                return false;
        return units_parse_int(slash + 1, 0, family == AF_INET ? 32 : 128, &len) == 0;
}

/* Names of keys in the file: compose's ^[a-zA-Z0-9._-]+$. */
static bool valid_key(const char *s)
{
        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char) *p) || strchr("._-", *p)))
                        return false;
        return true;
}

static char *resource_name(const struct parse_state *st, const char *key, const char *name, bool external)
{
        if (!isempty(name)) /* name: "" (an unset variable) is no name, as for compose */
                return xstrdup(name);
        if (external)
                return xstrdup(key);
        return xasprintf("%s_%s", st->project->name, key);
}

/* `external: true`, or the legacy `external: {name: x}` that compose still reads with a warning. */
static int parse_external(const struct node *v, const char *path, bool *ret, char **ret_name,
                          struct stack_error *err)
{
        if (v && v->kind == NODE_MAPPING) {
                static const char *const keys[] = {"name", NULL};
                int r = parse_check_keys(v, path, keys, err);
                if (r < 0)
                        return r;
                spec_warning(v->mark, path, "external.name is deprecated, use name: instead");
                *ret = true;
                return parse_string(node_get(v, "name"), path, ret_name, err);
        }
        return parse_bool(v, path, ret, err);
}

static int conflict_with_external(const struct node *n, const char *path, const char *const *forbidden,
                                  struct stack_error *err)
{
        for (const char *const *f = forbidden; *f; f++) {
                const struct node_pair *pr = node_get_pair(n, *f);
                if (pr)
                        return spec_error(err, pr->key_mark, path,
                                          "conflicting parameters \"external\" and \"%s\"", *f);
        }
        return 0;
}

static int parse_ipam(const struct node *n, const char *path, struct stack_network *net,
                      struct stack_error *err)
{
        static const char *const keys[] = {"driver", "config", "options", NULL};
        static const char *const config_keys[] = {"subnet", "ip_range", "gateway", "aux_addresses", NULL};
        int r;

        if (!n || n->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(n, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(n, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *p_driver = node_path_key(path, "driver");
        if ((r = parse_string(node_get(n, "driver"), p_driver, &net->ipam_driver, err)) < 0)
                return r;
        if (net->ipam_driver && !streq(net->ipam_driver, "default"))
                return spec_error(err, node_get(n, "driver")->mark, p_driver,
                                  "IPAM driver \"%s\" is not supported (stack has its own)",
                                  net->ipam_driver);
        _cleanup_free_ char *p_options = node_path_key(path, "options");
        if ((r = parse_kvlist(node_get(n, "options"), p_options, false, &net->ipam_options, err)) < 0)
                return r;
        const struct node *cfg = node_get(n, "config");
        if (!cfg || cfg->kind == NODE_NULL)
                return 0;
        _cleanup_free_ char *p_config = node_path_key(path, "config");
        if ((r = parse_expect(cfg, p_config, NODE_SEQUENCE, err)) < 0)
                return r;
        net->ipam = xcalloc(cfg->n_items ? cfg->n_items : 1, sizeof(struct stack_ipam_config));
        for (size_t i = 0; i < cfg->n_items; i++) {
                const struct node *c = cfg->items[i];
                struct stack_ipam_config *ic = &net->ipam[net->n_ipam++];
                _cleanup_free_ char *p = node_path_index(p_config, i);
                if ((r = parse_expect(c, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(c, p, config_keys, err)) < 0)
                        return r;
                _cleanup_free_ char *p_subnet = node_path_key(p, "subnet");
                _cleanup_free_ char *p_range = node_path_key(p, "ip_range");
                _cleanup_free_ char *p_gw = node_path_key(p, "gateway");
                _cleanup_free_ char *p_aux = node_path_key(p, "aux_addresses");
                if ((r = parse_string(node_get(c, "subnet"), p_subnet, &ic->subnet, err)) < 0 ||
                    (r = parse_string(node_get(c, "ip_range"), p_range, &ic->ip_range, err)) < 0 ||
                    (r = parse_string(node_get(c, "gateway"), p_gw, &ic->gateway, err)) < 0 ||
                    (r = parse_kvlist(node_get(c, "aux_addresses"), p_aux, false, &ic->aux_addresses, err)) <
                        0)
                        return r;
                if (ic->subnet && !is_cidr(ic->subnet))
                        return spec_error(err, node_get(c, "subnet")->mark, p_subnet,
                                          "invalid subnet \"%s\"", ic->subnet);
                if (ic->ip_range && !is_cidr(ic->ip_range))
                        return spec_error(err, node_get(c, "ip_range")->mark, p_range,
                                          "invalid ip_range \"%s\"", ic->ip_range);
                if (ic->gateway && !parse_is_ip(ic->gateway, NULL))
                        return spec_error(err, node_get(c, "gateway")->mark, p_gw, "invalid gateway \"%s\"",
                                          ic->gateway);
                for (size_t j = 0; j < ic->aux_addresses.n; j++)
                        if (!ic->aux_addresses.items[j].value ||
                            !parse_is_ip(ic->aux_addresses.items[j].value, NULL))
                                return spec_error(err, node_get(c, "aux_addresses")->mark, p_aux,
                                                  "invalid address for \"%s\"",
                                                  ic->aux_addresses.items[j].key);
        }
        return 0;
}

static int parse_network_options(const struct node *n, const char *path, struct stack_network *net,
                                 struct stack_error *err)
{
        static const char *const keys[] = {"driver",      "driver_opts", "external", "internal",
                                           "ipam",        "labels",      "name",     "attachable",
                                           "enable_ipv4", "enable_ipv6", NULL};
        static const char *const external_conflicts[] = {"driver", "driver_opts", "ipam", "internal", NULL};
        int r;

        if ((r = parse_expect(n, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(n, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *p_name = node_path_key(path, "name");
        _cleanup_free_ char *p_ext = node_path_key(path, "external");
        _cleanup_free_ char *p_driver = node_path_key(path, "driver");
        _cleanup_free_ char *p_opts = node_path_key(path, "driver_opts");
        _cleanup_free_ char *p_internal = node_path_key(path, "internal");
        _cleanup_free_ char *p_attachable = node_path_key(path, "attachable");
        _cleanup_free_ char *p_v4 = node_path_key(path, "enable_ipv4");
        _cleanup_free_ char *p_v6 = node_path_key(path, "enable_ipv6");
        _cleanup_free_ char *p_labels = node_path_key(path, "labels");
        _cleanup_free_ char *p_ipam = node_path_key(path, "ipam");
        if ((r = parse_string(node_get(n, "name"), p_name, &net->name, err)) < 0 ||
            (r = parse_external(node_get(n, "external"), p_ext, &net->external, &net->name, err)) < 0 ||
            (r = parse_string(node_get(n, "driver"), p_driver, &net->driver, err)) < 0 ||
            (r = parse_kvlist(node_get(n, "driver_opts"), p_opts, false, &net->driver_opts, err)) < 0 ||
            (r = parse_bool(node_get(n, "internal"), p_internal, &net->internal, err)) < 0 ||
            (r = parse_bool(node_get(n, "attachable"), p_attachable, &net->attachable, err)) < 0 ||
            (r = parse_bool(node_get(n, "enable_ipv4"), p_v4, &net->enable_ipv4, err)) < 0 ||
            (r = parse_bool(node_get(n, "enable_ipv6"), p_v6, &net->enable_ipv6, err)) < 0 ||
            (r = parse_kvlist(node_get(n, "labels"), p_labels, false, &net->labels, err)) < 0 ||
            (r = parse_ipam(node_get(n, "ipam"), p_ipam, net, err)) < 0)
                return r;
        if (net->external && (r = conflict_with_external(n, path, external_conflicts, err)) < 0)
                return r;
        if (net->driver && !net->external && !streq(net->driver, "bridge"))
                return spec_error(err, node_get(n, "driver")->mark, p_driver,
                                  "network driver \"%s\" is not supported (stack creates bridge networks)",
                                  net->driver);
        if (!net->enable_ipv4 && !net->enable_ipv6)
                return spec_error(err, n->mark, path, "enable_ipv4 and enable_ipv6 cannot both be false");
        stack_kvlist_sort(&net->labels);
        return 0;
}

static int parse_network(struct parse_state *st, const char *key, const struct node *n, const char *path,
                         struct stack_network *net, struct stack_error *err)
{
        int r;

        net->key = xstrdup(key);
        net->mark = n->mark;
        net->enable_ipv4 = true;
        if (n->kind != NODE_NULL && (r = parse_network_options(n, path, net, err)) < 0)
                return r;
        _cleanup_free_ char *name = resource_name(st, key, net->name, net->external);
        if (strchr(name, '/'))
                return spec_error(err, n->mark, path, "invalid network name \"%s\"", name);
        free(net->name);
        net->name = TAKE_PTR(name);
        return 0;
}

static int parse_volume(struct parse_state *st, const char *key, const struct node *n, const char *path,
                        struct stack_volume *vol, struct stack_error *err)
{
        static const char *const keys[] = {"driver", "driver_opts", "external", "labels", "name", NULL};
        static const char *const external_conflicts[] = {"driver", "driver_opts", NULL};
        int r;

        vol->key = xstrdup(key);
        vol->mark = n->mark;
        if (n->kind != NODE_NULL) {
                if ((r = parse_expect(n, path, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(n, path, keys, err)) < 0)
                        return r;
                _cleanup_free_ char *p_name = node_path_key(path, "name");
                _cleanup_free_ char *p_ext = node_path_key(path, "external");
                _cleanup_free_ char *p_driver = node_path_key(path, "driver");
                _cleanup_free_ char *p_opts = node_path_key(path, "driver_opts");
                _cleanup_free_ char *p_labels = node_path_key(path, "labels");
                if ((r = parse_string(node_get(n, "name"), p_name, &vol->name, err)) < 0 ||
                    (r = parse_external(node_get(n, "external"), p_ext, &vol->external, &vol->name, err)) <
                        0 ||
                    (r = parse_string(node_get(n, "driver"), p_driver, &vol->driver, err)) < 0 ||
                    (r = parse_kvlist(node_get(n, "driver_opts"), p_opts, false, &vol->driver_opts, err)) <
                        0 ||
                    (r = parse_kvlist(node_get(n, "labels"), p_labels, false, &vol->labels, err)) < 0)
                        return r;
                if (vol->external && (r = conflict_with_external(n, path, external_conflicts, err)) < 0)
                        return r;
                if (vol->driver && !vol->external && !streq(vol->driver, "local"))
                        return spec_error(err, node_get(n, "driver")->mark, p_driver,
                                          "volume driver \"%s\" is not supported (stack supports local)",
                                          vol->driver);
                stack_kvlist_sort(&vol->labels);
        }
        _cleanup_free_ char *name = resource_name(st, key, vol->name, vol->external);
        if (!parse_valid_object_name(name))
                return spec_error(err, n->mark, path,
                                  "invalid volume name \"%s\" (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)", name);
        free(vol->name);
        vol->name = TAKE_PTR(name);
        return 0;
}

static int parse_file_def(struct parse_state *st, const char *section, const char *key, const struct node *n,
                          const char *path, struct stack_file_def *d, struct stack_error *err)
{
        static const char *const secret_keys[] = {"file",        "environment",     "external",
                                                  "name",        "labels",          "driver",
                                                  "driver_opts", "template_driver", NULL};
        static const char *const config_keys[] = {"file", "environment", "content",         "external",
                                                  "name", "labels",      "template_driver", NULL};
        bool secret = streq(section, "secrets");
        int r;

        d->key = xstrdup(key);
        d->mark = n->mark;
        if ((r = parse_expect(n, path, NODE_MAPPING, err)) < 0 ||
            (r = parse_check_keys(n, path, secret ? secret_keys : config_keys, err)) < 0)
                return r;
        for (size_t i = 0; i < n->n_pairs; i++) {
                const char *k = n->pairs[i].key;
                if (streq(k, "driver") || streq(k, "driver_opts") || streq(k, "template_driver")) {
                        _cleanup_free_ char *p = node_path_key(path, k);
                        _cleanup_free_ char *wkey = xasprintf("%s.%s", section, k);
                        parse_unsupported(st, wkey, n->pairs[i].key_mark, p);
                }
        }
        _cleanup_free_ char *p_file = node_path_key(path, "file");
        _cleanup_free_ char *p_env = node_path_key(path, "environment");
        _cleanup_free_ char *p_content = node_path_key(path, "content");
        _cleanup_free_ char *p_ext = node_path_key(path, "external");
        _cleanup_free_ char *p_name = node_path_key(path, "name");
        _cleanup_free_ char *p_labels = node_path_key(path, "labels");
        _cleanup_free_ char *file = NULL;
        if ((r = parse_string(node_get(n, "file"), p_file, &file, err)) < 0 ||
            (r = parse_string(node_get(n, "environment"), p_env, &d->environment, err)) < 0 ||
            (r = parse_string(node_get(n, "content"), p_content, &d->content, err)) < 0 ||
            (r = parse_string(node_get(n, "name"), p_name, &d->name, err)) < 0 ||
            (r = parse_external(node_get(n, "external"), p_ext, &d->external, &d->name, err)) < 0 ||
            (r = parse_kvlist(node_get(n, "labels"), p_labels, false, &d->labels, err)) < 0)
                return r;
        if (file)
                d->file = parse_resolve_path(st, file);
        int sources = !!d->file + !!d->environment + !!d->content + !!d->external;
        if (sources != 1)
                return spec_error(err, n->mark, path,
                                  "exactly one of file, environment%s or external must be set",
                                  secret ? "" : ", content");
        stack_kvlist_sort(&d->labels);
        _cleanup_free_ char *name = resource_name(st, key, d->name, d->external);
        free(d->name);
        d->name = TAKE_PTR(name);
        return 0;
}

static int parse_x_stack(struct parse_state *st, const struct node *n, struct stack_error *err)
{
        static const char *const keys[] = {"max_orphans", NULL};
        int r;
        if (n->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(n, "x-stack", NODE_MAPPING, err)) < 0)
                return r;
        /* Our own block: a typo must not be silently ignored, x- prefixed keys included. */
        for (size_t i = 0; i < n->n_pairs; i++)
                if (!strv_contains((char **) keys, n->pairs[i].key))
                        return spec_error(err, n->pairs[i].key_mark, "x-stack", "unknown setting \"%s\"",
                                          n->pairs[i].key);
        int64_t v = -1;
        if ((r = parse_int(node_get(n, "max_orphans"), "x-stack.max_orphans", 0, INT32_MAX, &v, err)) < 0)
                return r;
        st->project->settings.max_orphans = (int) v;
        return 0;
}

static int cmp_service(const void *a, const void *b)
{
        return strcmp(((const struct stack_service *) a)->name, ((const struct stack_service *) b)->name);
}
static int cmp_network(const void *a, const void *b)
{
        return strcmp(((const struct stack_network *) a)->key, ((const struct stack_network *) b)->key);
}
static int cmp_volume(const void *a, const void *b)
{
        return strcmp(((const struct stack_volume *) a)->key, ((const struct stack_volume *) b)->key);
}
static int cmp_file_def(const void *a, const void *b)
{
        return strcmp(((const struct stack_file_def *) a)->key, ((const struct stack_file_def *) b)->key);
}

/* Parses one top-level section of named resources. */
static int parse_section(struct parse_state *st, const char *section, const struct node *n,
                         struct stack_error *err)
{
        struct stack_project *p = st->project;
        int r;

        if (n->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(n, section, NODE_MAPPING, err)) < 0)
                return r;
        for (size_t i = 0; i < n->n_pairs; i++) {
                const char *key = n->pairs[i].key;
                const struct node *v = n->pairs[i].value;
                if (startswith(key, "x-"))
                        continue;
                _cleanup_free_ char *path = node_path_key(section, key);
                if (!valid_key(key))
                        return spec_error(err, n->pairs[i].key_mark, section,
                                          "invalid name \"%s\" (allowed: letters, digits, '.', '_', '-')",
                                          key);
                if (streq(section, "networks")) {
                        p->networks = xrealloc(p->networks, (p->n_networks + 1) * sizeof(*p->networks));
                        struct stack_network *net = &p->networks[p->n_networks++];
                        memset(net, 0, sizeof(*net));
                        r = parse_network(st, key, v, path, net, err);
                } else if (streq(section, "volumes")) {
                        p->volumes = xrealloc(p->volumes, (p->n_volumes + 1) * sizeof(*p->volumes));
                        struct stack_volume *vol = &p->volumes[p->n_volumes++];
                        memset(vol, 0, sizeof(*vol));
                        r = parse_volume(st, key, v, path, vol, err);
                } else if (streq(section, "secrets")) {
                        p->secrets = xrealloc(p->secrets, (p->n_secrets + 1) * sizeof(*p->secrets));
                        struct stack_file_def *d = &p->secrets[p->n_secrets++];
                        memset(d, 0, sizeof(*d));
                        r = parse_file_def(st, section, key, v, path, d, err);
                } else {
                        p->configs = xrealloc(p->configs, (p->n_configs + 1) * sizeof(*p->configs));
                        struct stack_file_def *d = &p->configs[p->n_configs++];
                        memset(d, 0, sizeof(*d));
                        r = parse_file_def(st, section, key, v, path, d, err);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool service_uses_default_network(const struct stack_service *s)
{
        for (size_t i = 0; i < s->n_networks; i++)
                if (streq(s->networks[i].name, "default"))
                        return true;
        return false;
}

/* Checks that need every service: dependencies, links and network_mode targets exist; container names
 * are unique and not combined with replicas. */
static int check_services(const struct stack_project *p, struct stack_error *err)
{
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                _cleanup_free_ char *path = xasprintf("services.%s", s->name);
                const char *shared = s->network_mode ? startswith(s->network_mode, "service:") : NULL;
                if (shared && !stack_project_service(p, shared)) {
                        _cleanup_free_ char *pm = node_path_key(path, "network_mode");
                        return spec_error(err, s->mark, pm, "service \"%s\" not found for network_mode",
                                          shared);
                }
                for (size_t j = 0; j < s->n_depends_on; j++) {
                        const struct stack_dependency *d = &s->depends_on[j];
                        if (!stack_project_service(p, d->service))
                                return spec_error(err, d->mark, path, "depends on undefined service \"%s\"",
                                                  d->service);
                }
                if (s->container_name) {
                        if (s->scale > 1)
                                return spec_error(
                                    err, s->mark, path,
                                    "container_name \"%s\" must be unique, it cannot be used with "
                                    "%d replicas",
                                    s->container_name, s->scale);
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(p->services[j].container_name, s->container_name))
                                        return spec_error(
                                            err, s->mark, path,
                                            "container_name \"%s\" is already used by service \"%s\"",
                                            s->container_name, p->services[j].name);
                }
        }
        return 0;
}

int spec_parse_project(const struct node *root, const struct spec_parse_context *ctx,
                       struct stack_project **ret, struct stack_error *err)
{
        _cleanup_project_ struct stack_project *p = xcalloc(1, sizeof(*p));
        struct parse_state st = {.ctx = ctx, .project = p};
        const struct node *services = NULL;
        int r = 0;

        p->settings.max_orphans = -1;
        if (!root || root->kind != NODE_MAPPING) {
                struct node_mark m = root ? root->mark : (struct node_mark){0};
                return spec_error(err, m, NULL, "the compose file must be a mapping with a services: key");
        }
        const char *name = ctx->project_name;
        if (isempty(name))
                name = node_str(node_get(root, "name"));
        if (isempty(name))
                return spec_error(err, root->mark, NULL, "project name is not set");
        p->name = xstrdup(name);
        p->working_dir = xstrdup(ctx->working_dir ? ctx->working_dir : "/");
        p->uninterpolated = ctx->no_interpolate;

        for (size_t i = 0; i < root->n_pairs && r >= 0; i++) {
                const char *k = root->pairs[i].key;
                const struct node *v = root->pairs[i].value;
                if (streq(k, "services"))
                        services = v;
                else if (streq(k, "version"))
                        spec_warning(
                            root->pairs[i].key_mark, "version",
                            "the attribute `version` is obsolete, it will be ignored, please remove it "
                            "to avoid potential confusion");
                else if (streq(k, "name"))
                        r = parse_expect(v, "name", NODE_SCALAR, err);
                else if (streq(k, "include") || streq(k, "extends"))
                        ; /* resolved by the loader before the model is built */
                else if (streq(k, "networks") || streq(k, "volumes") || streq(k, "secrets") ||
                         streq(k, "configs"))
                        r = parse_section(&st, k, v, err);
                else if (streq(k, "models"))
                        parse_unsupported(&st, k, root->pairs[i].key_mark, k);
                else if (streq(k, "x-stack"))
                        r = parse_x_stack(&st, v, err);
                else if (startswith(k, "x-")) {
                        if (!p->extensions)
                                p->extensions = node_new(NODE_MAPPING, root->mark);
                        node_set(p->extensions, k, root->pairs[i].key_mark, node_copy(v));
                } else
                        r = spec_error(err, root->pairs[i].key_mark, NULL,
                                       "additional property \"%s\" is not allowed", k);
        }
        if (r < 0) {
                strv_free(st.warned);
                return r;
        }

        if (services && services->kind != NODE_NULL) {
                if ((r = parse_expect(services, "services", NODE_MAPPING, err)) < 0) {
                        strv_free(st.warned);
                        return r;
                }
                p->services =
                    xcalloc(services->n_pairs ? services->n_pairs : 1, sizeof(struct stack_service));
                for (size_t i = 0; i < services->n_pairs; i++) {
                        const char *k = services->pairs[i].key;
                        if (startswith(k, "x-"))
                                continue;
                        if (!valid_key(k)) {
                                strv_free(st.warned);
                                return spec_error(
                                    err, services->pairs[i].key_mark, "services",
                                    "invalid service name \"%s\" (allowed: letters, digits, '.', "
                                    "'_', '-')",
                                    k);
                        }
                        r = parse_service(&st, k, services->pairs[i].key_mark, services->pairs[i].value,
                                          &p->services[p->n_services++], err);
                        if (r < 0) {
                                strv_free(st.warned);
                                return r;
                        }
                }
        }
        strv_free(st.warned);

        /* The implicit default network exists only when a service sits on it and the file did not declare
         * it, as docker compose does. */
        bool need_default = false;
        for (size_t i = 0; i < p->n_services; i++)
                need_default |= service_uses_default_network(&p->services[i]);
        if (need_default && !stack_project_network(p, "default")) {
                p->networks = xrealloc(p->networks, (p->n_networks + 1) * sizeof(*p->networks));
                struct stack_network *net = &p->networks[p->n_networks++];
                *net = (struct stack_network){
                    .key = xstrdup("default"),
                    .name = xasprintf("%s_default", p->name),
                    .enable_ipv4 = true,
                    .implicit = true,
                    .mark = services ? services->mark : root->mark,
                };
        }

        if (p->n_services > 1)
                qsort(p->services, p->n_services, sizeof(*p->services), cmp_service);
        if (p->n_networks > 1)
                qsort(p->networks, p->n_networks, sizeof(*p->networks), cmp_network);
        if (p->n_volumes > 1)
                qsort(p->volumes, p->n_volumes, sizeof(*p->volumes), cmp_volume);
        if (p->n_secrets > 1)
                qsort(p->secrets, p->n_secrets, sizeof(*p->secrets), cmp_file_def);
        if (p->n_configs > 1)
                qsort(p->configs, p->n_configs, sizeof(*p->configs), cmp_file_def);

        if ((r = check_services(p, err)) < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}
