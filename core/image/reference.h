/* Image references, normalized as docker does: `busybox` is `docker.io/library/busybox:latest`,
 * `localhost:5000/x` keeps its registry, `name@sha256:<hex>` pins a digest (no default tag then),
 * `name:tag@sha256:<hex>` keeps both. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"

#define REFERENCE_DEFAULT_DOMAIN "docker.io"
#define REFERENCE_DEFAULT_TAG "latest"

struct reference {
        char *domain; /* "docker.io", "localhost:5000", "quay.io" */
        char *path;   /* "library/busybox" */
        char *tag;    /* NULL when a digest is given without a tag */
        char *digest; /* "sha256:<hex>" or NULL */
};

/* Parses and normalizes; the error names what is wrong ("invalid reference format: ..."). */
int reference_parse(const char *s, struct reference *ret, struct stack_error *err);
void reference_done(struct reference *r);

/* "docker.io/library/busybox:latest", "docker.io/library/busybox@sha256:...", "x:1@sha256:..." */
char *reference_string(const struct reference *r);
/* "docker.io/library/busybox" */
char *reference_name(const struct reference *r);
/* Short form for tables, as docker prints it: "busybox", "quay.io/x/y" (no tag, no digest). */
char *reference_familiar_name(const struct reference *r);
/* Parses s and returns reference_string() of it. */
int reference_normalize(const char *s, char **ret, struct stack_error *err);

static inline void reference_donep(struct reference *r)
{
        reference_done(r);
}
#define _cleanup_reference_ __attribute__((cleanup(reference_donep)))
