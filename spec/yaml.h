/* One compose file's YAML -> a node tree with a mark on every key and value.
 *
 * Anchors and aliases are resolved into deep copies, merge keys (`<<`) are applied with explicit keys
 * winning, `!reset` and `!override` are kept in node->tag for the merger, and quoted or block scalars are
 * flagged so the model never reads `"yes"` as a boolean. Errors are "file:line:col: message". */
#pragma once

#include <stddef.h>

#include "core/base/error.h"
#include "spec/node.h"

/* A document may expand (through aliases) to at most this many nodes: a guard against alias bombs. Real
 * compose files stay orders of magnitude below it. */
#define SPEC_YAML_MAX_NODES 200000
/* Deeper nesting than this is refused instead of recursing further. */
#define SPEC_YAML_MAX_DEPTH 256

/* Parses data (len bytes) named `filename` in marks and errors. An empty document gives a NODE_NULL root.
 * More than one document is an error. */
int spec_yaml_parse(const char *data, size_t len, const char *filename, struct node **ret,
                    struct stack_error *err);
/* Reads path and parses it; `display` (or path when NULL) is the name used in marks. */
int spec_yaml_read_file(const char *path, const char *display, unsigned flags, struct node **ret,
                        struct stack_error *err);
