/* The sidecar time index of container logs, and the times `stack logs` parses and prints: see logindex.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/runtime/logindex.h"
#include "core/base/util.h"
#include "spec/units.h"

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_USEC 1000LL

/* The first 16 bytes: which log the records describe. A log recreated under the same name is another inode,
 * and an index that names another inode is started over (by the writer) or ignored (by readers). */
struct logindex_header {
        char magic[8];
        uint64_t ino;
};

static const char logindex_magic[8] = {'S', 'T', 'K', 'L', 'I', 'D', 'X', '1'};

char *logindex_path(const char *log_path)
{
        return xasprintf("%s%s", log_path, LOGINDEX_SUFFIX);
}

int64_t logindex_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static bool header_matches(int idx_fd, ino_t ino)
{
        struct logindex_header h;
        return pread(idx_fd, &h, sizeof(h), 0) == (ssize_t) sizeof(h) &&
               memcmp(h.magic, logindex_magic, sizeof(h.magic)) == 0 && h.ino == (uint64_t) ino;
}

/* ---- writing ---- */

struct logindex_writer {
        char *log_path;
        int log_fd, idx_fd;
        off_t idx_size;
        uint64_t last_end;
        int64_t last_ns;
};

void logindex_writer_free(struct logindex_writer *w)
{
        if (!w)
                return;
        if (w->log_fd >= 0)
                close(w->log_fd);
        if (w->idx_fd >= 0)
                close(w->idx_fd);
        free(w->log_path);
        free(w);
}

static void logindex_writer_freep(struct logindex_writer **w)
{
        logindex_writer_free(*w);
}

static int writer_start_over(struct logindex_writer *w, ino_t ino, struct stack_error *err)
{
        struct logindex_header h = {.ino = (uint64_t) ino};
        memcpy(h.magic, logindex_magic, sizeof(h.magic));
        if (ftruncate(w->idx_fd, 0) < 0 || pwrite(w->idx_fd, &h, sizeof(h), 0) != (ssize_t) sizeof(h))
                return stack_error_errno(err, errno ? errno : EIO, "write %s%s", w->log_path,
                                         LOGINDEX_SUFFIX);
        w->idx_size = sizeof(h);
        w->last_end = 0;
        return 0;
}

/* With by_mtime, the time is the log's modification time: what a writer that just started knows of bytes
 * written while nobody watched. It is the time of the last write (from the kernel's coarse clock, so it may
 * lag by a tick), a far tighter bound than now when the log has been quiet. */
