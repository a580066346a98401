/* Small helpers shared by every layer: allocation that cannot fail, string vectors, a growable buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Allocation failure is not recoverable for a command-line tool: these abort instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows an array *p of *cap elements of size `size` so that index `need` fits. */
void grow_array(void **p, size_t *cap, size_t need, size_t size);
#define GROW(arr, cap, need) grow_array((void **) &(arr), &(cap), (need), sizeof(*(arr)))

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
static inline bool isempty(const char *s)
{
        return !s || !*s;
}
/* Returns the rest of s after prefix, or NULL when s does not start with it. */
const char *startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);

/* NULL-terminated string vectors (strv_free is declared in cleanup.h). */
size_t strv_length(char *const *l);
char **strv_copy(char *const *l);
/* Appends a copy of s; *l may be NULL. */
void strv_push(char ***l, const char *s);
/* Takes ownership of s. */
void strv_consume(char ***l, char *s);
bool strv_contains(char *const *l, const char *s);
char *strv_join(char *const *l, const char *sep);
char **strv_split(const char *s, const char *sep);

/* A growable NUL-terminated byte buffer. */
struct strbuf {
        char *buf;
        size_t len, cap;
};
void strbuf_add(struct strbuf *b, const void *data, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the string (never NULL) and leaves the buffer empty. */
char *strbuf_take(struct strbuf *b);
void strbuf_free(struct strbuf *b);

/* Monotonic and wall clocks in microseconds. */
uint64_t now_usec(void);
uint64_t realtime_usec(void);
