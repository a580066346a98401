/* The .env format as docker compose reads it (compose-go's dotenv parser is the reference for what is
 * accepted): one assignment per statement, `export ` allowed, `KEY: value` accepted as well as `KEY=value`,
 * a bare `KEY` copies the variable from the environment when it is set there, `#` starts a comment at the
 * beginning of a statement or, in an unquoted value, after a blank. Single quotes are literal (except \'),
 * double quotes expand escapes, and both may span lines. Unquoted and double-quoted values are then
 * interpolated, the environment first and the keys defined above second.
 *
 * Where compose-go silently does something surprising we are stricter and say why: text after a closing
 * quote and an empty key are errors rather than extra assignments. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/dotenv.h"
#include "spec/interpolate.h"

struct parser {
        const char *s; /* NUL-terminated; the input has no NUL bytes of its own */
        size_t pos;
        unsigned line;
        size_t line_start; /* offset of the current line, for columns */
        const char *file;
        const struct stack_kvlist *env;
        struct interpolate_context ictx;
        struct stack_kvlist vars;
        struct stack_error *err;
};

/* Blanks within a line; '\r' included so CRLF files read like LF files. */
static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* compose accepts any Unicode letter in a name; bytes of multi-byte UTF-8 sequences stand for those. */
static bool is_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-' || c == '[' || c == ']' || (unsigned char) c >= 0x80;
}

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return stack_error_set(p->err, EINVAL, "%s:%u: %s", p->file, line, msg ? msg : "invalid .env file");
}

static void newline(struct parser *p)
{
        p->line++;
        p->line_start = p->pos + 1;
}

static void skip_blanks(struct parser *p)
{
        while (is_blank(p->s[p->pos]))
                p->pos++;
}

/* Skips blank lines and comment lines; returns false at the end of the input. */
static bool next_statement(struct parser *p)
{
        for (;;) {
                char c = p->s[p->pos];
                if (c == '\0')
                        return false;
                if (c == '\n') {
                        newline(p);
                        p->pos++;
                } else if (is_blank(c)) {
                        p->pos++;
                } else if (c == '#') {
                        while (p->s[p->pos] && p->s[p->pos] != '\n')
                                p->pos++;
                } else {
                        return true;
                }
        }
}

static char *rest_of_line(const struct parser *p, size_t from)
{
        size_t end = from;
        while (p->s[end] && p->s[end] != '\n' && p->s[end] != '\r')
                end++;
        return xstrndup(p->s + from, end - from);
}

/* Reads the key up to its separator; *ret_sep is '=', ':', or '\n' for a bare key (also at the end). */
static int parse_key(struct parser *p, char **ret_key, char *ret_sep)
{
        size_t stmt = p->pos;
        /* `export` is a prefix only when a blank follows; `exportFOO=1` and `export=1` name keys. */
        if (startswith(p->s + p->pos, "export") && (p->s[p->pos + 6] == ' ' || p->s[p->pos + 6] == '\t')) {
                size_t after = p->pos + 6;
                while (is_blank(p->s[after]))
                        after++;
                if (p->s[after] != '=' && p->s[after] != ':' && p->s[after] != '\n' && p->s[after] != '\0')
                        p->pos = after;
        }
        size_t start = p->pos;
        for (;;) {
                char c = p->s[p->pos];
                if (c == '=' || c == ':' || c == '\n' || c == '\0')
                        break;
                if (!is_blank(c) && !is_key_char(c)) {
                        _cleanup_free_ char *l = rest_of_line(p, stmt);
                        if ((unsigned char) c < 0x20 || c == 0x7f)
                                return fail(p, p->line, "unexpected byte 0x%02x in variable name \"%s\"",
                                            (unsigned char) c, l);
                        return fail(p, p->line, "unexpected character '%c' in variable name \"%s\"", c, l);
                }
                p->pos++;
        }
        size_t end = p->pos;
        while (end > start && is_blank(p->s[end - 1]))
                end--;
        _cleanup_free_ char *key = xstrndup(p->s + start, end - start);
        for (const char *k = key; *k; k++)
                if (is_blank(*k))
                        return fail(p, p->line, "variable name \"%s\" cannot contain a space", key);
        char sep = p->s[p->pos] == '\0' ? '\n' : p->s[p->pos];
        if (!*key)
                return fail(p, p->line, "missing variable name before '%c'", sep == '\n' ? '=' : sep);
        if (p->s[p->pos] == '\n')
                newline(p);
        if (p->s[p->pos])
                p->pos++;
        *ret_key = TAKE_PTR(key);
        *ret_sep = sep;
        return 0;
}

