/* A client of OCI distribution registries (Docker Registry HTTP API v2): pull into the image store, push
 * from it, and verify a login.
 *
 * One client serves any number of threads: each pull or push runs on its own connections, and the
 * client shares what is worth sharing between them (each registry's endpoint and challenge, bearer
 * tokens per scope until they expire). Blobs are downloaded at most once even when several pulls, in
 * this process or another, need the same one: a lock per blob in the store's pulls/ directory. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "core/image/image.h"

/* Progress as compose shows it: id is a layer's short digest or the image reference, status "Pulling fs
 * layer", "Already exists", "Downloading", "Pull complete", "Pushed", ... */
typedef void (*registry_progress_fn)(void *userdata, const char *id, const char *status);

struct registry_options {
        int max_layers; /* layers transferred at once per image; <= 0: 3 */
        registry_progress_fn progress;
        void *userdata;
};

struct registry_client;

struct registry_client *registry_client_new(const struct registry_options *o);
void registry_client_free(struct registry_client *c);

/* Pulls ref ("redis:7", "localhost:5000/x@sha256:...") for platform ("linux/arm64", NULL: the host's)
 * into the store and names it ref. A digest in ref is verified against what the registry serves. */
int registry_pull(struct registry_client *c, struct image_store *s, const char *ref, const char *platform,
                  struct image **ret, struct stack_error *err);

/* Pushes the stored image named ref to its registry: blobs the registry lacks (mounted from another
 * repository of the same registry when possible), then the manifest under ref's tag. */
int registry_push(struct registry_client *c, struct image_store *s, const char *ref,
                  struct stack_error *err);

/* Checks user and password against the registry serving domain (its /v2/ endpoint, through the token
 * service when it has one). */
int registry_login_check(struct registry_client *c, const char *domain, const char *user,
                         const char *password, struct stack_error *err);

static inline void registry_client_freep(struct registry_client **c)
{
        if (*c)
                registry_client_free(*c);
}
#define _cleanup_registry_client_ __attribute__((cleanup(registry_client_freep)))
