/* The registry client: endpoints, authentication, pull and push. See registry.h.
 *
 * A layer flows in one pass: the socket -> the partial blob file and the blob's digest -> the
 * decompressor -> the uncompressed digest -> the store's safe unpacker. The partial file is what makes a
 * dropped connection (retried at once with Range) and a killed pull (resumed by the next one) cheap: the
 * bytes already there are replayed through the same chain, only the rest is downloaded. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/image/distribution.h"
#include "core/image/http.h"
#include "core/image/layer.h"
#include "core/image/reference.h"
#include "core/image/registry-auth.h"
#include "core/image/registry.h"

#define MAX_ATTEMPTS 5
#define MAX_TOKEN_RESPONSE (1u << 20)
#define MAX_ERROR_BODY (64u << 10)
/* Blobs above this are pushed in chunks (PATCH), below in one PUT; STACK_PUSH_CHUNK_SIZE overrides. */
#define PUSH_CHUNK_DEFAULT (64u << 20)

struct endpoint {
        char *domain;
        char *base; /* "https://host:port" */
        struct http_tls tls;
        bool anonymous; /* /v2/ answered 200 */
};

struct token {
        char *key;
        char *value;
        uint64_t expires; /* now_usec() */
};

struct registry_client {
        struct registry_options o;
        pthread_mutex_t lock;
        struct endpoint *endpoints;
        size_t n_endpoints, cap_endpoints;
        struct token *tokens;
        size_t n_tokens, cap_tokens;
};

struct registry_client *registry_client_new(const struct registry_options *o)
{
        http_global_init();
        struct registry_client *c = xcalloc(1, sizeof(*c));
        if (o)
                c->o = *o;
        if (c->o.max_layers <= 0)
                c->o.max_layers = 3;
        pthread_mutex_init(&c->lock, NULL);
        return c;
}

void registry_client_free(struct registry_client *c)
{
        for (size_t i = 0; i < c->n_endpoints; i++) {
                free(c->endpoints[i].domain);
                free(c->endpoints[i].base);
                free(c->endpoints[i].tls.ca_file);
                free(c->endpoints[i].tls.client_cert);
                free(c->endpoints[i].tls.client_key);
        }
        free(c->endpoints);
        for (size_t i = 0; i < c->n_tokens; i++) {
                free(c->tokens[i].key);
                explicit_bzero(c->tokens[i].value, strlen(c->tokens[i].value));
                free(c->tokens[i].value);
        }
        free(c->tokens);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

static void progress(struct registry_client *c, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void progress(struct registry_client *c, const char *id, const char *fmt, ...)
{
        if (!c->o.progress)
                return;
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s) {
                c->o.progress(c->o.userdata, id, s);
                free(s);
        }
}

/* ---- endpoints ---- */

static bool insecure_registry(const char *domain)
{
        if (dist_registry_insecure_default(domain))
                return true;
        /* Registries the user marks as plain HTTP: $STACK_INSECURE_REGISTRIES (comma-separated) and
         * docker's own "insecure-registries" in /etc/docker/daemon.json. */
        _cleanup_strv_free_ char **l = strv_split(getenv("STACK_INSECURE_REGISTRIES") ?: "", ",");
        STRV_FOREACH (d, l)
                if (streq(*d, domain))
                        return true;
        _cleanup_free_ char *text = NULL;
        if (read_full_file("/etc/docker/daemon.json", &text, NULL, NULL) < 0)
                return false;
        _cleanup_json_ cJSON *j = cJSON_Parse(text);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "insecure-registries"))
        {
                if (cJSON_IsString(it) && streq(it->valuestring, domain))
                        return true;
        }
        return false;
}

/* Per-registry CA and client certificates, where docker and podman users put them. */
static void find_certs(const char *domain, struct http_tls *tls)
{
        static const char *const dirs[] = {"/etc/docker/certs.d", "/etc/containers/certs.d"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = path_join(dirs[i], domain);
                if (!path_is_dir(d))
                        continue;
                _cleanup_free_ char *ca = path_join(d, "ca.crt");
                _cleanup_free_ char *cert = path_join(d, "client.cert");
                _cleanup_free_ char *key = path_join(d, "client.key");
                if (!tls->ca_file && path_exists(ca))
                        tls->ca_file = TAKE_PTR(ca);
                if (!tls->client_cert && path_exists(cert) && path_exists(key)) {
                        tls->client_cert = TAKE_PTR(cert);
                        tls->client_key = TAKE_PTR(key);
                }
        }
}

/* The schemes to try for domain, in order. A loopback registry (insecure by default, as docker has it) is
 * almost always plain HTTP: asking that first spares every pull a failed TLS handshake; one that does
 * speak TLS answers plain HTTP with an error, and https is tried next. Credentials are never sent on the
 * probe, so trying http first exposes nothing. */
static void endpoint_schemes(const char *domain, const char *ret[2])
{
        if (dist_registry_insecure_default(domain)) {
                ret[0] = "http";
                ret[1] = "https";
        } else {
                ret[0] = "https";
                ret[1] = insecure_registry(domain) ? "http" : NULL;
        }
}

/* The message for a failed https probe, with what the user can do: for a certificate the system does not
 * trust, where its CA goes; for a connection the server drops after the handshake while stack offered no
 * client certificate (a registry that requires one does that under TLS 1.3), where one goes. */
static void endpoint_tls_hint(const char *domain, const struct http_tls *tls, struct stack_error *e)
{
        if (!e->msg || e->code == ECONNREFUSED || e->code == EHOSTUNREACH || e->code == ETIMEDOUT)
                return;
        _cleanup_free_ char *h = NULL;
        if (e->code == EPROTO && strstr(e->msg, "certificate") && !strstr(e->msg, "certificate required"))
                h = xasprintf("to trust this registry's certificate authority, put its certificate in "
                              "/etc/docker/certs.d/%s/ca.crt",
                              domain);
        else if (!tls->client_cert)
                h = xasprintf("if the registry requires a client certificate, put client.cert and client.key "
                              "in /etc/docker/certs.d/%s/",
                              domain);
        if (!h)
                return;
        char *msg = xasprintf("%s (%s)", e->msg, h);
        free(e->msg);
        e->msg = msg;
}

/* Finds how to reach domain (see endpoint_schemes). The answer of /v2/ is kept: 200 means anonymous
 * access, 401 a challenge. */
static int endpoint_get(struct registry_client *c, const char *domain, struct endpoint *ret,
                        struct stack_error *err)
{
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (streq(c->endpoints[i].domain, domain)) {
                        *ret = c->endpoints[i];
                        pthread_mutex_unlock(&c->lock);
                        return 0;
                }
        pthread_mutex_unlock(&c->lock);

