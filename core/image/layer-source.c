/* Layer byte sources (see layer.h): a file descriptor, memory, a tee that digests what passes (and copies it
 * to a file), and gzip/zstd decompression. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/image/layer.h"
#include "core/base/log.h"
#include "core/base/util.h"

/* ---- sources ---- */

void layer_source_free(struct layer_source *s)
{
        if (s)
                s->free(s);
}

ssize_t layer_source_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        return s->read(s, buf, n, err);
}

int layer_source_read_full(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        char *p = buf;
        while (n > 0) {
                ssize_t r = s->read(s, p, n, err);
                if (r < 0)
                        return (int) r;
                if (r == 0)
                        return stack_error_set(err, EIO, "%s: unexpected end of data", s->name);
                p += r;
                n -= r;
        }
        return 0;
}

int layer_source_drain(struct layer_source *s, struct stack_error *err)
{
        _cleanup_free_ char *buf = xmalloc(1 << 16);
        for (;;) {
                ssize_t r = s->read(s, buf, 1 << 16, err);
                if (r <= 0)
                        return (int) r;
        }
}

struct fd_source {
        struct layer_source s;
        int fd;
        bool own;
        char *name;
};

static ssize_t fd_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct fd_source *f = (struct fd_source *) s;
        for (;;) {
                ssize_t r = read(f->fd, buf, n);
                if (r >= 0)
                        return r;
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "read %s", f->name);
        }
}

static void fd_free(struct layer_source *s)
{
        struct fd_source *f = (struct fd_source *) s;
        if (f->own && f->fd >= 0)
                close(f->fd);
        free(f->name);
        free(f);
}

struct layer_source *layer_source_fd(int fd, bool own, const char *name)
{
        struct fd_source *f = xcalloc(1, sizeof(*f));
        f->fd = fd;
        f->own = own;
        f->name = xstrdup(name);
        f->s = (struct layer_source){.read = fd_read, .free = fd_free, .name = f->name};
        return &f->s;
}

struct mem_source {
        struct layer_source s;
        const char *data;
        size_t len, pos;
        char *name;
};

static ssize_t mem_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct mem_source *m = (struct mem_source *) s;
        size_t left = m->len - m->pos;
        if (n > left)
                n = left;
        memcpy(buf, m->data + m->pos, n);
        m->pos += n;
        return (ssize_t) n;
}

static void mem_free(struct layer_source *s)
{
        struct mem_source *m = (struct mem_source *) s;
        free(m->name);
        free(m);
}

struct layer_source *layer_source_memory(const void *data, size_t n, const char *name)
{
        struct mem_source *m = xcalloc(1, sizeof(*m));
        m->data = data;
        m->len = n;
        m->name = xstrdup(name);
        m->s = (struct layer_source){.read = mem_read, .free = mem_free, .name = m->name};
        return &m->s;
}

struct digest_source {
        struct layer_source s;
        struct layer_source *inner;
        struct digest *d;
        int tee_fd;
};

static ssize_t digest_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct digest_source *ds = (struct digest_source *) s;
        ssize_t r = ds->inner->read(ds->inner, buf, n, err);
        if (r <= 0)
                return r;
        digest_update(ds->d, buf, r);
        if (ds->tee_fd >= 0) {
                const char *p = buf;
                size_t left = r;
                while (left > 0) {
                        ssize_t w = write(ds->tee_fd, p, left);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return stack_error_errno(err, errno, "%s: write copy", s->name);
                        }
                        p += w;
                        left -= w;
                }
        }
        return r;
}

static void digest_source_free(struct layer_source *s)
{
        struct digest_source *ds = (struct digest_source *) s;
        layer_source_free(ds->inner);
        free(ds);
}

struct layer_source *layer_source_digest(struct layer_source *inner, struct digest *d, int tee_fd)
{
        struct digest_source *ds = xcalloc(1, sizeof(*ds));
        ds->inner = inner;
        ds->d = d;
        ds->tee_fd = tee_fd;
        ds->s = (struct layer_source){.read = digest_read, .free = digest_source_free, .name = inner->name};
        return &ds->s;
}

/* Decompression. The first bytes are read at construction to pick the codec; they are replayed. */
#define INBUF 65536

struct decomp_source {
        struct layer_source s;
        struct layer_source *inner;
        enum layer_compression c;
        unsigned char *in;
        size_t in_pos, in_len;
        bool in_eof;
        bool stream_end; /* the current gzip member ended */
        z_stream z;
        bool z_init;
        ZSTD_DStream *zs;
        bool zs_frame_done;
};

static int decomp_fill(struct decomp_source *d, struct stack_error *err)
{
        if (d->in_pos < d->in_len || d->in_eof)
                return 0;
        ssize_t r = d->inner->read(d->inner, d->in, INBUF, err);
        if (r < 0)
                return (int) r;
        d->in_pos = 0;
        d->in_len = r;
        if (r == 0)
                d->in_eof = true;
        return 0;
}

