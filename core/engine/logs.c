#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/logs.h"
#include "core/runtime/logfile.h"
#include "core/runtime/logindex.h"

struct logs_follower {
        char *name;
        char *label;
        char *path;
        uint64_t offset;       /* the next byte to read, as a stream offset (see logfile.h) */
        struct strbuf partial; /* an unfinished line */
        int64_t partial_time;  /* when its first byte was written */
        struct logindex ix;    /* when each byte of the live log was written */
};

/* Where a container's log ended when marked. The inode tells a recreated container's new log from the old
 * one. */
struct logs_mark {
        char *name;
        dev_t dev;
        ino_t ino;
        uint64_t size; /* stream offset */
};

struct logs {
        struct logs_follower *fs;
        size_t n;
        struct logs_filter filter;
        struct logs_mark *marks;
        size_t n_marks;
};

static bool filter_timed(const struct logs_filter *flt)
{
        return flt->timestamps || flt->since_set || flt->until_set;
}

static bool filter_hides(const struct logs_filter *flt, int64_t t)
{
        return (flt->since_set && t < flt->since) || (flt->until_set && t > flt->until);
}

bool logs_filter_expired(const struct logs_filter *flt)
{
        return flt->until_set && logindex_now_ns() > flt->until;
}

struct logs *logs_new(const struct logs_filter *filter)
{
        struct logs *set = xcalloc(1, sizeof(*set));
        set->filter = *filter;
        return set;
}

void logs_free(struct logs *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->fs[i].name);
                free(set->fs[i].label);
                free(set->fs[i].path);
                strbuf_free(&set->fs[i].partial);
                logindex_done(&set->fs[i].ix);
        }
        free(set->fs);
        for (size_t i = 0; i < set->n_marks; i++)
                free(set->marks[i].name);
        free(set->marks);
        free(set);
}

/* Where a piece of the log comes from: a rotated file's line carries its time, the live log's bytes take
 * theirs from the index (file offset = stream offset - base). */
struct source {
        bool rotated;
        int64_t time;
        uint64_t base;
};

static int64_t source_time(struct logs *set, struct logs_follower *f, const struct source *src, uint64_t off)
{
        if (src->rotated)
                return src->time;
        return filter_timed(&set->filter) ? logindex_time(&f->ix, off - src->base) : 0;
}

/* Hands over every line the bytes at the follower's offset complete, and keeps the unfinished rest. */
static void emit_lines(struct logs *set, size_t idx, const char *data, size_t len, const struct source *src,
                       logs_line_fn fn, void *userdata)
{
        struct logs_follower *f = &set->fs[idx];
        while (len > 0) {
                if (f->partial.len == 0)
                        f->partial_time = source_time(set, f, src, f->offset);
                const char *nl = memchr(data, '\n', len);
                size_t take = nl ? (size_t) (nl - data) + 1 : len;
                strbuf_add(&f->partial, data, take);
                f->offset += take;
                data += take;
                len -= take;
                if (!nl)
                        break;
                if (!filter_hides(&set->filter, f->partial_time))
                        fn(userdata, &(struct logs_line){.label = f->label,
                                                         .index = idx,
                                                         .time = f->partial_time,
                                                         .data = f->partial.buf,
                                                         .len = f->partial.len});
                f->partial.len = 0;
        }
}

/* Lines lost to rotation (the reader fell behind by more than the files keep): go on from what is left. */
static void skip_to(struct logs_follower *f, uint64_t offset)
{
        if (f->offset < offset) {
                f->offset = offset;
                f->partial.len = 0;
        }
}

/* Walks the rotated lines from the follower's offset on, oldest first; each is handed to fn with its
 * stream offset. Returns -EAGAIN when the files moved meanwhile (read the manifest again), else 0. */
typedef void (*rotated_fn)(void *userdata, uint64_t off, const char *data, size_t len, int64_t time);

static int walk_rotated(const char *path, const struct logfile_manifest *m, uint64_t from, rotated_fn fn,
                        void *userdata)
{
        for (size_t k = m->n; k >= 1; k--) {
                const struct logfile_segment *seg = &m->segs[k - 1];
                if (seg->end <= from)
                        continue;
                _cleanup_free_ char *sp = logfile_segment_path(path, k);
                _cleanup_close_ int fd = open(sp, O_RDONLY | O_CLOEXEC);
                struct stat st;
                if (fd < 0)
                        continue; /* the oldest, deleted since the manifest was read */
                if (fstat(fd, &st) < 0 || (uint64_t) st.st_ino != seg->ino)
                        return -EAGAIN;
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                if (read_full_fd(fd, &text, &len) < 0)
                        continue;
                uint64_t off = seg->start;
                for (size_t p = 0; p < len && off < seg->end;) {
                        const char *nl = memchr(text + p, '\n', len - p);
                        if (!nl)
                                break;
                        size_t n = (size_t) (nl - (text + p));
                        _cleanup_free_ char *data = NULL;
                        size_t dlen;
                        int64_t t;
                        if (logfile_decode_line(text + p, n, &data, &dlen, &t) >= 0) {
                                if (off + dlen > from)
                                        fn(userdata, off, data, dlen, t);
                                off += dlen;
                        }
                        p += n + 1;
                }
        }
        return 0;
}