        const char *host = dist_registry_host(domain);
        struct endpoint e = {0};
        find_certs(domain, &e.tls);
        const char *schemes[2];
        endpoint_schemes(domain, schemes);
        _cleanup_error_ struct stack_error first = {0};
        for (size_t i = 0; i < ELEMENTSOF(schemes) && schemes[i]; i++) {
                _cleanup_free_ char *base = xasprintf("%s://%s", schemes[i], host);
                _cleanup_free_ char *url = xasprintf("%s/v2/", base);
                struct http_request req = {.url = url, .tls = &e.tls, .follow_redirects = true};
                _cleanup_http_response_ struct http_response resp = {0};
                _cleanup_error_ struct stack_error e2 = {0};
                int r = http_fetch(&req, MAX_ERROR_BODY, &resp, NULL, NULL, NULL, &e2);
                if (r >= 0 && resp.status != 200 && resp.status != 401)
                        r = stack_error_set(&e2, EPROTO, "%s: answered HTTP %ld: not a registry (v2 API)", url,
                                            resp.status);
                else if (r < 0 && streq(schemes[i], "https"))
                        endpoint_tls_hint(domain, &e.tls, &e2);
                if (r < 0) {
                        /* The https failure says more than the plain-http one that follows it. */
                        if (!first.msg || (streq(schemes[i], "https") && e2.code != ECONNREFUSED)) {
                                stack_error_clear(&first);
                                first = e2;
                                e2 = (struct stack_error){0};
                        }
                        continue;
                }
                e.base = TAKE_PTR(base);
                e.anonymous = resp.status == 200;
                break;
        }
        if (!e.base) {
                free(e.tls.ca_file);
                free(e.tls.client_cert);
                free(e.tls.client_key);
                int code = first.code ? first.code : EIO;
                return stack_error_set(err, code, "registry %s unreachable: %s", domain,
                                       first.msg ? first.msg : "no answer");
        }
        e.domain = xstrdup(domain);
        pthread_mutex_lock(&c->lock);
        GROW(c->endpoints, c->cap_endpoints, c->n_endpoints + 1);
        c->endpoints[c->n_endpoints++] = e;
        *ret = e;
        pthread_mutex_unlock(&c->lock);
        return 0;
}

/* ---- repositories and authentication ---- */

struct repo {
        struct registry_client *c;
        struct endpoint ep; /* borrowed from the client */
        char *domain, *path;
        const char *actions; /* "pull" or "pull,push" */
        struct registry_credentials creds;
        bool creds_loaded, has_creds;
        char *auth; /* "Authorization: ..." or NULL */
};

static void repo_done(struct repo *r)
{
        free(r->domain);
        free(r->path);
        registry_credentials_done(&r->creds);
        if (r->auth)
                explicit_bzero(r->auth, strlen(r->auth));
        free(r->auth);
}

static int repo_creds(struct repo *r, struct stack_error *err)
{
        if (r->creds_loaded)
                return 0;
        int k = registry_credentials_lookup(r->domain, &r->creds, err);
        if (k < 0)
                return k;
        r->creds_loaded = true;
        r->has_creds = k > 0;
        return 0;
}

static char *url_escape(const char *s)
{
        struct strbuf b = {0};
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p))
                        strbuf_putc(&b, (char) *p);
                else
                        strbuf_printf(&b, "%%%02X", *p);
        }
        return b.buf ? strbuf_take(&b) : xstrdup("");
}

static char *basic_header(const struct registry_credentials *cr)
{
        _cleanup_free_ char *plain = xasprintf("%s:%s", cr->username, cr->password ? cr->password : "");
        _cleanup_free_ char *enc = registry_base64_encode(plain, strlen(plain));
        explicit_bzero(plain, strlen(plain));
        char *h = xasprintf("Authorization: Basic %s", enc);
        explicit_bzero(enc, strlen(enc));
        return h;
}

static const char *token_cached(struct registry_client *c, const char *key)
{
        uint64_t now = now_usec();
        for (size_t i = 0; i < c->n_tokens; i++)
                if (streq(c->tokens[i].key, key) && c->tokens[i].expires > now)
                        return c->tokens[i].value;
        return NULL;
}

/* Asks the token service named by a Bearer challenge for a token for scope (docker's token protocol: GET
 * with Basic credentials, or the OAuth2 refresh-token POST when only an identity token is known). */
