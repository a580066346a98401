#include <stdlib.h>
#include <sys/stat.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/dotenv.h"
#include "tests/unit/capture.h"
#include "tests/unit/tap.h"

static struct stack_kvlist shell;

struct result {
        int r;
        struct stack_kvlist vars;
        struct stack_error err;
        char *warnings;
};

static void result_done(struct result *res)
{
        stack_kvlist_free(&res->vars);
        stack_error_clear(&res->err);
        free(res->warnings);
}
#define _cleanup_result_ __attribute__((cleanup(result_done)))

static struct result parse_env(const char *data, size_t len, const struct stack_kvlist *env)
{
        struct result res = {0};
        struct capture c;
        capture_start(&c);
        res.r = dotenv_parse(data, len, ".env", env, &res.vars, &res.err);
        res.warnings = capture_end(&c);
        return res;
}

static struct result parse(const char *data)
{
        return parse_env(data, strlen(data), &shell);
}

static const char *get(const struct result *res, const char *key)
{
        const struct stack_kv *kv = stack_kvlist_get(&res->vars, key);
        return kv ? kv->value : NULL;
}

/* The input as a one-line test name. */
static char *shown(const char *data)
{
        struct strbuf b = {0};
        for (const char *c = data; *c; c++) {
                if (*c == '\n')
                        strbuf_puts(&b, "\\n");
                else if (*c == '\r')
                        strbuf_puts(&b, "\\r");
                else if ((unsigned char) *c < 0x20)
                        strbuf_printf(&b, "\\x%02x", (unsigned char) *c);
                else
                        strbuf_putc(&b, *c);
        }
        return strbuf_take(&b);
}

/* Parses one statement and checks the value of its key. */
static void expect(const char *data, const char *key, const char *want)
{
        _cleanup_result_ struct result res = parse(data);
        _cleanup_free_ char *name = shown(data);
        if (res.r < 0) {
                ok(false, "%s: parse failed: %s", name, res.err.msg);
                return;
        }
        is_str(get(&res, key), want, "%s", name);
}

static void expect_error(const char *data, const char *want)
{
        _cleanup_result_ struct result res = parse(data);
        _cleanup_free_ char *name = shown(data);
        ok(res.r < 0, "%s is refused", name);
        contains(res.err.msg, want, "with a clear message");
}

static void test_plain(void)
{
        _cleanup_result_ struct result res = parse("A=1\n"
                                                   "B=2\n"
                                                   "C= 3\n"
                                                   "D =4\n"
                                                   "E = 5\n"
                                                   "F = \n"
                                                   "G=\n"
                                                   "H = my string # Inline comment\n"
                                                   "I=with=equals\n"
                                                   "J=1:B\n");
        is_int(res.r, 0, "plain file parses");
        is_int(res.vars.n, 10, "every key is there");
        is_str(res.vars.items[0].key, "A", "keys in file order");
        is_str(get(&res, "A"), "1", "A");
        is_str(get(&res, "C"), "3", "blank after = dropped");
        is_str(get(&res, "D"), "4", "blank before = dropped");
        is_str(get(&res, "E"), "5", "blanks around =");
        is_str(get(&res, "F"), "", "blank value is empty");
        is_str(get(&res, "G"), "", "no value is empty");
        is_str(get(&res, "H"), "my string", "inline comment cut, inner blank kept");
        is_str(get(&res, "I"), "with=equals", "later = belong to the value");
        is_str(get(&res, "J"), "1:B", "colons in the value");
        is_str(res.warnings, "", "no warnings");

        expect("FOO=bar ", "FOO", "bar");
        expect("FOO=bar\t\t", "FOO", "bar");
        expect("FOO=bar # this is foo", "FOO", "bar");
        expect("FOO=bar #this is foo", "FOO", "bar");
        expect("FOO=bar #", "FOO", "bar");
        expect("FOO=bar\t# tab before hash", "FOO", "bar");
        expect("FOO=123#not-an-inline-comment", "FOO", "123#not-an-inline-comment");
        expect("FOO=a\\tb", "FOO", "a\\tb");
        expect("FOO=a 'b' \"c\"", "FOO", "a 'b' \"c\"");
        expect("FOO.BAR=foobar", "FOO.BAR", "foobar");
        expect("VAR-WITH-DASHES=dashes", "VAR-WITH-DASHES", "dashes");
        expect("arr[0]=x", "arr[0]", "x");
        expect("lower_case=ok", "lower_case", "ok");
        expect("CAF\xc3\x89=cr\xc3\xa8me", "CAF\xc3\x89",
               "cr\xc3\xa8me"); /* letters beyond ASCII, as compose */
        expect(" KEY =value", "KEY", "value");
        expect("\tKEY=value", "KEY", "value");
        expect("OPTION_A: 1", "OPTION_A", "1");
        expect("OPTION_A: Foo=bar", "OPTION_A", "Foo=bar");
        expect("LAST=no newline at the end", "LAST", "no newline at the end");
        expect("FOO=then special \xc3\xa8 char", "FOO", "then special \xc3\xa8 char");
}

