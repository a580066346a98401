/* What the image store's files share: its layout on disk, the staging of new content (import_ctx) and the
 * helpers that name its files. Not for use outside core/image/image*.c. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/error.h"
#include "core/image/image.h"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

/* Manifests, indexes and configs are small; a bigger one is refused rather than read into memory. */
#define MAX_JSON_BLOB (8u << 20)

struct image_store {
        char *dir;
        int lock_fd;
};

/* A file staged for the commit: renamed from tmp to final. */
struct staged {
        char *tmp, *final;
};

struct pending_layer {
        char diff_id[DIGEST_STRING_MAX];
        char digest[DIGEST_STRING_MAX];
        uint64_t size;
        char *media_type;
        uint64_t unpacked;
};

struct pending_image {
        char id[DIGEST_STRING_MAX];
        char manifest[DIGEST_STRING_MAX];
        bool original_manifest;  /* the manifest came with the image (so it has repo digests) */
        const char *repo_digest; /* pulled: the digest the registry's tag named (index or manifest) */
        struct pending_layer *layers;
        size_t n_layers;
        char **names; /* normalized references */
};

/* One import, build commit or pull commit: what it staged under tmp and the images it will record. */
struct import_ctx {
        struct image_store *s;
        char *tmp;
        unsigned counter;
        struct staged *staged;
        size_t n_staged, cap_staged;
        struct pending_image *images;
        size_t n_images, cap_images;
        const char *want_ref; /* normalized REF argument */
};

/* Paths inside the store. */
char *image_blob_path(const struct image_store *s, const char *digest);
char *image_layer_path(const struct image_store *s, const char *diff_id);
char *image_record_path(const struct image_store *s, const char *id);
int image_write_json(const char *path, const cJSON *j, struct stack_error *err);
/* The store lock, held by writers for their whole operation (see image_store_lock in image.c). */
void image_store_unlockp(struct image_store **sp);
#define _cleanup_unlock_ _cleanup_(image_store_unlockp)
int image_store_lock(struct image_store *s, struct stack_error *err);
/* The references index: normalized reference -> image id. */
int image_refs_load(const struct image_store *s, cJSON **ret, struct stack_error *err);
int image_refs_save(const struct image_store *s, const cJSON *refs, struct stack_error *err);
/* Loads the record of image id, reached through reference. */
int image_load(const struct image_store *s, const cJSON *refs, const char *id, const char *reference,
               struct image **ret, struct stack_error *err);
/* Staging (image-stage.c). */
int import_ctx_begin(struct image_store *s, struct import_ctx *c, struct stack_error *err);
void import_ctx_done(struct import_ctx *c);
char *import_ctx_tmp_name(struct import_ctx *c, const char *what);
int import_ctx_stage_bytes(struct import_ctx *c, const void *data, size_t len, const char *digest,
                           struct stack_error *err);
int import_ctx_layer(struct import_ctx *c, int fd, const char *name, const char *want_digest,
                     int64_t want_size, const char *want_diff, const char *media_type,
                     struct pending_layer *ret, struct stack_error *err);
struct pending_image *import_ctx_new_image(struct import_ctx *c);
int import_ctx_take_config(struct import_ctx *c, const char *data, size_t len, const char *digest,
                           char ***ret_diffs, struct stack_error *err);
int import_ctx_stage_manifest(struct import_ctx *c, struct pending_image *p, size_t config_size,
                              struct stack_error *err);
/* Renames what was staged into place, writes the records, then the references (the crash-safety order). */
int import_ctx_commit(struct import_ctx *c, struct stack_error *err);
