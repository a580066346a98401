/* .dockerignore: which context paths a build may not see.
 *
 * Docker's rules: one pattern a line, '#' comments, a leading '!' for exceptions, patterns cleaned and made
 * relative to the context root; Go filepath.Match syntax per path element plus "**" for any number of
 * elements. A path is excluded when a pattern matches it or one of its parent directories; the last
 * matching pattern decides. <Dockerfile>.dockerignore next to the Dockerfile wins over the context's. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"

struct ignore;

/* Reads the ignore file for a build (none is fine: *ret is an empty set). dockerfile may be NULL. */
int ignore_load(const char *context, const char *dockerfile, struct ignore **ret, struct stack_error *err);
/* From text, for tests. */
struct ignore *ignore_parse(const char *text);
void ignore_free(struct ignore *ig);
/* Whether rel (relative to the context, no leading "./") is excluded. */
bool ignore_match(const struct ignore *ig, const char *rel, bool is_dir);
/* Whether any pattern is an exception (excluded directories must then still be walked). */
bool ignore_has_exceptions(const struct ignore *ig);
