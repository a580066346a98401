/* HTTP through libcurl, as the registry client needs it: one request at a time per stream, the response
 * read as a pull-style stream (so a layer flows from the socket through the digest and the unpacker
 * without ever being held whole in memory), redirects followed but never from https to http.
 *
 * Credentials travel only in the headers the caller passes; nothing here logs a header or a URL's
 * userinfo, and libcurl drops a custom Authorization header when a redirect leaves the host. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"

struct http_tls {
        char *ca_file;     /* extra CA bundle (certs.d/HOST/ca.crt), NULL: system CAs only */
        char *client_cert; /* client.cert, NULL: none */
        char *client_key;  /* client.key */
};

struct http_request {
        const char *method; /* "GET" when NULL */
        const char *url;
        char *const *headers; /* "Name: value", NULL-terminated, may be NULL */
        uint64_t range_from;  /* > 0: ask for "Range: bytes=N-" */
        /* Request body (PUT, POST, PATCH): from memory, or else from fd (not owned), body_fd_len bytes
         * from body_fd_offset. The request must outlive its stream when it has a body. */
        const void *body;
        size_t body_len;
        int body_fd;
        uint64_t body_fd_offset;
        uint64_t body_fd_len;
        bool has_body;
        bool follow_redirects;
        const struct http_tls *tls;
};

struct http_response {
        long status;
        char *www_authenticate; /* the first challenge header */
        char *location;
        char *content_type;
        char *docker_content_digest;
        char *content_range;
        char *range; /* the "Range" header of an upload status response */
        char *effective_url;
        int64_t content_length; /* -1 when unknown */
};

void http_response_done(struct http_response *r);

struct http_stream;

/* Sends the request and waits for the response's headers (or its end). Transport failures (refused,
 * timed out, TLS) return a negative errno with a message naming the URL; any HTTP status is success and
 * left to the caller. *ret_transient says whether a retry could help. */
int http_stream_open(const struct http_request *req, struct http_stream **ret, bool *ret_transient,
                     struct stack_error *err);
const struct http_response *http_stream_response(const struct http_stream *s);
/* Reads the body: > 0 bytes, 0 at its end, negative errno on a transport failure (*ret_transient as
 * above, may be NULL). */
ssize_t http_stream_read(struct http_stream *s, void *buf, size_t n, bool *ret_transient,
                         struct stack_error *err);
void http_stream_free(struct http_stream *s);

/* A whole request with the body read into memory, refused above max_body bytes. */
int http_fetch(const struct http_request *req, size_t max_body, struct http_response *ret, char **ret_body,
               size_t *ret_len, bool *ret_transient, struct stack_error *err);

/* Once per process, before any thread uses HTTP. */
void http_global_init(void);

static inline void http_stream_freep(struct http_stream **s)
{
        if (*s)
                http_stream_free(*s);
}
#define _cleanup_http_stream_ __attribute__((cleanup(http_stream_freep)))
static inline void http_response_donep(struct http_response *r)
{
        http_response_done(r);
}
#define _cleanup_http_response_ __attribute__((cleanup(http_response_donep)))
