/* Building images from Dockerfiles into stack's own image store.
 *
 * Each RUN is a container under the same runtime and secure defaults as a service (core/runtime): its
 * root file system an overlay of the parent's layers plus a fresh upper directory, which becomes the new
 * layer. COPY and ADD write into such an upper directory directly, without running anything; metadata
 * instructions only change the image config. A step cache under <root>/build-cache, keyed by the parent's
 * key, the instruction after substitution, the build args it sees and, for COPY and ADD, a digest of the
 * selected files' names, modes, owners and contents, makes an unchanged rebuild run nothing.
 *
 * Network: a RUN gets a network namespace of its own with only the loopback interface ("none" and
 * "default" alike, for now), or the host's with network: host. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "core/base/error.h"
#include "core/image/image.h"
#include "core/runtime/container.h"
#include "spec/model.h"

struct builder_request {
        const char *context;         /* directory */
        const char *dockerfile;      /* path; NULL: <context>/Dockerfile */
        const char *dockerfile_text; /* the Dockerfile itself (dockerfile_inline); wins over dockerfile */
        const struct stack_kvlist *args;   /* build args; a NULL value: unset */
        const char *target;                /* NULL: the last stage */
        char *const *refs;                 /* names for the result */
        const struct stack_kvlist *labels; /* added to the image's labels */
        bool no_cache;
        bool pull; /* FROM images are pulled again from their registry (missing ones are always pulled) */
        const char *network; /* NULL, "default", "none" or "host" */
        const struct stack_kvlist *extra_hosts;
        int64_t shm_size;
        FILE *progress;   /* step lines and RUN output; NULL: silent */
        const char *what; /* names the build in messages: "service 'web'" */
};

int builder_build(struct image_store *s, struct container_host *h, const struct builder_request *rq,
                  char **ret_id, struct stack_error *err);

struct builder_options {
        bool no_cache;
        bool pull;
        const struct stack_kvlist *build_args; /* --build-arg, over the file's args */
        FILE *progress;
};

/* Builds a compose service's image (its build: section) and names it s->image and build.tags. */
int builder_build_service(struct image_store *store, struct container_host *h, const struct stack_project *p,
                          const struct stack_service *s, const struct builder_options *o, char **ret_id,
                          struct stack_error *err);