static void put_utf8(struct strbuf *b, unsigned v)
{
        if (v < 0x80) {
                strbuf_putc(b, (char) v);
        } else {
                strbuf_putc(b, (char) (0xc0 | (v >> 6)));
                strbuf_putc(b, (char) (0x80 | (v & 0x3f)));
        }
}

static bool is_octal(char c)
{
        return c >= '0' && c <= '7';
}

/* One backslash escape inside double quotes; p->pos is on the character after the backslash. Escapes the
 * shell's echo knows are expanded, `\$` is a literal dollar (written "$$" for interpolation), and anything
 * else keeps its backslash. */
static void double_quote_escape(struct parser *p, struct strbuf *b)
{
        static const char plain[] = "abfnrtv";
        static const char value[] = "\a\b\f\n\r\t\v";
        char c = p->s[p->pos];
        const char *k = c ? strchr(plain, c) : NULL;
        if (k) {
                strbuf_putc(b, value[k - plain]);
                p->pos++;
        } else if (c == '"' || c == '\\') {
                strbuf_putc(b, c);
                p->pos++;
        } else if (c == '$') {
                strbuf_puts(b, "$$");
                p->pos++;
        } else if (c == '0' && is_octal(p->s[p->pos + 1]) && is_octal(p->s[p->pos + 2]) &&
                   is_octal(p->s[p->pos + 3]) && p->s[p->pos + 1] <= '3') {
                /* XSI echo's \0nnn. A NUL cannot live in a variable, so \0000 stays as written. */
                unsigned v =
                    (p->s[p->pos + 1] - '0') * 64 + (p->s[p->pos + 2] - '0') * 8 + (p->s[p->pos + 3] - '0');
                if (v == 0) {
                        strbuf_putc(b, '\\');
                        return;
                }
                /* compose-go turns the value into a Unicode code point, so \0351 is "é", not a raw byte. */
                put_utf8(b, v);
                p->pos += 4;
        } else {
                strbuf_putc(b, '\\');
        }
}

/* A quoted value; p->pos is on the opening quote. *ret_interpolate says whether the result is a template. */
static int parse_quoted(struct parser *p, char **ret, bool *ret_interpolate)
{
        char quote = p->s[p->pos];
        unsigned start_line = p->line;
        struct strbuf b = {0};
        p->pos++;
        for (;;) {
                char c = p->s[p->pos];
                if (c == '\0') {
                        strbuf_free(&b);
                        return fail(p, start_line, "unterminated quoted value");
                }
                if (c == quote) {
                        p->pos++;
                        break;
                }
                if (c == '\n')
                        newline(p);
                if (c == '\\') {
                        p->pos++;
                        char n = p->s[p->pos];
                        if (quote == '"') {
                                double_quote_escape(p, &b);
                        } else if (n == '\'') {
                                strbuf_putc(&b, '\'');
                                p->pos++;
                        } else {
                                /* Literal: the backslash stays, and so does the character it pairs with,
                                 * so 'a\\' ends at its second quote. */
                                strbuf_putc(&b, '\\');
                                if (n == '\\') {
                                        strbuf_putc(&b, n);
                                        p->pos++;
                                }
                        }
                        continue;
                }
                strbuf_putc(&b, c);
                p->pos++;
        }

        /* After the closing quote only blanks and a comment may follow on the line. */
        skip_blanks(p);
        if (p->s[p->pos] == '#')
                while (p->s[p->pos] && p->s[p->pos] != '\n')
                        p->pos++;
        if (p->s[p->pos] != '\n' && p->s[p->pos] != '\0') {
                _cleanup_free_ char *l = rest_of_line(p, p->pos);
                strbuf_free(&b);
                return fail(p, p->line, "unexpected text after the closing quote: \"%s\"", l);
        }
        *ret = strbuf_take(&b);
        *ret_interpolate = quote == '"';
        return 0;
}

