/* Registry credentials where docker and podman users already keep them: docker's config.json
 * ($DOCKER_CONFIG/config.json or ~/.docker/config.json: "auths" with "auth" or "identitytoken",
 * "credsStore"/"credHelpers" through docker-credential-NAME), then podman's auth.json
 * ($REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json).
 *
 * Secrets stay in these structs and the request headers built from them: no message here names one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"

struct registry_credentials {
        char *username;
        char *password;
        char *identity_token; /* an OAuth2 refresh token (docker's identitytoken) */
};

void registry_credentials_done(struct registry_credentials *c);

char *registry_base64_encode(const void *data, size_t n);
/* -EINVAL on a character outside the alphabet or a bad length. */
int registry_base64_decode(const char *s, char **ret, size_t *ret_len);

/* docker's config.json for this user (whether or not it exists). */
char *registry_docker_config_path(void);

/* Finds credentials for a registry domain ("docker.io", "localhost:5000"): 1 with *ret filled, 0 when
 * none are configured, negative errno when a file or helper is broken. */
int registry_credentials_lookup(const char *domain, struct registry_credentials *ret,
                                struct stack_error *err);

/* `login`: records user and password for domain in docker's config.json (0600, written atomically, every
 * other key kept). */
int registry_auth_store(const char *domain, const char *user, const char *password, struct stack_error *err);
/* `logout`: removes them; -ENOENT when there were none. */
int registry_auth_erase(const char *domain, struct stack_error *err);

static inline void registry_credentials_donep(struct registry_credentials *c)
{
        registry_credentials_done(c);
}
#define _cleanup_registry_credentials_ __attribute__((cleanup(registry_credentials_donep)))
