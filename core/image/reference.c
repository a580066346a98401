#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/image/reference.h"
#include "core/base/util.h"

void reference_done(struct reference *r)
{
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        *r = (struct reference){0};
}

static bool is_alnum_lower(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ joined by ".", "_", "__" or "-"+ (docker's separator grammar). */
static bool path_component_valid(const char *s, size_t n)
{
        if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
                return false;
        for (size_t i = 0; i < n;) {
                if (is_alnum_lower(s[i])) {
                        i++;
                        continue;
                }
                size_t j = i;
                while (j < n && !is_alnum_lower(s[j]))
                        j++;
                size_t len = j - i;
                bool dashes = true;
                for (size_t k = i; k < j; k++)
                        dashes = dashes && s[k] == '-';
                if (!(dashes || (len == 1 && (s[i] == '.' || s[i] == '_')) ||
                      (len == 2 && s[i] == '_' && s[i + 1] == '_')))
                        return false;
                i = j;
        }
        return true;
}

/* A registry host: DNS labels of [A-Za-z0-9-] separated by dots, or a bracketed IPv6 address, then an
 * optional :port. */
static bool domain_valid(const char *s)
{
        const char *colon = NULL;
        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || end == s + 1)
                        return false;
                for (const char *p = s + 1; p < end; p++)
                        if (!isxdigit((unsigned char) *p) && *p != ':')
                                return false;
                if (!end[1])
                        return true;
                colon = end[1] == ':' ? end + 1 : NULL;
                if (!colon)
                        return false;
        } else {
                colon = strchr(s, ':');
                size_t hostlen = colon ? (size_t) (colon - s) : strlen(s);
                if (hostlen == 0)
                        return false;
                bool label_start = true;
                for (size_t i = 0; i < hostlen; i++) {
                        char c = s[i];
                        if (c == '.') {
                                if (label_start)
                                        return false;
                                label_start = true;
                                continue;
                        }
                        if (!isalnum((unsigned char) c) && !(c == '-' && !label_start))
                                return false;
                        label_start = false;
                }
                if (label_start || s[hostlen - 1] == '-')
                        return false;
        }
        if (colon) {
                if (!colon[1])
                        return false;
                for (const char *p = colon + 1; *p; p++)
                        if (!isdigit((unsigned char) *p))
                                return false;
        }
        return true;
}

static bool tag_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 128 || !(isalnum((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(isalnum((unsigned char) s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
                        return false;
        return true;
}

int reference_parse(const char *s, struct reference *ret, struct stack_error *err)
{
        if (isempty(s))
                return stack_error_set(err, EINVAL, "invalid reference format: empty reference");
        if (digest_hex_is_valid(s))
                return stack_error_set(err, EINVAL,
                                       "invalid reference format: \"%s\": a 64-character hex string is an "
                                       "image ID, not a repository name",
                                       s);

        _cleanup_free_ char *name = NULL;
        _cleanup_free_ char *tag = NULL, *digest = NULL;
        const char *at = strchr(s, '@');
        if (at) {
                digest = xstrdup(at + 1);
                if (!digest_is_valid(digest))
                        return stack_error_set(err, EINVAL,
                                               "invalid reference format: \"%s\": digest must be "
                                               "sha256:<64 lowercase hex digits>",
                                               s);
                name = xstrndup(s, at - s);
        } else
                name = xstrdup(s);

        /* A tag is after the last ':' that follows the last '/' (a ':' before it is a registry port). */
        char *slash = strrchr(name, '/');
        char *colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                tag = xstrdup(colon + 1);
                *colon = 0;
                if (!tag_valid(tag))
                        return stack_error_set(
                            err, EINVAL, "invalid reference format: \"%s\": invalid tag \"%s\"", s, tag);
        }

        _cleanup_free_ char *domain = NULL;
        const char *remainder = name;
        char *first = strchr(name, '/');
        if (first) {
                _cleanup_free_ char *cand = xstrndup(name, first - name);
                if (strchr(cand, '.') || strchr(cand, ':') || streq(cand, "localhost") || cand[0] == '[' ||
                    strcspn(cand, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(cand)) {
                        if (!domain_valid(cand))
                                return stack_error_set(
                                    err, EINVAL, "invalid reference format: \"%s\": invalid registry \"%s\"",
                                    s, cand);
                        domain = TAKE_PTR(cand);
                        remainder = first + 1;
                }
        }
        if (!domain)
                domain = xstrdup(REFERENCE_DEFAULT_DOMAIN);
        if (streq(domain, "index.docker.io")) {
                free(domain);
                domain = xstrdup(REFERENCE_DEFAULT_DOMAIN);
        }

        if (isempty(remainder))
                return stack_error_set(err, EINVAL,
                                       "invalid reference format: \"%s\": missing repository name", s);
        for (const char *p = remainder; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        return stack_error_set(err, EINVAL,
                                               "invalid reference format: \"%s\": repository name must be "
                                               "lowercase",
                                               s);
        size_t pathlen = strlen(remainder);
        if (strlen(domain) + 1 + pathlen > 255)
                return stack_error_set(err, EINVAL, "invalid reference format: \"%s\": name longer than 255",
                                       s);
        for (const char *p = remainder;;) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t) (e - p) : strlen(p);
                if (!path_component_valid(p, n))
                        return stack_error_set(err, EINVAL,
                                               "invalid reference format: \"%s\": invalid repository name "
                                               "component \"%.*s\"",
                                               s, (int) n, p);
                if (!e)
                        break;
                p = e + 1;
        }

        char *path;
        if (streq(domain, REFERENCE_DEFAULT_DOMAIN) && !strchr(remainder, '/'))
                path = xasprintf("library/%s", remainder);
        else
                path = xstrdup(remainder);
        if (!tag && !digest)
                tag = xstrdup(REFERENCE_DEFAULT_TAG);

        *ret = (struct reference){
            .domain = TAKE_PTR(domain),
            .path = path,
            .tag = TAKE_PTR(tag),
            .digest = TAKE_PTR(digest),
        };
        return 0;
}

char *reference_name(const struct reference *r)
{
        return xasprintf("%s/%s", r->domain, r->path);
}

char *reference_string(const struct reference *r)
{
        return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                         r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *reference_familiar_name(const struct reference *r)
{
        if (!streq(r->domain, REFERENCE_DEFAULT_DOMAIN))
                return reference_name(r);
        const char *short_path = startswith(r->path, "library/");
        if (short_path && !strchr(short_path, '/'))
                return xstrdup(short_path);
        return xstrdup(r->path);
}

int reference_normalize(const char *s, char **ret, struct stack_error *err)
{
        _cleanup_reference_ struct reference r = {0};
        int rc = reference_parse(s, &r, err);
        if (rc < 0)
                return rc;
        *ret = reference_string(&r);
        return 0;
}
