/* .env files, as compose reads them: KEY=VALUE, `export`, comments, quotes, escapes, multi-line values.
 * Unquoted and double-quoted values are interpolated against `env` and the keys defined above them. */
#pragma once

#include <stddef.h>

#include "core/base/error.h"
#include "spec/model.h"

int dotenv_parse(const char *data, size_t len, const char *filename, const struct stack_kvlist *env,
                 struct stack_kvlist *ret, struct stack_error *err);
int dotenv_read_file(const char *path, unsigned flags, const struct stack_kvlist *env,
                     struct stack_kvlist *ret, struct stack_error *err);