static ssize_t gzip_read(struct decomp_source *d, void *buf, size_t n, struct stack_error *err)
{
        for (;;) {
                int r = decomp_fill(d, err);
                if (r < 0)
                        return r;
                if (d->stream_end) {
                        /* Concatenated gzip members are one stream (gzip(1) and docker accept them). */
                        if (d->in_pos == d->in_len && d->in_eof)
                                return 0;
                        if (inflateReset(&d->z) != Z_OK)
                                return stack_error_set(err, EIO, "%s: gzip: cannot reset", d->s.name);
                        d->stream_end = false;
                }
                d->z.next_in = d->in + d->in_pos;
                d->z.avail_in = d->in_len - d->in_pos;
                d->z.next_out = buf;
                d->z.avail_out = n > UINT_MAX ? UINT_MAX : (unsigned) n;
                int zr = inflate(&d->z, Z_NO_FLUSH);
                size_t produced = (n > UINT_MAX ? UINT_MAX : n) - d->z.avail_out;
                d->in_pos = d->in_len - d->z.avail_in;
                if (zr == Z_STREAM_END)
                        d->stream_end = true;
                else if (zr == Z_BUF_ERROR) {
                        if (d->in_eof && d->in_pos == d->in_len)
                                return stack_error_set(err, EIO, "%s: gzip: truncated stream", d->s.name);
                } else if (zr != Z_OK)
                        return stack_error_set(err, EIO, "%s: gzip: %s", d->s.name,
                                               d->z.msg ? d->z.msg : "corrupt data");
                if (produced > 0)
                        return (ssize_t) produced;
                if (d->in_eof && d->in_pos == d->in_len && !d->stream_end)
                        return stack_error_set(err, EIO, "%s: gzip: truncated stream", d->s.name);
        }
}

static ssize_t zstd_read(struct decomp_source *d, void *buf, size_t n, struct stack_error *err)
{
        for (;;) {
                int r = decomp_fill(d, err);
                if (r < 0)
                        return r;
                if (d->in_pos == d->in_len && d->in_eof) {
                        if (!d->zs_frame_done)
                                return stack_error_set(err, EIO, "%s: zstd: truncated stream", d->s.name);
                        return 0;
                }
                ZSTD_inBuffer in = {d->in, d->in_len, d->in_pos};
                ZSTD_outBuffer out = {buf, n, 0};
                size_t zr = ZSTD_decompressStream(d->zs, &out, &in);
                if (ZSTD_isError(zr))
                        return stack_error_set(err, EIO, "%s: zstd: %s", d->s.name, ZSTD_getErrorName(zr));
                d->in_pos = in.pos;
                d->zs_frame_done = zr == 0;
                if (out.pos > 0)
                        return (ssize_t) out.pos;
        }
}

static ssize_t decomp_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct decomp_source *d = (struct decomp_source *) s;
        if (n == 0)
                return 0;
        switch (d->c) {
        case LAYER_COMPRESSION_GZIP:
                return gzip_read(d, buf, n, err);
        case LAYER_COMPRESSION_ZSTD:
                return zstd_read(d, buf, n, err);
        default:
                if (d->in_pos < d->in_len) {
                        size_t k = d->in_len - d->in_pos;
                        if (k > n)
                                k = n;
                        memcpy(buf, d->in + d->in_pos, k);
                        d->in_pos += k;
                        return (ssize_t) k;
                }
                if (d->in_eof)
                        return 0;
                return d->inner->read(d->inner, buf, n, err);
        }
}

static void decomp_free(struct layer_source *s)
{
        struct decomp_source *d = (struct decomp_source *) s;
        if (d->z_init)
                inflateEnd(&d->z);
        if (d->zs)
                ZSTD_freeDStream(d->zs);
        layer_source_free(d->inner);
        free(d->in);
        free(d);
}

int layer_source_decompress(struct layer_source *inner, struct layer_source **ret,
                            enum layer_compression *ret_compression, struct stack_error *err)
{
        struct decomp_source *d = xcalloc(1, sizeof(*d));
        d->inner = inner;
        d->in = xmalloc(INBUF);
        d->s = (struct layer_source){.read = decomp_read, .free = decomp_free, .name = inner->name};
        _cleanup_layer_source_ struct layer_source *guard = &d->s;

        /* Peek at up to 4 bytes, however the inner source chunks them. */
        while (d->in_len < 4 && !d->in_eof) {
                ssize_t r = inner->read(inner, d->in + d->in_len, INBUF - d->in_len, err);
                if (r < 0)
                        return (int) r;
                if (r == 0)
                        d->in_eof = true;
                d->in_len += r;
        }
        const unsigned char *m = d->in;
        if (d->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
                d->c = LAYER_COMPRESSION_GZIP;
                /* 15 + 16: gzip wrapper only. */
                if (inflateInit2(&d->z, 15 + 16) != Z_OK)
                        return stack_error_set(err, ENOMEM, "%s: gzip: cannot initialize", inner->name);
                d->z_init = true;
        } else if (d->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
                d->c = LAYER_COMPRESSION_ZSTD;
                d->zs = ZSTD_createDStream();
                if (!d->zs || ZSTD_isError(ZSTD_initDStream(d->zs)))
                        return stack_error_set(err, ENOMEM, "%s: zstd: cannot initialize", inner->name);
        } else
                d->c = LAYER_COMPRESSION_NONE;
        if (ret_compression)
                *ret_compression = d->c;
        *ret = TAKE_PTR(guard);
        return 0;
}

const char *layer_compression_name(enum layer_compression c)
{
        switch (c) {
        case LAYER_COMPRESSION_GZIP:
                return "gzip";
        case LAYER_COMPRESSION_ZSTD:
                return "zstd";
        default:
                return "none";
        }
}
