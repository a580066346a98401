/* The Dockerfile parser and the word processing the builder applies to each instruction: any bytes must
 * give stages or an error located in the file, never a crash, a leak or a read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/build/dockerfile.h"
#include "tests/fuzz/fuzz.h"

static void process(const struct dockerfile *df, const struct df_instruction *in,
                    const struct stack_kvlist *env)
{
        struct stack_error err = {0};
        if (in->rest) {
                char **words = NULL, *word = NULL;
                if (df_words(in->rest, df->escape, env, &words, &err) >= 0)
                        strv_free(words);
                stack_error_clear(&err);
                if (df_word(in->rest, df->escape, env, &word, &err) >= 0)
                        free(word);
                stack_error_clear(&err);
                strv_free(df_referenced_vars(in->rest, df->escape));
        }
        if (in->kind == DF_ENV || in->kind == DF_ARG || in->kind == DF_LABEL) {
                struct stack_kvlist kv = {0};
                (void) df_key_values(in, df->escape, env, &kv, &err);
                stack_error_clear(&err);
                stack_kvlist_free(&kv);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = xstrndup((const char *) data, size);
        struct stack_kvlist env = {0};
        stack_kvlist_set(&env, "A", "value with spaces");
        stack_kvlist_set(&env, "EMPTY", "");
        struct dockerfile *df = NULL;
        struct stack_error err = {0};
        int r = dockerfile_parse(text, "Dockerfile", &df, &err);
        if (r < 0) {
                if (!err.msg || !startswith(err.msg, "Dockerfile"))
                        abort();
        } else {
                for (size_t i = 0; i < df->n_meta_args; i++)
                        process(df, &df->meta_args[i], &env);
                for (size_t i = 0; i < df->n_stages; i++)
                        for (size_t j = 0; j < df->stages[i].n_instructions; j++)
                                process(df, &df->stages[i].instructions[j], &env);
                dockerfile_free(df);
        }
        stack_error_clear(&err);
        stack_kvlist_free(&env);
        free(text);
        return 0;
}
