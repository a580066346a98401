#include <errno.h>
#include <string.h>
#include <yaml.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/strset.h"
#include "spec/yaml.h"

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_NULL "tag:yaml.org,2002:null"

static inline void event_deletep(yaml_event_t *e)
{
        yaml_event_delete(e);
}
#define _cleanup_event_ _cleanup_(event_deletep)

struct anchor {
        char *name;
        struct node *node;
        size_t size; /* nodes in the subtree: what one alias to it costs */
};

struct composer {
        yaml_parser_t parser;
        const char *file;
        struct anchor *anchors;
        size_t n_anchors, cap_anchors;
        size_t n_nodes;
        struct stack_error *err;
};

static struct node_mark mark_of(const struct composer *c, yaml_mark_t m)
{
        return (struct node_mark){
            .file = c->file, .line = (unsigned) m.line + 1, .column = (unsigned) m.column + 1};
}

static int parser_error(struct composer *c)
{
        const yaml_parser_t *p = &c->parser;
        const char *problem = p->problem ? p->problem : "invalid YAML";
        if (p->error == YAML_MEMORY_ERROR)
                return stack_error_set(c->err, ENOMEM, "%s: out of memory while parsing YAML", c->file);
        if (p->error == YAML_READER_ERROR)
                /* The reader reports a byte offset instead of a line (invalid UTF-8, control characters). */
                return stack_error_set(c->err, EINVAL, "%s: byte %zu: %s", c->file, p->problem_offset,
                                       problem);
        if (p->context)
                return spec_error(c->err, mark_of(c, p->problem_mark), NULL, "%s %s", problem, p->context);
        return spec_error(c->err, mark_of(c, p->problem_mark), NULL, "%s", problem);
}

static int next_event(struct composer *c, yaml_event_t *ev)
{
        if (!yaml_parser_parse(&c->parser, ev))
                return parser_error(c);
        return 0;
}

static enum node_tag tag_of(const yaml_char_t *tag)
{
        if (!tag)
                return NODE_TAG_NONE;
        if (streq((const char *) tag, "!reset"))
                return NODE_TAG_RESET;
        if (streq((const char *) tag, "!override"))
                return NODE_TAG_OVERRIDE;
        return NODE_TAG_NONE;
}

static int count_node(struct composer *c, yaml_mark_t m, size_t n)
{
        if (c->n_nodes + n > SPEC_YAML_MAX_NODES)
                return spec_error(c->err, mark_of(c, m), NULL,
                                  "document too large: more than %d nodes once aliases are expanded",
                                  SPEC_YAML_MAX_NODES);
        c->n_nodes += n;
        return 0;
}

static void add_anchor(struct composer *c, const yaml_char_t *name, const struct node *n, size_t size)
{
        if (!name)
                return;
        GROW(c->anchors, c->cap_anchors, c->n_anchors);
        /* The anchor keeps its own copy: the composed node may still be changed by a merge key. */
        c->anchors[c->n_anchors++] = (struct anchor){
            .name = xstrdup((const char *) name),
            .node = node_copy(n),
            .size = size,
        };
}

static const struct anchor *find_anchor(const struct composer *c, const char *name)
{
        /* An anchor may be redefined; an alias refers to the latest definition before it. */
        for (size_t i = c->n_anchors; i > 0; i--)
                if (streq(c->anchors[i - 1].name, name))
                        return &c->anchors[i - 1];
        return NULL;
}

static bool is_plain_null(const char *s, size_t len)
{
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (strlen(nulls[i]) == len && memcmp(nulls[i], s, len) == 0)
                        return true;
        return false;
}

static int compose_node(struct composer *c, yaml_event_t *ev, unsigned depth, struct node **ret,
                        size_t *ret_size);

static int compose_scalar(struct composer *c, yaml_event_t *ev, struct node **ret, size_t *ret_size)
{
        const char *value = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        const char *tag = (const char *) ev->data.scalar.tag;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
                     ev->data.scalar.style == YAML_ANY_SCALAR_STYLE;
        int r = count_node(c, ev->start_mark, 1);
        if (r < 0)
                return r;
        struct node *n;
        if ((plain && (!tag || tag_of((const yaml_char_t *) tag) != NODE_TAG_NONE) &&
             is_plain_null(value, len)) ||
            (tag && streq(tag, TAG_NULL)))
                n = node_new(NODE_NULL, mark_of(c, ev->start_mark));
        else {
                if (memchr(value, '\0', len))
                        return spec_error(c->err, mark_of(c, ev->start_mark), NULL,
                                          "NUL characters are not allowed in values");
                n = node_new(NODE_SCALAR, mark_of(c, ev->start_mark));
                n->scalar = xstrndup(value, len);
                n->quoted = !plain || (tag && streq(tag, TAG_STR));
        }
        n->tag = tag_of(ev->data.scalar.tag);
        add_anchor(c, ev->data.scalar.anchor, n, 1);
        *ret = n;
        *ret_size = 1;
        return 0;
}

/* While a node is composed its arrays only grow, one element at a time: doubling at each power of two
 * keeps that linear (node_append's exact-size realloc is quadratic on a 50 000-item list under ASan). */
