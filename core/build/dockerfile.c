/* The Dockerfile parser and BuildKit's word processing (see dockerfile.h). */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/build/dockerfile.h"

static const char *const kind_names[] = {
    [DF_FROM] = "FROM",
    [DF_RUN] = "RUN",
    [DF_COPY] = "COPY",
    [DF_ADD] = "ADD",
    [DF_ENV] = "ENV",
    [DF_ARG] = "ARG",
    [DF_LABEL] = "LABEL",
    [DF_WORKDIR] = "WORKDIR",
    [DF_USER] = "USER",
    [DF_EXPOSE] = "EXPOSE",
    [DF_VOLUME] = "VOLUME",
    [DF_CMD] = "CMD",
    [DF_ENTRYPOINT] = "ENTRYPOINT",
    [DF_HEALTHCHECK] = "HEALTHCHECK",
    [DF_SHELL] = "SHELL",
    [DF_STOPSIGNAL] = "STOPSIGNAL",
    [DF_ONBUILD] = "ONBUILD",
    [DF_MAINTAINER] = "MAINTAINER",
};

/* The --flags each instruction takes. */
static const char *const *allowed_flags(enum df_kind k)
{
        static const char *const from[] = {"platform", NULL};
        static const char *const run[] = {"mount", "network", "security", NULL};
        static const char *const copy[] = {"from", "chown", "chmod", "link", "parents", "exclude", NULL};
        static const char *const add[] = {"chown",        "chmod",   "link", "checksum",
                                          "keep-git-dir", "exclude", NULL};
        static const char *const health[] = {"interval",       "timeout", "start-period",
                                             "start-interval", "retries", NULL};
        static const char *const none[] = {NULL};
        switch (k) {
        case DF_FROM:
                return from;
        case DF_RUN:
                return run;
        case DF_COPY:
                return copy;
        case DF_ADD:
                return add;
        case DF_HEALTHCHECK:
                return health;
        default:
                return none;
        }
}

const char *df_kind_name(enum df_kind k)
{
        return kind_names[k];
}

static int kind_from_name(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(kind_names); i++)
                if (strcasecmp(s, kind_names[i]) == 0)
                        return (int) i;
        return -1;
}

static void instruction_done(struct df_instruction *in)
{
        free(in->text);
        stack_kvlist_free(&in->flags);
        strv_free(in->argv);
        free(in->rest);
        for (size_t i = 0; i < in->n_heredocs; i++) {
                free(in->heredocs[i].name);
                free(in->heredocs[i].content);
        }
        free(in->heredocs);
        if (in->trigger) {
                instruction_done(in->trigger);
                free(in->trigger);
        }
}

void dockerfile_free(struct dockerfile *df)
{
        for (size_t i = 0; i < df->n_meta_args; i++)
                instruction_done(&df->meta_args[i]);
        free(df->meta_args);
        for (size_t i = 0; i < df->n_stages; i++) {
                struct df_stage *s = &df->stages[i];
                free(s->name);
                free(s->base);
                free(s->platform);
                for (size_t j = 0; j < s->n_instructions; j++)
                        instruction_done(&s->instructions[j]);
                free(s->instructions);
        }
        free(df->stages);
        free(df->filename);
        free(df);
}

int dockerfile_find_stage(const struct dockerfile *df, const char *name)
{
        for (size_t i = 0; i < df->n_stages; i++)
                if (df->stages[i].name && strcasecmp(df->stages[i].name, name) == 0)
                        return (int) i;
        char *end;
        long n = strtol(name, &end, 10);
        if (*name && !*end && n >= 0 && (size_t) n < df->n_stages)
                return (int) n;
        return -1;
}

/* ---- lines ---- */

struct lines {
        char **l;
        size_t n, i;
};

static void split_lines(const char *text, struct lines *ret)
{
        *ret = (struct lines){0};
        size_t cap = 0;
        const char *p = text;
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                size_t keep = len;
                if (keep && p[keep - 1] == '\r')
                        keep--;
                GROW(ret->l, cap, ret->n + 1);
                ret->l[ret->n++] = xstrndup(p, keep);
                p += len + (nl ? 1 : 0);
        }
}