static void test_export(void)
{
        expect("export OPTION_A=2", "OPTION_A", "2");
        expect("export OPTION_B='\\n'", "OPTION_B", "\\n");
        expect("export exportFoo=2", "exportFoo", "2");
        expect("exportFOO=2", "exportFOO", "2");
        expect("export_FOO =2", "export_FOO", "2");
        expect("export.FOO= 2", "export.FOO", "2");
        expect("export\tOPTION_A=2", "OPTION_A", "2");
        expect("  export OPTION_A=2", "OPTION_A", "2");
        expect("export OPTION_A=\"export A\"", "OPTION_A", "export A");
        expect("export=1", "export", "1");
        expect("export =1", "export", "1");
}

static void test_comments_and_blank_lines(void)
{
        _cleanup_result_ struct result res = parse("# a comment\n"
                                                   "\n"
                                                   "\t # indented comment\n"
                                                   "\r\n"
                                                   "   \n"
                                                   "A=1 # trailing\n"
                                                   "#B=2\n");
        is_int(res.r, 0, "comments parse");
        is_int(res.vars.n, 1, "only the assignment counts");
        is_str(get(&res, "A"), "1", "A");

        _cleanup_result_ struct result empty = parse("");
        ok(empty.r == 0 && empty.vars.n == 0, "empty file, no variables");

        /* compose reads a value that starts with '#' literally: only " #" starts a comment. */
        expect("FOO= # not a comment", "FOO", "# not a comment");
}

static void test_quotes(void)
{
        expect("A='1'", "A", "1");
        expect("C=''", "C", "");
        expect("D='\\n'", "D", "\\n");
        expect("E=\"1\"", "E", "1");
        expect("G=\"\"", "G", "");
        expect("H=\"\\n\"", "H", "\n");
        expect("I = \"echo 'asd'\" # Inline comment", "I", "echo 'asd'");
        expect("K='Let\\'s go!'", "K", "Let's go!");
        expect("L='a\\\\b'", "L", "a\\\\b");
        expect("L='a\\\\' # a backslash pair does not escape the quote", "L", "a\\\\");
        expect("L='\\\\\\''", "L", "\\\\'");
        expect("FOO=\"escaped\\\"bar\"", "FOO", "escaped\"bar");
        expect("FOO=\"\\\"quoted\\\"\"", "FOO", "\"quoted\"");
        expect("FOO=\"'d'\"", "FOO", "'d'");
        expect("FOO='\"d\"'", "FOO", "\"d\"");
        expect("FOO=\"bar#baz\"", "FOO", "bar#baz");
        expect("FOO=\"bar#baz\"#", "FOO", "bar#baz");
        expect("FOO=\"bar#baz\" # comment", "FOO", "bar#baz");
        expect("FOO='bar#baz' # comment", "FOO", "bar#baz");
        expect("FOO=\"  padded  \"", "FOO", "  padded  ");
        expect("FOO='  padded  '", "FOO", "  padded  ");
        expect("FOO=\"x\"  \t", "FOO", "x");
        expect("OPTION_A='postgres://localhost:5432/database?sslmode=disable'", "OPTION_A",
               "postgres://localhost:5432/database?sslmode=disable");
}