/* An unquoted value runs to the end of the line; " #" starts a comment, trailing blanks go. */
static char *parse_unquoted(struct parser *p)
{
        size_t start = p->pos, end = p->pos;
        while (p->s[end] && p->s[end] != '\n') {
                if (p->s[end] == '#' && end > start && (p->s[end - 1] == ' ' || p->s[end - 1] == '\t'))
                        break;
                end++;
        }
        p->pos = end;
        while (p->s[p->pos] && p->s[p->pos] != '\n')
                p->pos++;
        while (end > start && is_blank(p->s[end - 1]))
                end--;
        return xstrndup(p->s + start, end - start);
}

static int parse_statement(struct parser *p)
{
        unsigned line = p->line;
        _cleanup_free_ char *key = NULL;
        char sep;
        int r = parse_key(p, &key, &sep);
        if (r < 0)
                return r;

        if (sep == '\n') {
                /* A bare KEY passes the variable through from the environment, or nothing. */
                const struct stack_kv *kv = p->env ? stack_kvlist_get(p->env, key) : NULL;
                if (kv && kv->value && !(key[0] >= '0' && key[0] <= '9'))
                        stack_kvlist_set(&p->vars, key, kv->value);
                return 0;
        }

        skip_blanks(p);
        struct node_mark mark = {
            .file = node_intern(p->file),
            .line = p->line,
            .column = (unsigned) (p->pos - p->line_start + 1),
        };
        _cleanup_free_ char *raw = NULL;
        bool interpolate = true;
        if (p->s[p->pos] == '"' || p->s[p->pos] == '\'') {
                r = parse_quoted(p, &raw, &interpolate);
                if (r < 0)
                        return r;
        } else {
                raw = parse_unquoted(p);
        }

        _cleanup_free_ char *value = NULL;
        if (interpolate) {
                r = interpolate_string_ctx(&p->ictx, raw, mark, key, &value, p->err);
                if (r < 0)
                        return r;
        } else {
                value = TAKE_PTR(raw);
        }

        /* compose drops keys that start with a digit (no shell could name them); say so instead. */
        if (key[0] >= '0' && key[0] <= '9') {
                log_warning("%s:%u: ignoring \"%s\": a variable name cannot start with a digit", p->file,
                            line, key);
                return 0;
        }
        stack_kvlist_set(&p->vars, key, value);
        return 0;
}

int dotenv_parse(const char *data, size_t len, const char *filename, const struct stack_kvlist *env,
                 struct stack_kvlist *ret, struct stack_error *err)
{
        if (!filename)
                filename = ".env";
        const char *nul = memchr(data, '\0', len);
        if (nul) {
                unsigned line = 1;
                for (const char *c = data; c < nul; c++)
                        line += *c == '\n';
                return stack_error_set(err, EINVAL, "%s:%u: unexpected NUL byte", filename, line);
        }
        _cleanup_free_ char *s = xstrndup(data, len);
        struct parser p = {
            .s = s,
            .line = 1,
            .file = filename,
            .env = env,
            .err = err,
        };
        if (startswith(s, "\xef\xbb\xbf")) /* a UTF-8 byte order mark, as editors on Windows write */
                p.pos = p.line_start = 3;
        p.ictx.env = env;
        p.ictx.fallback = &p.vars;

        int r = 0;
        while (next_statement(&p)) {
                r = parse_statement(&p);
                if (r < 0)
                        break;
        }
        interpolate_context_done(&p.ictx);
        if (r < 0) {
                stack_kvlist_free(&p.vars);
                return r;
        }
        *ret = p.vars;
        return 0;
}

int dotenv_read_file(const char *path, unsigned flags, const struct stack_kvlist *env,
                     struct stack_kvlist *ret, struct stack_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_named_file(path, flags, &data, &len, err);
        if (r < 0)
                return r;
        return dotenv_parse(data, len, path, env, ret, err);
}
