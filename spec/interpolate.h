/* Variable interpolation: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a},
 * nesting, and $$ for a literal dollar. An unset variable warns once and becomes empty. */
#pragma once

#include "core/base/error.h"
#include "spec/model.h"
#include "spec/node.h"

/* Interpolates one string; mark and path locate errors and warnings. */
int interpolate_string(const char *in, const struct stack_kvlist *env, struct node_mark mark,
                       const char *path, char **ret, struct stack_error *err);
/* Interpolates every scalar value (never a key) of the tree in place. */
int interpolate_node(struct node *root, const struct stack_kvlist *env, struct stack_error *err);

/* The same with shared state, for callers that interpolate several strings or trees in one load (the .env
 * parser, the loader with several -f files) and want each unset variable reported once. */
struct interpolate_context {
        const struct stack_kvlist *env; /* consulted first */
        /* Consulted when env lacks a name: a .env file's keys defined above the current line. May be NULL.
         */
        const struct stack_kvlist *fallback;
        char **warned; /* names already reported as unset; owned, freed by interpolate_context_done() */
};

int interpolate_string_ctx(struct interpolate_context *ctx, const char *in, struct node_mark mark,
                           const char *path, char **ret, struct stack_error *err);
int interpolate_node_ctx(struct interpolate_context *ctx, struct node *root, struct stack_error *err);
void interpolate_context_done(struct interpolate_context *ctx);
