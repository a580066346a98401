/* The registry client (see registry.h): endpoints, authentication, the request helpers every call goes
 * through, push and the login check. Pulls are in core/image/registry-pull.c. */
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
#include "core/image/registry-internal.h"

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

void registry_progress(struct registry_client *c, const char *id, const char *fmt, ...)
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

/* A list of strings from docker's /etc/docker/daemon.json; NULL when absent. */
static char **daemon_json_strv(const char *key)
{
        _cleanup_free_ char *text = NULL;
        if (read_full_file("/etc/docker/daemon.json", &text, NULL, NULL) < 0)
                return NULL;
        _cleanup_json_ cJSON *j = cJSON_Parse(text);
        return json_get_strv(j, key);
}

/* "http://host:port/" -> "host:port"; NULL for what is not an http(s) URL. */
static char *mirror_host(const char *url, bool *ret_http)
{
        const char *rest = startswith(url, "https://");
        *ret_http = false;
        if (!rest) {
                rest = startswith(url, "http://");
                *ret_http = rest != NULL;
        }
        if (!rest || !*rest)
                return NULL;
        size_t n = strcspn(rest, "/");
        return n > 0 ? xstrndup(rest, n) : NULL;
}

/* The mirror URLs as the user wrote them. */
static char **mirror_urls(void)
{
        const char *env = getenv("STACK_REGISTRY_MIRRORS");
        if (env)
                return strv_split(env, ",");
        return daemon_json_strv("registry-mirrors");
}

char **registry_mirrors(void)
{
        _cleanup_strv_free_ char **urls = mirror_urls();
        char **hosts = NULL;
        STRV_FOREACH (u, urls) {
                bool http;
                _cleanup_free_ char *h = mirror_host(*u, &http);
                if (h && !strv_contains(hosts, h))
                        strv_push(&hosts, h);
        }
        return hosts;
}

/* A mirror the user wrote as http:// may be reached over plain HTTP: the URL says so. */
static bool mirror_over_http(const char *domain)
{
        _cleanup_strv_free_ char **urls = mirror_urls();
        STRV_FOREACH (u, urls) {
                bool http;
                _cleanup_free_ char *h = mirror_host(*u, &http);
                if (h && http && streq(h, domain))
                        return true;
        }
        return false;
}

static bool insecure_registry(const char *domain)
{
        if (dist_registry_insecure_default(domain))
                return true;
        if (mirror_over_http(domain))
                return true;
        /* Registries the user marks as plain HTTP: $STACK_INSECURE_REGISTRIES (comma-separated) and
         * docker's own "insecure-registries" in /etc/docker/daemon.json. */
        _cleanup_strv_free_ char **l = strv_split(getenv("STACK_INSECURE_REGISTRIES") ?: "", ",");
        STRV_FOREACH (d, l)
                if (streq(*d, domain))
                        return true;
        _cleanup_strv_free_ char **listed = daemon_json_strv("insecure-registries");
        return strv_contains(listed, domain);
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
                h = xasprintf(
                    "if the registry requires a client certificate, put client.cert and client.key "
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
                        r = stack_error_set(&e2, EPROTO, "%s: answered HTTP %ld: not a registry (v2 API)",
                                            url, resp.status);
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

void repo_done(struct repo *r)
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
int repo_authorize(struct repo *rp, const char *challenge, struct stack_error *err)
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

int repo_open(struct registry_client *c, const struct reference *ref, bool push, struct repo *ret,
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

char *repo_url(const struct repo *rp, const char *fmt, ...)
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
static char *repo_absolute_location(const struct repo *rp, const char *loc)
{
        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return xstrdup(loc);
        return xasprintf("%s%s%s", rp->ep.base, loc[0] == '/' ? "" : "/", loc);
}

bool registry_status_transient(long status)
{
        return status == 429 || status == 502 || status == 503 || status == 504 || status == 500;
}

void registry_backoff(int attempt)
{
        uint64_t ms = 200u << (attempt < 5 ? attempt : 5);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* One request with the repository's authorization: a 401 is answered once by the challenge it carries,
 * transient failures are retried with registry_backoff. extra: the request's own headers. */
int repo_fetch(struct repo *rp, struct http_request *req, char *const *extra, size_t max,
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
                                registry_backoff(attempt);
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
                if (registry_status_transient(resp.status) && attempt + 1 < MAX_ATTEMPTS) {
                        registry_backoff(attempt);
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
char *registry_error_code(const char *body, size_t len, long status)
{
        _cleanup_json_ cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
        const char *code = json_get_str(e, "code"), *msg = json_get_str(e, "message");
        if (code && msg)
                return xasprintf("%s: %s", code, msg);
        return xasprintf("HTTP %ld", status);
}

int repo_access_error(const struct repo *rp, const char *what, struct stack_error *err)
{
        return stack_error_set(
            err, EACCES,
            "%s access denied for %s/%s: the repository does not exist or needs 'stack login "
            "%s'",
            what, rp->domain, rp->path, rp->domain);
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
        _cleanup_free_ char *loc = repo_absolute_location(rp, location);
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
                        loc = repo_absolute_location(rp, resp.location);
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
                _cleanup_free_ char *code = registry_error_code(body, len, resp.status);
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
                registry_progress(rp->c, short_id, "Layer already exists");
                return 0;
        }
        if (hr.status == 401 || hr.status == 403)
                return repo_access_error(rp, "push", err);
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
                        registry_progress(rp->c, short_id, "Mounted from %s", *from);
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
                        return repo_access_error(rp, "push", err);
                if (resp.status != 202 || !resp.location)
                        return stack_error_set(err, EPROTO, "blob %s: starting an upload answered HTTP %ld",
                                               digest, resp.status);
                location = xstrdup(resp.location);
        }
        registry_progress(rp->c, short_id, "Pushing");
        r = upload_blob(rp, location, fd, (uint64_t) st.st_size, digest, err);
        if (r < 0)
                return r;
        registry_progress(rp->c, short_id, "Pushed");
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
                return repo_access_error(&rp, "push", err);
        if (resp.status != 201) {
                _cleanup_free_ char *code = registry_error_code(body, len, resp.status);
                return stack_error_set(err, EPROTO, "push %s: manifest refused: %s", norm, code);
        }
        if (resp.docker_content_digest && !streq(resp.docker_content_digest, img->digest))
                return stack_error_set(err, EBADMSG, "push %s: registry stored the manifest as %s, not %s",
                                       norm, resp.docker_content_digest, img->digest);
        registry_progress(c, norm, "%s: digest: %s size: %zu", ref.tag ? ref.tag : "", img->digest, mlen);
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
