#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/merge.h"
#include "spec/strset.h"
#include "spec/yaml.h"

/* Where the merge is in the tree, as segments ("services", "web", "ports", "[2]"), to pick the rule. */
struct mpath {
        const char *seg[SPEC_YAML_MAX_DEPTH + 16];
        size_t n;
};

static bool path_matches(const struct mpath *p, const char *pattern)
{
        size_t i = 0;
        const char *s = pattern;
        for (;;) {
                const char *e = strchr(s, '.');
                size_t len = e ? (size_t) (e - s) : strlen(s);
                if (i >= p->n)
                        return false;
                if (!(len == 1 && *s == '*') && (strlen(p->seg[i]) != len || memcmp(p->seg[i], s, len) != 0))
                        return false;
                i++;
                if (!e)
                        return i == p->n;
                s = e + 1;
        }
}

static bool path_matches_any(const struct mpath *p, const char *const *patterns)
{
        for (; *patterns; patterns++)
                if (path_matches(p, *patterns))
                        return true;
        return false;
}

static char *path_string(const struct mpath *p)
{
        struct strbuf b = {0};
        for (size_t i = 0; i < p->n; i++) {
                if (i > 0 && p->seg[i][0] != '[')
                        strbuf_putc(&b, '.');
                strbuf_puts(&b, p->seg[i]);
        }
        return strbuf_take(&b);
}

enum merge_rule {
        RULE_DEFAULT,
        RULE_REPLACE,  /* the later value replaces the earlier one wholesale */
        RULE_KEYVALUE, /* KEY=VALUE list or mapping; entries replace */
        RULE_HOSTS,    /* extra_hosts: "host=ip" / "host:ip" list or mapping; entries replace */
        RULE_DEPENDS,  /* depends_on: list -> mapping with compose's defaults, then merged */
        RULE_NETWORKS, /* service networks: list -> mapping of nulls, then merged */
        RULE_BUILD,    /* build: a string is the context */
        RULE_LOGGING,  /* logging: options merge only for the same driver */
        RULE_LIST,     /* a string is a one-item list; lists append */
        RULE_IPAM,     /* ipam.config entries merge by subnet */
};

static const char *const replace_paths[] = {
    "services.*.command",
    "services.*.entrypoint",
    "services.*.healthcheck.test",
    "services.*.ulimits.*",
    NULL,
};
static const char *const keyvalue_paths[] = {
    "services.*.environment",
    "services.*.labels",
    "services.*.annotations",
    "services.*.sysctls",
    "services.*.build.args",
    "services.*.build.labels",
    "services.*.build.additional_contexts",
    "services.*.deploy.labels",
    "networks.*.labels",
    "volumes.*.labels",
    "secrets.*.labels",
    "configs.*.labels",
    NULL,
};
static const char *const hosts_paths[] = {"services.*.extra_hosts", "services.*.build.extra_hosts", NULL};
static const char *const list_paths[] = {
    "services.*.dns",
    "services.*.dns_search",
    "services.*.dns_opt",
    "services.*.tmpfs",
    "services.*.env_file",
    "services.*.label_file",
    NULL,
};

static enum merge_rule rule_for(const struct mpath *p)
{
        if (p->n < 3)
                return RULE_DEFAULT;
        if (path_matches_any(p, replace_paths))
                return RULE_REPLACE;
        if (path_matches_any(p, keyvalue_paths))
                return RULE_KEYVALUE;
        if (path_matches_any(p, hosts_paths))
                return RULE_HOSTS;
        if (path_matches_any(p, list_paths))
                return RULE_LIST;
        if (path_matches(p, "services.*.depends_on"))
                return RULE_DEPENDS;
        if (path_matches(p, "services.*.networks"))
                return RULE_NETWORKS;
        if (path_matches(p, "services.*.build"))
                return RULE_BUILD;
        if (path_matches(p, "services.*.logging"))
                return RULE_LOGGING;
        if (path_matches(p, "networks.*.ipam.config"))
                return RULE_IPAM;
        return RULE_DEFAULT;
}

static void replace(struct node **slot, const struct node *over)
{
        node_free(*slot);
        *slot = node_copy(over);
}