static int writer_mark(struct logindex_writer *w, bool by_mtime, struct stack_error *err)
{
        struct stat st;
        if (fstat(w->log_fd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s", w->log_path);
        uint64_t size = (uint64_t) st.st_size;
        if (size < w->last_end) {
                /* Truncated in place: the offsets recorded no longer mean anything. */
                int r = writer_start_over(w, st.st_ino, err);
                if (r < 0)
                        return r;
        }
        if (size == w->last_end)
                return 0;
        /* Taken after the size: every byte counted was written by now. The wall clock may step back (NTP);
         * the index stays monotonic so that --since/--until can cut it once. */
        int64_t now = logindex_now_ns();
        int64_t mtime = (int64_t) st.st_mtim.tv_sec * NSEC_PER_SEC + st.st_mtim.tv_nsec;
        if (by_mtime && mtime < now)
                now = mtime;
        if (now < w->last_ns)
                now = w->last_ns;
        struct logindex_record rec = {.end = size, .realtime_ns = (uint64_t) now};
        if (pwrite(w->idx_fd, &rec, sizeof(rec), w->idx_size) != (ssize_t) sizeof(rec))
                return stack_error_errno(err, errno ? errno : EIO, "write %s%s", w->log_path,
                                         LOGINDEX_SUFFIX);
        w->idx_size += (off_t) sizeof(rec);
        w->last_end = size;
        w->last_ns = now;
        return 0;
}

int logindex_writer_mark(struct logindex_writer *w, struct stack_error *err)
{
        return writer_mark(w, false, err);
}

int logindex_writer_open(const char *log_path, struct logindex_writer **ret, struct stack_error *err)
{
        _cleanup_(logindex_writer_freep) struct logindex_writer *w = xcalloc(1, sizeof(*w));
        w->log_path = xstrdup(log_path);
        w->idx_fd = -1;
        w->log_fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (w->log_fd < 0)
                return stack_error_errno(err, errno, "open %s", log_path);
        struct stat st, ist;
        if (fstat(w->log_fd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s", log_path);
        _cleanup_free_ char *path = logindex_path(log_path);
        w->idx_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (w->idx_fd < 0 || fstat(w->idx_fd, &ist) < 0)
                return stack_error_errno(err, errno, "open %s", path);
        const off_t hsize = sizeof(struct logindex_header), rsize = sizeof(struct logindex_record);
        bool valid = ist.st_size >= hsize && header_matches(w->idx_fd, st.st_ino);
        off_t n = valid ? (ist.st_size - hsize) / rsize : 0;
        if (n > 0) {
                struct logindex_record last;
                valid = pread(w->idx_fd, &last, sizeof(last), hsize + (n - 1) * rsize) == (ssize_t) rsize &&
                        last.end <= (uint64_t) st.st_size;
                w->last_end = last.end;
                w->last_ns = (int64_t) last.realtime_ns;
        }
        int r;
        if (!valid)
                r = writer_start_over(w, st.st_ino, err);
        else {
                /* A record torn by a crash mid-write is dropped. */
                w->idx_size = hsize + n * rsize;
                r = w->idx_size == ist.st_size || ftruncate(w->idx_fd, w->idx_size) >= 0
                        ? 0
                        : stack_error_errno(err, errno, "truncate %s", path);
        }
        if (r >= 0)
                r = writer_mark(w, true, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

/* ---- the watch ---- */

struct logindex_watch {
        struct logindex_writer *w;
        sd_event *event;
        sd_event_source *inotify, *timer; /* the watch is off while a mark is due */
        uint64_t last_mark_usec;          /* CLOCK_MONOTONIC */
        logindex_marked_fn on_mark;
        void *userdata;
};

static uint64_t mono_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void watch_mark(struct logindex_watch *lw)
{
        struct stack_error e = {0};
        /* A lost record costs precision (the bytes get the next record's time), never the container. */
        if (logindex_writer_mark(lw->w, &e) < 0)
                log_debug("log index: %s", e.msg);
        stack_error_clear(&e);
        lw->last_mark_usec = mono_usec();
        if (lw->on_mark)
                lw->on_mark(lw->userdata);
}

void logindex_watch_on_mark(struct logindex_watch *lw, logindex_marked_fn fn, void *userdata)
{
        lw->on_mark = fn;
        lw->userdata = userdata;
}

/* The file offset of the first record whose end lies beyond `before` (records are sorted by end). */
static off_t writer_first_needed(struct logindex_writer *w, uint64_t before)
{
        const off_t hsize = sizeof(struct logindex_header), rsize = sizeof(struct logindex_record);
        off_t lo = 0, hi = (w->idx_size - hsize) / rsize;
        while (lo < hi) {
                off_t mid = lo + (hi - lo) / 2;
                struct logindex_record rec;
                if (pread(w->idx_fd, &rec, sizeof(rec), hsize + mid * rsize) != (ssize_t) rsize)
                        return hsize;
                if (rec.end > before)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return hsize + lo * rsize;
}

void logindex_watch_trim(struct logindex_watch *lw, uint64_t before)
{
        off_t first = writer_first_needed(lw->w, before);
        /* Keeping one record before the first needed one is not required: a byte past the last dropped
         * record gets the time of the first kept one, which is the right one. Readers skip the hole. */
        if (first > (off_t) sizeof(struct logindex_header))
                (void) fallocate(lw->w->idx_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                 (off_t) sizeof(struct logindex_header),
                                 first - (off_t) sizeof(struct logindex_header));
}

static int on_log_modified(sd_event_source *src, const struct inotify_event *ev, void *userdata);

static int watch_start(struct logindex_watch *lw)
{
        return sd_event_add_inotify_fd(lw->event, &lw->inotify, lw->w->log_fd, IN_MODIFY, on_log_modified,
                                       lw);
}

static int on_mark_due(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct logindex_watch *lw = userdata;
        /* Watching again before the mark: a write after the mark is then seen, one before it counted. */
        int r = lw->inotify ? 0 : watch_start(lw);
        if (r < 0)
                log_debug("log index: watch %s: %s", lw->w->log_path, strerror(-r));
        watch_mark(lw);
        return 0;
}

static int on_log_modified(sd_event_source *src, const struct inotify_event *ev, void *userdata)
{
        struct logindex_watch *lw = userdata;
        uint64_t due = lw->last_mark_usec + LOGINDEX_MIN_INTERVAL_USEC;
        if (mono_usec() >= due) {
                watch_mark(lw);
                return 0;
        }
        /* Inside the interval the mark is deferred, not dropped (that would stamp these bytes with the time
         * of the next write, which may come much later), and the watch is off until it is due: a container
         * writing line by line then costs one wakeup per interval, not one per write. */
        if (sd_event_source_set_time(lw->timer, due) < 0 ||
            sd_event_source_set_enabled(lw->timer, SD_EVENT_ONESHOT) < 0) {
                watch_mark(lw);
                return 0;
        }
        lw->inotify = sd_event_source_disable_unref(lw->inotify);
        return 0;
}

void logindex_watch_free(struct logindex_watch *lw)
{
        if (!lw)
                return;
        lw->on_mark = NULL;
        if (lw->w)
                watch_mark(lw);
        sd_event_source_disable_unref(lw->inotify);
        sd_event_source_disable_unref(lw->timer);
        logindex_writer_free(lw->w);
        free(lw);
}

static void logindex_watch_freep(struct logindex_watch **lw)
{
        logindex_watch_free(*lw);
}

int logindex_watch_new(sd_event *e, const char *log_path, struct logindex_watch **ret,
                       struct stack_error *err)
{
        _cleanup_(logindex_watch_freep) struct logindex_watch *lw = xcalloc(1, sizeof(*lw));
        int r = logindex_writer_open(log_path, &lw->w, err);
        if (r < 0)
                return r;
        lw->event = e;
        /* A first write right away is marked at once: a start or adoption is not a mark of the interval. */
        lw->last_mark_usec = mono_usec() - LOGINDEX_MIN_INTERVAL_USEC;
        r = watch_start(lw);
        if (r < 0)
                return stack_error_errno(err, -r, "watch %s", log_path);
        /* Accuracy of 1us: the default (250ms) would blur the times this source exists to take. */
        r = sd_event_add_time(e, &lw->timer, CLOCK_MONOTONIC, 0, 1, on_mark_due, lw);
        if (r < 0)
                return stack_error_errno(err, -r, "timer for %s", log_path);
        r = sd_event_source_set_enabled(lw->timer, SD_EVENT_OFF);
        if (r < 0)
                return stack_error_errno(err, -r, "timer for %s", log_path);
        *ret = TAKE_PTR(lw);
        return 0;
}

/* ---- reading ---- */

static void reader_reset(struct logindex *ix)
{
        ix->n = 0;
        ix->idx_read = 0;
}

static void read_records(struct logindex *ix, int fd, ino_t ino)
{
        struct stat ist;
        if (fstat(fd, &ist) < 0)
                return;
        if (ist.st_size < ix->idx_read)
                reader_reset(ix); /* the writer started over */
        if (ix->idx_read == 0 && header_matches(fd, ino)) {
                ix->idx_read = sizeof(struct logindex_header);
                /* The records of rotated bytes are a hole (logindex_watch_trim): skip it. */
                off_t data = lseek(fd, ix->idx_read, SEEK_DATA);
                const off_t rsize = sizeof(struct logindex_record);
                if (data > ix->idx_read)
                        ix->idx_read += (data - ix->idx_read) / rsize * rsize;
        }
        while (ix->idx_read > 0) {
                struct logindex_record buf[256];
                ssize_t n = pread(fd, buf, sizeof(buf), ix->idx_read);
                if (n < (ssize_t) sizeof(buf[0]))
                        break;
                size_t k = (size_t) n / sizeof(buf[0]);
                ix->idx_read += (off_t) (k * sizeof(buf[0]));
                for (size_t i = 0; i < k; i++) {
                        /* Keep the table sorted on both fields whatever the file says. */
                        if (ix->n > 0 && buf[i].end <= ix->recs[ix->n - 1].end)
                                continue;
                        if (ix->n > 0 && buf[i].realtime_ns < ix->recs[ix->n - 1].realtime_ns)
                                buf[i].realtime_ns = ix->recs[ix->n - 1].realtime_ns;
                        grow_array((void **) &ix->recs, &ix->cap, ix->n + 1, sizeof(*ix->recs));
                        ix->recs[ix->n++] = buf[i];
                }
        }
}

void logindex_refresh(struct logindex *ix, const char *log_path, int log_fd)
{
        struct stat st;
        if (fstat(log_fd, &st) < 0)
                return;
        if (ix->dev != st.st_dev || ix->ino != st.st_ino) {
                reader_reset(ix);
                ix->dev = st.st_dev;
                ix->ino = st.st_ino;
        }
        _cleanup_free_ char *path = logindex_path(log_path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        for (int attempt = 0; fd >= 0 && attempt < 2; attempt++) {
                read_records(ix, fd, st.st_ino);
                /* The log's size after the records: every end recorded was a size the log had before. A
                 * record past it is of another log (an inode number reused) or of this one before it was
                 * truncated in place, the writer starting over since: read once more from the start. */
                if (fstat(log_fd, &st) < 0)
                        return;
                if (ix->n == 0 || ix->recs[ix->n - 1].end <= (uint64_t) st.st_size)
                        break;
                reader_reset(ix);
        }
        if (ix->n > 0 && ix->recs[ix->n - 1].end > (uint64_t) st.st_size)
                reader_reset(ix);
        /* The mtime comes from a coarse clock and may lag the last record by a tick. */
        int64_t mtime = (int64_t) st.st_mtim.tv_sec * NSEC_PER_SEC + st.st_mtim.tv_nsec;
        ix->tail_ns = mtime;
        if (ix->n > 0 && (int64_t) ix->recs[ix->n - 1].realtime_ns > mtime)
                ix->tail_ns = (int64_t) ix->recs[ix->n - 1].realtime_ns;
}

void logindex_forget(struct logindex *ix, uint64_t before)
{
        size_t k = 0;
        while (k < ix->n && ix->recs[k].end <= before)
                k++;
        memmove(ix->recs, ix->recs + k, (ix->n - k) * sizeof(*ix->recs));
        ix->n -= k;
}

int64_t logindex_time(const struct logindex *ix, uint64_t offset)
{
        size_t lo = 0, hi = ix->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ix->recs[mid].end > offset)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo < ix->n ? (int64_t) ix->recs[lo].realtime_ns : ix->tail_ns;
}

void logindex_done(struct logindex *ix)
{
        free(ix->recs);
        *ix = (struct logindex){0};
}

/* ---- times ---- */

static bool mul_add(int64_t *acc, int64_t v, int64_t mul)
{
        int64_t p;
        return !__builtin_mul_overflow(v, mul, &p) && !__builtin_add_overflow(*acc, p, acc);
}

/* Go's time.ParseDuration, which docker applies first; the compose file's duration grammar is the same. */
static int parse_duration(const char *s, int64_t *ret)
{
        int64_t usec;
        int r = units_parse_duration(s, &usec);
        if (r < 0)
                return r;
        return __builtin_mul_overflow(usec, NSEC_PER_USEC, ret) ? -EINVAL : 0;
}

static bool take_digits(const char **p, int n, int *ret)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

/* RFC 3339 and the shorter forms docker takes: a date, then optionally T and hours[:minutes[:seconds
 * [.fraction]]], then optionally Z or ±hh:mm. Without a zone the time is local, as docker reads it. */
static int parse_rfc3339(const char *s, int64_t *ret)
{
        const char *p = s;
        int year, mon, day, hour = 0, min = 0, sec = 0;
        int64_t ns = 0;
        if (!take_digits(&p, 4, &year) || *p++ != '-' || !take_digits(&p, 2, &mon) || *p++ != '-' ||
            !take_digits(&p, 2, &day))
                return -EINVAL;
        if (*p == 'T' || *p == 't') {
                p++;
                if (!take_digits(&p, 2, &hour))
                        return -EINVAL;
                if (*p == ':') {
                        p++;
                        if (!take_digits(&p, 2, &min))
                                return -EINVAL;
                        if (*p == ':') {
                                p++;
                                if (!take_digits(&p, 2, &sec))
                                        return -EINVAL;
                                if (*p == '.' || *p == ',') {
                                        p++;
                                        int64_t scale = NSEC_PER_SEC;
                                        if (!isdigit((unsigned char) *p))
                                                return -EINVAL;
                                        for (; isdigit((unsigned char) *p); p++)
                                                if (scale > 1) {
                                                        scale /= 10;
                                                        ns += (*p - '0') * scale;
                                                }
                                }
                        }
                }
        }
        bool zone = false;
        int offset_min = 0;
        if (*p == 'Z' || *p == 'z') {
                zone = true;
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1, oh, om;
                if (!take_digits(&p, 2, &oh))
                        return -EINVAL;
                if (*p == ':')
                        p++;
                if (!take_digits(&p, 2, &om) || oh > 23 || om > 59)
                        return -EINVAL;
                zone = true;
                offset_min = sign * (oh * 60 + om);
        }
        if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;
        struct tm tm = {
            .tm_year = year - 1900,
            .tm_mon = mon - 1,
            .tm_mday = day,
            .tm_hour = hour,
            .tm_min = min,
            .tm_sec = sec == 60 ? 59 : sec, /* a leap second: the last one of the minute */
            .tm_isdst = -1,
        };
        time_t t = zone ? timegm(&tm) : mktime(&tm);
        /* timegm/mktime carry 30 February into March: refuse what did not name a real day. */
        if (tm.tm_mday != day || tm.tm_mon != mon - 1)
                return -EINVAL;
        int64_t v = 0;
        if (!mul_add(&v, (int64_t) t - (int64_t) offset_min * 60, NSEC_PER_SEC) ||
            __builtin_add_overflow(v, ns, &v))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Seconds since the epoch, with up to nine decimals. */
static int parse_unix(const char *s, int64_t *ret)
{
        const char *p = s;
        bool neg = *p == '-';
        if (neg)
                p++;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        int64_t secs = 0, ns = 0, scale = NSEC_PER_SEC;
        for (; isdigit((unsigned char) *p); p++)
                if (__builtin_mul_overflow(secs, 10, &secs) || __builtin_add_overflow(secs, *p - '0', &secs))
                        return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++) {
                        if (scale == 1)
                                return -EINVAL;
                        scale /= 10;
                        ns += (*p - '0') * scale;
                }
        }
        if (*p)
                return -EINVAL;
        int64_t v = 0;
        if (!mul_add(&v, secs, NSEC_PER_SEC) || __builtin_add_overflow(v, ns, &v))
                return -EINVAL;
        *ret = neg ? -v : v;
        return 0;
}

int logindex_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns)
{
        if (isempty(s))
                return -EINVAL;
        int64_t d, v;
        /* "0" is the epoch, not "0 before now", as docker reads it. */
        if (!streq(s, "0") && parse_duration(s, &d) >= 0) {
                if (__builtin_sub_overflow(now_ns, d, &v))
                        return -EINVAL;
                *ret_ns = v;
                return 0;
        }
        if (parse_rfc3339(s, &v) >= 0 || parse_unix(s, &v) >= 0) {
                *ret_ns = v;
                return 0;
        }
        return -EINVAL;
}

char *logindex_format_time(int64_t ns, char buf[static LOGINDEX_TIME_MAX])
{
        int64_t secs = ns / NSEC_PER_SEC, rem = ns % NSEC_PER_SEC;
        if (rem < 0) {
                rem += NSEC_PER_SEC;
                secs--;
        }
        time_t t = (time_t) secs;
        struct tm tm;
        if (!gmtime_r(&t, &tm)) {
                snprintf(buf, LOGINDEX_TIME_MAX, "%" PRId64 ".%09" PRId64, secs, rem);
                return buf;
        }
        char date[32];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, LOGINDEX_TIME_MAX, "%s.%09" PRId64 "Z", date, rem);
        return buf;
}
