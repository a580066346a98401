/* The YAML document as a tree that remembers where every value came from.
 *
 * The loader turns each compose file into a node tree (anchors, aliases and merge keys resolved), the
 * merger combines trees, interpolation rewrites scalars in place, and the model parser turns the final tree
 * into typed structs. Every error anywhere can therefore name file:line:column of the offending value. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"

enum node_kind {
        NODE_NULL,
        NODE_SCALAR,
        NODE_SEQUENCE,
        NODE_MAPPING,
};

/* Compose's merge tags: `!reset` clears the value inherited from earlier files, `!override` replaces it
 * wholesale instead of merging. */
enum node_tag {
        NODE_TAG_NONE,
        NODE_TAG_RESET,
        NODE_TAG_OVERRIDE,
};

struct node_mark {
        const char *file; /* interned: lives as long as the process */
        unsigned line;    /* 1-based */
        unsigned column;  /* 1-based */
};

struct node;

struct node_pair {
        char *key;
        struct node_mark key_mark;
        struct node *value;
};

struct node {
        enum node_kind kind;
        enum node_tag tag;
        struct node_mark mark;
        /* NODE_SCALAR */
        char *scalar;
        bool quoted; /* written with quotes or as a block scalar: never a bool, number or null */
        /* NODE_SEQUENCE */
        struct node **items;
        size_t n_items;
        /* NODE_MAPPING, in document order; keys are unique */
        struct node_pair *pairs;
        size_t n_pairs;
};

/* File names are interned so marks can be copied freely. */
const char *node_intern(const char *file);

struct node *node_new(enum node_kind kind, struct node_mark mark);
struct node *node_new_scalar(const char *value, struct node_mark mark);
void node_free(struct node *n);
struct node *node_copy(const struct node *n);

/* Mapping access. node_get returns NULL when n is not a mapping or lacks the key. */
struct node *node_get(const struct node *n, const char *key);
const struct node_pair *node_get_pair(const struct node *n, const char *key);
/* Sets key to value (taking ownership), replacing and freeing an existing value. */
void node_set(struct node *map, const char *key, struct node_mark key_mark, struct node *value);
/* Removes and frees the key's value; returns whether it was there. */
bool node_remove(struct node *map, const char *key);
void node_append(struct node *seq, struct node *item);

/* A scalar's string, or NULL for other kinds. */
const char *node_str(const struct node *n);
const char *node_kind_name(enum node_kind kind);

/* "services.web.ports[1]" style paths, built up while walking the tree. */
char *node_path_key(const char *parent, const char *key);
char *node_path_index(const char *parent, size_t index);

static inline void node_freep(struct node **n)
{
        node_free(*n);
}
#define _cleanup_node_ __attribute__((cleanup(node_freep)))

/* Sets a located error: "<file>:<line>:<col>: <path>: <message>" (path may be NULL or empty). */
int spec_error(struct stack_error *err, struct node_mark mark, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A located warning on the log, same shape. */
void spec_warning(struct node_mark mark, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
