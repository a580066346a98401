/* Rotation of container logs into docker's json-file format: see logfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/runtime/logfile.h"
#include "core/runtime/logindex.h"

#define CHUNK 65536
static const char manifest_magic[] = "stack-log-segments-1";

/* ---- the manifest ---- */

char *logfile_segment_path(const char *log_path, size_t k)
{
        return xasprintf("%s.%zu", log_path, k);
}

static char *manifest_path(const char *log_path)
{
        return xasprintf("%s%s", log_path, LOGFILE_MANIFEST_SUFFIX);
}

void logfile_manifest_done(struct logfile_manifest *m)
{
        free(m->segs);
        *m = (struct logfile_manifest){0};
}

int logfile_manifest_read(const char *log_path, struct logfile_manifest *ret)
{
        *ret = (struct logfile_manifest){0};
        _cleanup_free_ char *path = manifest_path(log_path);
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL, NULL);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        char magic[32];
        uint64_t consumed, base;
        int used = 0;
        if (sscanf(text, "%31s %" SCNu64 " %" SCNu64 "%n", magic, &consumed, &base, &used) != 3 ||
            !streq(magic, manifest_magic))
                return -EINVAL;
        size_t cap = 0;
        for (const char *p = text + used;;) {
                struct logfile_segment s;
                int n = 0;
                if (sscanf(p, " %" SCNu64 " %" SCNu64 " %" SCNu64 "%n", &s.ino, &s.start, &s.end, &n) != 3)
                        break;
                p += n;
                if (ret->n >= LOGFILE_MAX_SEGMENTS)
                        break;
                GROW(ret->segs, cap, ret->n + 1);
                ret->segs[ret->n++] = s;
        }
        ret->consumed = consumed;
        ret->base = base;
        return 0;
}

static int manifest_write(const char *log_path, const struct logfile_manifest *m, struct stack_error *err)
{
        struct strbuf b = {0};
        _cleanup_free_ char *head =
            xasprintf("%s %" PRIu64 " %" PRIu64 "\n", manifest_magic, m->consumed, m->base);
        strbuf_add(&b, head, strlen(head));
        for (size_t i = 0; i < m->n; i++) {
                _cleanup_free_ char *line = xasprintf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                                                      m->segs[i].ino, m->segs[i].start, m->segs[i].end);
                strbuf_add(&b, line, strlen(line));
        }
        _cleanup_free_ char *path = manifest_path(log_path);
        /* Not synced: after a crash the worst is a segment listed twice or not at all, never a lost log. */
        int r = write_file_atomic(path, b.buf, b.len, 0600, err);
        strbuf_free(&b);
        return r;
}

/* ---- JSON lines ---- */

static void put(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
        GROW(*buf, *cap, *len + n + 1);
        memcpy(*buf + *len, data, n);
        *len += n;
        (*buf)[*len] = 0;
}

/* The length of the valid UTF-8 sequence at p (shortest form, no surrogates), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        if (p[0] < 0x80)
                return 1;
        size_t k = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
        if (k == 0 || k > n)
                return 0;
        for (size_t i = 1; i < k; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        if ((k == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (k == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
            (k == 4 && p[0] == 0xf0 && p[1] < 0x90) || (k == 4 && p[0] == 0xf4 && p[1] >= 0x90))
                return 0;
        return k;
}

void logfile_encode_line(char **buf, size_t *len, size_t *cap, const char *data, size_t n, int64_t time_ns)
{
        put(buf, len, cap, "{\"log\":\"", 8);
        const unsigned char *p = (const unsigned char *) data;
        for (size_t i = 0; i < n;) {
                unsigned char ch = p[i];
                size_t k = utf8_len(p + i, n - i);
                char esc[8];
                if (ch == '"' || ch == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char) ch;
                        put(buf, len, cap, esc, 2);
                } else if (ch == '\n')
                        put(buf, len, cap, "\\n", 2);
                else if (ch == '\t')
                        put(buf, len, cap, "\\t", 2);
                else if (ch == '\r')
                        put(buf, len, cap, "\\r", 2);
                else if (ch < 0x20 || ch == 0x7f || k == 0) {
                        /* A control character, or a byte that is no UTF-8: U+00XX stands for the byte. */
                        snprintf(esc, sizeof(esc), "\\u%04x", ch);
                        put(buf, len, cap, esc, 6);
                        k = 1;
                } else {
                        put(buf, len, cap, p + i, k);
                        i += k;
                        continue;
                }
                i += 1;
        }
        char t[LOGINDEX_TIME_MAX];
        _cleanup_free_ char *tail =
            xasprintf("\",\"stream\":\"stdout\",\"time\":\"%s\"}\n", logindex_format_time(time_ns, t));
        put(buf, len, cap, tail, strlen(tail));
}

