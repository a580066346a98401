#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/interpolate.h"
#include "tests/unit/capture.h"
#include "tests/unit/tap.h"

static struct stack_kvlist env;
static struct node_mark mark;

/* Interpolates s; returns the result, or "ERROR: <message>". Warnings land in *ret_warnings if given. */
static char *run(const char *s, char **ret_warnings)
{
        struct capture c;
        capture_start(&c);
        char *out = NULL;
        _cleanup_error_ struct stack_error err = {0};
        int r = interpolate_string(s, &env, mark, "services.web.image", &out, &err);
        _cleanup_free_ char *w = capture_end(&c);
        if (ret_warnings)
                *ret_warnings = TAKE_PTR(w);
        if (r < 0)
                return xasprintf("ERROR: %s", err.msg);
        return out;
}

static void expect(const char *in, const char *want)
{
        _cleanup_free_ char *got = run(in, NULL);
        is_str(got, want, "%s", in);
}

static void expect_error(const char *in, const char *want)
{
        _cleanup_free_ char *got = run(in, NULL);
        contains(got, want, "error for %s", in);
}

static void test_plain(void)
{
        expect("foo", "foo");
        expect("", "");
        expect("$FOO", "first");
        expect("${FOO}", "first");
        expect("This $FOO var", "This first var");
        expect("$FOO-bar", "first-bar");
        expect("${FOO}_${FOO}", "first_first");
        expect("$lower", "lowercase");
        expect("${_under}", "score");
        expect("${JSON}", "{\"json\":2}");
}

static void test_dollar(void)
{
        expect("$$", "$");
        expect("$${FOO}", "${FOO}");
        expect("$$FOO", "$FOO");
        expect("$$$FOO", "$first");
        expect("$$$$", "$$");
        /* A dollar that starts nothing is kept as written. */
        expect("a $ string", "a $ string");
        expect("^REGEX$", "^REGEX$");
        expect("$}", "$}");
        expect("$", "$");
        expect("$1", "$1");
        expect("costs 5$.", "costs 5$.");
        expect("$-x", "$-x");
}

static void test_unset(void)
{
        _cleanup_free_ char *w = NULL;
        _cleanup_free_ char *got = run("This ${missing} var", &w);
        is_str(got, "This  var", "unset variable becomes empty");
        contains(w, "The \"missing\" variable is not set. Defaulting to a blank string.",
                 "unset variable warns");
        contains(w, "compose.yaml:3:7: services.web.image: ", "warning is located");

        _cleanup_free_ char *w2 = NULL;
        _cleanup_free_ char *got2 = run("This ${BAR} var $BAR", &w2);
        is_str(got2, "This  var ", "empty variable");
        is_str(w2, "", "an empty but set variable does not warn");

        _cleanup_free_ char *w3 = NULL;
        _cleanup_free_ char *got3 = run("$NOVALUE", &w3);
        is_str(got3, "", "a key listed without a value is unset");
        contains(w3, "\"NOVALUE\" variable is not set", "and warns");

        _cleanup_free_ char *w4 = NULL;
        _cleanup_free_ char *got4 = run("$FOO_x ${missing} $missing", &w4);
        is_str(got4, "  ", "names are read greedily ($FOO_x is not $FOO)");
        is_int(count_substr(w4, "\"missing\" variable"), 1, "each unset variable warns once per string");
        is_int(count_substr(w4, "\"FOO_x\" variable"), 1, "FOO_x warns");
}

static void test_defaults(void)
{
        expect("ok ${missing:-def}", "ok def");
        expect("ok ${missing-def}", "ok def");
        expect("ok ${BAR:-def}", "ok def");
        expect("ok ${BAR-def}", "ok ");
        expect("ok ${FOO:-def}", "ok first");
        expect("ok ${FOO-def}", "ok first");
        expect("${missing:-}", "");
        expect("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric");
        expect("${missing:-a b  c}", "a b  c");
        expect("${missing:-x?y+z}", "x?y+z");
        expect("${missing:-$$}", "$");
        /* Text around an expression does not change its meaning. */
        expect(":-ok ${BAR-defaultValue}", ":-ok ");
        expect(":?ok ${BAR:-defaultValue}", ":?ok defaultValue");
        expect("+ok ${missing:-${BAR-defaultValue}}", "+ok ");
        expect("?ok ${BAR:-defaultValue}", "?ok defaultValue");

        _cleanup_free_ char *w = NULL;
        _cleanup_free_ char *got = run("${missing:-x}${missing-y}", &w);
        is_str(got, "xy", "defaults used");
        is_str(w, "", "an expression with a default never warns");
}

static void test_alternatives(void)
{
        expect("ok ${missing:+presence}", "ok ");
        expect("ok ${missing+presence}", "ok ");
        expect("ok ${FOO:+presence}", "ok presence");
        expect("ok ${FOO+presence}", "ok presence");
        expect("ok ${BAR+presence}", "ok presence");
        expect("ok ${BAR:+presence}", "ok ");
        expect("${FOO:+--flag=$FOO}", "--flag=first");
}

