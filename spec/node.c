#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/node.h"

/* Interned file names: few, small, and referenced from every mark, so they are kept for the process's
 * life. They stay reachable from this table, so leak checkers do not count them. */
static char **interned;
static size_t n_interned, cap_interned;

const char *node_intern(const char *file)
{
        if (!file)
                return NULL;
        for (size_t i = 0; i < n_interned; i++)
                if (streq(interned[i], file))
                        return interned[i];
        GROW(interned, cap_interned, n_interned);
        interned[n_interned] = xstrdup(file);
        return interned[n_interned++];
}

struct node *node_new(enum node_kind kind, struct node_mark mark)
{
        struct node *n = xcalloc(1, sizeof(*n));
        n->kind = kind;
        n->mark = mark;
        return n;
}

struct node *node_new_scalar(const char *value, struct node_mark mark)
{
        struct node *n = node_new(NODE_SCALAR, mark);
        n->scalar = xstrdup(value);
        return n;
}

void node_free(struct node *n)
{
        if (!n)
                return;
        free(n->scalar);
        for (size_t i = 0; i < n->n_items; i++)
                node_free(n->items[i]);
        free(n->items);
        for (size_t i = 0; i < n->n_pairs; i++) {
                free(n->pairs[i].key);
                node_free(n->pairs[i].value);
        }
        free(n->pairs);
        free(n);
}

struct node *node_copy(const struct node *n)
{
        if (!n)
                return NULL;
        struct node *c = node_new(n->kind, n->mark);
        c->tag = n->tag;
        c->quoted = n->quoted;
        if (n->scalar)
                c->scalar = xstrdup(n->scalar);
        if (n->n_items) {
                c->items = xcalloc(n->n_items, sizeof(struct node *));
                for (size_t i = 0; i < n->n_items; i++)
                        c->items[i] = node_copy(n->items[i]);
                c->n_items = n->n_items;
        }
        if (n->n_pairs) {
                c->pairs = xcalloc(n->n_pairs, sizeof(struct node_pair));
                for (size_t i = 0; i < n->n_pairs; i++) {
                        c->pairs[i].key = xstrdup(n->pairs[i].key);
                        c->pairs[i].key_mark = n->pairs[i].key_mark;
                        c->pairs[i].value = node_copy(n->pairs[i].value);
                }
                c->n_pairs = n->n_pairs;
        }
        return c;
}

const struct node_pair *node_get_pair(const struct node *n, const char *key)
{
        if (!n || n->kind != NODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < n->n_pairs; i++)
                if (streq(n->pairs[i].key, key))
                        return &n->pairs[i];
        return NULL;
}

struct node *node_get(const struct node *n, const char *key)
{
        const struct node_pair *p = node_get_pair(n, key);
        return p ? p->value : NULL;
}

void node_set(struct node *map, const char *key, struct node_mark key_mark, struct node *value)
{
        for (size_t i = 0; i < map->n_pairs; i++)
                if (streq(map->pairs[i].key, key)) {
                        node_free(map->pairs[i].value);
                        map->pairs[i].value = value;
                        return;
                }
        /* Mappings are built once and rarely grow, so exact-size reallocation keeps this simple. */
        map->pairs = xrealloc(map->pairs, (map->n_pairs + 1) * sizeof(struct node_pair));
        map->pairs[map->n_pairs++] = (struct node_pair){
            .key = xstrdup(key),
            .key_mark = key_mark,
            .value = value,
        };
}

bool node_remove(struct node *map, const char *key)
{
        if (!map || map->kind != NODE_MAPPING)
                return false;
        for (size_t i = 0; i < map->n_pairs; i++)
                if (streq(map->pairs[i].key, key)) {
                        free(map->pairs[i].key);
                        node_free(map->pairs[i].value);
                        memmove(&map->pairs[i], &map->pairs[i + 1],
                                (map->n_pairs - i - 1) * sizeof(struct node_pair));
                        map->n_pairs--;
                        return true;
                }
        return false;
}

void node_append(struct node *seq, struct node *item)
{
        seq->items = xrealloc(seq->items, (seq->n_items + 1) * sizeof(struct node *));
        seq->items[seq->n_items++] = item;
}

const char *node_str(const struct node *n)
{
        return n && n->kind == NODE_SCALAR ? n->scalar : NULL;
}

const char *node_kind_name(enum node_kind kind)
{
        switch (kind) {
        case NODE_NULL:
                return "null";
        case NODE_SCALAR:
                return "scalar";
        case NODE_SEQUENCE:
                return "sequence";
        case NODE_MAPPING:
                return "mapping";
        }
        return "?";
}

char *node_path_key(const char *parent, const char *key)
{
        return isempty(parent) ? xstrdup(key) : xasprintf("%s.%s", parent, key);
}

char *node_path_index(const char *parent, size_t index)
{
        return xasprintf("%s[%zu]", parent ? parent : "", index);
}

static char *located(struct node_mark mark, const char *path, const char *fmt, va_list ap)
{
        struct strbuf b = {0};
        if (mark.file) {
                strbuf_puts(&b, mark.file);
                if (mark.line)
                        strbuf_printf(&b, ":%u:%u", mark.line, mark.column);
                strbuf_puts(&b, ": ");
        }
        if (!isempty(path))
                strbuf_printf(&b, "%s: ", path);
        char *msg;
        if (vasprintf(&msg, fmt, ap) >= 0) {
                strbuf_puts(&b, msg);
                free(msg);
        }
        return strbuf_take(&b);
}

int spec_error(struct stack_error *err, struct node_mark mark, const char *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = located(mark, path, fmt, ap);
        va_end(ap);
        return stack_error_set(err, EINVAL, "%s", msg);
}

void spec_warning(struct node_mark mark, const char *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = located(mark, path, fmt, ap);
        va_end(ap);
        log_warning("%s", msg);
}