static void map_add(struct node *map, char *key, struct node_mark key_mark, struct node *value)
{
        /* A later list entry with the same key wins, as compose's KEY=VALUE handling does. */
        for (size_t i = 0; i < map->n_pairs; i++)
                if (streq(map->pairs[i].key, key)) {
                        free(key);
                        node_free(map->pairs[i].value);
                        map->pairs[i].value = value;
                        return;
                }
        map->pairs = xrealloc(map->pairs, (map->n_pairs + 1) * sizeof(struct node_pair));
        map->pairs[map->n_pairs++] = (struct node_pair){.key = key, .key_mark = key_mark, .value = value};
}

static int expect_string_item(const struct node *item, const struct mpath *p, size_t i,
                              struct stack_error *err)
{
        if (item->kind == NODE_SCALAR)
                return 0;
        _cleanup_free_ char *parent = path_string(p);
        _cleanup_free_ char *path = node_path_index(parent, i);
        return spec_error(err, item->mark, path, "expected a string, got %s", node_kind_name(item->kind));
}

static void add_address(struct node *seq, const struct node *v)
{
        if (v->kind == NODE_SEQUENCE) {
                for (size_t i = 0; i < v->n_items; i++)
                        add_address(seq, v->items[i]);
                return;
        }
        if (v->kind != NODE_SCALAR)
                return;
        for (size_t i = 0; i < seq->n_items; i++)
                if (streq_ptr(node_str(seq->items[i]), v->scalar))
                        return;
        struct node *c = node_copy(v);
        c->tag = NODE_TAG_NONE;
        node_append(seq, c);
}

/* extra_hosts may give a host several addresses (repeated entries, or a list as the value). Merging keeps
 * every distinct address, earlier ones first, as compose does; a tagged value replaces them. */
static void host_add(struct node *map, const char *host, struct node_mark mark, const struct node *value)
{
        struct node_pair *pair = NULL;
        for (size_t i = 0; i < map->n_pairs && !pair; i++)
                if (streq(map->pairs[i].key, host))
                        pair = &map->pairs[i];
        if (!pair || value->tag != NODE_TAG_NONE || pair->value->tag != NODE_TAG_NONE ||
            pair->value->kind == NODE_NULL || value->kind == NODE_NULL) {
                node_set(map, host, mark, node_copy(value));
                return;
        }
        struct node *seq = node_new(NODE_SEQUENCE, pair->value->mark);
        add_address(seq, pair->value);
        add_address(seq, value);
        if (seq->n_items == 1) {
                struct node *only = TAKE_PTR(seq->items[0]);
                seq->n_items = 0;
                node_free(seq);
                seq = only;
        }
        node_free(pair->value);
        pair->value = seq;
}

/* Converts the list form of a key/value attribute to its mapping form; a mapping is copied. `sep` lists
 * the separators tried in order; `bare_null` says whether a bare KEY means null (take it from the
 * environment) or the empty string. */
static int to_mapping(const struct node *n, const struct mpath *p, const char *sep, bool bare_null,
                      bool hosts, struct node **ret, struct stack_error *err)
{
        if (n->kind != NODE_SEQUENCE) {
                *ret = node_copy(n);
                return 0;
        }
        _cleanup_node_ struct node *map = node_new(NODE_MAPPING, n->mark);
        map->tag = n->tag;
        for (size_t i = 0; i < n->n_items; i++) {
                const struct node *item = n->items[i];
                int r = expect_string_item(item, p, i, err);
                if (r < 0)
                        return r;
                const char *s = item->scalar, *cut = NULL;
                for (const char *c = sep; *c && !cut; c++)
                        cut = strchr(s, *c);
                struct node *value;
                if (cut) {
                        value = node_new_scalar(cut + 1, item->mark);
                        value->quoted = true;
                } else if (bare_null)
                        value = node_new(NODE_NULL, item->mark);
                else {
                        value = node_new_scalar("", item->mark);
                        value->quoted = true;
                }
                value->tag = item->tag;
                if (hosts) {
                        _cleanup_free_ char *host = cut ? xstrndup(s, cut - s) : xstrdup(s);
                        host_add(map, host, item->mark, value);
                        node_free(value);
                } else
                        map_add(map, cut ? xstrndup(s, cut - s) : xstrdup(s), item->mark, value);
        }
        *ret = TAKE_PTR(map);
        return 0;
}