static bool needs_growth(size_t n)
{
        return (n & (n - 1)) == 0;
}

static void append_item(struct node *seq, struct node *item)
{
        if (needs_growth(seq->n_items))
                seq->items =
                    xrealloc(seq->items, (seq->n_items ? 2 * seq->n_items : 1) * sizeof(struct node *));
        seq->items[seq->n_items++] = item;
}

static int compose_sequence(struct composer *c, yaml_event_t *start, unsigned depth, struct node **ret,
                            size_t *ret_size)
{
        int r = count_node(c, start->start_mark, 1);
        if (r < 0)
                return r;
        _cleanup_node_ struct node *seq = node_new(NODE_SEQUENCE, mark_of(c, start->start_mark));
        seq->tag = tag_of(start->data.sequence_start.tag);
        size_t size = 1;
        for (;;) {
                _cleanup_event_ yaml_event_t ev = {0};
                r = next_event(c, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_SEQUENCE_END_EVENT)
                        break;
                struct node *item;
                size_t item_size;
                r = compose_node(c, &ev, depth + 1, &item, &item_size);
                if (r < 0)
                        return r;
                append_item(seq, item);
                size += item_size;
        }
        add_anchor(c, start->data.sequence_start.anchor, seq, size);
        *ret = TAKE_PTR(seq);
        *ret_size = size;
        return 0;
}

static void append_pair(struct node *map, struct strset *seen, struct node_pair pair)
{
        if (needs_growth(map->n_pairs))
                map->pairs =
                    xrealloc(map->pairs, (map->n_pairs ? 2 * map->n_pairs : 1) * sizeof(struct node_pair));
        map->pairs[map->n_pairs] = pair;
        strset_put(seen, pair.key, map->n_pairs);
        map->n_pairs++;
}

/* Moves the pairs of a `<<` source that the mapping does not define yet to its end. */
static void merge_source(struct node *map, struct strset *seen, struct node *src)
{
        for (size_t i = 0; i < src->n_pairs; i++) {
                if (strset_get(seen, src->pairs[i].key, NULL))
                        continue;
                append_pair(map, seen, src->pairs[i]);
                src->pairs[i] = (struct node_pair){0};
        }
}

static int apply_merge_key(struct composer *c, struct node *map, struct strset *seen, struct node *value,
                           struct node_mark key_mark)
{
        if (value->kind == NODE_MAPPING) {
                merge_source(map, seen, value);
                return 0;
        }
        if (value->kind == NODE_SEQUENCE) {
                for (size_t i = 0; i < value->n_items; i++)
                        if (value->items[i]->kind != NODE_MAPPING)
                                return spec_error(c->err, value->items[i]->mark, NULL,
                                                  "merge key '<<': expected a mapping, got %s",
                                                  node_kind_name(value->items[i]->kind));
                /* Earlier sources win over later ones, and explicit keys over all of them. */
                for (size_t i = 0; i < value->n_items; i++)
                        merge_source(map, seen, value->items[i]);
                return 0;
        }
        return spec_error(c->err, key_mark, NULL,
                          "merge key '<<': expected a mapping or a sequence of mappings, got %s",
                          node_kind_name(value->kind));
}

static int compose_mapping(struct composer *c, yaml_event_t *start, unsigned depth, struct node **ret,
                           size_t *ret_size)
{
        int r = count_node(c, start->start_mark, 1);
        if (r < 0)
                return r;
        _cleanup_node_ struct node *map = node_new(NODE_MAPPING, mark_of(c, start->start_mark));
        map->tag = tag_of(start->data.mapping_start.tag);
        /* Merge sources are applied once every explicit key is known, so explicit keys win wherever the
         * `<<` appears. They are held in a sequence only to be freed on every path. */
        _cleanup_node_ struct node *merges = node_new(NODE_SEQUENCE, map->mark);
        _cleanup_node_ struct node *merge_marks = node_new(NODE_SEQUENCE, map->mark);
        _cleanup_(strset_free) struct strset seen = {0};
        size_t size = 1;
        for (;;) {
                _cleanup_event_ yaml_event_t kev = {0};
                r = next_event(c, &kev);
                if (r < 0)
                        return r;
                if (kev.type == YAML_MAPPING_END_EVENT)
                        break;
                struct node_mark key_mark = mark_of(c, kev.start_mark);
                bool merge_key = kev.type == YAML_SCALAR_EVENT &&
                                 kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                                 streq((const char *) kev.data.scalar.value, "<<");
                _cleanup_node_ struct node *key = NULL;
                size_t key_size;
                r = compose_node(c, &kev, depth + 1, &key, &key_size);
                if (r < 0)
                        return r;
                if (key->kind != NODE_SCALAR)
                        return spec_error(c->err, key_mark, NULL, "mapping keys must be strings, got %s",
                                          node_kind_name(key->kind));
                size_t first;
                if (strset_get(&seen, key->scalar, &first))
                        return spec_error(c->err, key_mark, NULL,
                                          "duplicate key \"%s\" (first defined at line %u)", key->scalar,
                                          map->pairs[first].key_mark.line);
                if (merge_key && merges->n_items > 0)
                        return spec_error(c->err, key_mark, NULL, "duplicate merge key \"<<\"");

                _cleanup_event_ yaml_event_t vev = {0};
                r = next_event(c, &vev);
                if (r < 0)
                        return r;
                struct node *value;
                size_t value_size;
                r = compose_node(c, &vev, depth + 1, &value, &value_size);
                if (r < 0)
                        return r;
                size += value_size;
                if (merge_key) {
                        node_append(merges, value);
                        node_append(merge_marks, node_new(NODE_NULL, key_mark));
                        continue;
                }
                append_pair(
                    map, &seen,
                    (struct node_pair){.key = TAKE_PTR(key->scalar), .key_mark = key_mark, .value = value});
        }
        for (size_t i = 0; i < merges->n_items; i++) {
                r = apply_merge_key(c, map, &seen, merges->items[i], merge_marks->items[i]->mark);
                if (r < 0)
                        return r;
        }
        add_anchor(c, start->data.mapping_start.anchor, map, size);
        *ret = TAKE_PTR(map);
        *ret_size = size;
        return 0;
}

