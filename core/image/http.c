/* HTTP over libcurl's multi interface, turned into a pull-style stream: read() drives the transfer until
 * bytes are buffered. The buffer is bounded by pausing the transfer when it fills, so memory does not
 * grow with the size of what is downloaded.
 *
 * libcurl is loaded with dlopen on first use rather than linked: its dependencies (TLS, Kerberos, LDAP,
 * ...) are most of the dynamic loader's work at startup, and only the commands that reach a registry need
 * them. Every other command (ps, a no-op up, down) starts without them. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/image/http.h"

/* The write callback pauses the transfer above this many buffered bytes. */
#define HTTP_BUFFER_HIGH (1u << 20)
/* The library's soname: the ABI the headers describe. */
#define HTTP_CURL_SONAME "libcurl.so.4"

/* The functions used, resolved from the library once. */
#define CURL_FUNCTIONS(X)                                                                                     \
        X(global_init) X(easy_init) X(easy_setopt) X(easy_getinfo) X(easy_pause) X(easy_cleanup)              \
            X(easy_strerror) X(multi_init) X(multi_add_handle) X(multi_remove_handle) X(multi_perform)        \
                X(multi_poll) X(multi_info_read) X(multi_strerror) X(multi_cleanup) X(slist_append)           \
                    X(slist_free_all) X(share_init) X(share_setopt)
static struct {
#define X(f) __typeof__(&curl_##f) f;
        CURL_FUNCTIONS(X)
#undef X
        CURLSH *share;
        char error[256]; /* why loading failed, "" when it did not */
} curl;

struct http_stream {
        CURLM *multi;
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        struct http_response resp;
        char *buf;
        size_t len, pos, cap;
        bool paused, done, headers_done;
        unsigned responses; /* status lines seen: more than one after a redirect */
        CURLcode result;
        char errbuf[CURL_ERROR_SIZE];
        const struct http_request *req; /* only while the request's body is uploaded */
        uint64_t body_pos;
};

/* Connections, DNS answers and TLS sessions are shared by every stream of the process, so that the many
 * small requests of a pull (probe, token, manifests, blobs) reuse one connection per registry instead of
 * a TCP (and TLS) handshake each. Layers download on several threads at once: the share is locked. */
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userdata)
{
        pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userdata)
{
        pthread_mutex_unlock(&share_locks[data]);
}