struct rotated_emit {
        struct logs *set;
        size_t idx;
        logs_line_fn fn;
        void *userdata;
};

static void on_rotated_line(void *userdata, uint64_t off, const char *data, size_t len, int64_t time)
{
        struct rotated_emit *re = userdata;
        struct logs_follower *f = &re->set->fs[re->idx];
        skip_to(f, off);
        size_t skip = (size_t) (f->offset - off);
        if (skip >= len)
                return;
        emit_lines(re->set, re->idx, data + skip, len - skip,
                   &(struct source){.rotated = true, .time = time}, re->fn, re->userdata);
}

/* Reads the live log from the follower's offset. Returns -EAGAIN when a rotation released bytes it read
 * (they may read as zeros: take them from the rotated files instead). */
static int read_live(struct logs *set, size_t idx, const struct logfile_manifest *m, logs_line_fn fn,
                     void *userdata)
{
        struct logs_follower *f = &set->fs[idx];
        _cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return 0;
        char buf[65536];
        for (;;) {
                ssize_t n = pread(fd, buf, sizeof(buf), (off_t) (f->offset - m->base));
                if (n <= 0)
                        return 0;
                /* Rotations write the manifest before they release anything: one that covers these bytes
                 * is in the manifest by now. */
                struct logfile_manifest now = {0};
                (void) logfile_manifest_read(f->path, &now);
                bool moved = now.consumed > f->offset || now.base != m->base;
                logfile_manifest_done(&now);
                if (moved)
                        return -EAGAIN;
                /* After the read: the index then covers the bytes read, or the mtime does. */
                if (filter_timed(&set->filter))
                        logindex_refresh(&f->ix, f->path, fd);
                emit_lines(set, idx, buf, (size_t) n, &(struct source){.base = m->base}, fn, userdata);
        }
}

/* The stream offset where the live log ends now, and its inode. */
static int live_end(const char *path, struct stat *ret_st, uint64_t *ret_end)
{
        struct logfile_manifest m = {0};
        (void) logfile_manifest_read(path, &m);
        int r = stat(path, ret_st) < 0 ? -errno : 0;
        *ret_end = m.base + (r < 0 ? 0 : (uint64_t) ret_st->st_size);
        logfile_manifest_done(&m);
        return r;
}

static void follower_read(struct logs *set, size_t idx, logs_line_fn fn, void *userdata)
{
        struct logs_follower *f = &set->fs[idx];
        for (int attempt = 0; attempt < 8; attempt++) {
                struct logfile_manifest m = {0};
                (void) logfile_manifest_read(f->path, &m);
                struct stat st;
                if (stat(f->path, &st) < 0) {
                        logfile_manifest_done(&m);
                        return;
                }
                if (m.base + (uint64_t) st.st_size < f->offset) {
                        /* the container was recreated: its log starts over */
                        f->offset = 0;
                        f->partial.len = 0;
                }
                int r = 0;
                if (f->offset < m.consumed) {
                        struct rotated_emit re = {set, idx, fn, userdata};
                        r = walk_rotated(f->path, &m, f->offset, on_rotated_line, &re);
                        if (r >= 0)
                                skip_to(f, m.consumed);
                }
                if (r >= 0)
                        r = read_live(set, idx, &m, fn, userdata);
                logfile_manifest_done(&m);
                if (r != -EAGAIN)
                        return;
        }
}

void logs_read(struct logs *set, logs_line_fn fn, void *userdata)
{
        for (size_t i = 0; i < set->n; i++)
                follower_read(set, i, fn, userdata);
}

void logs_flush(struct logs *set, logs_line_fn fn, void *userdata)
{
        for (size_t i = 0; i < set->n; i++) {
                struct logs_follower *f = &set->fs[i];
                if (f->partial.len == 0)
                        continue;
                /* The newline is shown, not read: the offset stays where the log is. */
                uint64_t off = f->offset;
                emit_lines(set, i, "\n", 1, &(struct source){.rotated = true, .time = f->partial_time}, fn,
                           userdata);
                f->offset = off;
        }
}

int logs_label_width(const struct logs *set)
{
        int width = 0;
        for (size_t i = 0; i < set->n; i++)
                if ((int) strlen(set->fs[i].label) > width)
                        width = (int) strlen(set->fs[i].label);
        return width;
}

/* Where each line of a log starts, and when it was written: the rotated files and the live log. */
struct line_starts {
        uint64_t *off;
        int64_t *time;
        size_t n, cap, cap2;
        bool at_start; /* the next byte starts a line */
};

