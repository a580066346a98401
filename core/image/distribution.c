/* Pure protocol pieces of the OCI distribution spec; see distribution.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/image/distribution.h"

/* ---- WWW-Authenticate ---- */

void dist_challenge_done(struct dist_challenge *c)
{
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        free(c->error);
        *c = (struct dist_challenge){0};
}

static const char *skip_space(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static bool is_token_char(char c)
{
        return isalnum((unsigned char) c) || strchr("!#$%&'*+-.^_`|~/:", c);
}

/* Reads one auth-param value, quoted or not, advancing *p. */
static char *read_value(const char **p)
{
        const char *s = *p;
        struct strbuf b = {0};
        if (*s == '"') {
                s++;
                while (*s && *s != '"') {
                        if (*s == '\\' && s[1])
                                s++;
                        strbuf_putc(&b, *s++);
                }
                if (*s == '"')
                        s++;
        } else {
                while (*s && *s != ',' && *s != ' ' && *s != '\t')
                        strbuf_putc(&b, *s++);
        }
        *p = s;
        return b.buf ? strbuf_take(&b) : xstrdup("");
}

int dist_challenge_parse(const char *header, struct dist_challenge *ret, struct stack_error *err)
{
        const char *p = skip_space(header ? header : "");
        const char *start = p;
        while (*p && is_token_char(*p))
                p++;
        if (p == start)
                return stack_error_set(err, EINVAL, "WWW-Authenticate: no authentication scheme in \"%s\"",
                                       header ? header : "");
        struct dist_challenge c = {.scheme = xstrndup(start, p - start)};
        for (char *q = c.scheme; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        for (;;) {
                p = skip_space(p);
                while (*p == ',')
                        p = skip_space(p + 1);
                if (!*p)
                        break;
                const char *k = p;
                while (*p && is_token_char(*p) && *p != '=')
                        p++;
                size_t klen = p - k;
                p = skip_space(p);
                if (klen == 0 || *p != '=') {
                        /* Another scheme starts (several challenges in one header): the first is ours. */
                        break;
                }
                p = skip_space(p + 1);
                char *v = read_value(&p);
                char **slot = NULL;
                if (klen == 5 && strncasecmp(k, "realm", 5) == 0)
                        slot = &c.realm;
                else if (klen == 7 && strncasecmp(k, "service", 7) == 0)
                        slot = &c.service;
                else if (klen == 5 && strncasecmp(k, "scope", 5) == 0)
                        slot = &c.scope;
                else if (klen == 5 && strncasecmp(k, "error", 5) == 0)
                        slot = &c.error;
                if (slot && !*slot)
                        *slot = v;
                else
                        free(v);
        }
        if (streq(c.scheme, "bearer") && isempty(c.realm)) {
                dist_challenge_done(&c);
                return stack_error_set(err, EINVAL, "WWW-Authenticate: a Bearer challenge without a realm");
        }
        *ret = c;
        return 0;
}

/* ---- platforms ---- */

void dist_platform_done(struct dist_platform *p)
{
        free(p->os);
        free(p->architecture);
        free(p->variant);
        *p = (struct dist_platform){0};
}

static const char *normalize_arch(const char *a, const char **ret_variant)
{
        static const struct {
                const char *alias, *arch, *variant;
        } aliases[] = {
            {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
            {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},    {"i386", "386", NULL},
            {"i686", "386", NULL},     {"armv7l", "arm", "v7"},   {"armv6l", "arm", "v6"},
        };
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (streq(a, aliases[i].alias)) {
                        if (ret_variant)
                                *ret_variant = aliases[i].variant;
                        return aliases[i].arch;
                }
        return a;
}

/* Variants that mean the same as none at all. */
static const char *default_variant(const char *arch)
{
        if (streq(arch, "arm64"))
                return "v8";
        return NULL;
}

int dist_platform_parse(const char *s, struct dist_platform *ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **parts = strv_split(s ? s : "", "/");
        size_t n = strv_length(parts);
        if (n == 0 || n > 3)
                return stack_error_set(err, EINVAL, "invalid platform \"%s\" (expected os[/arch[/variant]])",
                                       s ? s : "");
        STRV_FOREACH (p, parts)
                if (isempty(*p))
                        return stack_error_set(err, EINVAL, "invalid platform \"%s\": empty component", s);
        struct dist_platform p = {0};
        const char *arch, *variant = NULL, *alias_variant = NULL;
        if (n == 1) {
                /* A bare word is an architecture when it is one we know, else an os. */
                const char *a = normalize_arch(parts[0], &alias_variant);
                if (streq(parts[0], "linux") || streq(parts[0], "windows") || streq(parts[0], "darwin")) {
                        struct dist_platform host;
                        dist_platform_host(&host);
                        p.os = xstrdup(parts[0]);
                        p.architecture = host.architecture;
                        p.variant = host.variant;
                        free(host.os);
                        *ret = p;
                        return 0;
                }
                p.os = xstrdup("linux");
                arch = a;
        } else {
                p.os = xstrdup(parts[0]);
                arch = normalize_arch(parts[1], &alias_variant);
                if (n == 3)
                        variant = parts[2];
        }
        for (char *q = p.os; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        p.architecture = xstrdup(arch);
        if (!variant)
                variant = alias_variant;
        p.variant = variant ? xstrdup(variant) : NULL;
        *ret = p;
        return 0;
}

void dist_platform_host(struct dist_platform *ret)
{
        struct utsname u;
        const char *variant = NULL;
        const char *arch = uname(&u) == 0 ? normalize_arch(u.machine, &variant) : "amd64";
        *ret = (struct dist_platform){
            .os = xstrdup("linux"),
            .architecture = xstrdup(arch),
            .variant = variant ? xstrdup(variant) : NULL,
        };
}

char *dist_platform_string(const struct dist_platform *p)
{
        if (p->variant)
                return xasprintf("%s/%s/%s", p->os ? p->os : "?", p->architecture ? p->architecture : "?",
                                 p->variant);
        return xasprintf("%s/%s", p->os ? p->os : "?", p->architecture ? p->architecture : "?");
}

static const char *effective_variant(const struct dist_platform *p)
{
        if (p->variant)
                return p->variant;
        return p->architecture ? default_variant(p->architecture) : NULL;
}

bool dist_platform_match(const struct dist_platform *want, const struct dist_platform *have)
{
        if (!streq_ptr(want->os, have->os) || !streq_ptr(want->architecture, have->architecture))
                return false;
        const char *wv = effective_variant(want);
        if (!wv)
                return true;
        const char *hv = effective_variant(have);
        /* An image that names no variant is taken to run on any (docker does the same for arm). */
        return !hv || streq(wv, hv);
}

/* ---- manifests ---- */

static void descriptor_done(struct dist_descriptor *d)
{
        free(d->media_type);
        dist_platform_done(&d->platform);
}

void dist_manifest_done(struct dist_manifest *m)
{
        free(m->media_type);
        descriptor_done(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                descriptor_done(&m->layers[i]);
        free(m->layers);
        for (size_t i = 0; i < m->n_entries; i++)
                descriptor_done(&m->entries[i]);
        free(m->entries);
        *m = (struct dist_manifest){0};
}

static int parse_descriptor(const cJSON *j, const char *what, struct dist_descriptor *ret,
                            struct stack_error *err)
{
        const char *digest = json_get_str(j, "digest");
        if (!cJSON_IsObject(j))
                return stack_error_set(err, EINVAL, "%s: not an object", what);
        if (!digest_is_valid(digest))
                return stack_error_set(err, EINVAL, "%s: unsupported or invalid digest \"%s\"", what,
                                       digest ? digest : "(none)");
        double size = json_get_num(j, "size", -1);
        if (size < 0 || size > (double) INT64_MAX)
                return stack_error_set(err, EINVAL, "%s: missing or invalid size", what);
        struct dist_descriptor d = {.size = (int64_t) size};
        strcpy(d.digest, digest);
        const char *mt = json_get_str(j, "mediaType");
        d.media_type = mt ? xstrdup(mt) : NULL;
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "platform");
        if (cJSON_IsObject(pl)) {
                const char *os = json_get_str(pl, "os"), *arch = json_get_str(pl, "architecture");
                const char *variant = json_get_str(pl, "variant");
                d.platform.os = os ? xstrdup(os) : NULL;
                d.platform.architecture = arch ? xstrdup(arch) : NULL;
                d.platform.variant = !isempty(variant) ? xstrdup(variant) : NULL;
        }
        *ret = d;
        return 0;
}

static int parse_array(const cJSON *a, const char *what, size_t max, struct dist_descriptor **ret,
                       size_t *ret_n, struct stack_error *err)
{
        if (!cJSON_IsArray(a))
                return stack_error_set(err, EINVAL, "manifest: no %s list", what);
        size_t n = (size_t) cJSON_GetArraySize(a);
        if (n > max)
                return stack_error_set(err, E2BIG, "manifest: %zu %s, more than the %zu allowed", n, what,
                                       max);
        struct dist_descriptor *l = xcalloc(n ? n : 1, sizeof(*l));
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, a)
        {
                _cleanup_free_ char *name = xasprintf("manifest: %s[%zu]", what, i);
                int r = parse_descriptor(it, name, &l[i], err);
                if (r < 0) {
                        for (size_t j = 0; j < i; j++)
                                descriptor_done(&l[j]);
                        free(l);
                        return r;
                }
                i++;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static bool is_index_type(const char *mt)
{
        return streq_ptr(mt, DIST_MEDIA_OCI_INDEX) || streq_ptr(mt, DIST_MEDIA_DOCKER_LIST);
}

static bool is_image_type(const char *mt)
{
        return streq_ptr(mt, DIST_MEDIA_OCI_MANIFEST) || streq_ptr(mt, DIST_MEDIA_DOCKER_MANIFEST);
}

int dist_manifest_parse(const char *data, size_t len, const char *content_type, struct dist_manifest *ret,
                        struct stack_error *err)
{
        if (len > DIST_MAX_MANIFEST)
                return stack_error_set(err, EFBIG, "manifest: %zu bytes, more than the %u allowed", len,
                                       DIST_MAX_MANIFEST);
        _cleanup_json_ cJSON *j = cJSON_ParseWithLength(data, len);
        if (!cJSON_IsObject(j))
                return stack_error_set(err, EINVAL, "manifest: not a JSON object");
        /* Content types may carry parameters ("...+json; charset=utf-8"). */
        _cleanup_free_ char *ct = content_type ? xstrndup(content_type, strcspn(content_type, "; ")) : NULL;
        const char *mt = json_get_str(j, "mediaType");
        int schema = (int) json_get_num(j, "schemaVersion", 0);
        if (schema == 1 || streq_ptr(mt, DIST_MEDIA_DOCKER_V1) ||
            streq_ptr(mt, DIST_MEDIA_DOCKER_V1_SIGNED) ||
            (!mt && (streq_ptr(ct, DIST_MEDIA_DOCKER_V1) || streq_ptr(ct, DIST_MEDIA_DOCKER_V1_SIGNED))))
                return stack_error_set(err, EPROTONOSUPPORT,
                                       "manifest: Docker schema 1 manifests are not supported (deprecated "
                                       "since 2017); push the image again with a current tool");
        if (schema != 2)
                return stack_error_set(err, EINVAL, "manifest: unsupported schemaVersion %d", schema);
        if (!mt) {
                /* OCI lets mediaType be absent: the response's type says, else the shape does. */
                if (is_index_type(ct) || is_image_type(ct))
                        mt = ct;
                else if (cJSON_GetObjectItemCaseSensitive(j, "manifests"))
                        mt = DIST_MEDIA_OCI_INDEX;
                else
                        mt = DIST_MEDIA_OCI_MANIFEST;
        }
        struct dist_manifest m = {.media_type = xstrdup(mt)};
        int r;
        if (is_index_type(mt)) {
                m.kind = DIST_MANIFEST_INDEX;
                r = parse_array(cJSON_GetObjectItemCaseSensitive(j, "manifests"), "manifests",
                                DIST_MAX_INDEX_ENTRIES, &m.entries, &m.n_entries, err);
        } else if (is_image_type(mt)) {
                m.kind = DIST_MANIFEST_IMAGE;
                r = parse_descriptor(cJSON_GetObjectItemCaseSensitive(j, "config"), "manifest: config",
                                     &m.config, err);
                if (r >= 0)
                        r = parse_array(cJSON_GetObjectItemCaseSensitive(j, "layers"), "layers",
                                        DIST_MAX_LAYERS, &m.layers, &m.n_layers, err);
        } else
                r = stack_error_set(err, EPROTONOSUPPORT, "manifest: unsupported media type \"%s\"", mt);
        if (r < 0) {
                dist_manifest_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int dist_index_select(const struct dist_manifest *idx, const struct dist_platform *want,
                      const struct dist_descriptor **ret, struct stack_error *err)
{
        const struct dist_descriptor *found = NULL;
        const char *wv = effective_variant(want);
        for (size_t i = 0; i < idx->n_entries; i++) {
                const struct dist_descriptor *d = &idx->entries[i];
                /* Attestations and signatures ride in indexes as "unknown/unknown" entries. */
                if (!d->platform.os ||
                    !is_image_type(d->media_type ? d->media_type : DIST_MEDIA_OCI_MANIFEST))
                        continue;
                if (!dist_platform_match(want, &d->platform))
                        continue;
                const char *hv = effective_variant(&d->platform);
                if (!wv || streq_ptr(wv, hv)) {
                        found = d;
                        break;
                }
                if (!found)
                        found = d;
        }
        if (found) {
                *ret = found;
                return 0;
        }
        struct strbuf b = {0};
        for (size_t i = 0; i < idx->n_entries; i++) {
                const struct dist_platform *p = &idx->entries[i].platform;
                if (!p->os || streq_ptr(p->os, "unknown"))
                        continue;
                _cleanup_free_ char *s = dist_platform_string(p);
                strbuf_printf(&b, "%s%s", b.len ? ", " : "", s);
        }
        _cleanup_free_ char *avail = b.buf ? strbuf_take(&b) : xstrdup("none");
        _cleanup_free_ char *ws = dist_platform_string(want);
        return stack_error_set(err, ENOENT, "no image for platform %s (available: %s)", ws, avail);
}

/* ---- registries ---- */

const char *dist_registry_host(const char *domain)
{
        if (streq(domain, "docker.io") || streq(domain, "index.docker.io"))
                return "registry-1.docker.io";
        return domain;
}

bool dist_registry_insecure_default(const char *domain)
{
        _cleanup_free_ char *host = NULL;
        if (domain[0] == '[') {
                const char *end = strchr(domain, ']');
                host = end ? xstrndup(domain + 1, end - domain - 1) : xstrdup(domain);
        } else
                host = xstrndup(domain, strcspn(domain, ":"));
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        return streq(host, "localhost") || streq(host, "::1");
}

const char *dist_config_key(const char *domain)
{
        if (streq(domain, "docker.io") || streq(domain, "index.docker.io") ||
            streq(domain, "registry-1.docker.io"))
                return "https://index.docker.io/v1/";
        return domain;
}