/* depends_on and networks: a list of names becomes a mapping of names to `defaults` (copied) or null. */
static int names_to_mapping(const struct node *n, const struct mpath *p, bool depends, struct node **ret,
                            struct stack_error *err)
{
        if (n->kind != NODE_SEQUENCE) {
                *ret = node_copy(n);
                return 0;
        }
        _cleanup_node_ struct node *map = node_new(NODE_MAPPING, n->mark);
        map->tag = n->tag;
        for (size_t i = 0; i < n->n_items; i++) {
                const struct node *item = n->items[i];
                int r = expect_string_item(item, p, i, err);
                if (r < 0)
                        return r;
                struct node *value;
                if (depends) {
                        value = node_new(NODE_MAPPING, item->mark);
                        node_set(value, "condition", item->mark,
                                 node_new_scalar("service_started", item->mark));
                        node_set(value, "required", item->mark, node_new_scalar("true", item->mark));
                } else
                        value = node_new(NODE_NULL, item->mark);
                map_add(map, xstrdup(item->scalar), item->mark, value);
        }
        *ret = TAKE_PTR(map);
        return 0;
}

static struct node *scalar_to_list(const struct node *n)
{
        if (n->kind != NODE_SCALAR)
                return node_copy(n);
        struct node *seq = node_new(NODE_SEQUENCE, n->mark);
        struct node *item = node_copy(n);
        item->tag = NODE_TAG_NONE;
        node_append(seq, item);
        return seq;
}

static struct node *build_to_mapping(const struct node *n)
{
        if (n->kind != NODE_SCALAR)
                return node_copy(n);
        struct node *map = node_new(NODE_MAPPING, n->mark);
        struct node *ctx = node_copy(n);
        ctx->tag = NODE_TAG_NONE;
        node_set(map, "context", n->mark, ctx);
        return map;
}

static int merge_value(struct node **slot, const struct node *over, struct mpath *p,
                       struct stack_error *err);