static void test_escapes(void)
{
        expect("FOO=\"bar\\nbaz\"", "FOO", "bar\nbaz");
        expect("FOO=\"a\\tb\"", "FOO", "a\tb");
        expect("KEY=\"Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z\"", "KEY", "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ");
        expect("FOO=\"bar\\n\\ b\\az\"", "FOO", "bar\n\\ b\az");
        expect("FOO=\"bar\\\\\\n\\ b\\az\"", "FOO", "bar\\\n\\ b\az");
        expect("FOO=\"bar\\\\r\\ b\\az\"", "FOO", "bar\\r\\ b\az");
        expect("FOO=\"bar\\nbaz\\\\\"", "FOO", "bar\nbaz\\");
        expect("KEY=\"\\0123\"", "KEY", "S");
        expect("KEY=\"\\0351\"", "KEY", "\xc3\xa9"); /* a code point, as compose */
        expect("KEY=\"\\0000\"", "KEY", "\\0000");   /* no NUL in a variable */
        expect("KEY=\"\\01\"", "KEY", "\\01");
        /* Escapes the shell's echo does not know keep their backslash. */
        expect("KEY=\"\\x07\"", "KEY", "\\x07");
        expect("KEY=\"\\u12e4\"", "KEY", "\\u12e4");
        expect("KEY=\"\\c\\'\"", "KEY", "\\c\\'");
}

static void test_multiline(void)
{
        _cleanup_result_ struct result res = parse("J = 'first line\n"
                                                   "second line\n"
                                                   "third line\n"
                                                   "and so on'\n"
                                                   "URLS=\"stratum+tcp://a:3333\n"
                                                   "stratum+tcp://b:443\"\n"
                                                   "Z = \"last value\"\n"
                                                   "BAD=${\n");
        ok(res.r < 0, "error after multi-line values");
        is_str(res.err.msg,
               ".env:8:5: BAD: invalid interpolation format for \"${\": you may need to escape any $ with "
               "another $",
               "line numbers count the lines inside quoted values");

        _cleanup_result_ struct result good = parse("J = 'first line\n"
                                                    "second line'\n"
                                                    "URLS=\"a\n"
                                                    "b\"\n"
                                                    "Z = \"last value\"\n");
        is_int(good.r, 0, "multi-line values parse");
        is_str(get(&good, "J"), "first line\nsecond line", "single-quoted value spans lines");
        is_str(get(&good, "URLS"), "a\nb", "double-quoted value spans lines");
        is_str(get(&good, "Z"), "last value", "the file goes on after them");
}

