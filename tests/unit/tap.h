/* A tiny TAP producer for unit tests, read by automake's tap-driver.sh. Each test file includes this once.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3))) static bool ok(bool cond, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
        if (!cond)
                tap_failed++;
        fflush(stdout);
        return cond;
}

#define is_str(got, want, ...)                                                                     \
        ({                                                                                         \
                const char *_g = (got), *_w = (want);                                              \
                bool _ok = (_g && _w) ? strcmp(_g, _w) == 0 : _g == _w;                            \
                if (!ok(_ok, __VA_ARGS__))                                                         \
                        printf("#   got:      \"%s\"\n#   expected: \"%s\"\n", _g ? _g : "(null)", \
                               _w ? _w : "(null)");                                                \
                _ok;                                                                               \
        })

#define is_int(got, want, ...)                                                      \
        ({                                                                          \
                long long _g = (long long) (got), _w = (long long) (want);          \
                bool _ok = _g == _w;                                                \
                if (!ok(_ok, __VA_ARGS__))                                          \
                        printf("#   got:      %lld\n#   expected: %lld\n", _g, _w); \
                _ok;                                                                \
        })

/* Checks that haystack contains needle (for error messages). */
#define contains(haystack, needle, ...)                                                   \
        ({                                                                                \
                const char *_h = (haystack), *_n = (needle);                              \
                bool _ok = _h && _n && strstr(_h, _n);                                    \
                if (!ok(_ok, __VA_ARGS__))                                                \
                        printf("#   got:      \"%s\"\n#   expected to contain: \"%s\"\n", \
                               _h ? _h : "(null)", _n ? _n : "(null)");                   \
                _ok;                                                                      \
        })

static inline void diag(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("# ", stdout);
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
}

/* Prints the plan at the end and returns the exit code for main(). */
static inline int done_testing(void)
{
        printf("1..%d\n", tap_count);
        return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
