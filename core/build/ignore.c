/* .dockerignore matching (see ignore.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/build/ignore.h"

struct pattern {
        char **parts; /* path elements */
        bool exception;
};

struct ignore {
        struct pattern *p;
        size_t n;
        bool exceptions;
};

void ignore_free(struct ignore *ig)
{
        if (!ig)
                return;
        for (size_t i = 0; i < ig->n; i++)
                strv_free(ig->p[i].parts);
        free(ig->p);
        free(ig);
}

static char **split_clean(const char *s)
{
        _cleanup_strv_free_ char **raw = strv_split(s, "/");
        char **out = xcalloc(1, sizeof(char *));
        STRV_FOREACH (x, raw) {
                if (!**x || streq(*x, "."))
                        continue;
                size_t n = strv_length(out);
                if (streq(*x, "..")) {
                        if (n) {
                                free(out[n - 1]);
                                out[n - 1] = NULL;
                        }
                        continue;
                }
                strv_push(&out, *x);
        }
        return out;
}

struct ignore *ignore_parse(const char *text)
{
        struct ignore *ig = xcalloc(1, sizeof(*ig));
        _cleanup_strv_free_ char **lines = strv_split(text, "\n");
        STRV_FOREACH (l, lines) {
                char *s = *l;
                size_t len = strlen(s);
                while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
                        s[--len] = '\0';
                while (*s == ' ' || *s == '\t')
                        s++;
                if (!*s || *s == '#')
                        continue;
                bool exc = *s == '!';
                if (exc)
                        s++;
                char **parts = split_clean(s);
                if (!parts[0]) {
                        strv_free(parts);
                        continue;
                }
                ig->p = xrealloc(ig->p, (ig->n + 1) * sizeof(*ig->p));
                ig->p[ig->n++] = (struct pattern){.parts = parts, .exception = exc};
                ig->exceptions |= exc;
        }
        return ig;
}

int ignore_load(const char *context, const char *dockerfile, struct ignore **ret, struct stack_error *err)
{
        _cleanup_free_ char *specific = dockerfile ? xasprintf("%s.dockerignore", dockerfile) : NULL;
        _cleanup_free_ char *general = path_join(context, ".dockerignore");
        const char *p = specific && path_exists(specific) ? specific : general;
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(p, &text, NULL, err);
        if (r == -ENOENT) {
                stack_error_clear(err);
                *ret = ignore_parse("");
                return 0;
        }
        if (r < 0)
                return r;
        *ret = ignore_parse(text);
        return 0;
}

/* Pattern elements against path elements; "**" takes any number of elements. */
static bool match_parts(char *const *pat, char *const *path)
{
        if (!*pat)
                return !*path;
        if (streq(*pat, "**")) {
                for (char *const *p = path;; p++) {
                        if (match_parts(pat + 1, p))
                                return true;
                        if (!*p)
                                return false;
                }
        }
        if (!*path)
                return false;
        if (fnmatch(*pat, *path, 0) != 0)
                return false;
        return match_parts(pat + 1, path + 1);
}

/* The pattern matches the path or one of its parents. */
static bool matches(const struct pattern *p, char **path)
{
        size_t n = strv_length(path);
        for (size_t k = n; k > 0; k--) {
                char *saved = path[k];
                path[k] = NULL;
                bool m = match_parts(p->parts, path);
                path[k] = saved;
                if (m)
                        return true;
        }
        return false;
}

bool ignore_match(const struct ignore *ig, const char *rel, bool is_dir)
{
        (void) is_dir;
        if (!ig || !ig->n)
                return false;
        _cleanup_strv_free_ char **path = split_clean(rel);
        if (!path[0])
                return false;
        bool excluded = false;
        for (size_t i = 0; i < ig->n; i++)
                if (matches(&ig->p[i], path))
                        excluded = !ig->p[i].exception;
        return excluded;
}

bool ignore_has_exceptions(const struct ignore *ig)
{
        return ig && ig->exceptions;
}
