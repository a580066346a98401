/* What the registry client's files share: the client, its endpoints and tokens, a repository session and the
 * request helpers. Not for use outside core/image/registry*.c. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/image/http.h"
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

/* One repository on one registry, with the credentials and the Authorization header for its actions. */
struct repo {
        struct registry_client *c;
        struct endpoint ep; /* borrowed from the client */
        char *domain, *path;
        const char *actions; /* "pull" or "pull,push" */
        struct registry_credentials creds;
        bool creds_loaded, has_creds;
        char *auth; /* "Authorization: ..." or NULL */
};

/* A progress line for item id (a layer, a manifest) to the caller's callback. */
void registry_progress(struct registry_client *c, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* docker.io's mirrors as "host[:port]": $STACK_REGISTRY_MIRRORS (comma-separated URLs) when set, else the
 * "registry-mirrors" of /etc/docker/daemon.json, as docker reads them. NULL when there are none. */
char **registry_mirrors(void);
/* Repository sessions: open (endpoint and credentials), authorize against a challenge, close. */
void repo_done(struct repo *r);
int repo_authorize(struct repo *rp, const char *challenge, struct stack_error *err);
int repo_open(struct registry_client *c, const struct reference *ref, bool push, struct repo *ret,
              struct stack_error *err);
char *repo_url(const struct repo *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Retries: which HTTP statuses are worth another attempt, and the pause before attempt n. */
bool registry_status_transient(long status);
void registry_backoff(int attempt);
/* One request with authentication and retries; bodies above max are refused. */
int repo_fetch(struct repo *rp, struct http_request *req, char *const *extra, size_t max,
               struct http_response *ret, char **ret_body, size_t *ret_len, struct stack_error *err);
/* The registry's error code from an error body (or the HTTP status), and the error for a denied access. */
char *registry_error_code(const char *body, size_t len, long status);
int repo_access_error(const struct repo *rp, const char *what, struct stack_error *err);
