/* .env parsing with interpolation: any bytes must give variables or a located error, never a crash, a
 * leak or a read out of bounds. */
#include <stdlib.h>

#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/dotenv.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Unset-variable warnings would drown the fuzzer's own output. */
        log_set_level(LOG_LEVEL_ERROR);

        struct stack_kvlist env = {0};
        stack_kvlist_set(&env, "FOO", "first");
        stack_kvlist_set(&env, "EMPTY", "");
        stack_kvlist_set(&env, "DOLLAR", "$FOO ${");
        stack_kvlist_add(&env, "UNSET", NULL);

        struct stack_kvlist vars = {0};
        struct stack_error err = {0};
        int r = dotenv_parse((const char *) data, size, "fuzz.env", &env, &vars, &err);
        if (r < 0) {
                /* Every error is located in the file. */
                if (!err.msg || !startswith(err.msg, "fuzz.env:"))
                        abort();
        } else {
                if (err.msg)
                        abort();
                for (size_t i = 0; i < vars.n; i++)
                        if (!vars.items[i].key || !*vars.items[i].key || !vars.items[i].value)
                                abort();
        }
        stack_error_clear(&err);
        stack_kvlist_free(&vars);
        stack_kvlist_free(&env);
        return 0;
}
