/* The Dockerfile parser and word processing: the reference's rules and BuildKit's behaviour. */
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/build/dockerfile.h"
#include "tests/unit/tap.h"

static struct dockerfile *parse(const char *text)
{
        _cleanup_error_ struct stack_error err = {0};
        struct dockerfile *df = NULL;
        if (dockerfile_parse(text, "Dockerfile", &df, &err) < 0)
                diag("%s", err.msg);
        return df;
}

static char *parse_error(const char *text)
{
        _cleanup_error_ struct stack_error err = {0};
        struct dockerfile *df = NULL;
        if (dockerfile_parse(text, "Dockerfile", &df, &err) >= 0) {
                dockerfile_free(df);
                return xstrdup("(parsed)");
        }
        return xstrdup(err.msg);
}

static void test_stages(void)
{
        _cleanup_dockerfile_ struct dockerfile *df =
            parse("# syntax=docker/dockerfile:1\n"
                  "ARG BASE=busybox\n"
                  "FROM --platform=$BUILDPLATFORM ${BASE} AS Build\n"
                  "# a comment\n"
                  "RUN echo one \\\n"
                  "  # comment inside a continuation\n"
                  "  two\n"
                  "\n"
                  "from scratch\n"
                  "COPY --from=build --chmod=0755 /out /bin/\n"
                  "CMD [\"/bin/app\", \"-x\"]\n");
        if (!ok(df != NULL, "multi-stage Dockerfile parses"))
                return;
        is_int(df->n_meta_args, 1, "ARG before FROM is a meta arg");
        is_int(df->n_stages, 2, "two stages");
        is_str(df->stages[0].name, "build", "stage names are lower case");
        is_str(df->stages[0].base, "${BASE}", "base kept for substitution at build time");
        is_str(df->stages[0].platform, "$BUILDPLATFORM", "--platform");
        is_str(df->stages[0].instructions[0].rest, "echo one   two", "continuation joined, comment skipped");
        is_int(df->stages[0].instructions[0].line, 5, "line of the instruction");
        is_int(df->stages[1].line, 9, "instructions are case-insensitive");
        const struct df_instruction *copy = &df->stages[1].instructions[0];
        is_str(stack_kvlist_get(&copy->flags, "from")->value, "build", "--from");
        is_str(stack_kvlist_get(&copy->flags, "chmod")->value, "0755", "--chmod");
        is_str(copy->rest, "/out /bin/", "COPY arguments after the flags");
        const struct df_instruction *cmd = &df->stages[1].instructions[1];
        ok(cmd->exec_form && streq(cmd->argv[0], "/bin/app") && streq(cmd->argv[1], "-x"), "exec form");
        is_int(dockerfile_find_stage(df, "BUILD"), 0, "stage by name");
        is_int(dockerfile_find_stage(df, "1"), 1, "stage by number");
        is_int(dockerfile_find_stage(df, "nope"), -1, "unknown stage");
}

static void test_escape_and_heredoc(void)
{
        _cleanup_dockerfile_ struct dockerfile *df = parse("# escape=`\n"
                                                           "FROM scratch\n"
                                                           "RUN dir c:\\ `\n"
                                                           "  && echo ok\n"
                                                           "RUN <<EOF\n"
                                                           "echo $HOME\n"
                                                           "EOF\n"
                                                           "COPY <<-'END' /etc/motd\n"
                                                           "\thello $USER\n"
                                                           "\tEND\n"
                                                           "CMD [not json\n");
        if (!ok(df != NULL, "escape directive and heredocs parse"))
                return;
        is_int(df->escape, '`', "escape directive");
        is_str(df->stages[0].instructions[0].rest, "dir c:\\   && echo ok", "backtick continues the line");
        const struct df_instruction *run = &df->stages[0].instructions[1];
        is_int(run->n_heredocs, 1, "RUN heredoc");
        is_str(run->heredocs[0].content, "echo $HOME\n", "heredoc body");
        ok(run->heredocs[0].expand, "unquoted delimiter expands");
        const struct df_instruction *copy = &df->stages[0].instructions[2];
        ok(copy->n_heredocs == 1 && !copy->heredocs[0].expand && copy->heredocs[0].chomp, "<<-'END'");
        is_str(copy->heredocs[0].content, "hello $USER\n", "leading tabs removed");
        is_int(df->stages[0].instructions[3].line, 11, "lines counted after the heredoc");
        ok(!df->stages[0].instructions[3].exec_form, "bad JSON falls back to the shell form");
}

static void test_errors(void)
{
        _cleanup_free_ char *e1 = parse_error("FROM scratch\n\nRUNN make\n");
        is_str(e1, "Dockerfile:3:1: unknown instruction \"RUNN\"", "unknown instruction, located");
        _cleanup_free_ char *e2 = parse_error("RUN x\nFROM scratch\n");
        contains(e2, "Dockerfile:1:1: RUN before the first FROM", "only ARG before FROM");
        _cleanup_free_ char *e3 = parse_error("FROM scratch\nCOPY onlyone\n");
        contains(e3, "Dockerfile:2:1: COPY requires at least two arguments", "COPY arity");
        _cleanup_free_ char *e4 = parse_error("FROM scratch\nCOPY --form=x a b\n");
        contains(e4, "unknown flag --form for COPY", "unknown flag");
        _cleanup_free_ char *e5 = parse_error("# escape=x\nFROM scratch\n");
        contains(e5, "invalid escape token", "bad escape");
        _cleanup_free_ char *e6 = parse_error("FROM a AS x\nFROM b AS X\n");
        contains(e6, "Dockerfile:2:1: duplicate stage name \"x\"", "duplicate stage");
        _cleanup_free_ char *e7 = parse_error("FROM a\nRUN <<EOF\necho\n");
        contains(e7, "heredoc <<EOF is not terminated", "open heredoc");
        _cleanup_free_ char *e8 = parse_error("# just a comment\n");
        contains(e8, "no FROM instruction", "empty Dockerfile");
        _cleanup_free_ char *e9 = parse_error("FROM a\nONBUILD FROM b\n");
        contains(e9, "FROM is not allowed as an ONBUILD trigger", "ONBUILD FROM");
        _cleanup_free_ char *e10 = parse_error("FROM a\nSHELL /bin/sh -c\n");
        contains(e10, "SHELL requires the arguments as a JSON array", "SHELL form");
        _cleanup_free_ char *e11 = parse_error("FROM a\nHEALTHCHECK --interval=5s\n");
        contains(e11, "HEALTHCHECK requires NONE or CMD", "HEALTHCHECK form");
        _cleanup_free_ char *e12 = parse_error("FROM a b\n");
        contains(e12, "FROM requires an image", "FROM form");
        _cleanup_free_ char *e13 = parse_error("FROM a\nWORKDIR\n");
        contains(e13, "WORKDIR requires exactly one argument", "WORKDIR arity");
}

