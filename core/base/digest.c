#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/util.h"

int digest_init(struct digest *d, struct stack_error *err)
{
        /* Cannot fail any more; the error parameter stays for callers written when a library could. */
        *d = (struct digest){0};
        sha256_init(&d->ctx);
        return 0;
}

void digest_update(struct digest *d, const void *data, size_t n)
{
        sha256_update(&d->ctx, data, n);
        d->size += n;
}

void digest_final(struct digest *d, char ret[DIGEST_STRING_MAX])
{
        uint8_t md[SHA256_DIGEST_SIZE];
        sha256_final(&d->ctx, md);
        memcpy(ret, DIGEST_ALGORITHM ":", strlen(DIGEST_ALGORITHM ":"));
        sha256_hex(md, ret + strlen(DIGEST_ALGORITHM ":"));
}

void digest_done(struct digest *d)
{
        /* Nothing is allocated; kept so the cleanup attribute and existing callers stay as they are. */
}

void digest_data(const void *data, size_t n, char ret[DIGEST_STRING_MAX])
{
        _cleanup_digest_ struct digest d = {0};
        (void) digest_init(&d, NULL);
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