static int merge_mappings(struct node *base, const struct node *over, struct mpath *p,
                          struct stack_error *err)
{
        for (size_t i = 0; i < over->n_pairs; i++) {
                const struct node_pair *op = &over->pairs[i];
                struct node_pair *bp = NULL;
                for (size_t j = 0; j < base->n_pairs; j++)
                        if (streq(base->pairs[j].key, op->key))
                                bp = &base->pairs[j];
                if (!bp) {
                        node_set(base, op->key, op->key_mark, node_copy(op->value));
                        continue;
                }
                p->seg[p->n++] = op->key;
                int r = merge_value(&bp->value, op->value, p, err);
                p->n--;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Entries of key/value mappings replace each other whole. */
static void merge_entries(struct node *base, const struct node *over)
{
        for (size_t i = 0; i < over->n_pairs; i++)
                node_set(base, over->pairs[i].key, over->pairs[i].key_mark, node_copy(over->pairs[i].value));
}

static int kind_error(const struct node *base, const struct node *over, const struct mpath *p,
                      struct stack_error *err)
{
        _cleanup_free_ char *path = path_string(p);
        return spec_error(err, over->mark, path, "cannot merge a %s into the %s defined at %s:%u:%u",
                          node_kind_name(over->kind), node_kind_name(base->kind),
                          base->mark.file ? base->mark.file : "?", base->mark.line, base->mark.column);
}

static int merge_generic(struct node **slot, const struct node *over, struct mpath *p,
                         struct stack_error *err)
{
        struct node *base = *slot;
        if (over->kind == NODE_NULL)
                return 0; /* an empty value in a later file leaves the earlier one alone */
        if (base->kind == NODE_MAPPING) {
                if (over->kind != NODE_MAPPING)
                        return kind_error(base, over, p, err);
                return merge_mappings(base, over, p, err);
        }
        if (base->kind == NODE_SEQUENCE) {
                if (over->kind != NODE_SEQUENCE)
                        return kind_error(base, over, p, err);
                for (size_t i = 0; i < over->n_items; i++)
                        node_append(base, node_copy(over->items[i]));
                return 0;
        }
        replace(slot, over);
        return 0;
}

static int merge_keyvalue(struct node **slot, const struct node *over, struct mpath *p, const char *sep,
                          bool bare_null, bool hosts, struct stack_error *err)
{
        if (over->kind == NODE_NULL)
                return 0;
        _cleanup_node_ struct node *b = NULL, *o = NULL;
        int r = to_mapping(*slot, p, sep, bare_null, hosts, &b, err);
        if (r < 0)
                return r;
        r = to_mapping(over, p, sep, bare_null, hosts, &o, err);
        if (r < 0)
                return r;
        if (b->kind != NODE_MAPPING || o->kind != NODE_MAPPING)
                return kind_error(*slot, over, p, err);
        if (hosts)
                for (size_t i = 0; i < o->n_pairs; i++)
                        host_add(b, o->pairs[i].key, o->pairs[i].key_mark, o->pairs[i].value);
        else
                merge_entries(b, o);
        node_free(*slot);
        *slot = TAKE_PTR(b);
        return 0;
}

static int merge_names(struct node **slot, const struct node *over, struct mpath *p, bool depends,
                       struct stack_error *err)
{
        if (over->kind == NODE_NULL)
                return 0;
        _cleanup_node_ struct node *b = NULL, *o = NULL;
        int r = names_to_mapping(*slot, p, depends, &b, err);
        if (r < 0)
                return r;
        r = names_to_mapping(over, p, depends, &o, err);
        if (r < 0)
                return r;
        if (b->kind != NODE_MAPPING || o->kind != NODE_MAPPING)
                return kind_error(*slot, over, p, err);
        r = merge_mappings(b, o, p, err);
        if (r < 0)
                return r;
        node_free(*slot);
        *slot = TAKE_PTR(b);
        return 0;
}

static int merge_converted(struct node **slot, const struct node *over, struct mpath *p,
                           struct node *(*convert)(const struct node *), struct stack_error *err)
{
        if (over->kind == NODE_NULL)
                return 0;
        _cleanup_node_ struct node *b = convert(*slot);
        _cleanup_node_ struct node *o = convert(over);
        int r = merge_generic(&b, o, p, err);
        if (r < 0)
                return r;
        node_free(*slot);
        *slot = TAKE_PTR(b);
        return 0;
}

static int merge_logging(struct node **slot, const struct node *over, struct mpath *p,
                         struct stack_error *err)
{
        const char *bd = node_str(node_get(*slot, "driver"));
        const char *od = node_str(node_get(over, "driver"));
        if (bd && od && !streq(bd, od)) {
                replace(slot, over);
                return 0;
        }
        return merge_generic(slot, over, p, err);
}

static int merge_ipam(struct node **slot, const struct node *over, struct mpath *p, struct stack_error *err)
{
        struct node *base = *slot;
        if (base->kind != NODE_SEQUENCE || over->kind != NODE_SEQUENCE)
                return merge_generic(slot, over, p, err);
        for (size_t i = 0; i < over->n_items; i++) {
                const struct node *o = over->items[i];
                const char *subnet = node_str(node_get(o, "subnet"));
                struct node **match = NULL;
                for (size_t j = 0; subnet && j < base->n_items && !match; j++)
                        if (streq_ptr(node_str(node_get(base->items[j], "subnet")), subnet))
                                match = &base->items[j];
                if (!match) {
                        node_append(base, node_copy(o));
                        continue;
                }
                char idx[32];
                snprintf(idx, sizeof(idx), "[%zu]", (size_t) (match - base->items));
                p->seg[p->n++] = idx;
                int r = merge_generic(match, o, p, err);
                p->n--;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int merge_value(struct node **slot, const struct node *over, struct mpath *p, struct stack_error *err)
{
        if (p->n >= ELEMENTSOF(p->seg) - 1)
                return spec_error(err, over->mark, NULL, "nesting too deep to merge");
        /* Tagged values replace what is there and keep their tag, so that merging this result into a
         * further tree (an extended service into its file, a file into the project) resets there too. */
        struct node *base = *slot;
        if (over->tag != NODE_TAG_NONE || !base || base->kind == NODE_NULL || base->tag == NODE_TAG_RESET) {
                if (over->kind == NODE_NULL && over->tag == NODE_TAG_NONE && base)
                        return 0;
                replace(slot, over);
                return 0;
        }
        switch (rule_for(p)) {
        case RULE_REPLACE:
                replace(slot, over);
                return 0;
        case RULE_KEYVALUE:
                return merge_keyvalue(slot, over, p, "=",
                                      path_matches(p, "services.*.environment") ||
                                          path_matches(p, "services.*.build.args"),
                                      false, err);
        case RULE_HOSTS:
                return merge_keyvalue(slot, over, p, "=:", false, true, err);
        case RULE_DEPENDS:
                return merge_names(slot, over, p, true, err);
        case RULE_NETWORKS:
                return merge_names(slot, over, p, false, err);
        case RULE_BUILD:
                return merge_converted(slot, over, p, build_to_mapping, err);
        case RULE_LIST:
                return merge_converted(slot, over, p, scalar_to_list, err);
        case RULE_LOGGING:
                return merge_logging(slot, over, p, err);
        case RULE_IPAM:
                return merge_ipam(slot, over, p, err);
        case RULE_DEFAULT:
                break;
        }
        return merge_generic(slot, over, p, err);
}

int merge_tree(struct node **base, const struct node *over, const char *path, struct stack_error *err)
{
        struct mpath p = {.n = 0};
        _cleanup_strv_free_ char **segs = isempty(path) ? NULL : strv_split(path, ".");
        STRV_FOREACH (s, segs) {
                if (p.n >= ELEMENTSOF(p.seg) - 1)
                        break;
                p.seg[p.n++] = *s;
        }
        if (!over)
                return 0;
        return merge_value(base, over, &p, err);
}

/* --- after merging: tags, and sequences that are sets --- */

static void strip_tags(struct node *n)
{
        if (!n)
                return;
        if (n->tag == NODE_TAG_OVERRIDE)
                n->tag = NODE_TAG_NONE;
        for (size_t i = 0; i < n->n_pairs;) {
                if (n->pairs[i].value && n->pairs[i].value->tag == NODE_TAG_RESET) {
                        node_remove(n, n->pairs[i].key);
                        continue;
                }
                strip_tags(n->pairs[i].value);
                i++;
        }
        size_t out = 0;
        for (size_t i = 0; i < n->n_items; i++) {
                if (n->items[i]->tag == NODE_TAG_RESET) {
                        node_free(n->items[i]);
                        continue;
                }
                strip_tags(n->items[i]);
                n->items[out++] = n->items[i];
        }
        n->n_items = out;
}

typedef char *(*key_fn)(const struct node *item);

static char *key_value(const struct node *item)
{
        const char *s = node_str(item);
        if (!s)
                return NULL;
        const char *eq = strchr(s, '=');
        return eq ? xstrndup(s, eq - s) : xstrdup(s);
}

static char *key_scalar(const struct node *item)
{
        const char *s = node_str(item);
        return s ? xstrdup(s) : NULL;
}

/* {host_ip, published, target, protocol} from "[ip:][published:]target[/proto]" or the long form. An
 * unspecified host address and 0.0.0.0 are the same binding. */
static char *port_key(const char *ip, const char *published, const char *target, const char *proto)
{
        if (isempty(ip) || streq(ip, "0.0.0.0"))
                ip = "";
        return xasprintf("%s|%s|%s|%s", ip, published ? published : "", target ? target : "",
                         isempty(proto) ? "tcp" : proto);
}

static char *key_port(const struct node *item)
{
        if (item->kind == NODE_MAPPING)
                return port_key(node_str(node_get(item, "host_ip")), node_str(node_get(item, "published")),
                                node_str(node_get(item, "target")), node_str(node_get(item, "protocol")));
        const char *s = node_str(item);
        if (!s)
                return NULL;
        _cleanup_free_ char *spec = xstrdup(s);
        const char *proto = NULL;
        char *slash = strrchr(spec, '/');
        if (slash) {
                *slash = '\0';
                proto = slash + 1;
        }
        const char *target = spec, *published = NULL, *ip = NULL;
        char *colon = strrchr(spec, ':');
        if (colon) {
                *colon = '\0';
                target = colon + 1;
                published = spec;
                char *c2 = strrchr(spec, ':');
                if (c2) {
                        *c2 = '\0';
                        published = c2 + 1;
                        ip = spec;
                }
        }
        _cleanup_free_ char *bare_ip = NULL;
        if (ip && ip[0] == '[' && endswith(ip, "]"))
                ip = bare_ip = xstrndup(ip + 1, strlen(ip) - 2);
        return port_key(ip, published, target, proto);
}

static char *key_volume(const struct node *item)
{
        if (item->kind == NODE_MAPPING)
                return key_scalar(node_get(item, "target"));
        const char *s = node_str(item);
        if (!s)
                return NULL;
        _cleanup_strv_free_ char **parts = strv_split(s, ":");
        return xstrdup(parts[1] ? parts[1] : parts[0]);
}

static char *file_ref_key(const struct node *item, const char *dir)
{
        const char *target = NULL, *source = node_str(item);
        if (item->kind == NODE_MAPPING) {
                target = node_str(node_get(item, "target"));
                source = node_str(node_get(item, "source"));
        }
        if (target)
                return target[0] == '/' || !*dir ? xstrdup(target) : xasprintf("%s/%s", dir, target);
        return source ? xasprintf("%s/%s", dir, source) : NULL;
}

static char *key_secret(const struct node *item)
{
        return file_ref_key(item, "/run/secrets");
}

static char *key_config(const struct node *item)
{
        return file_ref_key(item, "");
}

static char *key_device(const struct node *item)
{
        if (item->kind == NODE_MAPPING)
                return key_scalar(node_get(item, "target"));
        const char *s = node_str(item);
        if (!s)
                return NULL;
        _cleanup_strv_free_ char **parts = strv_split(s, ":");
        return xstrdup(parts[1] ? parts[1] : parts[0]);
}

static char *key_env_file(const struct node *item)
{
        if (item->kind == NODE_MAPPING)
                return key_scalar(node_get(item, "path"));
        return key_scalar(item);
}

static void dedup(struct node *seq, key_fn key)
{
        if (!seq || seq->kind != NODE_SEQUENCE)
                return;
        char **keys = xcalloc(seq->n_items + 1, sizeof(char *));
        _cleanup_(strset_free) struct strset seen = {0};
        size_t out = 0;
        for (size_t i = 0; i < seq->n_items; i++) {
                struct node *item = seq->items[i];
                char *k = key(item);
                size_t j;
                if (k && strset_get(&seen, k, &j)) {
                        node_free(seq->items[j]);
                        seq->items[j] = item;
                        free(k);
                        continue;
                }
                if (k)
                        strset_put(&seen, k, out);
                keys[out] = k;
                seq->items[out++] = item;
        }
        for (size_t i = 0; i < out; i++)
                free(keys[i]);
        free(keys);
        seq->n_items = out;
}

struct unique_rule {
        const char *key;
        key_fn fn;
};

static const struct unique_rule service_unique[] = {
    {"ports", key_port},        {"volumes", key_volume},     {"secrets", key_secret},
    {"configs", key_config},    {"devices", key_device},     {"expose", key_scalar},
    {"env_file", key_env_file}, {"cap_add", key_value},      {"cap_drop", key_value},
    {"dns", key_value},         {"dns_opt", key_value},      {"dns_search", key_value},
    {"profiles", key_value},    {"links", key_value},        {"tmpfs", key_value},
    {"environment", key_value}, {"labels", key_value},       {"annotations", key_value},
    {"sysctls", key_value},     {"extra_hosts", key_scalar}, {"label_file", key_scalar},
};

void merge_finish(struct node *root)
{
        strip_tags(root);
        struct node *services = node_get(root, "services");
        for (size_t i = 0; services && i < services->n_pairs; i++) {
                struct node *svc = services->pairs[i].value;
                if (!svc || svc->kind != NODE_MAPPING)
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(service_unique); j++)
                        dedup(node_get(svc, service_unique[j].key), service_unique[j].fn);
                struct node *build = node_get(svc, "build");
                dedup(node_get(build, "args"), key_value);
                dedup(node_get(build, "labels"), key_value);
                struct node *deploy = node_get(svc, "deploy");
                dedup(node_get(deploy, "labels"), key_value);
                struct node *nets = node_get(svc, "networks");
                for (size_t k = 0; nets && k < nets->n_pairs; k++) {
                        dedup(node_get(nets->pairs[k].value, "aliases"), key_scalar);
                        dedup(node_get(nets->pairs[k].value, "link_local_ips"), key_scalar);
                }
        }
}