static int hexval(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

static void put_utf8(struct strbuf *b, unsigned cp)
{
        unsigned char u[4];
        size_t n;
        if (cp < 0x800) {
                u[0] = (unsigned char) (0xc0 | (cp >> 6));
                u[1] = (unsigned char) (0x80 | (cp & 0x3f));
                n = 2;
        } else {
                u[0] = (unsigned char) (0xe0 | (cp >> 12));
                u[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                u[2] = (unsigned char) (0x80 | (cp & 0x3f));
                n = 3;
        }
        strbuf_add(b, u, n);
}

/* Decodes the JSON string starting after its opening quote; returns where it ended (after the quote). */
static const char *decode_string(const char *p, const char *end, struct strbuf *out)
{
        while (p < end && *p != '"') {
                if (*p != '\\') {
                        strbuf_add(out, p++, 1);
                        continue;
                }
                if (++p >= end)
                        return NULL;
                char c = *p++, ch;
                switch (c) {
                case 'n':
                        ch = '\n';
                        break;
                case 't':
                        ch = '\t';
                        break;
                case 'r':
                        ch = '\r';
                        break;
                case 'b':
                        ch = '\b';
                        break;
                case 'f':
                        ch = '\f';
                        break;
                case 'u': {
                        if (end - p < 4)
                                return NULL;
                        int v = 0;
                        for (int i = 0; i < 4; i++) {
                                int h = hexval(p[i]);
                                if (h < 0)
                                        return NULL;
                                v = v * 16 + h;
                        }
                        p += 4;
                        /* Below U+0100 a \u escape is the byte itself: a character there would have been
                         * written as UTF-8 (see logfile.h). */
                        if (v < 0x100) {
                                ch = (char) v;
                                break;
                        }
                        put_utf8(out, (unsigned) v);
                        continue;
                }
                default:
                        ch = c;
                        break;
                }
                strbuf_add(out, &ch, 1);
        }
        return p < end ? p + 1 : NULL;
}

int logfile_decode_line(const char *line, size_t n, char **ret_data, size_t *ret_len, int64_t *ret_time)
{
        static const char log_key[] = "{\"log\":\"", time_key[] = "\"time\":\"";
        const char *end = line + n;
        if (n < sizeof(log_key) || memcmp(line, log_key, sizeof(log_key) - 1) != 0)
                return -EINVAL;
        struct strbuf data = {0};
        const char *p = decode_string(line + sizeof(log_key) - 1, end, &data);
        const char *t = p ? memmem(p, (size_t) (end - p), time_key, sizeof(time_key) - 1) : NULL;
        const char *te =
            t ? memchr(t + sizeof(time_key) - 1, '"', (size_t) (end - t - (sizeof(time_key) - 1))) : NULL;
        if (!te) {
                strbuf_free(&data);
                return -EINVAL;
        }
        _cleanup_free_ char *stamp =
            xstrndup(t + sizeof(time_key) - 1, (size_t) (te - t - (sizeof(time_key) - 1)));
        if (logindex_parse_time(stamp, 0, ret_time) < 0) {
                strbuf_free(&data);
                return -EINVAL;
        }
        *ret_len = data.len;
        *ret_data = data.buf ? strbuf_take(&data) : xstrdup("");
        return 0;
}

/* ---- rotation ---- */

struct logfile_rotator {
        char *path;
        int fd;
        uint64_t max_size;
        int max_file;
        struct logfile_manifest m;
        /* the rotated file being filled: segs[0] when open */
        int seg_fd;
        uint64_t seg_size;
        char *wbuf;
        size_t wlen, wcap;
};

void logfile_rotator_free(struct logfile_rotator *r)
{
        if (!r)
                return;
        if (r->fd >= 0)
                close(r->fd);
        if (r->seg_fd >= 0)
                close(r->seg_fd);
        logfile_manifest_done(&r->m);
        free(r->wbuf);
        free(r->path);
        free(r);
}

static void logfile_rotator_freep(struct logfile_rotator **r)
{
        logfile_rotator_free(*r);
}

int logfile_rotator_new(const char *log_path, uint64_t max_size, int max_file, struct logfile_rotator **ret,
                        struct stack_error *err)
{
        _cleanup_(logfile_rotator_freep) struct logfile_rotator *r = xcalloc(1, sizeof(*r));
        r->path = xstrdup(log_path);
        r->seg_fd = -1;
        r->max_size = max_size;
        r->max_file = max_file < 1 ? 1 : max_file;
        r->fd = open(log_path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (r->fd < 0)
                return stack_error_errno(err, errno, "open %s", log_path);
        /* A manifest left by an earlier supervisor tells where the live log's content starts. */
        if (logfile_manifest_read(log_path, &r->m) < 0)
                logfile_manifest_done(&r->m);
        /* Fewer files allowed now than before (a changed max-file keeps the same log only on adoption). */
        while (r->m.n > 0 && r->m.n > (size_t) (r->max_file - 1)) {
                _cleanup_free_ char *old = logfile_segment_path(log_path, r->m.n);
                unlink(old);
                r->m.n--;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

static int seg_flush(struct logfile_rotator *r, struct stack_error *err)
{
        size_t off = 0;
        while (off < r->wlen) {
                ssize_t n = write(r->seg_fd, r->wbuf + off, r->wlen - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return stack_error_errno(err, n < 0 ? errno : EIO, "write %s.1", r->path);
                off += (size_t) n;
        }
        r->wlen = 0;
        return 0;
}

/* The rotated file being filled is complete (or the pass is over): its lines are listed in the manifest
 * only now, so a reader never counts a line that is not all there. */
static int seg_close(struct logfile_rotator *r, struct stack_error *err)
{
        if (r->seg_fd < 0)
                return 0;
        int k = seg_flush(r, err);
        close(r->seg_fd);
        r->seg_fd = -1;
        if (k < 0)
                return k;
        r->m.consumed = r->m.segs[0].end;
        return manifest_write(r->path, &r->m, err);
}

/* Makes room for a new newest file: the oldest beyond max_file - 1 goes first (so the disk never holds one
 * more than allowed, even for a moment), the others move up one. */
static int seg_open(struct logfile_rotator *r, uint64_t start, struct stack_error *err)
{
        if (r->m.n > 0 && r->m.n >= (size_t) (r->max_file - 1)) {
                _cleanup_free_ char *old = logfile_segment_path(r->path, r->m.n);
                if (unlink(old) < 0 && errno != ENOENT)
                        return stack_error_errno(err, errno, "remove %s", old);
                r->m.n--;
        }
        _cleanup_free_ char *tmp = xasprintf("%s.new", r->path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return stack_error_errno(err, errno, "create %s", tmp);
        for (size_t k = r->m.n; k >= 1; k--) {
                _cleanup_free_ char *from = logfile_segment_path(r->path, k);
                _cleanup_free_ char *to = logfile_segment_path(r->path, k + 1);
                if (rename(from, to) < 0 && errno != ENOENT)
                        return stack_error_errno(err, errno, "rename %s", from);
        }
        _cleanup_free_ char *first = logfile_segment_path(r->path, 1);
        if (rename(tmp, first) < 0)
                return stack_error_errno(err, errno, "rename %s", tmp);
        size_t cap = r->m.n;
        GROW(r->m.segs, cap, r->m.n + 1);
        memmove(r->m.segs + 1, r->m.segs, r->m.n * sizeof(*r->m.segs));
        r->m.segs[0] = (struct logfile_segment){.ino = (uint64_t) st.st_ino, .start = start, .end = start};
        r->m.n++;
        r->seg_fd = TAKE_FD(fd);
        r->seg_size = 0;
        return 0;
}

/* One piece of the log (a line, or a slice of an endless one) at stream offset off. */
static int rotate_piece(struct logfile_rotator *r, const struct logindex *ix, const char *data, size_t n,
                        uint64_t off, struct stack_error *err)
{
        if (r->max_file <= 1)
                return 0; /* no rotated files: what leaves the live log is dropped */
        size_t before = r->wlen;
        logfile_encode_line(&r->wbuf, &r->wlen, &r->wcap, data, n, logindex_time(ix, off - r->m.base));
        size_t len = r->wlen - before;
        if (r->seg_fd >= 0 && r->seg_size > 0 && r->seg_size + len > r->max_size) {
                /* This line opens the next file: keep it aside while the full one is closed. */
                _cleanup_free_ char *line = xstrndup(r->wbuf + before, len);
                r->wlen = before;
                int k = seg_close(r, err);
                if (k < 0)
                        return k;
                put(&r->wbuf, &r->wlen, &r->wcap, line, len);
        }
        if (r->seg_fd < 0) {
                _cleanup_free_ char *line = xstrndup(r->wbuf + r->wlen - len, len);
                r->wlen -= len;
                int k = seg_open(r, off, err);
                if (k < 0)
                        return k;
                put(&r->wbuf, &r->wlen, &r->wcap, line, len);
        }
        r->seg_size += len;
        r->m.segs[0].end = off + n;
        return r->wlen >= CHUNK ? seg_flush(r, err) : 0;
}

/* The last newline in [from, to) of the live log, +1; from when there is none. */
static uint64_t last_line_end(int fd, uint64_t from, uint64_t to)
{
        char buf[CHUNK];
        while (to > from) {
                uint64_t a = to - from > CHUNK ? to - CHUNK : from;
                ssize_t n = pread(fd, buf, (size_t) (to - a), (off_t) a);
                if (n <= 0)
                        return from;
                for (ssize_t i = n; i > 0; i--)
                        if (buf[i - 1] == '\n')
                                return a + (uint64_t) i;
                to = a;
        }
        return from;
}

/* The first line start at or after from (bounded search), for cutting a backlog at a line. */
static uint64_t next_line_start(int fd, uint64_t from, uint64_t to)
{
        char buf[CHUNK];
        ssize_t n = pread(fd, buf, (size_t) (to - from > CHUNK ? CHUNK : to - from), (off_t) from);
        const char *nl = n > 0 ? memchr(buf, '\n', (size_t) n) : NULL;
        return nl ? from + (uint64_t) (nl - buf) + 1 : from;
}

/* Moves the live log's bytes [start, end) (file offsets) out to rotated files, line by line. */
static int rotate_range(struct logfile_rotator *r, const struct logindex *ix, uint64_t start, uint64_t end,
                        struct stack_error *err)
{
        /* Pieces of an endless line stay well under max_size even with every byte escaped. */
        const size_t piece_max = (size_t) (r->max_size / 8);
        struct strbuf line = {0};
        uint64_t line_off = start + r->m.base;
        char buf[CHUNK];
        int k = 0;
        for (uint64_t pos = start; pos < end && k >= 0;) {
                ssize_t n = pread(r->fd, buf, (size_t) (end - pos > CHUNK ? CHUNK : end - pos), (off_t) pos);
                if (n <= 0) {
                        k = stack_error_errno(err, n < 0 ? errno : EIO, "read %s", r->path);
                        break;
                }
                for (size_t i = 0; i < (size_t) n && k >= 0;) {
                        size_t avail = (size_t) n - i;
                        const char *nl = memchr(buf + i, '\n', avail);
                        size_t take = nl ? (size_t) (nl - (buf + i)) + 1 : avail;
                        bool complete = nl != NULL;
                        if (line.len + take >= piece_max) {
                                take = piece_max - line.len;
                                complete = true;
                        }
                        strbuf_add(&line, buf + i, take);
                        i += take;
                        if (complete) {
                                k = rotate_piece(r, ix, line.buf, line.len, line_off, err);
                                line_off += line.len;
                                line.len = 0;
                        }
                }
                pos += (uint64_t) n;
        }
        if (k >= 0 && line.len > 0)
                k = rotate_piece(r, ix, line.buf, line.len, line_off, err);
        strbuf_free(&line);
        return k;
}

/* Frees the live log's consumed prefix [0, end) (file offsets). */
static int release(struct logfile_rotator *r, uint64_t end, struct stack_error *err)
{
        if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t) end) >= 0)
                return 0;
        if (errno != EOPNOTSUPP && errno != ENOSYS)
                return stack_error_errno(err, errno, "release the rotated part of %s", r->path);
        /* No holes here: start the live log over once all of it has moved out. Output written between
         * the last read and the truncation would be lost, so only a log that is exactly consumed is cut. */
        struct stat st;
        if (fstat(r->fd, &st) < 0 || (uint64_t) st.st_size != end)
                return 0;
        if (ftruncate(r->fd, 0) < 0)
                return stack_error_errno(err, errno, "truncate %s", r->path);
        r->m.base += end;
        return manifest_write(r->path, &r->m, err);
}

int logfile_rotate(struct logfile_rotator *r, struct logindex *ix, uint64_t *ret_consumed,
                   struct stack_error *err)
{
        struct stat st;
        if (fstat(r->fd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s", r->path);
        uint64_t size = (uint64_t) st.st_size, start = r->m.consumed - r->m.base;
        if (r->m.consumed < r->m.base || size < start) {
                /* Truncated behind our back: its content starts over at file offset 0. */
                r->m.base = r->m.consumed;
                start = 0;
        }
        *ret_consumed = start;
        if (size - start < r->max_size)
                return 0;
        logindex_refresh(ix, r->path, r->fd);
        /* More than all the files can keep (a flood, or nobody rotated for a while): only the newest part
         * can survive, so only that is converted. */
        uint64_t keep = (uint64_t) r->max_file * r->max_size;
        if (size - start > keep)
                start = next_line_start(r->fd, size - keep, size);
        uint64_t end = last_line_end(r->fd, start, size);
        if (end == start)
                end = size; /* one line longer than max_size: it is cut */
        int k = rotate_range(r, ix, start, end, err);
        if (k >= 0 && r->seg_fd >= 0)
                k = seg_close(r, err);
        if (k < 0)
                return k;
        r->m.consumed = end + r->m.base;
        k = manifest_write(r->path, &r->m, err);
        if (k >= 0)
                k = release(r, end, err);
        if (k < 0)
                return k;
        *ret_consumed = r->m.consumed - r->m.base;
        return 0;
}
