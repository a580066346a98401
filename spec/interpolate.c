/* Interpolation as compose does it, written as a small recursive-descent parser instead of compose-go's
 * regular expression, so that nesting (${A:-${B:-x}}) and braces inside defaults are handled by the
 * grammar and every malformed ${...} is found, whether or not its branch is used. */
#include <errno.h>
#include <stdbool.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/interpolate.h"

/* Deep nesting is never useful and would let a hostile file exhaust the stack. */
#define MAX_DEPTH 64

struct parser {
        struct interpolate_context *ctx;
        const char *in; /* the whole template, quoted in error messages */
        size_t pos;
        unsigned depth;
        struct node_mark mark;
        const char *path;
        struct stack_error *err;
};

static bool is_name_start(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || (c >= '0' && c <= '9');
}

static const char *kvlist_value(const struct stack_kvlist *l, const char *key)
{
        if (!l)
                return NULL;
        /* The last definition wins, as when a list was built by appending. */
        for (size_t i = l->n; i > 0; i--)
                if (streq(l->items[i - 1].key, key))
                        return l->items[i - 1].value;
        return NULL;
}

/* NULL when the variable is unset (a key without a value counts as unset). */
static const char *lookup(const struct interpolate_context *ctx, const char *name)
{
        const char *v = kvlist_value(ctx->env, name);
        return v ? v : kvlist_value(ctx->fallback, name);
}

static void warn_unset(struct parser *p, const char *name)
{
        if (strv_contains(p->ctx->warned, name))
                return;
        strv_push(&p->ctx->warned, name);
        spec_warning(p->mark, p->path, "The \"%s\" variable is not set. Defaulting to a blank string.",
                     name);
}

static int invalid(struct parser *p)
{
        return spec_error(
            p->err, p->mark, p->path,
            "invalid interpolation format for \"%s\": you may need to escape any $ with another $", p->in);
}

static int parse_text(struct parser *p, bool nested, bool eval, struct strbuf *out);

/* $NAME: p->pos is on the first character of the name. */
static void parse_plain(struct parser *p, bool eval, struct strbuf *out)
{
        size_t start = p->pos;
        while (is_name_char(p->in[p->pos]))
                p->pos++;
        if (!eval)
                return;
        _cleanup_free_ char *name = xstrndup(p->in + start, p->pos - start);
        const char *v = lookup(p->ctx, name);
        if (v)
                strbuf_puts(out, v);
        else
                warn_unset(p, name);
}

/* ${...}: p->pos is just after the brace. */
static int parse_braced(struct parser *p, bool eval, struct strbuf *out)
{
        if (!is_name_start(p->in[p->pos]))
                return invalid(p);
        size_t start = p->pos;
        while (is_name_char(p->in[p->pos]))
                p->pos++;
        _cleanup_free_ char *name = xstrndup(p->in + start, p->pos - start);

        if (p->in[p->pos] == '}') {
                p->pos++;
                if (eval) {
                        const char *v = lookup(p->ctx, name);
                        if (v)
                                strbuf_puts(out, v);
                        else
                                warn_unset(p, name);
                }
                return 0;
        }

        bool colon = p->in[p->pos] == ':';
        if (colon)
                p->pos++;
        char op = p->in[p->pos];
        if (op != '-' && op != '+' && op != '?')
                return invalid(p);
        p->pos++;

        /* Operators never warn: asking for a default or a check is knowing the variable may be unset. */
        const char *v = eval ? lookup(p->ctx, name) : NULL;
        bool set = v != NULL;
        bool usable = set && (!colon || *v);
        bool use_word;
        switch (op) {
        case '-':
                use_word = !usable;
                break;
        case '+':
                use_word = usable;
                break;
        default: /* '?' */
                use_word = !usable;
                break;
        }
        use_word = use_word && eval;

        /* The word is always parsed, so a malformed expression in an unused branch is still an error;
         * it is evaluated (lookups, warnings, :? errors) only when its value is needed. */
        struct strbuf word = {0};
        int r = parse_text(p, true, use_word, &word);
        if (r < 0) {
                strbuf_free(&word);
                return r;
        }
        if (p->in[p->pos] != '}') {
                strbuf_free(&word);
                return invalid(p);
        }
        p->pos++;
        _cleanup_free_ char *w = strbuf_take(&word);

        if (!eval)
                return 0;
        switch (op) {
        case '-':
                strbuf_puts(out, use_word ? w : v);
                break;
        case '+':
                if (use_word)
                        strbuf_puts(out, w);
                else if (v)
                        strbuf_puts(out, v); /* set but empty with ':+': stays empty */
                break;
        default:
                if (use_word) {
                        if (*w)
                                return spec_error(p->err, p->mark, p->path,
                                                  "required variable %s is missing a value: %s", name, w);
                        return spec_error(p->err, p->mark, p->path,
                                          "required variable %s is missing a value", name);
                }
                strbuf_puts(out, v);
                break;
        }
        return 0;
}