static int compose_alias(struct composer *c, yaml_event_t *ev, struct node **ret, size_t *ret_size)
{
        const char *name = (const char *) ev->data.alias.anchor;
        const struct anchor *a = find_anchor(c, name);
        if (!a)
                return spec_error(c->err, mark_of(c, ev->start_mark), NULL, "unknown anchor '%s'", name);
        int r = count_node(c, ev->start_mark, a->size);
        if (r < 0)
                return r;
        *ret = node_copy(a->node);
        *ret_size = a->size;
        return 0;
}

static int compose_node(struct composer *c, yaml_event_t *ev, unsigned depth, struct node **ret,
                        size_t *ret_size)
{
        if (depth > SPEC_YAML_MAX_DEPTH)
                return spec_error(c->err, mark_of(c, ev->start_mark), NULL, "nesting deeper than %d levels",
                                  SPEC_YAML_MAX_DEPTH);
        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                return compose_scalar(c, ev, ret, ret_size);
        case YAML_SEQUENCE_START_EVENT:
                return compose_sequence(c, ev, depth, ret, ret_size);
        case YAML_MAPPING_START_EVENT:
                return compose_mapping(c, ev, depth, ret, ret_size);
        case YAML_ALIAS_EVENT:
                return compose_alias(c, ev, ret, ret_size);
        default:
                return spec_error(c->err, mark_of(c, ev->start_mark), NULL, "unexpected YAML event %d",
                                  (int) ev->type);
        }
}

static int compose_stream(struct composer *c, struct node **ret)
{
        _cleanup_event_ yaml_event_t start = {0};
        int r = next_event(c, &start);
        if (r < 0)
                return r;
        _cleanup_event_ yaml_event_t doc = {0};
        r = next_event(c, &doc);
        if (r < 0)
                return r;
        if (doc.type == YAML_STREAM_END_EVENT) {
                *ret = node_new(NODE_NULL, (struct node_mark){.file = c->file, .line = 1, .column = 1});
                return 0;
        }
        _cleanup_event_ yaml_event_t first = {0};
        r = next_event(c, &first);
        if (r < 0)
                return r;
        _cleanup_node_ struct node *root = NULL;
        size_t size;
        r = compose_node(c, &first, 0, &root, &size);
        if (r < 0)
                return r;
        _cleanup_event_ yaml_event_t doc_end = {0};
        r = next_event(c, &doc_end);
        if (r < 0)
                return r;
        _cleanup_event_ yaml_event_t next = {0};
        r = next_event(c, &next);
        if (r < 0)
                return r;
        if (next.type == YAML_DOCUMENT_START_EVENT)
                return spec_error(c->err, mark_of(c, next.start_mark), NULL,
                                  "multiple YAML documents in one file are not supported");
        *ret = TAKE_PTR(root);
        return 0;
}

int spec_yaml_parse(const char *data, size_t len, const char *filename, struct node **ret,
                    struct stack_error *err)
{
        struct composer c = {.file = node_intern(filename ? filename : "-"), .err = err};
        if (!yaml_parser_initialize(&c.parser))
                return stack_error_set(err, ENOMEM, "%s: cannot initialize the YAML parser", c.file);
        yaml_parser_set_input_string(&c.parser, (const unsigned char *) data, len);
        struct node *root = NULL;
        int r = compose_stream(&c, &root);
        yaml_parser_delete(&c.parser);
        for (size_t i = 0; i < c.n_anchors; i++) {
                free(c.anchors[i].name);
                node_free(c.anchors[i].node);
        }
        free(c.anchors);
        if (r < 0)
                return r;
        *ret = root;
        return 0;
}

int spec_yaml_read_file(const char *path, const char *display, unsigned flags, struct node **ret,
                        struct stack_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_named_file(path, flags, &data, &len, err);
        if (r < 0)
                return r;
        return spec_yaml_parse(data, len, display ? display : path, ret, err);
}