static void test_nested(void)
{
        expect("ok ${missing-$FOO}", "ok first");
        expect("ok ${missing-${FOO}}", "ok first");
        expect("ok ${missing-${FOO} ${FOO}}", "ok first first");
        expect("ok ${BAR:-${FOO} ${FOO}}", "ok first first");
        expect("ok ${BAR+$FOO ${FOO:+second}}", "ok first second");
        expect("${A:-${B:-x}}", "x");
        expect("${A:-${B:-${FOO}}}", "first");
        expect("${A:-${FOO:-x}}y", "firsty");
        /* Braces that do not open an expression pair up inside a default. */
        expect("${missing:-{x}}", "{x}");
        expect("${missing:-a}b}", "ab}");
        expect("${missing:-{a{b}c}}", "{a{b}c}");

        _cleanup_free_ char *w = NULL;
        _cleanup_free_ char *got = run("${A:+${A},}B ${FOO:-${NOPE}} ${FOO?${NOPE2}}", &w);
        is_str(got, "B first first", "unused branches");
        is_str(w, "", "an unused branch is not evaluated: no warning");

        _cleanup_free_ char *w2 = NULL;
        _cleanup_free_ char *got2 = run("${A:-${B}}", &w2);
        is_str(got2, "", "used branch with an unset variable");
        is_int(count_substr(w2, "variable is not set"), 1, "a used branch warns once");
        contains(w2, "\"B\" variable", "for the inner variable");

        _cleanup_free_ char *deep = NULL, *ok_deep = NULL;
        struct strbuf b = {0}, b2 = {0};
        for (int i = 0; i < 200; i++)
                strbuf_puts(&b, "${X:-");
        for (int i = 0; i < 200; i++)
                strbuf_putc(&b, '}');
        deep = strbuf_take(&b);
        _cleanup_free_ char *deep_result = run(deep, NULL);
        contains(deep_result, "nested too deeply", "200 nested expressions are refused");
        for (int i = 0; i < 20; i++)
                strbuf_puts(&b2, "${X:-");
        strbuf_puts(&b2, "end");
        for (int i = 0; i < 20; i++)
                strbuf_putc(&b2, '}');
        ok_deep = strbuf_take(&b2);
        _cleanup_free_ char *ok_result = run(ok_deep, NULL);
        is_str(ok_result, "end", "20 nested expressions are fine");
}

static void test_required(void)
{
        expect_error("not ok ${missing:?Mandatory Variable Unset}",
                     "compose.yaml:3:7: services.web.image: required variable missing is missing a value: "
                     "Mandatory Variable Unset");
        expect_error("not ok ${BAR:?Mandatory Variable Empty}",
                     "required variable BAR is missing a value: Mandatory Variable Empty");
        expect_error("not ok ${missing?unset}", "required variable missing is missing a value: unset");
        expect_error("not ok ${missing:?need ${FOO}}",
                     "required variable missing is missing a value: need first");
        _cleanup_free_ char *got = run("${missing:?}", NULL);
        ok(got && endswith(got, "required variable missing is missing a value"),
           "without a message the error ends with the variable (got %s)", got);
        expect("ok ${FOO:?err}", "ok first");
        expect("ok ${FOO?err}", "ok first");
        expect("ok ${BAR?err}", "ok ");
}

