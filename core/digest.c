#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/digest.h"
#include "core/util.h"

int digest_init(struct digest *d, struct stack_error *err)
{
        *d = (struct digest){0};
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return stack_error_set(err, ENOMEM, "sha256: cannot allocate a digest context");
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return stack_error_set(err, EIO, "sha256: libcrypto refused to initialize the digest");
        }
        d->ctx = ctx;
        return 0;
}

void digest_update(struct digest *d, const void *data, size_t n)
{
        if (n == 0)
                return;
        /* EVP_DigestUpdate on an initialized sha256 context only fails on programming errors. */
        if (EVP_DigestUpdate(d->ctx, data, n) != 1)
                abort();
        d->size += n;
}

void digest_final(struct digest *d, char ret[DIGEST_STRING_MAX])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(d->ctx, md, &len) != 1 || len * 2 != DIGEST_HEX_LEN)
                abort();
        char *p = ret + snprintf(ret, DIGEST_STRING_MAX, "%s:", DIGEST_ALGORITHM);
        static const char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < len; i++) {
                *p++ = hex[md[i] >> 4];
                *p++ = hex[md[i] & 15];
        }
        *p = 0;
}

void digest_done(struct digest *d)
{
        if (d->ctx)
                EVP_MD_CTX_free(d->ctx);
        d->ctx = NULL;
}

void digest_data(const void *data, size_t n, char ret[DIGEST_STRING_MAX])
{
        _cleanup_digest_ struct digest d = {0};
        if (digest_init(&d, NULL) < 0)
                abort();
        digest_update(&d, data, n);
        digest_final(&d, ret);
}

int digest_file(const char *path, char ret[DIGEST_STRING_MAX], uint64_t *ret_size, struct stack_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        _cleanup_digest_ struct digest d = {0};
        int r = digest_init(&d, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *buf = xmalloc(1 << 16);
        for (;;) {
                ssize_t n = read(fd, buf, 1 << 16);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return stack_error_errno(err, errno, "read %s", path);
                }
                if (n == 0)
                        break;
                digest_update(&d, buf, n);
        }
        if (ret_size)
                *ret_size = d.size;
        digest_final(&d, ret);
        return 0;
}

bool digest_hex_is_valid(const char *s)
{
        size_t i;
        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == DIGEST_HEX_LEN;
}

const char *digest_hex(const char *s)
{
        const char *h = s ? startswith(s, DIGEST_ALGORITHM ":") : NULL;
        return h && digest_hex_is_valid(h) ? h : NULL;
}

bool digest_is_valid(const char *s)
{
        return digest_hex(s) != NULL;
}