static void lines_done(struct lines *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->l[i]);
        free(l->l);
}

static const char *skip_blank(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

static bool is_comment_or_blank(const char *line)
{
        const char *s = skip_blank(line);
        return !*s || *s == '#';
}

static void rstrip(char *s)
{
        size_t n = strlen(s);
        while (n && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
}

static int located(struct stack_error *err, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int located(struct stack_error *err, const char *file, unsigned line, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        return stack_error_set(err, EINVAL, "%s:%u:1: %s", file, line, msg);
}

/* Parser directives: `# name=value` lines before anything else. Only known names count; the first other
 * line ends them (an unknown directive is an ordinary comment). */
static int parse_directives(struct lines *l, struct dockerfile *df, struct stack_error *err)
{
        df->escape = '\\';
        for (; l->i < l->n; l->i++) {
                const char *s = skip_blank(l->l[l->i]);
                if (*s != '#')
                        return 0;
                s = skip_blank(s + 1);
                const char *eq = strchr(s, '=');
                if (!eq)
                        return 0;
                _cleanup_free_ char *name = xstrndup(s, (size_t) (eq - s));
                rstrip(name);
                for (char *q = name; *q; q++)
                        *q = (char) tolower((unsigned char) *q);
                _cleanup_free_ char *value = xstrdup(skip_blank(eq + 1));
                rstrip(value);
                if (streq(name, "escape")) {
                        if (!streq(value, "\\") && !streq(value, "`"))
                                return located(err, df->filename, (unsigned) l->i + 1,
                                               "invalid escape token \"%s\" (expected \\ or `)", value);
                        df->escape = value[0];
                } else if (!streq(name, "syntax") && !streq(name, "check"))
                        return 0;
        }
        return 0;
}

/* Joins continuation lines into one logical line; comment and empty lines inside it are skipped, as
 * BuildKit does. Returns NULL at the end of the file. */
static char *next_logical(struct lines *l, char escape, unsigned *ret_line)
{
        while (l->i < l->n && is_comment_or_blank(l->l[l->i]))
                l->i++;
        if (l->i >= l->n)
                return NULL;
        *ret_line = (unsigned) l->i + 1;
        struct strbuf b = {0};
        for (bool first = true; l->i < l->n; first = false) {
                const char *raw = l->l[l->i++];
                if (!first && is_comment_or_blank(raw))
                        continue;
                _cleanup_free_ char *line = xstrdup(raw);
                rstrip(line);
                size_t n = strlen(line);
                bool cont = n && line[n - 1] == escape;
                if (cont)
                        line[n - 1] = '\0';
                strbuf_puts(&b, first ? skip_blank(line) : line);
                if (!cont)
                        break;
        }
        return strbuf_take(&b);
}

/* ---- heredocs ---- */

/* Finds "<<[-]WORD" / "<<[-]'WORD'" / "<<[-]\"WORD\"" tokens in rest, in order. */
static void find_heredocs(const char *rest, struct df_instruction *in)
{
        for (const char *p = rest; (p = strstr(p, "<<"));) {
                if (p > rest && !isspace((unsigned char) p[-1])) {
                        p += 2;
                        continue;
                }
                const char *q = p + 2;
                bool chomp = *q == '-';
                if (chomp)
                        q++;
                char quote = (*q == '\'' || *q == '"') ? *q : 0;
                if (quote)
                        q++;
                const char *start = q;
                while (*q && (isalnum((unsigned char) *q) || *q == '_'))
                        q++;
                if (q == start || (quote && *q != quote)) {
                        p = q;
                        continue;
                }
                in->heredocs = xrealloc(in->heredocs, (in->n_heredocs + 1) * sizeof(*in->heredocs));
                in->heredocs[in->n_heredocs++] = (struct df_heredoc){
                    .name = xstrndup(start, (size_t) (q - start)), .expand = !quote, .chomp = chomp};
                p = quote ? q + 1 : q;
        }
}

static int read_heredocs(struct lines *l, struct df_instruction *in, const char *file,
                         struct stack_error *err)
{
        for (size_t h = 0; h < in->n_heredocs; h++) {
                struct df_heredoc *d = &in->heredocs[h];
                struct strbuf b = {0};
                bool found = false;
                while (l->i < l->n) {
                        const char *line = l->l[l->i++];
                        if (d->chomp)
                                while (*line == '\t')
                                        line++;
                        if (streq(line, d->name)) {
                                found = true;
                                break;
                        }
                        strbuf_puts(&b, line);
                        strbuf_putc(&b, '\n');
                }
                d->content = strbuf_take(&b);
                if (!found)
                        return located(err, file, in->line, "heredoc <<%s is not terminated", d->name);
        }
        return 0;
}

/* ---- instructions ---- */

static bool takes_flags(enum df_kind k)
{
        return k == DF_FROM || k == DF_RUN || k == DF_COPY || k == DF_ADD || k == DF_HEALTHCHECK;
}

/* JSON arrays of strings are the exec form; anything else that starts with '[' is shell form, as for
 * docker. */
static bool parse_exec_form(const char *s, char ***ret)
{
        if (*s != '[')
                return false;
        _cleanup_json_ cJSON *j = cJSON_Parse(s);
        if (!cJSON_IsArray(j))
                return false;
        char **l = xcalloc(1, sizeof(char *));
        const cJSON *it;
        cJSON_ArrayForEach(it, j)
        {
                if (!cJSON_IsString(it)) {
                        strv_free(l);
                        return false;
                }
                strv_push(&l, it->valuestring);
        }
        *ret = l;
        return true;
}

static int parse_instruction(const char *logical, unsigned line, const char *file, bool in_onbuild,
                             struct df_instruction *in, struct stack_error *err);

static int parse_flags(const char **rest, struct df_instruction *in, const char *file,
                       struct stack_error *err)
{
        const char *p = *rest;
        while (startswith(p, "--")) {
                const char *end = p;
                while (*end && !isspace((unsigned char) *end))
                        end++;
                _cleanup_free_ char *tok = xstrndup(p + 2, (size_t) (end - p - 2));
                char *eq = strchr(tok, '=');
                if (eq)
                        *eq = '\0';
                if (!strv_contains((char **) allowed_flags(in->kind), tok))
                        return located(err, file, in->line, "unknown flag --%s for %s", tok,
                                       kind_names[in->kind]);
                stack_kvlist_add(&in->flags, tok, eq ? eq + 1 : NULL);
                p = skip_blank(end);
        }
        *rest = p;
        return 0;
}

static size_t count_words(const char *s)
{
        size_t n = 0;
        for (const char *p = skip_blank(s); *p; p = skip_blank(p)) {
                n++;
                while (*p && !isspace((unsigned char) *p))
                        p++;
        }
        return n;
}

static int check_arguments(struct df_instruction *in, const char *file, struct stack_error *err)
{
        const char *name = kind_names[in->kind];
        size_t words = in->exec_form ? strv_length(in->argv) : count_words(in->rest);
        bool empty = !in->exec_form && !*in->rest;
        switch (in->kind) {
        case DF_RUN:
        case DF_ENV:
        case DF_ARG:
        case DF_LABEL:
        case DF_EXPOSE:
        case DF_VOLUME:
        case DF_ONBUILD:
        case DF_MAINTAINER:
                if (empty || (in->exec_form && words == 0 && in->kind != DF_RUN))
                        return located(err, file, in->line, "%s requires at least one argument", name);
                break;
        case DF_CMD:
        case DF_ENTRYPOINT:
                if (empty)
                        return located(err, file, in->line, "%s requires at least one argument", name);
                break;
        case DF_COPY:
        case DF_ADD:
                if (words < 2)
                        return located(err, file, in->line,
                                       "%s requires at least two arguments, but got %zu", name, words);
                break;
        case DF_WORKDIR:
        case DF_USER:
        case DF_STOPSIGNAL:
                if (in->exec_form || words != 1)
                        return located(err, file, in->line, "%s requires exactly one argument", name);
                break;
        case DF_SHELL:
                if (!in->exec_form || words == 0)
                        return located(err, file, in->line, "SHELL requires the arguments as a JSON array");
                break;
        case DF_HEALTHCHECK: {
                if (in->exec_form || empty)
                        return located(err, file, in->line,
                                       "HEALTHCHECK requires NONE or CMD and a command");
                bool none = strncasecmp(in->rest, "NONE", 4) == 0 && !in->rest[4];
                bool cmd = strncasecmp(in->rest, "CMD", 3) == 0 && isspace((unsigned char) in->rest[3]);
                if (!none && !cmd)
                        return located(err, file, in->line,
                                       "HEALTHCHECK requires NONE or CMD and a command");
                if (none && in->flags.n)
                        return located(err, file, in->line, "HEALTHCHECK NONE takes no options");
                break;
        }
        case DF_FROM:
                break;
        }
        return 0;
}

static int parse_instruction(const char *logical, unsigned line, const char *file, bool in_onbuild,
                             struct df_instruction *in, struct stack_error *err)
{
        const char *p = logical;
        const char *end = p;
        while (*end && !isspace((unsigned char) *end))
                end++;
        _cleanup_free_ char *word = xstrndup(p, (size_t) (end - p));
        int k = kind_from_name(word);
        if (k < 0)
                return located(err, file, line, "unknown instruction \"%s\"", word);
        *in = (struct df_instruction){.kind = (enum df_kind) k, .line = line, .text = xstrdup(logical)};
        const char *rest = skip_blank(end);
        if (in_onbuild && (k == DF_ONBUILD || k == DF_FROM || k == DF_MAINTAINER))
                return located(err, file, line, "%s is not allowed as an ONBUILD trigger", kind_names[k]);
        if (takes_flags(in->kind)) {
                int r = parse_flags(&rest, in, file, err);
                if (r < 0)
                        return r;
        }
        if (k == DF_ONBUILD) {
                if (!*rest)
                        return located(err, file, line, "ONBUILD requires an instruction");
                in->trigger = xcalloc(1, sizeof(*in->trigger));
                int r = parse_instruction(rest, line, file, true, in->trigger, err);
                if (r < 0)
                        return r;
                in->rest = xstrdup(rest);
                return 0;
        }
        bool json_ok = k == DF_RUN || k == DF_CMD || k == DF_ENTRYPOINT || k == DF_SHELL || k == DF_COPY ||
                       k == DF_ADD || k == DF_VOLUME;
        if (json_ok && parse_exec_form(rest, &in->argv))
                in->exec_form = true;
        else
                in->rest = xstrdup(rest);
        if ((k == DF_RUN || k == DF_COPY || k == DF_ADD) && !in->exec_form)
                find_heredocs(rest, in);
        return check_arguments(in, file, err);
}

static bool valid_stage_name(const char *s)
{
        if (!isalpha((unsigned char) *s))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("-_.", *s))
                        return false;
        return true;
}

/* Splits on blanks, nothing else (variables are substituted later). */
static char **blank_split(const char *s)
{
        char **l = xcalloc(1, sizeof(char *));
        for (const char *p = skip_blank(s); *p; p = skip_blank(p)) {
                const char *e = p;
                while (*e && !isspace((unsigned char) *e))
                        e++;
                strv_consume(&l, xstrndup(p, (size_t) (e - p)));
                p = e;
        }
        return l;
}

static int parse_from(const struct df_instruction *in, const char *file, struct df_stage *st,
                      struct stack_error *err)
{
        _cleanup_strv_free_ char **words = blank_split(in->rest);
        size_t n = strv_length(words);
        if (n != 1 && !(n == 3 && strcasecmp(words[1], "AS") == 0))
                return located(err, file, in->line, "FROM requires an image and optionally AS and a name");
        *st = (struct df_stage){.base = xstrdup(words[0]), .line = in->line};
        const struct stack_kv *pl = stack_kvlist_get(&in->flags, "platform");
        if (pl && pl->value)
                st->platform = xstrdup(pl->value);
        if (n == 3) {
                st->name = xstrdup(words[2]);
                for (char *q = st->name; *q; q++)
                        *q = (char) tolower((unsigned char) *q);
                if (!valid_stage_name(st->name))
                        return located(err, file, in->line, "invalid stage name \"%s\"", words[2]);
        }
        return 0;
}

static void add_instruction(struct df_instruction **arr, size_t *n, struct df_instruction *in)
{
        *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
        (*arr)[(*n)++] = *in;
        *in = (struct df_instruction){0};
}

int dockerfile_parse(const char *text, const char *filename, struct dockerfile **ret,
                     struct stack_error *err)
{
        _cleanup_dockerfile_ struct dockerfile *df = xcalloc(1, sizeof(*df));
        df->filename = xstrdup(filename);
        _cleanup_(lines_done) struct lines l;
        split_lines(text, &l);
        int r = parse_directives(&l, df, err);
        if (r < 0)
                return r;
        unsigned line;
        for (char *logical; (logical = next_logical(&l, df->escape, &line)); free(logical)) {
                _cleanup_(instruction_done) struct df_instruction in = {0};
                r = parse_instruction(logical, line, df->filename, false, &in, err);
                if (r < 0) {
                        free(logical);
                        return r;
                }
                r = read_heredocs(&l, &in, df->filename, err);
                if (r < 0) {
                        free(logical);
                        return r;
                }
                if (in.kind == DF_FROM) {
                        df->stages = xrealloc(df->stages, (df->n_stages + 1) * sizeof(*df->stages));
                        struct df_stage *st = &df->stages[df->n_stages++];
                        *st = (struct df_stage){0};
                        r = parse_from(&in, df->filename, st, err);
                        if (r < 0) {
                                free(logical);
                                return r;
                        }
                        for (size_t i = 0; st->name && i + 1 < df->n_stages; i++)
                                if (streq_ptr(df->stages[i].name, st->name)) {
                                        free(logical);
                                        return located(err, df->filename, line,
                                                       "duplicate stage name \"%s\"", st->name);
                                }
                } else if (!df->n_stages) {
                        if (in.kind != DF_ARG) {
                                free(logical);
                                return located(err, df->filename, line,
                                               "%s before the first FROM (only ARG may come first)",
                                               kind_names[in.kind]);
                        }
                        add_instruction(&df->meta_args, &df->n_meta_args, &in);
                } else {
                        struct df_stage *st = &df->stages[df->n_stages - 1];
                        add_instruction(&st->instructions, &st->n_instructions, &in);
                }
        }
        if (!df->n_stages)
                return stack_error_set(err, EINVAL, "%s: no FROM instruction (a Dockerfile needs a base)",
                                       filename);
        *ret = TAKE_PTR(df);
        return 0;
}

/* ---- word processing ---- */

struct words {
        char **l;
        struct strbuf cur;
        bool in_word;
        bool split;
};

static void words_finish(struct words *w)
{
        if (!w->in_word)
                return;
        strv_consume(&w->l, strbuf_take(&w->cur));
        w->in_word = false;
}

/* raw: quoted or escaped, never a separator. */
static void words_add(struct words *w, char c, bool raw)
{
        if (w->split && !raw && isspace((unsigned char) c)) {
                words_finish(w);
                return;
        }
        strbuf_putc(&w->cur, c);
        w->in_word = true;
}

static bool name_start(char c)
{
        return isalpha((unsigned char) c) || c == '_';
}

static bool name_char(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

static const char *lookup(const struct stack_kvlist *env, const char *name)
{
        const struct stack_kv *kv = env ? stack_kvlist_get(env, name) : NULL;
        return kv ? kv->value : NULL;
}

/* The end of a ${...} body starting at p: the matching '}', or NULL. */
static const char *matching_brace(const char *p, char escape)
{
        int depth = 1;
        for (; *p; p++) {
                if (*p == escape && p[1])
                        p++;
                else if (*p == '{')
                        depth++;
                else if (*p == '}' && --depth == 0)
                        return p;
        }
        return NULL;
}

/* Expands the variable reference at *p (just after '$'); appends its value to out. */
static int expand_dollar(const char **pp, char escape, const struct stack_kvlist *env, struct strbuf *out,
                         struct stack_error *err)
{
        const char *p = *pp;
        if (*p != '{') {
                if (!name_start(*p)) {
                        strbuf_putc(out, '$');
                        return 0;
                }
                const char *s = p;
                while (name_char(*p))
                        p++;
                _cleanup_free_ char *name = xstrndup(s, (size_t) (p - s));
                const char *v = lookup(env, name);
                if (v)
                        strbuf_puts(out, v);
                *pp = p;
                return 0;
        }
        const char *body = p + 1;
        const char *close = matching_brace(body, escape);
        if (!close)
                return stack_error_set(err, EINVAL, "missing '}' in \"${%s\"", body);
        const char *s = body;
        while (name_char(*s))
                s++;
        if (s == body || !name_start(*body))
                return stack_error_set(err, EINVAL, "bad substitution \"${%.*s}\"", (int) (close - body),
                                       body);
        _cleanup_free_ char *name = xstrndup(body, (size_t) (s - body));
        const char *v = lookup(env, name);
        *pp = close + 1;
        if (s == close) {
                if (v)
                        strbuf_puts(out, v);
                return 0;
        }
        bool colon = *s == ':';
        char op = colon ? s[1] : s[0];
        const char *word_start = s + (colon ? 2 : 1);
        if (!strchr("-+?", op) || word_start > close)
                return stack_error_set(err, EINVAL, "unsupported modifier in \"${%.*s}\"",
                                       (int) (close - body), body);
        _cleanup_free_ char *word_raw = xstrndup(word_start, (size_t) (close - word_start));
        _cleanup_free_ char *word = NULL;
        int r = df_word(word_raw, escape, env, &word, err);
        if (r < 0)
                return r;
        /* With ':', an empty value counts as unset. */
        bool set = v && (!colon || *v);
        switch (op) {
        case '-':
                strbuf_puts(out, set ? v : word);
                break;
        case '+':
                if (set)
                        strbuf_puts(out, word);
                break;
        default:
                if (!set)
                        return stack_error_set(err, EINVAL, "%s: %s", name,
                                               *word ? word : "parameter not set or null");
                strbuf_puts(out, v);
        }
        return 0;
}

static int process(const char *s, char escape, const struct stack_kvlist *env, bool split, char ***ret,
                   struct stack_error *err)
{
        struct words w = {.l = xcalloc(1, sizeof(char *)), .split = split};
        int r = 0;
        for (const char *p = s; *p && r >= 0;) {
                char c = *p++;
                if (c == '\'') {
                        w.in_word = true;
                        while (*p && *p != '\'')
                                words_add(&w, *p++, true);
                        if (!*p) {
                                r = stack_error_set(
                                    err, EINVAL,
                                    "unexpected end of statement while looking for matching single-quote");
                                break;
                        }
                        p++;
                } else if (c == '"') {
                        w.in_word = true;
                        while (*p && *p != '"' && r >= 0) {
                                if (*p == escape && p[1] && strchr("\"$", p[1]))
                                        p++, words_add(&w, *p++, true);
                                else if (*p == escape && p[1] == escape)
                                        p += 2, words_add(&w, escape, true);
                                else if (*p == '$') {
                                        p++;
                                        struct strbuf v = {0};
                                        r = expand_dollar(&p, escape, env, &v, err);
                                        for (size_t i = 0; i < v.len; i++)
                                                words_add(&w, v.buf[i], true);
                                        strbuf_free(&v);
                                } else
                                        words_add(&w, *p++, true);
                        }
                        if (r >= 0 && !*p) {
                                r = stack_error_set(
                                    err, EINVAL,
                                    "unexpected end of statement while looking for matching double-quote");
                                break;
                        }
                        p++;
                } else if (c == escape) {
                        if (*p)
                                words_add(&w, *p++, true);
                } else if (c == '$') {
                        struct strbuf v = {0};
                        r = expand_dollar(&p, escape, env, &v, err);
                        /* An unquoted value is split into words, as BuildKit does. */
                        for (size_t i = 0; i < v.len; i++)
                                words_add(&w, v.buf[i], false);
                        strbuf_free(&v);
                } else
                        words_add(&w, c, false);
        }
        if (r >= 0)
                words_finish(&w);
        strbuf_free(&w.cur);
        if (r < 0) {
                strv_free(w.l);
                return r;
        }
        *ret = w.l;
        return 0;
}

int df_words(const char *s, char escape, const struct stack_kvlist *env, char ***ret,
             struct stack_error *err)
{
        return process(s, escape, env, true, ret, err);
}

int df_word(const char *s, char escape, const struct stack_kvlist *env, char **ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **l = NULL;
        int r = process(s, escape, env, false, &l, err);
        if (r < 0)
                return r;
        *ret = l[0] ? xstrdup(l[0]) : xstrdup("");
        return 0;
}

char **df_referenced_vars(const char *s, char escape)
{
        char **l = xcalloc(1, sizeof(char *));
        bool single = false;
        for (const char *p = s; *p; p++) {
                if (*p == escape && p[1] && !single) {
                        p++;
                        continue;
                }
                if (*p == '\'') {
                        single = !single;
                        continue;
                }
                if (*p != '$' || single)
                        continue;
                const char *n = p + 1 + (p[1] == '{');
                const char *e = n;
                while (name_char(*e))
                        e++;
                if (e > n && name_start(*n)) {
                        _cleanup_free_ char *name = xstrndup(n, (size_t) (e - n));
                        if (!strv_contains(l, name))
                                strv_push(&l, name);
                }
        }
        return l;
}

int df_key_values(const struct df_instruction *in, char escape, const struct stack_kvlist *env,
                  struct stack_kvlist *ret, struct stack_error *err)
{
        const char *rest = in->rest ? in->rest : "";
        /* The old form "KEY value with spaces": the first word has no '='. */
        const char *first_end = rest;
        while (*first_end && !isspace((unsigned char) *first_end))
                first_end++;
        _cleanup_free_ char *first = xstrndup(rest, (size_t) (first_end - rest));
        if (in->kind != DF_ARG && !strchr(first, '=')) {
                _cleanup_free_ char *value = NULL;
                if (!*skip_blank(first_end))
                        return stack_error_set(err, EINVAL, "%s %s: a value is required (%s KEY=VALUE)",
                                               kind_names[in->kind], first, kind_names[in->kind]);
                int r = df_word(skip_blank(first_end), escape, env, &value, err);
                if (r < 0)
                        return r;
                stack_kvlist_add(ret, first, value);
                return 0;
        }
        _cleanup_strv_free_ char **words = NULL;
        int r = df_words(rest, escape, env, &words, err);
        if (r < 0)
                return r;
        STRV_FOREACH (w, words) {
                char *eq = strchr(*w, '=');
                if (!eq) {
                        if (in->kind != DF_ARG)
                                return stack_error_set(err, EINVAL, "%s: \"%s\" is not KEY=VALUE",
                                                       kind_names[in->kind], *w);
                        stack_kvlist_add(ret, *w, NULL);
                        continue;
                }
                *eq = '\0';
                if (!**w)
                        return stack_error_set(err, EINVAL, "%s: a key is required before '='",
                                               kind_names[in->kind]);
                stack_kvlist_add(ret, *w, eq + 1);
        }
        return 0;
}