/* Copies text to out, expanding what follows each '$'. Nested text (a default, alternative or message)
 * stops at the '}' that balances the enclosing ${, leaving it for the caller; plain braces inside it
 * pair up, so ${A:-{x}} yields "{x}". */
static int parse_text(struct parser *p, bool nested, bool eval, struct strbuf *out)
{
        if (++p->depth > MAX_DEPTH)
                return spec_error(p->err, p->mark, p->path, "interpolation nested too deeply in \"%s\"",
                                  p->in);
        unsigned braces = 0;
        for (;;) {
                char c = p->in[p->pos];
                if (c == '\0')
                        break;
                if (nested && c == '}') {
                        if (braces == 0)
                                break;
                        braces--;
                } else if (nested && c == '{') {
                        braces++;
                } else if (c == '$') {
                        char n = p->in[p->pos + 1];
                        if (n == '$') {
                                if (eval)
                                        strbuf_putc(out, '$');
                                p->pos += 2;
                                continue;
                        }
                        if (n == '{') {
                                p->pos += 2;
                                int r = parse_braced(p, eval, out);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (is_name_start(n)) {
                                p->pos++;
                                parse_plain(p, eval, out);
                                continue;
                        }
                        /* A lone '$' ("costs 5$", "^re$") is kept as written. */
                }
                if (eval)
                        strbuf_putc(out, c);
                p->pos++;
        }
        p->depth--;
        return 0;
}

int interpolate_string_ctx(struct interpolate_context *ctx, const char *in, struct node_mark mark,
                           const char *path, char **ret, struct stack_error *err)
{
        if (!strchr(in, '$')) {
                *ret = xstrdup(in);
                return 0;
        }
        struct parser p = {
            .ctx = ctx,
            .in = in,
            .mark = mark,
            .path = path,
            .err = err,
        };
        struct strbuf out = {0};
        int r = parse_text(&p, false, true, &out);
        if (r < 0) {
                strbuf_free(&out);
                return r;
        }
        *ret = strbuf_take(&out);
        return 0;
}

void interpolate_context_done(struct interpolate_context *ctx)
{
        strv_free(ctx->warned);
        ctx->warned = NULL;
}

int interpolate_string(const char *in, const struct stack_kvlist *env, struct node_mark mark,
                       const char *path, char **ret, struct stack_error *err)
{
        struct interpolate_context ctx = {.env = env};
        int r = interpolate_string_ctx(&ctx, in, mark, path, ret, err);
        interpolate_context_done(&ctx);
        return r;
}

static int walk(struct interpolate_context *ctx, struct node *n, const char *path, struct stack_error *err)
{
        switch (n->kind) {
        case NODE_NULL:
                return 0;
        case NODE_SCALAR: {
                if (!n->scalar)
                        return 0;
                char *v;
                int r = interpolate_string_ctx(ctx, n->scalar, n->mark, path, &v, err);
                if (r < 0)
                        return r;
                free(n->scalar);
                n->scalar = v;
                return 0;
        }
        case NODE_SEQUENCE:
                for (size_t i = 0; i < n->n_items; i++) {
                        _cleanup_free_ char *sub = node_path_index(path, i);
                        int r = walk(ctx, n->items[i], sub, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        case NODE_MAPPING:
                for (size_t i = 0; i < n->n_pairs; i++) {
                        _cleanup_free_ char *sub = node_path_key(path, n->pairs[i].key);
                        int r = walk(ctx, n->pairs[i].value, sub, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        return 0;
}

int interpolate_node_ctx(struct interpolate_context *ctx, struct node *root, struct stack_error *err)
{
        return root ? walk(ctx, root, "", err) : 0;
}

int interpolate_node(struct node *root, const struct stack_kvlist *env, struct stack_error *err)
{
        struct interpolate_context ctx = {.env = env};
        int r = interpolate_node_ctx(&ctx, root, err);
        interpolate_context_done(&ctx);
        return r;
}
