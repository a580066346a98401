#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/units.h"

#define NSEC_PER_USEC 1000ULL
#define NSEC_MAX (1ULL << 63)

static const struct {
        const char *name;
        uint64_t nsec;
} duration_units[] = {
    {"ns", 1ULL},
    {"us", 1000ULL},
    {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ULL}, /* U+03BC greek mu */
    {"ms", 1000000ULL},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

int units_parse_duration(const char *s, int64_t *ret_usec)
{
        bool neg = false;
        uint64_t total = 0;

        if (!s)
                return -EINVAL;
        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (streq(s, "0")) {
                *ret_usec = 0;
                return 0;
        }
        if (!*s)
                return -EINVAL;
        while (*s) {
                uint64_t v = 0, f = 0;
                double scale = 1;
                bool pre = false, post = false, overflow = false;

                if (!(*s == '.' || isdigit((unsigned char) *s)))
                        return -EINVAL;
                for (; isdigit((unsigned char) *s); s++) {
                        if (v > (NSEC_MAX - 1) / 10)
                                return -ERANGE;
                        v = v * 10 + (uint64_t) (*s - '0');
                        if (v > NSEC_MAX)
                                return -ERANGE;
                        pre = true;
                }
                if (*s == '.') {
                        s++;
                        /* Digits past what fits only lose precision, as in Go. */
                        for (; isdigit((unsigned char) *s); s++) {
                                post = true;
                                if (overflow || f > (NSEC_MAX - 1) / 10) {
                                        overflow = true;
                                        continue;
                                }
                                f = f * 10 + (uint64_t) (*s - '0');
                                scale *= 10;
                        }
                }
                if (!pre && !post)
                        return -EINVAL;
                size_t ulen = 0;
                while (s[ulen] && s[ulen] != '.' && !isdigit((unsigned char) s[ulen]))
                        ulen++;
                if (ulen == 0)
                        return -EINVAL; /* missing unit */
                uint64_t unit = 0;
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                        if (strlen(duration_units[i].name) == ulen &&
                            strncmp(s, duration_units[i].name, ulen) == 0)
                                unit = duration_units[i].nsec;
                if (!unit)
                        return -EINVAL; /* unknown unit */
                s += ulen;
                if (v > NSEC_MAX / unit)
                        return -ERANGE;
                v *= unit;
                if (f > 0) {
                        v += (uint64_t) ((double) f * ((double) unit / scale));
                        if (v > NSEC_MAX)
                                return -ERANGE;
                }
                total += v;
                if (total > NSEC_MAX)
                        return -ERANGE;
        }
        if (!neg && total > NSEC_MAX - 1)
                return -ERANGE;
        int64_t usec = (int64_t) (total / NSEC_PER_USEC);
        *ret_usec = neg ? -usec : usec;
        return 0;
}

/* Appends v / 10^prec with its fraction, trailing zeros (and a bare point) dropped. */
static void format_fraction(struct strbuf *b, uint64_t v, int prec)
{
        uint64_t div = 1;
        for (int i = 0; i < prec; i++)
                div *= 10;
        uint64_t frac = v % div;
        strbuf_printf(b, "%llu", (unsigned long long) (v / div));
        if (frac == 0)
                return;
        char digits[32];
        snprintf(digits, sizeof(digits), "%0*llu", prec, (unsigned long long) frac);
        size_t n = strlen(digits);
        while (n > 0 && digits[n - 1] == '0')
                n--;
        strbuf_putc(b, '.');
        strbuf_add(b, digits, n);
}

char *units_format_duration(int64_t usec)
{
        struct strbuf b = {0};
        if (usec == 0)
                return xstrdup("0s");
        if (usec < 0)
                strbuf_putc(&b, '-');
        /* INT64_MIN microseconds still fits: the magnitude is taken in unsigned arithmetic. */
        uint64_t u = usec < 0 ? (uint64_t) 0 - (uint64_t) usec : (uint64_t) usec;
        if (u < 1000) {
                strbuf_printf(&b, "%llu\xc2\xb5s", (unsigned long long) u);
        } else if (u < 1000000) {
                format_fraction(&b, u, 3);
                strbuf_puts(&b, "ms");
        } else {
                uint64_t secs = u / 1000000, frac = u % 1000000;
                uint64_t h = secs / 3600, m = secs / 60 % 60, sec = secs % 60;
                if (h > 0)
                        strbuf_printf(&b, "%lluh", (unsigned long long) h);
                if (h > 0 || m > 0)
                        strbuf_printf(&b, "%llum", (unsigned long long) m);
                format_fraction(&b, sec * 1000000 + frac, 6);
                strbuf_putc(&b, 's');
        }
        return strbuf_take(&b);
}

int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
        if (isempty(s) || isspace((unsigned char) *s))
                return -EINVAL;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int units_parse_bytes(const char *s, int64_t *ret)
{
        int64_t v;
        if (units_parse_int(s, INT64_MIN, INT64_MAX, &v) == 0) {
                *ret = v;
                return 0;
        }
        /* go-units: ^(\d+(\.\d+)*) ?([kmgtp])?i?b?$, case-insensitive, binary multiples. */
        const char *p = s;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        while (isdigit((unsigned char) *p))
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        _cleanup_free_ char *num = xstrndup(s, (size_t) (p - s));
        if (*p == ' ')
                p++;
        double mul = 1;
        const char *prefixes = "kmgtp";
        const char *u = *p ? strchr(prefixes, tolower((unsigned char) *p)) : NULL;
        if (u) {
                for (const char *q = prefixes; q <= u; q++)
                        mul *= 1024;
                p++;
        }
        if (tolower((unsigned char) *p) == 'i')
                p++;
        if (tolower((unsigned char) *p) == 'b')
                p++;
        if (*p)
                return -EINVAL;
        double v2 = strtod(num, NULL) * mul;
        if (!isfinite(v2) || v2 >= 9223372036854775807.0)
                return -ERANGE;
        *ret = (int64_t) v2;
        return 0;
}

int units_parse_bool(const char *s, bool *ret, bool *ret_legacy)
{
        static const char *const yes[] = {"y", "yes", "on"}, *const no[] = {"n", "no", "off"};
        bool legacy = false, v;

        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "true") == 0)
                v = true;
        else if (strcasecmp(s, "false") == 0)
                v = false;
        else {
                int found = -1;
                for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                        if (strcasecmp(s, yes[i]) == 0)
                                found = 1;
                        if (strcasecmp(s, no[i]) == 0)
                                found = 0;
                }
                if (found < 0)
                        return -EINVAL;
                v = found;
                legacy = true;
        }
        *ret = v;
        if (ret_legacy)
                *ret_legacy = legacy;
        return 0;
}

