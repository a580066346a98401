/* Content digests: sha256 (core/base/sha256.c), computed while data streams.
 *
 * A digest string is always "sha256:" followed by 64 lowercase hex digits, as in OCI descriptors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/base/sha256.h"

#define DIGEST_ALGORITHM "sha256"
#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STRING_MAX (sizeof(DIGEST_ALGORITHM ":") + DIGEST_HEX_LEN)

struct digest {
        struct sha256 ctx;
        uint64_t size;
};

int digest_init(struct digest *d, struct stack_error *err);
void digest_update(struct digest *d, const void *data, size_t n);
/* Writes "sha256:<hex>" and resets nothing: call digest_done afterwards. */
void digest_final(struct digest *d, char ret[DIGEST_STRING_MAX]);
void digest_done(struct digest *d);

/* One-shot helpers. */
void digest_data(const void *data, size_t n, char ret[DIGEST_STRING_MAX]);
int digest_file(const char *path, char ret[DIGEST_STRING_MAX], uint64_t *ret_size, struct stack_error *err);

/* True for "sha256:<64 lowercase hex>". */
bool digest_is_valid(const char *s);
/* The hex part of a valid digest string, NULL otherwise. */
const char *digest_hex(const char *s);
/* True for a string of 64 lowercase hex digits. */
bool digest_hex_is_valid(const char *s);

static inline void digest_donep(struct digest *d)
{
        digest_done(d);
}
#define _cleanup_digest_ __attribute__((cleanup(digest_donep)))