static void test_interpolation(void)
{
        _cleanup_result_ struct result res = parse("OPTION_A=1\n"
                                                   "OPTION_B=${OPTION_A}\n"
                                                   "OPTION_C=$OPTION_B\n"
                                                   "OPTION_D=${OPTION_A}_${OPTION_B}\n"
                                                   "OPTION_E=${OPTION_NOT_DEFINED}\n"
                                                   "OPTION_F=\"quote $OPTION_A\"\n"
                                                   "OPTION_G='quote $OPTION_A'\n"
                                                   "OPTION_H=\"foo\\$BAR \\${OPTION_A} ${OPTION_A}\"\n"
                                                   "OPTION_I=$$OPTION_A\n"
                                                   "OPTION_J=${SHELL_VAR:-default}-$SHELL_VAR\n"
                                                   "OPTION_K=${UNSET_X:-fallback}\n"
                                                   "OPTION_L=${LATER}\n"
                                                   "LATER=late\n");
        is_int(res.r, 0, "substitutions parse");
        is_str(get(&res, "OPTION_B"), "1", "${VAR} of an earlier key");
        is_str(get(&res, "OPTION_C"), "1", "$VAR of an earlier key");
        is_str(get(&res, "OPTION_D"), "1_1", "two in one value");
        is_str(get(&res, "OPTION_E"), "", "undefined is empty");
        is_str(get(&res, "OPTION_F"), "quote 1", "double quotes interpolate");
        is_str(get(&res, "OPTION_G"), "quote $OPTION_A", "single quotes do not");
        is_str(get(&res, "OPTION_H"), "foo$BAR ${OPTION_A} 1", "\\$ is a literal dollar in double quotes");
        is_str(get(&res, "OPTION_I"), "$OPTION_A", "$$ is a literal dollar");
        is_str(get(&res, "OPTION_J"), "from shell-from shell", "shell environment used");
        is_str(get(&res, "OPTION_K"), "fallback", "defaults");
        is_str(get(&res, "OPTION_L"), "", "keys below are not visible");
        is_int(count_substr(res.warnings, "The \"OPTION_NOT_DEFINED\" variable is not set"), 1,
               "unset variable warns");
        contains(res.warnings, ".env:5:10: OPTION_E: The", "warning located in the .env file");
        is_int(count_substr(res.warnings, "variable is not set"), 2, "and nothing else warns but LATER");

        /* The shell environment wins over keys of the file when interpolating, as in compose. */
        struct stack_kvlist env = {0};
        stack_kvlist_set(&env, "OPTION_A", "5");
        static const char file[] = "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=${OPTION_A:-x}\n";
        _cleanup_result_ struct result prec = parse_env(file, strlen(file), &env);
        is_int(prec.r, 0, "precedence file parses");
        is_str(get(&prec, "OPTION_A"), "1", "the file's own value is what it says");
        is_str(get(&prec, "OPTION_B"), "5", "references see the environment first");
        is_str(get(&prec, "OPTION_C"), "5", "also with a default");
        stack_kvlist_free(&env);

        _cleanup_result_ struct result noenv = parse_env("A=$X\nB=${A:-d}", 14, NULL);
        is_int(noenv.r, 0, "no environment at all");
        is_str(get(&noenv, "B"), "d", "empty earlier key takes the default");

        expect_error("A=1\nB=\"${A:?must be set}\"\nC=${NOPE:?C needs NOPE}",
                     ".env:3:3: C: required variable NOPE is missing a value: C needs NOPE");
}

static void test_inherited(void)
{
        _cleanup_result_ struct result res = parse("foo=bar\n"
                                                   "SHELL_VAR\n"
                                                   "NOT_IN_SHELL\n"
                                                   "bar=baz\n"
                                                   "  SHELL_VAR2  ");
        is_int(res.r, 0, "bare keys parse");
        is_int(res.vars.n, 4, "a bare key missing from the environment is left out");
        is_str(get(&res, "SHELL_VAR"), "from shell", "a bare key takes the environment's value");
        is_str(get(&res, "SHELL_VAR2"), "two", "also at the end of the file, with blanks");
        ok(get(&res, "NOT_IN_SHELL") == NULL, "missing bare key absent");
        is_str(get(&res, "bar"), "baz", "parsing goes on");
}

static void test_errors(void)
{
        expect_error("A=1\nINVALID LINE\nzot=qix",
                     ".env:2: variable name \"INVALID LINE\" cannot contain a space");
        expect_error("FOO BAR=1", ".env:1: variable name \"FOO BAR\" cannot contain a space");
        expect_error("lol$wut", ".env:1: unexpected character '$' in variable name \"lol$wut\"");
        expect_error("A=1\n\nKEY\x01=1", ".env:3: unexpected byte 0x01 in variable name");
        expect_error("=value", ".env:1: missing variable name before '='");
        expect_error("  : value", ".env:1: missing variable name before ':'");
        static const char *const unterminated[] = {
            "KEY=\"", "KEY=\"value", "KEY=\"value\\\"", "KEY=\"value'",
            "KEY='",  "KEY='value",  "KEY='value\\'",   "KEY='value\"",
        };
        for (size_t i = 0; i < ELEMENTSOF(unterminated); i++)
                expect_error(unterminated[i], ".env:1: unterminated quoted value");
        expect_error("A=1\nB=\"open\nstill open\n", ".env:2: unterminated quoted value");
        expect_error("A=\"x\" B=1", ".env:1: unexpected text after the closing quote: \"B=1\"");
        expect_error("A=\"x\"y", "unexpected text after the closing quote");
        expect_error("A=${B", ".env:1:3: A: invalid interpolation format");

        _cleanup_result_ struct result nul = parse_env("A=1\nB=x\0y\n", sizeof("A=1\nB=x\0y\n") - 1, NULL);
        ok(nul.r < 0, "NUL byte refused");
        is_str(nul.err.msg, ".env:2: unexpected NUL byte", "NUL byte located");

        _cleanup_result_ struct result digit = parse("456 = ABC\nOK=1");
        is_int(digit.r, 0, "a key starting with a digit is not an error");
        ok(get(&digit, "456") == NULL && digit.vars.n == 1, "but it is dropped, as compose does");
        contains(digit.warnings, ".env:1: ignoring \"456\": a variable name cannot start with a digit",
                 "with a warning");
}

