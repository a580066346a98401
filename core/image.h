/* The image store: content-addressed blobs and unpacked layers under <root>/images.
 *
 * Other layers only need this view of an image: its identity, its config (the defaults compose keys
 * override) and its unpacked layer directories, lowest first, ready to be an overlay's lowerdirs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "spec/model.h"

struct image_config {
        char **env;        /* "KEY=VALUE" */
        char **entrypoint; /* NULL: none */
        char **cmd;        /* NULL: none */
        char *working_dir;
        char *user;
        char **exposed_ports;                 /* "80/tcp" */
        struct stack_healthcheck healthcheck; /* present=false when the image has none */
        char *stop_signal;
        struct stack_kvlist labels;
};

struct image {
        char *reference; /* normalized: docker.io/library/busybox:latest */
        char *id;        /* sha256:<hex> of the config blob (what docker calls the image ID) */
        char *digest;    /* sha256:<hex> of the manifest, when known */
        struct image_config config;
        char **layers; /* absolute paths of unpacked layer directories, lowest first */
        uint64_t size;
};

struct image_store;

int image_store_open(const char *root, struct image_store **ret, struct stack_error *err);
void image_store_free(struct image_store *s);
/* Finds an image by reference, by ID or by a unique ID prefix. -ENOENT when absent. */
int image_lookup(struct image_store *s, const char *ref, struct image **ret, struct stack_error *err);
void image_free(struct image *img);
void image_config_free(struct image_config *c);

static inline void image_freep(struct image **i)
{
        if (*i)
                image_free(*i);
}
static inline void image_store_freep(struct image_store **s)
{
        if (*s)
                image_store_free(*s);
}
#define _cleanup_image_ __attribute__((cleanup(image_freep)))
#define _cleanup_image_store_ __attribute__((cleanup(image_store_freep)))
