#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/logs.h"
#include "core/runtime/logindex.h"

struct logs_follower {
        char *name;
        char *label;
        char *path;
        off_t offset;          /* the next byte to read */
        struct strbuf partial; /* an unfinished line: it starts at offset - partial.len */
        struct logindex ix;    /* when each byte was written */
};

/* Where a container's log ended when marked. The inode tells a recreated container's new log from the old
 * one. */
struct logs_mark {
        char *name;
        dev_t dev;
        ino_t ino;
        off_t size;
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

/* Appends data to the follower's unfinished line and hands over every complete line. */
static void emit_lines(struct logs *set, size_t idx, const char *data, size_t len, logs_line_fn fn,
                       void *userdata)
{
        struct logs_follower *f = &set->fs[idx];
        off_t base = f->offset - (off_t) f->partial.len;
        strbuf_add(&f->partial, data, len);
        char *start = f->partial.buf, *nl;
        while (start && (nl = memchr(start, '\n', f->partial.len - (size_t) (start - f->partial.buf)))) {
                int64_t t = filter_timed(&set->filter)
                                ? logindex_time(&f->ix, (uint64_t) (base + (start - f->partial.buf)))
                                : 0;
                if (!filter_hides(&set->filter, t))
                        fn(userdata, &(struct logs_line){.label = f->label,
                                                         .index = idx,
                                                         .time = t,
                                                         .data = start,
                                                         .len = (size_t) (nl - start) + 1});
                start = nl + 1;
        }
        if (start) {
                size_t rest = f->partial.len - (size_t) (start - f->partial.buf);
                memmove(f->partial.buf, start, rest);
                f->partial.len = rest;
                f->partial.buf[rest] = 0;
        }
}

static void follower_read(struct logs *set, size_t idx, logs_line_fn fn, void *userdata)
{
        struct logs_follower *f = &set->fs[idx];
        _cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return;
        if (st.st_size < f->offset)
                f->offset = 0; /* the container was recreated: its log starts over */
        if (lseek(fd, f->offset, SEEK_SET) < 0)
                return;
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                /* After the read: the index then covers the bytes read, or the mtime does. */
                if (filter_timed(&set->filter))
                        logindex_refresh(&f->ix, f->path, fd);
                emit_lines(set, idx, buf, (size_t) n, fn, userdata);
                f->offset += n;
        }
}

void logs_read(struct logs *set, logs_line_fn fn, void *userdata)
{
        for (size_t i = 0; i < set->n; i++)
                follower_read(set, i, fn, userdata);
}

void logs_flush(struct logs *set, logs_line_fn fn, void *userdata)
{
        for (size_t i = 0; i < set->n; i++)
                if (set->fs[i].partial.len > 0)
                        emit_lines(set, i, "\n", 1, fn, userdata);
}

int logs_label_width(const struct logs *set)
{
        int width = 0;
        for (size_t i = 0; i < set->n; i++)
                if ((int) strlen(set->fs[i].label) > width)
                        width = (int) strlen(set->fs[i].label);
        return width;
}

/* Starts at the last `tail` lines of the file (-1: all). */
static off_t tail_offset(const char *path, int tail)
{
        if (tail < 0)
                return 0;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (read_full_file(path, &data, &len, NULL) < 0)
                return 0;
        if (tail == 0)
                return (off_t) len;
        size_t pos = len;
        if (pos > 0 && data[pos - 1] == '\n')
                pos--;
        for (int n = 0; pos > 0; pos--)
                if (data[pos - 1] == '\n' && ++n == tail)
                        break;
        return (off_t) pos;
}

/* With --since/--until, starts at the first line in range, or `tail` lines in range from the end (the tail
 * applies after the filters); lines past --until are skipped when read. */
static off_t filtered_start(struct logs_follower *f, int tail, const struct logs_filter *flt)
{
        if (!flt->since_set && !flt->until_set)
                return tail_offset(f->path, tail);
        _cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (fd < 0 || read_full_fd(fd, &data, &len) < 0)
                return 0;
        logindex_refresh(&f->ix, f->path, fd);
        off_t start = (off_t) len;
        if (tail == 0 || len == 0)
                return start;
        /* Line times only grow: walk back from the end until a line is older than --since. */
        size_t end = len, count = 0;
        if (data[end - 1] == '\n')
                end--;
        for (;;) {
                size_t b = end;
                while (b > 0 && data[b - 1] != '\n')
                        b--;
                int64_t t = logindex_time(&f->ix, b);
                if (flt->since_set && t < flt->since)
                        break;
                if (!flt->until_set || t <= flt->until) {
                        start = (off_t) b;
                        if (tail > 0 && ++count >= (size_t) tail)
                                break;
                }
                if (b == 0)
                        break;
                end = b - 1;
        }
        return start;
}

void logs_mark(struct logs *set, const struct project_status *st)
{
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                struct stat s;
                if (isempty(c->log_path) || stat(c->log_path, &s) < 0)
                        continue;
                set->marks = xrealloc(set->marks, (set->n_marks + 1) * sizeof(*set->marks));
                set->marks[set->n_marks++] = (struct logs_mark){
                    .name = xstrdup(c->name), .dev = s.st_dev, .ino = s.st_ino, .size = s.st_size};
        }
}

static off_t mark_start(const struct logs *set, const char *name, const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return 0;
        for (size_t i = 0; i < set->n_marks; i++)
                if (streq(set->marks[i].name, name) && set->marks[i].dev == st.st_dev &&
                    set->marks[i].ino == st.st_ino && set->marks[i].size <= st.st_size)
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
