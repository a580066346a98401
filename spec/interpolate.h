/* Variable interpolation: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a},
 * nesting, and $$ for a literal dollar. An unset variable warns once and becomes empty. */
#pragma once

#include "core/error.h"
#include "spec/model.h"
#include "spec/node.h"

/* Interpolates one string; mark and path locate errors and warnings. */
int interpolate_string(const char *in, const struct stack_kvlist *env, struct node_mark mark, const char *path,
                       char **ret, struct stack_error *err);
/* Interpolates every scalar value (never a key) of the tree in place. */
int interpolate_node(struct node *root, const struct stack_kvlist *env, struct stack_error *err);
