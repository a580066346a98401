#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"

static void oom(void)
{
        fputs("stack: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s ? s : "");
        if (!p)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);
        if (!p)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        char *s;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        return s;
}

void grow_array(void **p, size_t *cap, size_t need, size_t size)
{
        if (need < *cap)
                return;
        size_t n = *cap ? *cap * 2 : 8;
        while (n <= need)
                n *= 2;
        *p = xrealloc(*p, n * size);
        memset((char *) *p + *cap * size, 0, (n - *cap) * size);
        *cap = n;
}

const char *startswith(const char *s, const char *prefix)
{
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

bool endswith(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

void strv_free(char **l)
{
        STRV_FOREACH (s, l)
                free(*s);
        free(l);
}

size_t strv_length(char *const *l)
{
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

char **strv_copy(char *const *l)
{
        size_t n = strv_length(l);
        char **r = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(l[i]);
        return r;
}

void strv_consume(char ***l, char *s)
{
        size_t n = strv_length(*l);
        *l = xrealloc(*l, (n + 2) * sizeof(char *));
        (*l)[n] = s;
        (*l)[n + 1] = NULL;
}

void strv_push(char ***l, const char *s)
{
        strv_consume(l, xstrdup(s));
}

bool strv_contains(char *const *l, const char *s)
{
        STRV_FOREACH (i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

char *strv_join(char *const *l, const char *sep)
{
        struct strbuf b = {0};
        STRV_FOREACH (s, l) {
                if (s != l)
                        strbuf_puts(&b, sep);
                strbuf_puts(&b, *s);
        }
        return strbuf_take(&b);
}

char **strv_split(const char *s, const char *sep)
{
        char **r = xcalloc(1, sizeof(char *));
        size_t n = strlen(sep);
        for (;;) {
                const char *e = n ? strstr(s, sep) : NULL;
                if (!e) {
                        strv_push(&r, s);
                        return r;
                }
                strv_consume(&r, xstrndup(s, e - s));
                s = e + n;
        }
}

void strbuf_add(struct strbuf *b, const void *data, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                while (cap < b->len + n + 1)
                        cap *= 2;
                b->buf = xrealloc(b->buf, cap);
                b->cap = cap;
        }
        memcpy(b->buf + b->len, data, n);
        b->len += n;
        b->buf[b->len] = 0;
}

void strbuf_puts(struct strbuf *b, const char *s)
{
        strbuf_add(b, s, strlen(s));
}

void strbuf_putc(struct strbuf *b, char c)
{
        strbuf_add(b, &c, 1);
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
        char *s;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        strbuf_add(b, s, r);
        free(s);
}

char *strbuf_take(struct strbuf *b)
{
        char *s = b->buf ? b->buf : xstrdup("");
        b->buf = NULL;
        b->len = b->cap = 0;
        return s;
}

void strbuf_free(struct strbuf *b)
{
        free(b->buf);
        b->buf = NULL;
        b->len = b->cap = 0;
}

static uint64_t clock_usec(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t now_usec(void)
{
        return clock_usec(CLOCK_MONOTONIC);
}

uint64_t realtime_usec(void)
{
        return clock_usec(CLOCK_REALTIME);
}
