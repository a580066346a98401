/* The pure parts of the OCI distribution protocol: authentication challenges, manifests and indexes,
 * platforms, and where a reference's registry lives. No I/O here, so all of it is unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/digest.h"
#include "core/base/error.h"

#define DIST_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define DIST_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define DIST_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DIST_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DIST_MEDIA_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define DIST_MEDIA_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
/* What a pull accepts, most wanted first. */
#define DIST_ACCEPT                                                                              \
        "Accept: " DIST_MEDIA_OCI_INDEX ", " DIST_MEDIA_DOCKER_LIST ", " DIST_MEDIA_OCI_MANIFEST \
        ", " DIST_MEDIA_DOCKER_MANIFEST

/* Limits against a hostile registry. */
#define DIST_MAX_MANIFEST (4u << 20)
#define DIST_MAX_CONFIG (8u << 20)
#define DIST_MAX_LAYERS 256
#define DIST_MAX_INDEX_ENTRIES 1024

/* ---- WWW-Authenticate ---- */

struct dist_challenge {
        char *scheme; /* "bearer" or "basic", lowercased */
        char *realm;
        char *service;
        char *scope;
        char *error; /* error="insufficient_scope" etc. */
};

/* Parses the first challenge of a WWW-Authenticate header (RFC 7235: scheme, then comma-separated
 * auth-params, values plain or quoted with backslash escapes). */
int dist_challenge_parse(const char *header, struct dist_challenge *ret, struct stack_error *err);
void dist_challenge_done(struct dist_challenge *c);

/* ---- platforms ---- */

struct dist_platform {
        char *os;
        char *architecture;
        char *variant; /* NULL: any */
};

/* "linux/arm64/v8", "linux/amd64", "arm64" (os linux); Go's names, with aliases normalized (x86_64 ->
 * amd64, aarch64 -> arm64). */
int dist_platform_parse(const char *s, struct dist_platform *ret, struct stack_error *err);
/* The host's platform from uname(2). */
void dist_platform_host(struct dist_platform *ret);
void dist_platform_done(struct dist_platform *p);
/* "linux/arm/v7" */
char *dist_platform_string(const struct dist_platform *p);
/* Whether an image of platform have runs as want: same os and architecture; the variant must match when
 * want names one (arm64's default variant is v8, so "linux/arm64" and "linux/arm64/v8" are equal). */
bool dist_platform_match(const struct dist_platform *want, const struct dist_platform *have);

/* ---- manifests ---- */

struct dist_descriptor {
        char *media_type;
        char digest[DIGEST_STRING_MAX];
        int64_t size;
        struct dist_platform platform; /* index entries; os NULL when absent */
};

enum dist_manifest_kind {
        DIST_MANIFEST_IMAGE,
        DIST_MANIFEST_INDEX,
};

struct dist_manifest {
        enum dist_manifest_kind kind;
        char *media_type;
        struct dist_descriptor config;  /* image */
        struct dist_descriptor *layers; /* image */
        size_t n_layers;
        struct dist_descriptor *entries; /* index */
        size_t n_entries;
};

/* Parses a manifest or index; content_type (the response's, may be NULL) is used when the document does
 * not say what it is. Schema 1 manifests are refused with -EPROTONOSUPPORT and a message saying so. */
int dist_manifest_parse(const char *data, size_t len, const char *content_type, struct dist_manifest *ret,
                        struct stack_error *err);
void dist_manifest_done(struct dist_manifest *m);

/* Picks the index entry for want: the first whose platform matches, preferring an exact variant. The
 * error lists the platforms the index has. */
int dist_index_select(const struct dist_manifest *idx, const struct dist_platform *want,
                      const struct dist_descriptor **ret, struct stack_error *err);

/* ---- registries ---- */

/* The host to talk to for a reference's domain: docker.io is served by registry-1.docker.io. */
const char *dist_registry_host(const char *domain);
/* Whether plain HTTP is allowed by default: localhost and loopback addresses, as docker does. */
bool dist_registry_insecure_default(const char *domain);
/* The key of a registry in docker's config.json: "https://index.docker.io/v1/" for Docker Hub, else the
 * domain itself. */
const char *dist_config_key(const char *domain);

static inline void dist_manifest_donep(struct dist_manifest *m)
{
        dist_manifest_done(m);
}
#define _cleanup_dist_manifest_ __attribute__((cleanup(dist_manifest_donep)))
static inline void dist_challenge_donep(struct dist_challenge *c)
{
        dist_challenge_done(c);
}
#define _cleanup_dist_challenge_ __attribute__((cleanup(dist_challenge_donep)))
static inline void dist_platform_donep(struct dist_platform *p)
{
        dist_platform_done(p);
}
#define _cleanup_dist_platform_ __attribute__((cleanup(dist_platform_donep)))