int units_shell_split(const char *s, char ***ret, const char **ret_stop)
{
        _cleanup_strv_free_ char **args = NULL;
        struct strbuf buf = {0};
        bool escaped = false, squote = false, dquote = false, got = false;
        const char *stop = NULL;

        for (const char *p = s; *p; p++) {
                char c = *p;
                if (escaped) {
                        strbuf_putc(&buf, c);
                        escaped = false;
                        got = true;
                        continue;
                }
                if (c == '\\') {
                        if (squote)
                                strbuf_putc(&buf, c);
                        else
                                escaped = true;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        if (squote || dquote)
                                strbuf_putc(&buf, c);
                        else if (got) {
                                strv_consume(&args, strbuf_take(&buf));
                                got = false;
                        }
                        continue;
                }
                if (c == '"' && !squote) {
                        dquote = !dquote;
                        got = true; /* "" is an empty word */
                        continue;
                }
                if (c == '\'' && !dquote) {
                        squote = !squote;
                        got = true;
                        continue;
                }
                if (strchr(";&|<>", c) && !squote && !dquote) {
                        stop = p;
                        break;
                }
                strbuf_putc(&buf, c);
                got = true;
        }
        if (escaped || squote || dquote) {
                strbuf_free(&buf);
                return -EINVAL;
        }
        if (got)
                strv_consume(&args, strbuf_take(&buf));
        strbuf_free(&buf);
        if (!args)
                args = xcalloc(1, sizeof(char *));
        *ret = TAKE_PTR(args);
        if (ret_stop)
                *ret_stop = stop;
        return 0;
}