static int token_fetch(struct repo *rp, const struct dist_challenge *ch, const char *scope, char **ret,
                       struct stack_error *err)
{
        struct registry_client *c = rp->c;
        int r = repo_creds(rp, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *key = xasprintf("%s|%s|%s|%s", ch->realm, ch->service ?: "", scope ?: "",
                                             rp->has_creds && rp->creds.username ? rp->creds.username : "");
        pthread_mutex_lock(&c->lock);
        const char *cached = token_cached(c, key);
        char *hit = cached ? xstrdup(cached) : NULL;
        pthread_mutex_unlock(&c->lock);
        if (hit) {
                *ret = hit;
                return 0;
        }

        struct strbuf q = {0};
        _cleanup_free_ char *svc = ch->service ? url_escape(ch->service) : NULL;
        _cleanup_free_ char *sc = scope ? url_escape(scope) : NULL;
        _cleanup_free_ char *header = NULL;
        _cleanup_free_ char *body = NULL;
        struct http_request req = {.follow_redirects = true, .tls = &rp->ep.tls};
        char *headers[3] = {NULL};
        if (rp->has_creds && rp->creds.identity_token && !rp->creds.username) {
                _cleanup_free_ char *tok = url_escape(rp->creds.identity_token);
                body = xasprintf("grant_type=refresh_token&client_id=stack&refresh_token=%s%s%s%s%s", tok,
                                 svc ? "&service=" : "", svc ? svc : "", sc ? "&scope=" : "", sc ? sc : "");
                explicit_bzero(tok, strlen(tok));
                req.method = "POST";
                req.body = body;
                req.body_len = strlen(body);
                req.has_body = true;
                headers[0] = (char *) "Content-Type: application/x-www-form-urlencoded";
                strbuf_puts(&q, ch->realm);
        } else {
                strbuf_printf(&q, "%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?");
                if (svc)
                        strbuf_printf(&q, "service=%s&", svc);
                if (sc)
                        strbuf_printf(&q, "scope=%s&", sc);
                if (rp->has_creds && rp->creds.username) {
                        _cleanup_free_ char *acct = url_escape(rp->creds.username);
                        strbuf_printf(&q, "account=%s&", acct);
                        header = basic_header(&rp->creds);
                        headers[0] = header;
                }
                q.buf[--q.len] = 0;
        }
        _cleanup_free_ char *url = strbuf_take(&q);
        req.url = url;
        req.headers = headers;
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        r = http_fetch(&req, MAX_TOKEN_RESPONSE, &resp, &data, &len, NULL, err);
        if (body)
                explicit_bzero(body, strlen(body));
        if (r < 0)
                return stack_error_prefix(err, "token service");
        if (resp.status == 401 || resp.status == 403)
                return stack_error_set(err, EACCES, "%s: unauthorized: incorrect username or password",
                                       rp->domain);
        if (resp.status != 200)
                return stack_error_set(err, EPROTO, "token service %s answered HTTP %ld", ch->realm,
                                       resp.status);
        _cleanup_json_ cJSON *j = cJSON_ParseWithLength(data, len);
        explicit_bzero(data, len);
        const char *tok = json_get_str(j, "token");
        if (isempty(tok))
                tok = json_get_str(j, "access_token");
        if (isempty(tok))
                return stack_error_set(err, EPROTO, "token service %s: answer without a token", ch->realm);
        /* The spec's default lifetime is 60 s; a token is not reused in its last 10 seconds. */
        double expires_in = json_get_num(j, "expires_in", 60);
        if (expires_in < 20)
                expires_in = 20;
        pthread_mutex_lock(&c->lock);
        GROW(c->tokens, c->cap_tokens, c->n_tokens + 1);
        c->tokens[c->n_tokens++] = (struct token){
            .key = xstrdup(key),
            .value = xstrdup(tok),
            .expires = now_usec() + (uint64_t) ((expires_in - 10) * 1e6),
        };
        pthread_mutex_unlock(&c->lock);
        *ret = xstrdup(tok);
        return 0;
}

/* Sets the Authorization header a challenge asks for. */
static int repo_authorize(struct repo *rp, const char *challenge, struct stack_error *err)
{
        _cleanup_dist_challenge_ struct dist_challenge ch = {0};
        int r = dist_challenge_parse(challenge, &ch, err);
        if (r < 0)
                return stack_error_prefix(err, "registry %s", rp->domain);
        if (rp->auth)
                explicit_bzero(rp->auth, strlen(rp->auth));
        free(rp->auth);
        rp->auth = NULL;
        if (streq(ch.scheme, "basic")) {
                r = repo_creds(rp, err);
                if (r < 0)
                        return r;
                if (rp->has_creds && rp->creds.username)
                        rp->auth = basic_header(&rp->creds);
                return 0;
        }
        if (!streq(ch.scheme, "bearer"))
                return stack_error_set(err, EPROTONOSUPPORT,
                                       "registry %s: unsupported authentication scheme %s", rp->domain,
                                       ch.scheme);
        _cleanup_free_ char *scope = rp->path ? xasprintf("repository:%s:%s", rp->path, rp->actions) : NULL;
        _cleanup_free_ char *tok = NULL;
        r = token_fetch(rp, &ch, ch.scope && !rp->path ? ch.scope : scope, &tok, err);
        if (r < 0)
                return r;
        rp->auth = xasprintf("Authorization: Bearer %s", tok);
        explicit_bzero(tok, strlen(tok));
        return 0;
}

static int repo_open(struct registry_client *c, const struct reference *ref, bool push, struct repo *ret,
                     struct stack_error *err)
{
        struct repo rp = {.c = c,
                          .domain = xstrdup(ref->domain),
                          .path = xstrdup(ref->path),
                          .actions = push ? "pull,push" : "pull"};
        int r = endpoint_get(c, ref->domain, &rp.ep, err);
        if (r < 0) {
                repo_done(&rp);
                return r;
        }
        *ret = rp;
        return 0;
}

static char *repo_url(const struct repo *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *repo_url(const struct repo *rp, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *tail = NULL;
        if (vasprintf(&tail, fmt, ap) < 0)
                abort();
        va_end(ap);
        char *u = xasprintf("%s/v2/%s/%s", rp->ep.base, rp->path, tail);
        free(tail);
        return u;
}

/* Upload locations may be relative to the registry. */
static char *absolute_location(const struct repo *rp, const char *loc)
{
        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return xstrdup(loc);
        return xasprintf("%s%s%s", rp->ep.base, loc[0] == '/' ? "" : "/", loc);
}

static bool status_transient(long status)
{
        return status == 429 || status == 502 || status == 503 || status == 504 || status == 500;
}

static void backoff(int attempt)
{
        uint64_t ms = 200u << (attempt < 5 ? attempt : 5);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* One request with the repository's authorization: a 401 is answered once by the challenge it carries,
 * transient failures are retried with backoff. extra: the request's own headers. */
static int repo_fetch(struct repo *rp, struct http_request *req, char *const *extra, size_t max,
                      struct http_response *ret, char **ret_body, size_t *ret_len, struct stack_error *err)
{
        bool reauthorized = false;
        for (int attempt = 0;; attempt++) {
                _cleanup_strv_free_ char **headers = strv_copy(extra);
                if (rp->auth)
                        strv_push(&headers, rp->auth);
                req->headers = headers;
                _cleanup_http_response_ struct http_response resp = {0};
                _cleanup_free_ char *body = NULL;
                size_t len = 0;
                bool transient = false;
                _cleanup_error_ struct stack_error e2 = {0};
                int r = http_fetch(req, max, &resp, &body, &len, &transient, &e2);
                req->headers = NULL;
                if (r < 0) {
                        if (transient && attempt + 1 < MAX_ATTEMPTS) {
                                backoff(attempt);
                                continue;
                        }
                        *err = e2;
                        e2 = (struct stack_error){0};
                        return r;
                }
                if (resp.status == 401 && !reauthorized && resp.www_authenticate) {
                        reauthorized = true;
                        r = repo_authorize(rp, resp.www_authenticate, err);
                        if (r < 0)
                                return r;
                        if (rp->auth) {
                                attempt--;
                                continue;
                        }
                }
                if (status_transient(resp.status) && attempt + 1 < MAX_ATTEMPTS) {
                        backoff(attempt);
                        continue;
                }
                *ret = resp;
                resp = (struct http_response){0};
                if (ret_body)
                        *ret_body = TAKE_PTR(body);
                if (ret_len)
                        *ret_len = len;
                return 0;
        }
}

/* A registry's error body names a code ("MANIFEST_UNKNOWN"); that, or the status, goes into messages. */
static char *error_code(const char *body, size_t len, long status)
{
        _cleanup_json_ cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
        const char *code = json_get_str(e, "code"), *msg = json_get_str(e, "message");
        if (code && msg)
                return xasprintf("%s: %s", code, msg);
        return xasprintf("HTTP %ld", status);
}

static int access_error(const struct repo *rp, const char *what, struct stack_error *err)
{
        return stack_error_set(
            err, EACCES,
            "%s access denied for %s/%s: the repository does not exist or needs 'stack login "
            "%s'",
            what, rp->domain, rp->path, rp->domain);
}

/* ---- pull: manifests and configs ---- */

static int fetch_manifest(struct repo *rp, const char *ref_name, const char *tag_or_digest, char **ret,
                          size_t *ret_len, char **ret_type, char ret_digest[DIGEST_STRING_MAX],
                          struct stack_error *err)
{
        _cleanup_free_ char *url = repo_url(rp, "manifests/%s", tag_or_digest);
        struct http_request req = {.url = url, .follow_redirects = true, .tls = &rp->ep.tls};
        char *extra[] = {(char *) DIST_ACCEPT, NULL};
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = repo_fetch(rp, &req, extra, DIST_MAX_MANIFEST, &resp, &body, &len, err);
        if (r < 0)
                return r;
        if (resp.status == 404)
                return stack_error_set(err, ENOENT, "image %s not found in registry %s", ref_name,
                                       rp->domain);
        if (resp.status == 401 || resp.status == 403)
                return access_error(rp, "pull", err);
        if (resp.status != 200) {
                _cleanup_free_ char *code = error_code(body, len, resp.status);
                return stack_error_set(err, EPROTO, "%s: %s", url, code);
        }
        char got[DIGEST_STRING_MAX];
        digest_data(body, len, got);
        /* Pinned by digest: what came must be what was asked for, whatever the registry says. */
        if (digest_is_valid(tag_or_digest) && !streq(got, tag_or_digest))
                return stack_error_set(err, EBADMSG,
                                       "manifest of %s: registry %s served content with digest %s, not the "
                                       "requested %s",
                                       ref_name, rp->domain, got, tag_or_digest);
        strcpy(ret_digest, got);
        *ret_type = resp.content_type ? xstrdup(resp.content_type) : NULL;
        *ret_len = len;
        *ret = TAKE_PTR(body);
        return 0;
}

static int fetch_small_blob(struct repo *rp, const struct dist_descriptor *d, size_t max, char **ret,
                            size_t *ret_len, struct stack_error *err)
{
        if (d->size > (int64_t) max)
                return stack_error_set(err, EFBIG, "blob %s: %lld bytes, more than the %zu allowed",
                                       d->digest, (long long) d->size, max);
        _cleanup_free_ char *url = repo_url(rp, "blobs/%s", d->digest);
        struct http_request req = {.url = url, .follow_redirects = true, .tls = &rp->ep.tls};
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = repo_fetch(rp, &req, NULL, max, &resp, &body, &len, err);
        if (r < 0)
                return r;
        if (resp.status == 401 || resp.status == 403)
                return access_error(rp, "pull", err);
        if (resp.status != 200)
                return stack_error_set(err, resp.status == 404 ? ENOENT : EPROTO, "blob %s: registry %s: %s",
                                       d->digest, rp->domain, resp.status == 404 ? "not found" : "error");
        char got[DIGEST_STRING_MAX];
        digest_data(body, len, got);
        if ((int64_t) len != d->size || !streq(got, d->digest))
                return stack_error_set(
                    err, EBADMSG, "blob %s: registry %s served %zu bytes with digest %s (expected %lld)",
                    d->digest, rp->domain, len, got, (long long) d->size);
        *ret = TAKE_PTR(body);
        *ret_len = len;
        return 0;
}

/* ---- pull: layers ---- */

/* The bytes of a blob: first those already in the partial file, then the rest from the registry, each
 * new byte appended to the file. Transient failures reopen the transfer with Range where it stopped. */
struct blob_source {
        struct layer_source s;
        struct repo *rp;
        const struct dist_descriptor *d;
        int fd;
        uint64_t have, pos, skip;
        struct http_stream *st;
        int attempts;
        bool reauthorized;
        char short_id[13];
        uint64_t next_report;
};

static int blob_open(struct blob_source *b, bool *ret_eof, bool *ret_transient, struct stack_error *err)
{
        *ret_eof = *ret_transient = false;
        _cleanup_free_ char *url = repo_url(b->rp, "blobs/%s", b->d->digest);
        for (;;) {
                _cleanup_strv_free_ char **headers = xcalloc(1, sizeof(char *));
                if (b->rp->auth)
                        strv_push(&headers, b->rp->auth);
                struct http_request req = {.url = url,
                                           .follow_redirects = true,
                                           .tls = &b->rp->ep.tls,
                                           .headers = headers,
                                           .range_from = b->pos};
                _cleanup_http_stream_ struct http_stream *st = NULL;
                int r = http_stream_open(&req, &st, ret_transient, err);
                if (r < 0)
                        return r;
                const struct http_response *resp = http_stream_response(st);
                if (resp->status == 401 && !b->reauthorized && resp->www_authenticate) {
                        b->reauthorized = true;
                        r = repo_authorize(b->rp, resp->www_authenticate, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (resp->status == 401 || resp->status == 403)
                        return access_error(b->rp, "pull", err);
                if (resp->status == 416 && b->pos == (uint64_t) b->d->size) {
                        *ret_eof = true;
                        return 0;
                }
                if (status_transient(resp->status)) {
                        *ret_transient = true;
                        return stack_error_set(err, EAGAIN, "%s: HTTP %ld", url, resp->status);
                }
                if (resp->status == 404)
                        return stack_error_set(err, ENOENT, "layer %s not found in registry %s",
                                               b->d->digest, b->rp->domain);
                if (resp->status == 206) {
                        /* "bytes START-END/TOTAL" must start where we are. */
                        unsigned long long start = 0;
                        if (!resp->content_range ||
                            sscanf(resp->content_range, "bytes %llu-", &start) != 1 || start != b->pos)
                                return stack_error_set(err, EPROTO, "%s: answered a range other than asked",
                                                       url);
                } else if (resp->status == 200)
                        b->skip = b->pos; /* the range was ignored: drop what we already have */
                else
                        return stack_error_set(err, EPROTO, "%s: HTTP %ld", url, resp->status);
                b->st = TAKE_PTR(st);
                return 0;
        }
}

static ssize_t blob_read_net(struct blob_source *b, void *buf, size_t n, struct stack_error *err)
{
        for (;;) {
                bool transient = false;
                _cleanup_error_ struct stack_error e2 = {0};
                ssize_t k;
                if (!b->st) {
                        bool eof = false;
                        int r = blob_open(b, &eof, &transient, &e2);
                        if (r >= 0 && eof)
                                return 0;
                        k = r < 0 ? r : 1;
                } else
                        k = 1;
                if (k > 0) {
                        k = http_stream_read(b->st, buf, n, &transient, &e2);
                        if (k == 0 && b->pos + b->skip < (uint64_t) b->d->size) {
                                transient = true; /* the connection ended early */
                                k = stack_error_set(
                                    &e2, EPIPE, "layer %s: connection closed after %llu of %lld bytes",
                                    b->d->digest, (unsigned long long) b->pos, (long long) b->d->size);
                        }
                }
                if (k < 0) {
                        http_stream_freep(&b->st);
                        b->st = NULL;
                        b->skip = 0;
                        if (transient && b->attempts + 1 < MAX_ATTEMPTS) {
                                backoff(b->attempts++);
                                continue;
                        }
                        *err = e2;
                        e2 = (struct stack_error){0};
                        return k;
                }
                if (k == 0)
                        return 0;
                if (b->skip > 0) {
                        uint64_t drop = (uint64_t) k < b->skip ? (uint64_t) k : b->skip;
                        b->skip -= drop;
                        if ((uint64_t) k == drop)
                                continue;
                        memmove(buf, (char *) buf + drop, k - drop);
                        k -= (ssize_t) drop;
                }
                b->attempts = 0;
                return k;
        }
}

static ssize_t blob_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct blob_source *b = (struct blob_source *) s;
        ssize_t k;
        if (b->pos < b->have) {
                size_t want = n < b->have - b->pos ? n : (size_t) (b->have - b->pos);
                do
                        k = pread(b->fd, buf, want, (off_t) b->pos);
                while (k < 0 && errno == EINTR);
                if (k <= 0)
                        return stack_error_errno(err, k < 0 ? errno : EIO, "layer %s: read partial download",
                                                 b->d->digest);
                b->pos += k;
                return k;
        }
        k = blob_read_net(b, buf, n, err);
        if (k <= 0)
                return k;
        if (b->pos + k > (uint64_t) b->d->size)
                return stack_error_set(err, EBADMSG,
                                       "layer %s: registry sent more than the %lld bytes expected",
                                       b->d->digest, (long long) b->d->size);
        for (ssize_t done = 0; done < k;) {
                ssize_t w = pwrite(b->fd, (char *) buf + done, k - done, (off_t) (b->pos + done));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return stack_error_errno(err, errno, "layer %s: write download", b->d->digest);
                done += w;
        }
        b->pos += k;
        if (b->pos >= b->next_report) {
                progress(b->rp->c, b->short_id, "Downloading %.1fMB/%.1fMB", b->pos / 1e6, b->d->size / 1e6);
                b->next_report = b->pos + (uint64_t) (b->d->size / 4) + 1;
        }
        return k;
}

static void blob_free(struct layer_source *s)
{
        struct blob_source *b = (struct blob_source *) s;
        http_stream_freep(&b->st);
        free(b);
}

static uint64_t du_bytes;
static pthread_mutex_t du_lock = PTHREAD_MUTEX_INITIALIZER;
static int du_visit(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        if (flag == FTW_F && S_ISREG(st->st_mode))
                du_bytes += st->st_size;
        return 0;
}

static uint64_t dir_size(const char *path)
{
        pthread_mutex_lock(&du_lock);
        du_bytes = 0;
        nftw(path, du_visit, 16, FTW_PHYS);
        uint64_t n = du_bytes;
        pthread_mutex_unlock(&du_lock);
        return n;
}

struct layer_job {
        struct repo *rp;
        struct image_store *s;
        const struct dist_descriptor *d;
        const char *diff_id;
        char *blob_file, *layer_dir; /* staged in pulls/, NULL when the store has them */
        uint64_t unpacked;
        int r;
        struct stack_error err;
};

/* Downloads and unpacks one layer into pulls/<hex>.blob and pulls/<hex>.layer, under the blob's lock. */
static int pull_layer(struct layer_job *j, struct stack_error *err)
{
        const struct dist_descriptor *d = j->d;
        struct registry_client *c = j->rp->c;
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%s", digest_hex(d->digest));
        if (image_store_has_blob(j->s, d->digest, j->diff_id)) {
                progress(c, short_id, "Already exists");
                return 0;
        }
        _cleanup_free_ char *pulls = image_store_pulls_path(j->s);
        _cleanup_free_ char *base = path_join(pulls, digest_hex(d->digest));
        _cleanup_free_ char *lock_path = xasprintf("%s.lock", base);
        _cleanup_close_ int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0)
                return stack_error_errno(err, errno, "open %s", lock_path);
        /* Another pull holding this blob's lock is downloading it: wait, then use its result. */
        if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
                progress(c, short_id, "Waiting");
                while (flock(lock, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return stack_error_errno(err, errno, "lock %s", lock_path);
        }
        _cleanup_free_ char *blob_file = xasprintf("%s.blob", base);
        _cleanup_free_ char *layer_dir = xasprintf("%s.layer", base);
        if (image_store_has_blob(j->s, d->digest, j->diff_id)) {
                progress(c, short_id, "Already exists");
                return 0;
        }
        if (path_exists(blob_file) && path_is_dir(layer_dir)) {
                j->unpacked = dir_size(layer_dir);
                j->blob_file = TAKE_PTR(blob_file);
                j->layer_dir = TAKE_PTR(layer_dir);
                progress(c, short_id, "Pull complete");
                return 0;
        }
        progress(c, short_id, "Pulling fs layer");
        (void) unlink(blob_file);
        (void) rm_rf(layer_dir, NULL);
        _cleanup_free_ char *tmp_dir = xasprintf("%s.layer.tmp", base);
        (void) rm_rf(tmp_dir, NULL);
        _cleanup_free_ char *partial = xasprintf("%s.partial", base);
        _cleanup_close_ int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", partial);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s", partial);
        if (st.st_size > d->size && ftruncate(fd, 0) < 0)
                return stack_error_errno(err, errno, "truncate %s", partial);
        uint64_t have = st.st_size > d->size ? 0 : (uint64_t) st.st_size;
        if (mkdir(tmp_dir, 0755) < 0)
                return stack_error_errno(err, errno, "create %s", tmp_dir);
        _cleanup_close_ int dir_fd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return stack_error_errno(err, errno, "open %s", tmp_dir);

        _cleanup_digest_ struct digest dc = {0};
        _cleanup_digest_ struct digest du = {0};
        int r = digest_init(&dc, err);
        if (r >= 0)
                r = digest_init(&du, err);
        if (r < 0)
                return r;
        struct blob_source *b = xcalloc(1, sizeof(*b));
        *b = (struct blob_source){.rp = j->rp, .d = d, .fd = fd, .have = have, .next_report = have};
        b->s = (struct layer_source){.read = blob_read, .free = blob_free, .name = d->digest};
        memcpy(b->short_id, short_id, sizeof(short_id));
        struct layer_source *raw = layer_source_digest(&b->s, &dc, -1);
        _cleanup_layer_source_ struct layer_source *src = NULL;
        r = layer_source_decompress(raw, &src, NULL, err);
        if (r >= 0) {
                src = layer_source_digest(src, &du, -1);
                r = layer_unpack(src, dir_fd, LAYER_UNPACK_IMAGE, NULL, err);
        }
        if (r >= 0)
                r = layer_source_drain(raw, err);
        char got[DIGEST_STRING_MAX], diff[DIGEST_STRING_MAX];
        digest_final(&dc, got);
        digest_final(&du, diff);
        bool complete = dc.size == (uint64_t) d->size;
        if (complete && !streq(got, d->digest)) {
                /* Corrupt bytes must not be resumed from: start over next time. */
                (void) unlink(partial);
                (void) rm_rf(tmp_dir, NULL);
                stack_error_clear(err);
                return stack_error_set(err, EBADMSG,
                                       "layer %s from registry %s is corrupt: its content has digest %s",
                                       d->digest, j->rp->domain, got);
        }
        if (r < 0) {
                (void) rm_rf(tmp_dir, NULL);
                return stack_error_prefix(err, "layer %s", d->digest);
        }
        if (!complete) {
                (void) rm_rf(tmp_dir, NULL);
                return stack_error_set(err, EBADMSG, "layer %s: %llu bytes, the manifest says %lld",
                                       d->digest, (unsigned long long) dc.size, (long long) d->size);
        }
        if (!streq(diff, j->diff_id)) {
                (void) unlink(partial);
                (void) rm_rf(tmp_dir, NULL);
                return stack_error_set(
                    err, EBADMSG, "layer %s: uncompressed digest %s does not match the config's diff_id %s",
                    d->digest, diff, j->diff_id);
        }
        if (fsync(fd) < 0)
                return stack_error_errno(err, errno, "fsync %s", partial);
        if (rename(tmp_dir, layer_dir) < 0 || rename(partial, blob_file) < 0)
                return stack_error_errno(err, errno, "store layer %s", d->digest);
        j->unpacked = dir_size(layer_dir);
        j->blob_file = TAKE_PTR(blob_file);
        j->layer_dir = TAKE_PTR(layer_dir);
        progress(c, short_id, "Pull complete");
        return 0;
}

struct layer_pool {
        struct layer_job *jobs;
        size_t n, next;
        bool failed;
        pthread_mutex_t lock;
};

static void *layer_worker(void *arg)
{
        struct layer_pool *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next < p->n && !p->failed ? p->next++ : p->n;
                pthread_mutex_unlock(&p->lock);
                if (i >= p->n)
                        return NULL;
                struct layer_job *j = &p->jobs[i];
                j->r = pull_layer(j, &j->err);
                if (j->r < 0) {
                        pthread_mutex_lock(&p->lock);
                        p->failed = true;
                        pthread_mutex_unlock(&p->lock);
                }
        }
}

/* Runs the layer jobs, at most max at once; the first failure stops the rest from starting. */
static int pull_layers(struct layer_job *jobs, size_t n, int max, struct stack_error *err)
{
        struct layer_pool pool = {.jobs = jobs, .n = n};
        pthread_mutex_init(&pool.lock, NULL);
        size_t nt = n < (size_t) max ? n : (size_t) max;
        pthread_t *th = xcalloc(nt ? nt : 1, sizeof(*th));
        size_t started = 0;
        for (; started < nt; started++)
                if (pthread_create(&th[started], NULL, layer_worker, &pool) != 0)
                        break;
        if (started == 0)
                layer_worker(&pool);
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        free(th);
        pthread_mutex_destroy(&pool.lock);
        for (size_t i = 0; i < n; i++)
                if (jobs[i].r < 0) {
                        *err = jobs[i].err;
                        jobs[i].err = (struct stack_error){0};
                        return jobs[i].r;
                }
        return 0;
}

/* The config's diff_ids, one per layer. */
static int config_diff_ids(const char *data, size_t len, size_t n_layers, char ***ret,
                           struct stack_error *err)
{
        _cleanup_json_ cJSON *cfg = cJSON_ParseWithLength(data, len);
        const cJSON *ids =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
        if (!cJSON_IsArray(ids))
                return stack_error_set(err, EINVAL, "image config: no rootfs.diff_ids");
        _cleanup_strv_free_ char **l = xcalloc(1, sizeof(char *));
        const cJSON *it;
        cJSON_ArrayForEach(it, ids)
        {
                if (!cJSON_IsString(it) || !digest_is_valid(it->valuestring))
                        return stack_error_set(err, EINVAL, "image config: invalid diff_id");
                strv_push(&l, it->valuestring);
        }
        if (strv_length(l) != n_layers)
                return stack_error_set(err, EINVAL, "image config lists %zu diff_ids for %zu layers",
                                       strv_length(l), n_layers);
        *ret = TAKE_PTR(l);
        return 0;
}

/* Refuses a pull whose layers cannot fit: their compressed size is kept and unpacked at least once. */
static int check_space(struct image_store *s, const struct dist_manifest *m, struct stack_error *err)
{
        uint64_t need = 0;
        for (size_t i = 0; i < m->n_layers; i++)
                if (!image_store_has_blob(s, m->layers[i].digest, NULL))
                        need += (uint64_t) m->layers[i].size * 2;
        struct statvfs sv;
        if (statvfs(image_store_path(s), &sv) < 0)
                return 0;
        uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (need > avail)
                return stack_error_set(
                    err, ENOSPC, "not enough space in %s: the image needs at least %.1f MB, %.1f MB free",
                    image_store_path(s), need / 1e6, avail / 1e6);
        return 0;
}

static void layer_jobs_free(struct layer_job *jobs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(jobs[i].blob_file);
                free(jobs[i].layer_dir);
                stack_error_clear(&jobs[i].err);
        }
        free(jobs);
}

/* Whether the store already holds what the registry names: the reference resolves to an image with this
 * manifest and config, every layer present. Then nothing is fetched or written but the pull time
 * (pull_policy daily and weekly count from it), so a second pull of an unchanged tag costs its manifest
 * requests and no more. */
static bool pull_unchanged(struct registry_client *c, struct image_store *s, const char *norm,
                           const char *mdigest, const struct dist_manifest *m, struct image **ret)
{
        _cleanup_image_ struct image *img = NULL;
        if (image_lookup(s, norm, &img, NULL) < 0 || !img->digest || !streq(img->digest, mdigest) ||
            !streq(img->id, m->config.digest))
                return false;
        _cleanup_free_ struct image_layer_ref *layers = NULL;
        size_t n = 0;
        if (image_layer_refs(s, img->id, &layers, &n, NULL) < 0 || n != m->n_layers)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!image_layer_present(s, &layers[i]) || !streq(layers[i].digest, m->layers[i].digest))
                        return false;
        if (image_note_pulled(s, norm, NULL) < 0)
                return false;
        progress(c, norm, "Pulling");
        for (size_t i = 0; i < n; i++) {
                char short_id[13];
                snprintf(short_id, sizeof(short_id), "%s", digest_hex(layers[i].digest));
                progress(c, short_id, "Already exists");
        }
        progress(c, norm, "Pulled");
        if (ret)
                *ret = TAKE_PTR(img);
        return true;
}