static bool load_curl(void)
{
        void *lib = dlopen(HTTP_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
                snprintf(curl.error, sizeof(curl.error), "%s", dlerror());
                return false;
        }
#define X(f)                                                                                                  \
        if (!(curl.f = (__typeof__(curl.f)) dlsym(lib, "curl_" #f))) {                                        \
                snprintf(curl.error, sizeof(curl.error), "%s has no curl_%s", HTTP_CURL_SONAME, #f);         \
                return false;                                                                                 \
        }
        CURL_FUNCTIONS(X)
#undef X
        /* The library stays loaded for the life of the process: handles may outlive any one caller. */
        return true;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init_once(void)
{
        if (!load_curl())
                return;
        if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                snprintf(curl.error, sizeof(curl.error), "curl_global_init failed");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(share_locks); i++)
                pthread_mutex_init(&share_locks[i], NULL);
        curl.share = curl.share_init();
        if (!curl.share)
                return; /* every stream then opens its own connections: slower, still correct */
        curl.share_setopt(curl.share, CURLSHOPT_LOCKFUNC, share_lock);
        curl.share_setopt(curl.share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl.share_setopt(curl.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
        curl.share_setopt(curl.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl.share_setopt(curl.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

void http_global_init(void)
{
        pthread_once(&global_once, global_init_once);
}

void http_response_done(struct http_response *r)
{
        free(r->www_authenticate);
        free(r->location);
        free(r->content_type);
        free(r->docker_content_digest);
        free(r->content_range);
        free(r->range);
        free(r->effective_url);
        *r = (struct http_response){.content_length = -1};
}

static void set_header(char **field, const char *value, size_t n)
{
        while (n > 0 && (*value == ' ' || *value == '\t')) {
                value++;
                n--;
        }
        while (n > 0 && (value[n - 1] == '\r' || value[n - 1] == '\n' || value[n - 1] == ' '))
                n--;
        free(*field);
        *field = xstrndup(value, n);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct http_stream *s = userdata;
        size_t n = size * nmemb;
        /* A redirect's headers come first: a new status line starts the response over. */
        if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                s->responses++;
                http_response_done(&s->resp);
                return n;
        }
        static const struct {
                const char *name;
                size_t off;
        } wanted[] = {
            {"www-authenticate:", offsetof(struct http_response, www_authenticate)},
            {"location:", offsetof(struct http_response, location)},
            {"content-type:", offsetof(struct http_response, content_type)},
            {"docker-content-digest:", offsetof(struct http_response, docker_content_digest)},
            {"content-range:", offsetof(struct http_response, content_range)},
            {"range:", offsetof(struct http_response, range)},
        };
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                size_t k = strlen(wanted[i].name);
                if (n > k && strncasecmp(data, wanted[i].name, k) == 0) {
                        char **field = (char **) ((char *) &s->resp + wanted[i].off);
                        /* Keep the first challenge when a registry sends several. */
                        if (*field && i == 0)
                                return n;
                        set_header(field, data + k, n - k);
                        return n;
                }
        }
        return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct http_stream *s = userdata;
        size_t n = size * nmemb;
        if (s->len - s->pos >= HTTP_BUFFER_HIGH) {
                s->paused = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        if (s->pos > 0 && s->pos == s->len)
                s->pos = s->len = 0;
        if (s->pos > 0 && s->len + n > s->cap) {
                memmove(s->buf, s->buf + s->pos, s->len - s->pos);
                s->len -= s->pos;
                s->pos = 0;
        }
        GROW(s->buf, s->cap, s->len + n);
        memcpy(s->buf + s->len, data, n);
        s->len += n;
        return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *userdata)
{
        struct http_stream *s = userdata;
        const struct http_request *q = s->req;
        size_t n = size * nmemb;
        if (q->body) {
                size_t left = q->body_len - s->body_pos;
                if (n > left)
                        n = left;
                memcpy(buf, (const char *) q->body + s->body_pos, n);
                s->body_pos += n;
                return n;
        }
        uint64_t left = q->body_fd_len - s->body_pos;
        if (n > left)
                n = left;
        if (n == 0)
                return 0;
        ssize_t k;
        do
                k = pread(q->body_fd, buf, n, (off_t) (q->body_fd_offset + s->body_pos));
        while (k < 0 && errno == EINTR);
        if (k <= 0)
                return CURL_READFUNC_ABORT;
        s->body_pos += k;
        return (size_t) k;
}

/* Errors a retry may cure: the network, the peer going away, a timeout. Not TLS trust, not a bad URL. */
static bool is_transient(CURLcode c)
{
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_COULDNT_RESOLVE_HOST:
                return true;
        default:
                return false;
        }
}

static int curl_errno(CURLcode c)
{
        switch (c) {
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return EPROTO;
        case CURLE_TOO_MANY_REDIRECTS:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return ELOOP;
        default:
                return EIO;
        }
}

static int fail(struct http_stream *s, bool *ret_transient, struct stack_error *err)
{
        if (ret_transient)
                *ret_transient = is_transient(s->result);
        const char *detail = s->errbuf[0] ? s->errbuf : curl.easy_strerror(s->result);
        if (s->result == CURLE_UNSUPPORTED_PROTOCOL && s->responses > 0)
                detail = "redirected to a URL whose scheme is not allowed (never from https to http)";
        return stack_error_set(err, curl_errno(s->result), "%s: %s", s->url, detail);
}

/* Runs the transfer until data is buffered, the headers are complete, or it ends. */
static int pump(struct http_stream *s, bool want_data, bool *ret_transient, struct stack_error *err)
{
        for (;;) {
                if (s->len > s->pos || s->done)
                        break;
                if (!want_data && s->headers_done)
                        break;
                if (s->paused) {
                        s->paused = false;
                        curl.easy_pause(s->easy, CURLPAUSE_CONT);
                        continue;
                }
                int running = 0;
                CURLMcode mc = curl.multi_perform(s->multi, &running);
                if (mc != CURLM_OK)
                        return stack_error_set(err, EIO, "%s: %s", s->url, curl.multi_strerror(mc));
                int left;
                CURLMsg *m;
                while ((m = curl.multi_info_read(s->multi, &left)))
                        if (m->msg == CURLMSG_DONE) {
                                s->done = true;
                                s->result = m->data.result;
                        }
                /* The status is final once body bytes flow or the transfer ends: a redirect's own body is
                 * never passed on by libcurl. */
                s->headers_done = s->len > s->pos || s->done;
                if (s->len > s->pos || s->done)
                        break;
                if (!want_data && s->headers_done)
                        break;
                if (running == 0 && !s->done)
                        continue;
                mc = curl.multi_poll(s->multi, NULL, 0, 1000, NULL);
                if (mc != CURLM_OK)
                        return stack_error_set(err, EIO, "%s: %s", s->url, curl.multi_strerror(mc));
        }
        if (s->done && s->result != CURLE_OK && s->len == s->pos)
                return fail(s, ret_transient, err);
        return 0;
}

static int add_header(struct http_stream *s, const char *h)
{
        struct curl_slist *l = curl.slist_append(s->headers, h);
        if (!l)
                return -ENOMEM;
        s->headers = l;
        return 0;
}

int http_stream_open(const struct http_request *req, struct http_stream **ret, bool *ret_transient,
                     struct stack_error *err)
{
        http_global_init();
        if (ret_transient)
                *ret_transient = false;
        if (!curl.easy_init || curl.error[0])
                return stack_error_set(err, ENOSYS, "%s: cannot use libcurl (%s): install the package libcurl4",
                                       req->url, curl.error[0] ? curl.error : "not loaded");
        struct http_stream *s = xcalloc(1, sizeof(*s));
        _cleanup_(http_stream_freep) struct http_stream *owned = s;
        s->resp.content_length = -1;
        s->url = xstrdup(req->url);
        s->req = req;
        s->multi = curl.multi_init();
        s->easy = curl.easy_init();
        if (!s->multi || !s->easy)
                return stack_error_set(err, ENOMEM, "%s: cannot set up libcurl", req->url);
        CURL *e = s->easy;
        bool https = startswith(req->url, "https://") != NULL;
        curl.easy_setopt(e, CURLOPT_URL, req->url);
        curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        /* Storage redirects may leave the registry's host, but never its encryption. */
        curl.easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
        curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
        curl.easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
        curl.easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
        curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl.easy_setopt(e, CURLOPT_HEADERDATA, s);
        curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl.easy_setopt(e, CURLOPT_WRITEDATA, s);
        curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A stalled transfer (under 1 byte/s for a minute) is a failure a retry may cure. */
        curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
        curl.easy_setopt(e, CURLOPT_USERAGENT, "stack/" PACKAGE_VERSION);
        if (curl.share)
                curl.easy_setopt(e, CURLOPT_SHARE, curl.share);
        if (req->tls) {
                if (req->tls->ca_file)
                        curl.easy_setopt(e, CURLOPT_CAINFO, req->tls->ca_file);
                if (req->tls->client_cert)
                        curl.easy_setopt(e, CURLOPT_SSLCERT, req->tls->client_cert);
                if (req->tls->client_key)
                        curl.easy_setopt(e, CURLOPT_SSLKEY, req->tls->client_key);
        }
        const char *method = req->method ? req->method : "GET";
        if (streq(method, "HEAD"))
                curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
        else if (streq(method, "PUT") || req->has_body) {
                curl.easy_setopt(e, CURLOPT_UPLOAD, 1L);
                curl.easy_setopt(e, CURLOPT_READFUNCTION, on_read);
                curl.easy_setopt(e, CURLOPT_READDATA, s);
                curl.easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                                 (curl_off_t) (req->body ? req->body_len : req->body_fd_len));
                if (!streq(method, "PUT"))
                        curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
                /* Registries answer uploads at once; no "100-continue" round trip. */
                if (add_header(s, "Expect:") < 0)
                        return stack_error_set(err, ENOMEM, "%s: out of memory", req->url);
        } else if (!streq(method, "GET"))
                curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        STRV_FOREACH (h, req->headers)
                if (add_header(s, *h) < 0)
                        return stack_error_set(err, ENOMEM, "%s: out of memory", req->url);
        if (req->range_from > 0) {
                _cleanup_free_ char *range =
                    xasprintf("Range: bytes=%llu-", (unsigned long long) req->range_from);
                if (add_header(s, range) < 0)
                        return stack_error_set(err, ENOMEM, "%s: out of memory", req->url);
        }
        curl.easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
        curl.multi_add_handle(s->multi, e);

        int r = pump(s, false, ret_transient, err);
        if (r < 0)
                return r;
        curl.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &s->resp.status);
        curl_off_t cl = -1;
        if (curl.easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
                s->resp.content_length = cl;
        char *eff = NULL;
        if (curl.easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
                s->resp.effective_url = xstrdup(eff);
        *ret = TAKE_PTR(owned);
        return 0;
}

const struct http_response *http_stream_response(const struct http_stream *s)
{
        return &s->resp;
}

ssize_t http_stream_read(struct http_stream *s, void *buf, size_t n, bool *ret_transient,
                         struct stack_error *err)
{
        if (ret_transient)
                *ret_transient = false;
        int r = pump(s, true, ret_transient, err);
        if (r < 0)
                return r;
        size_t avail = s->len - s->pos;
        if (n > avail)
                n = avail;
        if (n == 0)
                return 0;
        memcpy(buf, s->buf + s->pos, n);
        s->pos += n;
        return (ssize_t) n;
}

void http_stream_free(struct http_stream *s)
{
        if (s->multi && s->easy)
                curl.multi_remove_handle(s->multi, s->easy);
        if (s->easy)
                curl.easy_cleanup(s->easy);
        if (s->multi)
                curl.multi_cleanup(s->multi);
        curl.slist_free_all(s->headers);
        http_response_done(&s->resp);
        free(s->buf);
        free(s->url);
        free(s);
}

int http_fetch(const struct http_request *req, size_t max_body, struct http_response *ret, char **ret_body,
               size_t *ret_len, bool *ret_transient, struct stack_error *err)
{
        _cleanup_http_stream_ struct http_stream *s = NULL;
        int r = http_stream_open(req, &s, ret_transient, err);
        if (r < 0)
                return r;
        /* A HEAD's Content-Length describes a body that never comes. */
        bool head = req->method && streq(req->method, "HEAD");
        if (!head && s->resp.content_length > 0 && (uint64_t) s->resp.content_length > max_body)
                return stack_error_set(err, EFBIG,
                                       "%s: response of %lld bytes is larger than the %zu allowed", req->url,
                                       (long long) s->resp.content_length, max_body);
        struct strbuf b = {0};
        char chunk[16384];
        for (;;) {
                ssize_t k = http_stream_read(s, chunk, sizeof(chunk), ret_transient, err);
                if (k < 0) {
                        strbuf_free(&b);
                        return (int) k;
                }
                if (k == 0)
                        break;
                if (b.len + k > max_body) {
                        strbuf_free(&b);
                        return stack_error_set(err, EFBIG, "%s: response larger than the %zu bytes allowed",
                                               req->url, max_body);
                }
                strbuf_add(&b, chunk, k);
        }
        if (ret_len)
                *ret_len = b.len;
        if (ret_body)
                *ret_body = b.buf ? strbuf_take(&b) : xstrdup("");
        else
                strbuf_free(&b);
        *ret = s->resp;
        s->resp = (struct http_response){.content_length = -1};
        return 0;
}