static void test_words(void)
{
        struct stack_kvlist env = {0};
        stack_kvlist_add(&env, "A", "alpha");
        stack_kvlist_add(&env, "SP", "x y");
        stack_kvlist_add(&env, "EMPTY", "");
        _cleanup_error_ struct stack_error err = {0};
        struct {
                const char *in, *want;
        } cases[] = {
            {"$A", "alpha"},
            {"${A}-b", "alpha-b"},
            {"${NOPE:-dflt}", "dflt"},
            {"${EMPTY:-dflt}", "dflt"},
            {"${EMPTY-dflt}", ""},
            {"${A:+set}", "set"},
            {"${NOPE:+set}", ""},
            {"'$A'", "$A"},
            {"\"$A b\"", "alpha b"},
            {"\\$A", "$A"},
            {"a\\ b", "a b"},
            {"${NOPE:-${A}}", "alpha"},
            {"$", "$"},
            {"\"q\\\"q\"", "q\"q"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = NULL;
                if (df_word(cases[i].in, '\\', &env, &got, &err) < 0) {
                        ok(false, "%s: %s", cases[i].in, err.msg);
                        stack_error_clear(&err);
                        continue;
                }
                is_str(got, cases[i].want, "word %s", cases[i].in);
        }
        _cleanup_strv_free_ char **w = NULL;
        ok(df_words("a \"b c\" $SP ''", '\\', &env, &w, &err) == 0, "words");
        ok(strv_length(w) == 5 && streq(w[1], "b c") && streq(w[2], "x") && streq(w[3], "y") &&
               streq(w[4], ""),
           "split on blanks, quotes kept together, unquoted values split, empty quotes a word");
        _cleanup_free_ char *bad = NULL;
        ok(df_word("${NOPE:?must be set}", '\\', &env, &bad, &err) < 0, "${v:?msg} fails when unset");
        contains(err.msg, "NOPE: must be set", "with the message");
        stack_error_clear(&err);
        ok(df_word("${A%%x}", '\\', &env, &bad, &err) < 0, "unsupported modifier is an error");
        stack_error_clear(&err);
        ok(df_word("'open", '\\', &env, &bad, &err) < 0, "unterminated quote");
        stack_error_clear(&err);
        _cleanup_strv_free_ char **vars = df_referenced_vars("$A ${B:-x} '$C' \\$D $A", '\\');
        ok(strv_length(vars) == 2 && streq(vars[0], "A") && streq(vars[1], "B"), "referenced variables");
        stack_kvlist_free(&env);
}

static void test_key_values(void)
{
        _cleanup_dockerfile_ struct dockerfile *df = parse("FROM a\n"
                                                           "ENV A=1 B=\"two words\" C=${A}x\n"
                                                           "ENV OLD value with spaces\n"
                                                           "ARG NAME VER=1.0\n"
                                                           "LABEL \"com.example.x\"=\"y z\"\n");
        if (!ok(df != NULL, "ENV/ARG/LABEL parse"))
                return;
        struct stack_kvlist env = {0};
        stack_kvlist_add(&env, "A", "1");
        _cleanup_error_ struct stack_error err = {0};
        struct stack_kvlist kv = {0};
        ok(df_key_values(&df->stages[0].instructions[0], '\\', &env, &kv, &err) == 0, "ENV k=v");
        ok(kv.n == 3 && streq(kv.items[1].value, "two words") && streq(kv.items[2].value, "1x"),
           "quotes removed, variables substituted");
        stack_kvlist_free(&kv);
        ok(df_key_values(&df->stages[0].instructions[1], '\\', &env, &kv, &err) == 0, "ENV k v");
        ok(kv.n == 1 && streq(kv.items[0].key, "OLD") && streq(kv.items[0].value, "value with spaces"),
           "old form keeps the rest as the value");
        stack_kvlist_free(&kv);
        ok(df_key_values(&df->stages[0].instructions[2], '\\', &env, &kv, &err) == 0, "ARG");
        ok(kv.n == 2 && !kv.items[0].value && streq(kv.items[1].value, "1.0"),
           "ARG without and with default");
        stack_kvlist_free(&kv);
        ok(df_key_values(&df->stages[0].instructions[3], '\\', &env, &kv, &err) == 0, "LABEL");
        ok(kv.n == 1 && streq(kv.items[0].key, "com.example.x") && streq(kv.items[0].value, "y z"),
           "quoted label key");
        stack_kvlist_free(&kv);
        stack_kvlist_free(&env);
}

int main(void)
{
        test_stages();
        test_escape_and_heredoc();
        test_errors();
        test_words();
        test_key_values();
        return done_testing();
}