static void line_start_add(struct line_starts *ls, uint64_t off, int64_t t)
{
        GROW(ls->off, ls->cap, ls->n + 1);
        GROW(ls->time, ls->cap2, ls->n + 1);
        ls->off[ls->n] = off;
        ls->time[ls->n++] = t;
}

static void on_rotated_start(void *userdata, uint64_t off, const char *data, size_t len, int64_t time)
{
        struct line_starts *ls = userdata;
        if (ls->at_start)
                line_start_add(ls, off, time);
        ls->at_start = len > 0 && data[len - 1] == '\n';
}

/* Collects the line starts of the whole log; returns the stream offset where it ends. */
static uint64_t collect_starts(struct logs_follower *f, bool timed, struct line_starts *ls)
{
        for (int attempt = 0; attempt < 8; attempt++) {
                free(ls->off);
                free(ls->time);
                *ls = (struct line_starts){.at_start = true};
                struct logfile_manifest m = {0};
                (void) logfile_manifest_read(f->path, &m);
                int r = walk_rotated(f->path, &m, 0, on_rotated_start, ls);
                _cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                uint64_t from = m.consumed - m.base;
                struct stat st;
                if (r < 0 || fd < 0 || fstat(fd, &st) < 0 || (uint64_t) st.st_size < from) {
                        logfile_manifest_done(&m);
                        if (r == -EAGAIN)
                                continue;
                        return 0;
                }
                if (lseek(fd, (off_t) from, SEEK_SET) < 0 || read_full_fd(fd, &data, &len) < 0)
                        len = 0;
                struct logfile_manifest now = {0};
                (void) logfile_manifest_read(f->path, &now);
                bool moved = now.consumed != m.consumed || now.base != m.base;
                logfile_manifest_done(&now);
                if (moved) {
                        logfile_manifest_done(&m);
                        continue;
                }
                if (timed)
                        logindex_refresh(&f->ix, f->path, fd);
                for (size_t p = 0; p < len; p++) {
                        if (ls->at_start)
                                line_start_add(ls, m.consumed + p,
                                               timed ? logindex_time(&f->ix, from + p) : 0);
                        ls->at_start = data[p] == '\n';
                }
                uint64_t end = m.consumed + len;
                logfile_manifest_done(&m);
                return end;
        }
        return 0;
}

/* The first round starts at the last `tail` lines (-1: all) in range of --since/--until (the tail applies
 * after the filters); lines past --until are skipped when read. */
static uint64_t filtered_start(struct logs_follower *f, int tail, const struct logs_filter *flt)
{
        bool filtered = flt->since_set || flt->until_set;
        if (tail < 0 && !filtered)
                return 0;
        struct line_starts ls = {0};
        uint64_t end = collect_starts(f, filtered, &ls);
        uint64_t start = end;
        size_t count = 0;
        for (size_t i = ls.n; i > 0 && tail != 0; i--) {
                int64_t t = ls.time[i - 1];
                if (flt->since_set && t < flt->since)
                        break;
                if (!flt->until_set || t <= flt->until) {
                        start = ls.off[i - 1];
                        if (tail > 0 && ++count >= (size_t) tail)
                                break;
                }
        }
        free(ls.off);
        free(ls.time);
        return start;
}

void logs_mark(struct logs *set, const struct project_status *st)
{
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                struct stat s;
                uint64_t end;
                if (isempty(c->log_path) || live_end(c->log_path, &s, &end) < 0)
                        continue;
                set->marks = xrealloc(set->marks, (set->n_marks + 1) * sizeof(*set->marks));
                set->marks[set->n_marks++] = (struct logs_mark){
                    .name = xstrdup(c->name), .dev = s.st_dev, .ino = s.st_ino, .size = end};
        }
}

static uint64_t mark_start(const struct logs *set, const char *name, const char *path)
{
        struct stat st;
        uint64_t end;
        if (live_end(path, &st, &end) < 0)
                return 0;
        for (size_t i = 0; i < set->n_marks; i++)
                if (streq(set->marks[i].name, name) && set->marks[i].dev == st.st_dev &&
                    set->marks[i].ino == st.st_ino && set->marks[i].size <= end)
                        return set->marks[i].size;
        return 0;
}

static bool following(const struct logs *set, const char *name)
{
        for (size_t i = 0; i < set->n; i++)
                if (streq(set->fs[i].name, name))
                        return true;
        return false;
}

void logs_update(struct logs *set, const struct project_status *st, char *const *services, int tail,
                 bool first)
{
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (isempty(c->log_path) || !container_info_in(c, services) || following(set, c->name))
                        continue;
                set->fs = xrealloc(set->fs, (set->n + 1) * sizeof(*set->fs));
                struct logs_follower *f = &set->fs[set->n++];
                *f = (struct logs_follower){.name = xstrdup(c->name),
                                            .label = xstrdup(container_info_label(c)),
                                            .path = xstrdup(c->log_path)};
                f->offset =
                    first ? filtered_start(f, tail, &set->filter) : mark_start(set, c->name, f->path);
        }
}