static void test_misc(void)
{
        _cleanup_result_ struct result bom = parse("\xef\xbb\xbfOPTION_A=1\nOPTION_B = 2\n");
        is_int(bom.r, 0, "UTF-8 BOM skipped");
        is_str(get(&bom, "OPTION_A"), "1", "first key after the BOM");

        _cleanup_result_ struct result crlf = parse("A=1\r\nB='two'\r\nC=\"three\"\r\nSHELL_VAR\r\n");
        is_int(crlf.r, 0, "CRLF file parses");
        is_str(get(&crlf, "A"), "1", "CR not part of an unquoted value");
        is_str(get(&crlf, "B"), "two", "nor after a quoted one");
        is_str(get(&crlf, "C"), "three", "double quoted");
        is_str(get(&crlf, "SHELL_VAR"), "from shell", "nor of a bare key");

        _cleanup_result_ struct result dup = parse("A=1\nB=2\nA=3\n");
        is_int(dup.vars.n, 2, "a repeated key is one variable");
        is_str(get(&dup, "A"), "3", "the last one wins");
        is_str(dup.vars.items[0].key, "A", "at its first place");
}

static void test_file(void)
{
        char dir[] = "/tmp/stack-test-dotenv-XXXXXX";
        ok(mkdtemp(dir) != NULL, "temp dir");
        _cleanup_free_ char *path = path_join(dir, "app.env");
        _cleanup_error_ struct stack_error err = {0};
        static const char data[] = "# app settings\nexport PORT=8080\nURL=\"http://localhost:${PORT}/\"\n";
        is_int(write_file_atomic(path, data, strlen(data), 0644, &err), 0, "write env file");

        struct stack_kvlist vars = {0};
        is_int(dotenv_read_file(path, 0, &shell, &vars, &err), 0, "read env file");
        const struct stack_kv *kv = stack_kvlist_get(&vars, "URL");
        is_str(kv ? kv->value : NULL, "http://localhost:8080/", "value from the file");
        stack_kvlist_free(&vars);

        static const char bad[] = "A=1\nB='x\n";
        is_int(write_file_atomic(path, bad, strlen(bad), 0644, &err), 0, "write bad env file");
        ok(dotenv_read_file(path, 0, &shell, &vars, &err) < 0, "bad file refused");
        _cleanup_free_ char *want = xasprintf("%s:2: unterminated quoted value", path);
        is_str(err.msg, want, "error names the file and line");
        ok(vars.n == 0 && vars.items == NULL, "nothing returned on error");
        stack_error_clear(&err);

        _cleanup_free_ char *missing = path_join(dir, "nope.env");
        ok(dotenv_read_file(missing, 0, &shell, &vars, &err) == -ENOENT, "missing file is ENOENT");
        contains(err.msg, "nope.env", "error names the missing file");
        stack_error_clear(&err);

        unlink(path);
        rmdir(dir);
}

int main(void)
{
        stack_kvlist_set(&shell, "SHELL_VAR", "from shell");
        stack_kvlist_set(&shell, "SHELL_VAR2", "two");
        stack_kvlist_add(&shell, "NOT_IN_SHELL", NULL);

        test_plain();
        test_export();
        test_comments_and_blank_lines();
        test_quotes();
        test_escapes();
        test_multiline();
        test_interpolation();
        test_inherited();
        test_errors();
        test_misc();
        test_file();

        stack_kvlist_free(&shell);
        return done_testing();
}
