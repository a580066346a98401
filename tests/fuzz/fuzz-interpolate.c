/* Interpolation of one string, and of a small tree holding it, against a fixed environment. */
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/interpolate.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        log_set_level(LOG_LEVEL_ERROR);

        /* Scalars are C strings: the input up to its first NUL is the template. */
        _cleanup_free_ char *in = xstrndup((const char *) data, size);

        struct stack_kvlist env = {0};
        stack_kvlist_set(&env, "FOO", "first");
        stack_kvlist_set(&env, "EMPTY", "");
        stack_kvlist_set(&env, "NESTED", "${FOO}");
        stack_kvlist_add(&env, "UNSET", NULL);

        struct node_mark mark = {.file = node_intern("fuzz.yaml"), .line = 1, .column = 1};
        char *out = NULL;
        struct stack_error err = {0};
        int r = interpolate_string(in, &env, mark, "x", &out, &err);
        if (r < 0) {
                if (!err.msg || !startswith(err.msg, "fuzz.yaml:1:1: x: "))
                        abort();
        } else if (!strchr(in, '$') && !streq(in, out)) {
                abort(); /* text without a dollar is never changed */
        }
        free(out);
        stack_error_clear(&err);

        struct node *root = node_new(NODE_MAPPING, mark);
        struct node *seq = node_new(NODE_SEQUENCE, mark);
        node_append(seq, node_new_scalar(in, mark));
        node_append(seq, node_new(NODE_NULL, mark));
        node_set(root, in, mark, node_new_scalar(in, mark));
        node_set(root, "list", mark, seq);
        int r2 = interpolate_node(root, &env, &err);
        if ((r < 0) != (r2 < 0))
                abort(); /* the tree fails exactly when its scalar does */
        if (!node_get(root, in))
                abort(); /* keys are never interpolated */
        node_free(root);
        stack_error_clear(&err);
        stack_kvlist_free(&env);
        return 0;
}