int registry_pull(struct registry_client *c, struct image_store *s, const char *ref_s, const char *platform,
                  struct image **ret, struct stack_error *err)
{
        _cleanup_reference_ struct reference ref = {0};
        int r = reference_parse(ref_s, &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *norm = reference_string(&ref);
        _cleanup_free_ char *name = reference_familiar_name(&ref);
        _cleanup_free_ char *shown =
            ref.tag ? xasprintf("%s:%s", name, ref.tag) : xasprintf("%s@%s", name, ref.digest);
        _cleanup_dist_platform_ struct dist_platform want = {0};
        if (platform) {
                r = dist_platform_parse(platform, &want, err);
                if (r < 0)
                        return r;
        } else
                dist_platform_host(&want);

        _cleanup_(repo_done) struct repo rp = {0};
        r = repo_open(c, &ref, false, &rp, err);
        if (r < 0)
                return stack_error_prefix(err, "pull %s", shown);
        /* A digest pins the content; the tag beside it is only a name. */
        const char *what = ref.digest ? ref.digest : ref.tag;
        _cleanup_free_ char *top = NULL, *top_type = NULL;
        size_t top_len = 0;
        char top_digest[DIGEST_STRING_MAX];
        r = fetch_manifest(&rp, shown, what, &top, &top_len, &top_type, top_digest, err);
        if (r < 0)
                return r;
        _cleanup_dist_manifest_ struct dist_manifest m = {0};
        r = dist_manifest_parse(top, top_len, top_type, &m, err);
        if (r < 0)
                return stack_error_prefix(err, "%s", shown);
        _cleanup_free_ char *index = NULL, *mdata = NULL, *mtype = NULL;
        size_t index_len = 0, mlen = 0;
        char mdigest[DIGEST_STRING_MAX];
        if (m.kind == DIST_MANIFEST_INDEX) {
                const struct dist_descriptor *pick;
                r = dist_index_select(&m, &want, &pick, err);
                if (r < 0)
                        return stack_error_prefix(err, "%s", shown);
                _cleanup_free_ char *pick_digest = xstrdup(pick->digest);
                r = fetch_manifest(&rp, shown, pick_digest, &mdata, &mlen, &mtype, mdigest, err);
                if (r < 0)
                        return r;
                index = TAKE_PTR(top);
                index_len = top_len;
                dist_manifest_done(&m);
                r = dist_manifest_parse(mdata, mlen, mtype, &m, err);
                if (r < 0)
                        return stack_error_prefix(err, "%s", shown);
                if (m.kind != DIST_MANIFEST_IMAGE)
                        return stack_error_set(err, EPROTO, "%s: an index inside an index is not supported",
                                               shown);
        } else {
                mdata = TAKE_PTR(top);
                mlen = top_len;
                strcpy(mdigest, top_digest);
        }
        if (pull_unchanged(c, s, norm, mdigest, &m, ret))
                return 0;
        progress(c, norm, "Pulling");
        _cleanup_free_ char *cdata = NULL;
        size_t clen = 0;
        r = fetch_small_blob(&rp, &m.config, DIST_MAX_CONFIG, &cdata, &clen, err);
        if (r < 0)
                return stack_error_prefix(err, "%s: config", shown);
        _cleanup_strv_free_ char **diffs = NULL;
        r = config_diff_ids(cdata, clen, m.n_layers, &diffs, err);
        if (r < 0)
                return stack_error_prefix(err, "%s", shown);
        for (size_t i = 0; i < m.n_layers; i++) {
                const char *mt = m.layers[i].media_type;
                if (mt && (strstr(mt, "nondistributable") || strstr(mt, "foreign")))
                        return stack_error_set(err, EOPNOTSUPP, "%s: foreign layer %s is not supported",
                                               shown, m.layers[i].digest);
        }
        r = check_space(s, &m, err);
        if (r < 0)
                return r;

        struct layer_job *jobs = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*jobs));
        for (size_t i = 0; i < m.n_layers; i++)
                jobs[i] = (struct layer_job){.rp = &rp, .s = s, .d = &m.layers[i], .diff_id = diffs[i]};
        r = pull_layers(jobs, m.n_layers, c->o.max_layers, err);
        if (r < 0) {
                layer_jobs_free(jobs, m.n_layers);
                return stack_error_prefix(err, "%s", shown);
        }
        struct image_pulled_layer *pl = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*pl));
        for (size_t i = 0; i < m.n_layers; i++)
                pl[i] = (struct image_pulled_layer){
                    .digest = m.layers[i].digest,
                    .diff_id = diffs[i],
                    .media_type = m.layers[i].media_type,
                    .size = (uint64_t) m.layers[i].size,
                    .unpacked = jobs[i].unpacked,
                    .blob_file = jobs[i].blob_file,
                    .layer_dir = jobs[i].layer_dir,
                };
        char cdigest[DIGEST_STRING_MAX];
        strcpy(cdigest, m.config.digest);
        struct image_pulled p = {
            .reference = norm,
            .repo_digest = top_digest,
            .index = index,
            .index_len = index_len,
            .manifest = mdata,
            .manifest_len = mlen,
            .manifest_digest = mdigest,
            .config = cdata,
            .config_len = clen,
            .config_digest = cdigest,
            .layers = pl,
            .n_layers = m.n_layers,
        };
        r = image_commit_pulled(s, &p, ret, err);
        free(pl);
        layer_jobs_free(jobs, m.n_layers);
        if (r < 0)
                return stack_error_prefix(err, "%s", shown);
        progress(c, norm, "Pulled");
        return 0;
}