static void test_invalid(void)
{
        static const char *const bad[] = {
            "${",         "${}",        "${ }",        "${ foo}", "${foo }",       "${foo!}",
            "${FOO:-",    "${FOO:x}",   "${1A}",       "${FOO",   "x ${FOO:-${}}", "${FOO:-${BAR}",
            "${FOO/a/b}", "${FOO:-a${", "${missing:}", "${-FOO}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                expect_error(bad[i], "invalid interpolation format for");
        expect_error("${foo!}",
                     "compose.yaml:3:7: services.web.image: invalid interpolation format for \"${foo!}\"");
        /* Syntax is checked in branches that are not used, too. */
        expect_error("${FOO:-${BAR!}}", "invalid interpolation format");
}

static struct node *scalar(const char *s, unsigned line, unsigned col)
{
        return node_new_scalar(
            s, (struct node_mark){.file = node_intern("compose.yaml"), .line = line, .column = col});
}

static struct node *mapping(void)
{
        return node_new(NODE_MAPPING,
                        (struct node_mark){.file = node_intern("compose.yaml"), .line = 1, .column = 1});
}

static struct node *tree(const char *port2)
{
        struct node_mark m = {.file = node_intern("compose.yaml"), .line = 1, .column = 1};
        struct node *root = mapping();
        struct node *services = mapping();
        struct node *web = mapping();
        struct node *envmap = mapping();
        struct node *ports = node_new(NODE_SEQUENCE, m);
        node_set(root, "services", m, services);
        node_set(services, "web", m, web);
        node_set(web, "image", m, scalar("nginx:${FOO}", 4, 12));
        node_set(envmap, "$FOO", m, scalar("${missing}-${missing}", 6, 14));
        node_set(envmap, "PLAIN", m, scalar("$missing", 7, 14));
        struct node *q = scalar("${FOO}", 8, 14);
        q->quoted = true;
        node_set(envmap, "QUOTED", m, q);
        node_set(web, "environment", m, envmap);
        node_append(ports, scalar("80:80", 10, 9));
        node_append(ports, scalar(port2, 11, 9));
        node_set(web, "ports", m, ports);
        node_set(web, "nothing", m, node_new(NODE_NULL, m));
        node_set(root, "x-ext", m, scalar("$$FOO", 12, 8));
        return root;
}

static void test_node(void)
{
        _cleanup_node_ struct node *root = tree("${PORT:-8080}:80");
        _cleanup_error_ struct stack_error err = {0};
        struct capture c;
        capture_start(&c);
        int r = interpolate_node(root, &env, &err);
        _cleanup_free_ char *w = capture_end(&c);
        is_int(r, 0, "tree interpolated");
        struct node *web = node_get(node_get(root, "services"), "web");
        is_str(node_str(node_get(web, "image")), "nginx:first", "value interpolated");
        struct node *e = node_get(web, "environment");
        ok(node_get(e, "$FOO") != NULL, "mapping keys are never interpolated");
        is_str(node_str(node_get(e, "$FOO")), "-", "value under a $ key interpolated");
        is_str(node_str(node_get(e, "QUOTED")), "first", "quoted scalar interpolated");
        ok(node_get(e, "QUOTED")->quoted, "quoted flag kept");
        is_str(node_str(node_get(web, "ports")->items[1]), "8080:80", "sequence item interpolated");
        is_str(node_str(node_get(root, "x-ext")), "$FOO", "escaped dollar in an extension");
        is_int(count_substr(w, "The \"missing\" variable is not set"), 1,
               "one warning per variable per tree");
        contains(w, "compose.yaml:6:14: services.web.environment.$FOO: The \"missing\"",
                 "warning names the first place");

        _cleanup_node_ struct node *bad = tree("${PORT:?port needed}");
        _cleanup_error_ struct stack_error err2 = {0};
        capture_start(&c);
        r = interpolate_node(bad, &env, &err2);
        _cleanup_free_ char *w2 = capture_end(&c);
        ok(r < 0, "required variable in a sequence fails");
        is_str(err2.msg,
               "compose.yaml:11:9: services.web.ports[1]: required variable PORT is missing a value: port "
               "needed",
               "error names file, line, column and key path");

        _cleanup_node_ struct node *bad2 = tree("${PORT");
        _cleanup_error_ struct stack_error err3 = {0};
        capture_start(&c);
        r = interpolate_node(bad2, &env, &err3);
        _cleanup_free_ char *w3 = capture_end(&c);
        ok(r < 0, "malformed expression fails");
        contains(err3.msg,
                 "compose.yaml:11:9: services.web.ports[1]: invalid interpolation format for \"${PORT\"",
                 "malformed expression located");
}

static void test_context(void)
{
        struct stack_kvlist fallback = {0};
        stack_kvlist_set(&fallback, "FOO", "shadowed");
        stack_kvlist_set(&fallback, "LOCAL", "local");
        struct interpolate_context ctx = {.env = &env, .fallback = &fallback};
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_error_ struct stack_error err = {0};
        struct capture c;
        capture_start(&c);
        int r1 = interpolate_string_ctx(&ctx, "$FOO $LOCAL $gone", mark, "A", &a, &err);
        int r2 = interpolate_string_ctx(&ctx, "${gone}", mark, "B", &b, &err);
        _cleanup_free_ char *w = capture_end(&c);
        ok(r1 == 0 && r2 == 0, "context interpolation");
        is_str(a, "first local ", "env wins over the fallback, fallback fills gaps");
        is_int(count_substr(w, "\"gone\" variable is not set"), 1,
               "a shared context warns once per variable");
        interpolate_context_done(&ctx);
        stack_kvlist_free(&fallback);
}

int main(void)
{
        mark = (struct node_mark){.file = node_intern("compose.yaml"), .line = 3, .column = 7};
        stack_kvlist_set(&env, "FOO", "first");
        stack_kvlist_set(&env, "BAR", "");
        stack_kvlist_set(&env, "JSON", "{\"json\":2}");
        stack_kvlist_set(&env, "lower", "lowercase");
        stack_kvlist_set(&env, "_under", "score");
        stack_kvlist_add(&env, "NOVALUE", NULL);

        test_plain();
        test_dollar();
        test_unset();
        test_defaults();
        test_alternatives();
        test_nested();
        test_required();
        test_invalid();
        test_node();
        test_context();

        stack_kvlist_free(&env);
        return done_testing();
}
