/* The final tree (merged, extended, included, interpolated) -> the typed model.
 *
 * Validates every key (tier C keys warn that stack does not support them yet; unknown keys are errors),
 * normalizes short syntax to long, resolves relative paths against working_dir, reads env_file entries,
 * names resources after project_name, and adds the implicit `default` network. Profiles are not applied
 * here: every service of the file is in the result. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "spec/model.h"
#include "spec/node.h"

struct spec_parse_context {
        const char *project_name;
        const char *working_dir;
        const struct stack_kvlist
            *environment; /* interpolation environment: bare `KEY` values come from it */
        /* The tree was not interpolated (`stack config --no-interpolate`): a service key that fails to parse
         * because it holds a `$` expression is kept as written in stack_service.uninterpolated instead of
         * being an error, so the file can still be shown. */
        bool no_interpolate;
};

int spec_parse_project(const struct node *root, const struct spec_parse_context *ctx,
                       struct stack_project **ret, struct stack_error *err);