/* ---- push ---- */

static uint64_t chunk_size(void)
{
        const char *e = getenv("STACK_PUSH_CHUNK_SIZE");
        unsigned long long n = e ? strtoull(e, NULL, 10) : 0;
        return n > 0 ? n : PUSH_CHUNK_DEFAULT;
}

static char *with_digest(const char *location, const char *digest)
{
        return xasprintf("%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", digest);
}

/* Sends the blob to an upload session at location: one PUT, or PATCH chunks and a closing PUT. */
static int upload_blob(struct repo *rp, const char *location, int fd, uint64_t size, const char *digest,
                       struct stack_error *err)
{
        _cleanup_free_ char *loc = absolute_location(rp, location);
        uint64_t chunk = chunk_size();
        char *octet[] = {(char *) "Content-Type: application/octet-stream", NULL};
        if (size > chunk) {
                for (uint64_t off = 0; off < size;) {
                        uint64_t n = size - off < chunk ? size - off : chunk;
                        _cleanup_free_ char *range =
                            xasprintf("Content-Range: %llu-%llu", (unsigned long long) off,
                                      (unsigned long long) (off + n - 1));
                        char *extra[] = {octet[0], range, NULL};
                        struct http_request req = {.method = "PATCH",
                                                   .url = loc,
                                                   .tls = &rp->ep.tls,
                                                   .body_fd = fd,
                                                   .body_fd_offset = off,
                                                   .body_fd_len = n,
                                                   .has_body = true};
                        _cleanup_http_response_ struct http_response resp = {0};
                        int r = repo_fetch(rp, &req, extra, MAX_ERROR_BODY, &resp, NULL, NULL, err);
                        if (r < 0)
                                return r;
                        if (resp.status != 202 || !resp.location)
                                return stack_error_set(err, EPROTO,
                                                       "blob %s: chunk upload answered HTTP %ld", digest,
                                                       resp.status);
                        free(loc);
                        loc = absolute_location(rp, resp.location);
                        off += n;
                }
                _cleanup_free_ char *url = with_digest(loc, digest);
                struct http_request req = {
                    .method = "PUT", .url = url, .tls = &rp->ep.tls, .body = "", .has_body = true};
                _cleanup_http_response_ struct http_response resp = {0};
                int r = repo_fetch(rp, &req, octet, MAX_ERROR_BODY, &resp, NULL, NULL, err);
                if (r < 0)
                        return r;
                if (resp.status != 201)
                        return stack_error_set(err, EPROTO, "blob %s: closing the upload answered HTTP %ld",
                                               digest, resp.status);
                return 0;
        }
        _cleanup_free_ char *url = with_digest(loc, digest);
        struct http_request req = {.method = "PUT",
                                   .url = url,
                                   .tls = &rp->ep.tls,
                                   .body_fd = fd,
                                   .body_fd_len = size,
                                   .has_body = true};
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = repo_fetch(rp, &req, octet, MAX_ERROR_BODY, &resp, &body, &len, err);
        if (r < 0)
                return r;
        if (resp.status != 201) {
                _cleanup_free_ char *code = error_code(body, len, resp.status);
                return stack_error_set(err, EPROTO, "blob %s: upload refused: %s", digest, code);
        }
        return 0;
}

