/* SHA-256 (FIPS 180-4) in plain C, streaming and one-shot.
 *
 * Our own, so stack does not link OpenSSL's libcrypto for one hash: that library alone added about 1.4 MiB
 * to the resident memory of every supervisor. The context is plain data (no allocation, no teardown), so it
 * can be embedded in other structs and copied. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64

struct sha256 {
        uint32_t state[8];
        uint64_t length; /* bytes fed so far */
        uint8_t block[SHA256_BLOCK_SIZE];
        size_t fill; /* bytes of block in use, always < SHA256_BLOCK_SIZE between calls */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Writes the digest; the context holds padding afterwards and must be initialized again before reuse. */
void sha256_final(struct sha256 *s, uint8_t ret[SHA256_DIGEST_SIZE]);

/* The compression runs on the CPU's SHA extensions where it has them (x86-64), else in portable C, or in
 * portable C always once this is called with true (so tests check that both give the same digests). */
void sha256_force_portable(bool on);

/* One-shot digest of a buffer. */
void sha256(const void *data, size_t n, uint8_t ret[SHA256_DIGEST_SIZE]);
/* 64 lowercase hex digits and a NUL. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char ret[2 * SHA256_DIGEST_SIZE + 1]);
