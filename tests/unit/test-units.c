#include <errno.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/units.h"
#include "tests/unit/tap.h"

static int64_t dur(const char *s)
{
        int64_t v = -12345;
        if (units_parse_duration(s, &v) < 0)
                return -1;
        return v;
}

static void test_durations(void)
{
        is_int(dur("10s"), 10000000, "10s");
        is_int(dur("1m30s"), 90000000, "1m30s");
        is_int(dur("1.5h"), 5400000000LL, "1.5h");
        is_int(dur("500ms"), 500000, "500ms");
        is_int(dur("1us"), 1, "1us");
        is_int(dur("1\xc2\xb5s"), 1, "1µs (micro sign)");
        is_int(dur("2h45m"), 9900000000LL, "2h45m");
        is_int(dur(".5s"), 500000, ".5s");
        is_int(dur("0"), 0, "0 needs no unit");
        is_int(dur("1500ns"), 1, "nanoseconds truncate to microseconds");
        is_int(dur("10"), -1, "a plain number lacks its unit, as compose rejects it");
        is_int(dur("1d"), -1, "days are not a Go duration unit");
        is_int(dur("1S"), -1, "units are case-sensitive");
        is_int(dur(""), -1, "empty");
        is_int(dur("s"), -1, "unit without number");
        is_int(dur("1s 2s"), -1, "no blanks");
        int64_t v;
        is_int(units_parse_duration("9999999999h", &v), -ERANGE, "overflow is ERANGE");
        ok(units_parse_duration("-1s", &v) == 0 && v == -1000000, "sign is accepted by the grammar");
}

static void test_format_duration(void)
{
        static const struct {
                int64_t usec;
                const char *want;
        } cases[] = {
            {0, "0s"},           {1, "1\xc2\xb5s"},        {1500, "1.5ms"},
            {500000, "500ms"},   {1000000, "1s"},          {1500000, "1.5s"},
            {90000000, "1m30s"}, {3600000000LL, "1h0m0s"}, {5400000000LL, "1h30m0s"},
            {10000000, "10s"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = units_format_duration(cases[i].usec);
                is_str(s, cases[i].want, "format %lld us", (long long) cases[i].usec);
        }
        /* Round trip for what `stack config` prints. */
        _cleanup_free_ char *s = units_format_duration(dur("1h2m3.5s"));
        is_str(s, "1h2m3.5s", "round trip");
}

static int64_t bytes(const char *s)
{
        int64_t v = -12345;
        if (units_parse_bytes(s, &v) < 0)
                return -12345;
        return v;
}

static void test_bytes(void)
{
        is_int(bytes("1g"), 1073741824LL, "1g is binary");
        is_int(bytes("512m"), 536870912LL, "512m");
        is_int(bytes("1.5GB"), 1610612736LL, "1.5GB is binary too (go-units RAMInBytes)");
        is_int(bytes("100k"), 102400, "100k");
        is_int(bytes("2gib"), 2147483648LL, "2gib");
        is_int(bytes("64 MiB"), 67108864, "one blank before the unit");
        is_int(bytes("1024"), 1024, "plain integer is bytes");
        is_int(bytes("-1"), -1, "-1 (unlimited swap)");
        is_int(bytes("10b"), 10, "b suffix");
        is_int(bytes("1x"), -12345, "unknown unit");
        is_int(bytes("g"), -12345, "unit without number");
        is_int(bytes("1.g"), -12345, "dangling point");
        is_int(bytes("1 g "), -12345, "trailing blank");
        is_int(bytes(""), -12345, "empty");
}

static void test_bools(void)
{
        bool v = false, legacy = true;
        ok(units_parse_bool("true", &v, &legacy) == 0 && v && !legacy, "true");
        ok(units_parse_bool("FALSE", &v, &legacy) == 0 && !v && !legacy, "FALSE (any case)");
        ok(units_parse_bool("yes", &v, &legacy) == 0 && v && legacy, "yes with a YAML 1.1 warning");
        ok(units_parse_bool("Off", &v, &legacy) == 0 && !v && legacy, "Off");
        ok(units_parse_bool("y", &v, &legacy) == 0 && v && legacy, "y");
        ok(units_parse_bool("1", &v, NULL) == -EINVAL, "1 is not a boolean for compose");
        ok(units_parse_bool("enabled", &v, NULL) == -EINVAL, "enabled is not a boolean");
}

static void test_shell_split(void)
{
        char **l = NULL;
        const char *stop = NULL;
        ok(units_shell_split("echo  'hello world' \"a b\" c\\ d", &l, &stop) == 0, "split");
        if (l) {
                is_int(strv_length(l), 4, "four words");
                is_str(l[1], "hello world", "single quotes group");
                is_str(l[2], "a b", "double quotes group");
                is_str(l[3], "c d", "backslash escapes a blank");
        }
        ok(stop == NULL, "no operator");
        strv_free(l);
        ok(units_shell_split("sh -c 'a; b'", &l, &stop) == 0 && strv_length(l) == 3 && streq(l[2], "a; b"),
           "quoted operator is kept");
        strv_free(l);
        ok(units_shell_split("echo a && echo b", &l, &stop) == 0 && strv_length(l) == 2 && stop &&
               *stop == '&',
           "unquoted operator stops the command, as compose");
        strv_free(l);
        ok(units_shell_split("a \"\" b", &l, NULL) == 0 && strv_length(l) == 3 && streq(l[1], ""),
           "empty quotes are an empty word");
        strv_free(l);
        ok(units_shell_split("", &l, NULL) == 0 && l && !l[0], "empty line is an empty vector");
        strv_free(l);
        l = NULL;
        is_int(units_shell_split("echo 'oops", &l, NULL), -EINVAL, "unbalanced quote");
        ok(l == NULL, "nothing returned on error");
        ok(units_shell_split("a\\\\b 'c\\d'", &l, NULL) == 0 && streq(l[0], "a\\b") && streq(l[1], "c\\d"),
           "backslash kept inside single quotes");
        strv_free(l);
}

static void test_int(void)
{
        int64_t v;
        ok(units_parse_int("42", 0, 100, &v) == 0 && v == 42, "int");
        is_int(units_parse_int("101", 0, 100, &v), -ERANGE, "above max");
        is_int(units_parse_int("4x", 0, 100, &v), -EINVAL, "junk");
        is_int(units_parse_int(" 4", 0, 100, &v), -EINVAL, "leading blank");
}

int main(void)
{
        test_durations();
        test_format_duration();
        test_bytes();
        test_bools();
        test_shell_split();
        test_int();
        return done_testing();
}