static int push_blob(struct repo *rp, struct image_store *s, const char *digest, char *const *mount_from,
                     struct stack_error *err)
{
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%s", digest_hex(digest));
        _cleanup_free_ char *url = repo_url(rp, "blobs/%s", digest);
        struct http_request head = {
            .method = "HEAD", .url = url, .tls = &rp->ep.tls, .follow_redirects = true};
        _cleanup_http_response_ struct http_response hr = {0};
        int r = repo_fetch(rp, &head, NULL, MAX_ERROR_BODY, &hr, NULL, NULL, err);
        if (r < 0)
                return r;
        if (hr.status == 200) {
                progress(rp->c, short_id, "Layer already exists");
                return 0;
        }
        if (hr.status == 401 || hr.status == 403)
                return access_error(rp, "push", err);
        _cleanup_free_ char *path = image_store_blob_path(s, digest);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "blob %s: %s", digest, path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s", path);

        _cleanup_free_ char *location = NULL;
        /* Another repository of this registry may have it: a mount costs no upload. */
        STRV_FOREACH (from, mount_from) {
                _cleanup_free_ char *from_esc = url_escape(*from);
                _cleanup_free_ char *murl =
                    repo_url(rp, "blobs/uploads/?mount=%s&from=%s", digest, from_esc);
                struct http_request req = {
                    .method = "POST", .url = murl, .tls = &rp->ep.tls, .body = "", .has_body = true};
                _cleanup_http_response_ struct http_response resp = {0};
                r = repo_fetch(rp, &req, NULL, MAX_ERROR_BODY, &resp, NULL, NULL, err);
                if (r < 0)
                        return r;
                if (resp.status == 201) {
                        progress(rp->c, short_id, "Mounted from %s", *from);
                        return 0;
                }
                if (resp.status == 202 && resp.location) {
                        location = xstrdup(resp.location);
                        break;
                }
        }
        if (!location) {
                _cleanup_free_ char *purl = repo_url(rp, "blobs/uploads/");
                struct http_request req = {
                    .method = "POST", .url = purl, .tls = &rp->ep.tls, .body = "", .has_body = true};
                _cleanup_http_response_ struct http_response resp = {0};
                r = repo_fetch(rp, &req, NULL, MAX_ERROR_BODY, &resp, NULL, NULL, err);
                if (r < 0)
                        return r;
                if (resp.status == 401 || resp.status == 403)
                        return access_error(rp, "push", err);
                if (resp.status != 202 || !resp.location)
                        return stack_error_set(err, EPROTO, "blob %s: starting an upload answered HTTP %ld",
                                               digest, resp.status);
                location = xstrdup(resp.location);
        }
        progress(rp->c, short_id, "Pushing");
        r = upload_blob(rp, location, fd, (uint64_t) st.st_size, digest, err);
        if (r < 0)
                return r;
        progress(rp->c, short_id, "Pushed");
        return 0;
}

int registry_push(struct registry_client *c, struct image_store *s, const char *ref_s,
                  struct stack_error *err)
{
        _cleanup_reference_ struct reference ref = {0};
        int r = reference_parse(ref_s, &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *norm = reference_string(&ref);
        _cleanup_image_ struct image *img = NULL;
        r = image_lookup(s, norm, &img, err);
        if (r < 0)
                return r;
        if (!img->digest)
                return stack_error_set(err, EINVAL, "image %s has no manifest to push", norm);
        _cleanup_free_ char *mpath = image_store_blob_path(s, img->digest);
        _cleanup_free_ char *mdata = NULL;
        size_t mlen = 0;
        r = read_full_file(mpath, &mdata, &mlen, err);
        if (r < 0)
                return stack_error_prefix(err, "image %s", norm);
        _cleanup_dist_manifest_ struct dist_manifest m = {0};
        r = dist_manifest_parse(mdata, mlen, NULL, &m, err);
        if (r < 0 || m.kind != DIST_MANIFEST_IMAGE)
                return r < 0 ? stack_error_prefix(err, "image %s", norm)
                             : stack_error_set(err, EINVAL, "image %s: stored manifest is an index", norm);

        /* Other repositories of the same registry this image came from can lend their blobs. */
        _cleanup_strv_free_ char **mount_from = xcalloc(1, sizeof(char *));
        STRV_FOREACH (rd, img->repo_digests) {
                _cleanup_reference_ struct reference other = {0};
                if (reference_parse(*rd, &other, NULL) < 0)
                        continue;
                if (streq(other.domain, ref.domain) && !streq(other.path, ref.path) &&
                    !strv_contains(mount_from, other.path))
                        strv_push(&mount_from, other.path);
        }
        _cleanup_(repo_done) struct repo rp = {0};
        r = repo_open(c, &ref, true, &rp, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m.n_layers; i++) {
                r = push_blob(&rp, s, m.layers[i].digest, mount_from, err);
                if (r < 0)
                        return stack_error_prefix(err, "push %s", norm);
        }
        r = push_blob(&rp, s, m.config.digest, mount_from, err);
        if (r < 0)
                return stack_error_prefix(err, "push %s: config", norm);

        const char *tag = ref.tag ? ref.tag : img->digest;
        _cleanup_free_ char *url = repo_url(&rp, "manifests/%s", tag);
        _cleanup_free_ char *ctype = xasprintf("Content-Type: %s", m.media_type);
        char *extra[] = {ctype, NULL};
        struct http_request req = {.method = "PUT",
                                   .url = url,
                                   .tls = &rp.ep.tls,
                                   .body = mdata,
                                   .body_len = mlen,
                                   .has_body = true};
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        r = repo_fetch(&rp, &req, extra, MAX_ERROR_BODY, &resp, &body, &len, err);
        if (r < 0)
                return stack_error_prefix(err, "push %s", norm);
        if (resp.status == 401 || resp.status == 403)
                return access_error(&rp, "push", err);
        if (resp.status != 201) {
                _cleanup_free_ char *code = error_code(body, len, resp.status);
                return stack_error_set(err, EPROTO, "push %s: manifest refused: %s", norm, code);
        }
        if (resp.docker_content_digest && !streq(resp.docker_content_digest, img->digest))
                return stack_error_set(err, EBADMSG, "push %s: registry stored the manifest as %s, not %s",
                                       norm, resp.docker_content_digest, img->digest);
        progress(c, norm, "%s: digest: %s size: %zu", ref.tag ? ref.tag : "", img->digest, mlen);
        return 0;
}

/* ---- login ---- */

int registry_login_check(struct registry_client *c, const char *domain, const char *user,
                         const char *password, struct stack_error *err)
{
        struct reference ref = {.domain = (char *) domain};
        _cleanup_(repo_done) struct repo rp = {0};
        int r = repo_open(c, &ref, false, &rp, err);
        if (r < 0)
                return r;
        /* The credentials under test, not whatever the config files hold. */
        rp.creds_loaded = rp.has_creds = true;
        rp.creds.username = xstrdup(user);
        rp.creds.password = xstrdup(password);
        _cleanup_free_ char *url = xasprintf("%s/v2/", rp.ep.base);
        struct http_request req = {.url = url, .tls = &rp.ep.tls, .follow_redirects = true};
        _cleanup_http_response_ struct http_response resp = {0};
        r = repo_fetch(&rp, &req, NULL, MAX_ERROR_BODY, &resp, NULL, NULL, err);
        if (r < 0)
                return r;
        if (resp.status == 401 || resp.status == 403)
                return stack_error_set(err, EACCES,
                                       "login to %s: unauthorized: incorrect username or password", domain);
        if (resp.status != 200)
                return stack_error_set(err, EPROTO, "login to %s: %s answered HTTP %ld", domain, url,
                                       resp.status);
        return 0;
}
