/* The log time index (what the supervisor writes, what `stack logs` reads) and the --since/--until times. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/runtime/logindex.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

#define SEC 1000000000LL
#define T21 (1795467600LL * SEC) /* 2026-11-23T21:00:00Z */
#define NOW (1795470000LL * SEC)

static int64_t parsed(const char *s)
{
        int64_t v = -42;
        int r = logindex_parse_time(s, NOW, &v);
        return r < 0 ? r : v;
}

static void test_parse_relative(void)
{
        is_int(parsed("42m"), NOW - 42 * 60 * SEC, "42m is 42 minutes before now");
        is_int(parsed("1h30m"), NOW - 90 * 60 * SEC, "1h30m");
        is_int(parsed("10s"), NOW - 10 * SEC, "10s");
        is_int(parsed("1.5h"), NOW - 90 * 60 * SEC, "1.5h: a decimal duration");
        is_int(parsed("300ms"), NOW - 300000000LL, "300ms");
        is_int(parsed("2us"), NOW - 2000, "2us");
        is_int(parsed("2\xc2\xb5s"), NOW - 2000, "2µs");
        is_int(parsed("1h0.5s"), NOW - 3600 * SEC - SEC / 2, "1h0.5s");
        is_int(parsed("-1h"), NOW + 3600 * SEC, "-1h is an hour from now");
        is_int(parsed("0"), 0, "0 is the epoch, not now");
        is_int(parsed("0s"), NOW, "0s is now");
}

static void test_parse_absolute(void)
{
        is_int(parsed("2026-11-23T21:00:00Z"), T21, "RFC 3339 in UTC");
        is_int(parsed("2026-11-23t21:00:00z"), T21, "lower-case t and z");
        is_int(parsed("2026-11-23T21:00:00.123456789Z"), T21 + 123456789, "with nanoseconds");
        is_int(parsed("2026-11-23T21:00:00.5Z"), T21 + SEC / 2, "with a short fraction");
        is_int(parsed("2026-11-23T21:00:00.1234567891Z"), T21 + 123456789, "digits past the ns are dropped");
        is_int(parsed("2026-11-23T22:00:00+01:00"), T21, "with a positive offset");
        is_int(parsed("2026-11-23T18:30:00.25-02:30"), T21 + SEC / 4,
               "with a fraction and a negative offset");
        is_int(parsed("2026-11-23T22:00:00+0100"), T21, "offset without a colon");
        /* Without a zone docker reads local time: pin it. */
        setenv("TZ", "UTC", 1);
        tzset();
        is_int(parsed("2026-11-23T21:00:00"), T21, "no zone: local time (UTC here)");
        is_int(parsed("2026-11-23T21:00"), T21, "hours and minutes");
        is_int(parsed("2026-11-23T21"), T21, "hours only");
        is_int(parsed("2026-11-23"), 1795392000LL * SEC, "a date");
        setenv("TZ", "CET-1", 1);
        tzset();
        is_int(parsed("2026-11-23T22:00:00"), T21, "no zone in a zone one hour east of UTC");
        is_int(parsed("2026-11-23T22:00:00Z"), T21 + 3600 * SEC, "an explicit Z ignores the local zone");
        unsetenv("TZ");
        tzset();
        is_int(parsed("1795467600"), T21, "Unix seconds");
        is_int(parsed("1795467600.25"), T21 + SEC / 4, "Unix seconds with a fraction");
        is_int(parsed("1795467600.000000001"), T21 + 1, "with nine decimals");
        is_int(parsed("2026"), 2026 * SEC, "a bare number is Unix seconds, as docker");
}

static void test_parse_bad(void)
{
        const char *bad[] = {"",
                             "bogus",
                             "10x",
                             "1h30",
                             "h",
                             ".s",
                             "--1h",
                             "2026-11-23T21:00:00.Z",
                             "2026-02-30T00:00:00Z",
                             "2026-13-01",
                             "2026-11-23T25:00:00Z",
                             "2026-11-23T21:61:00Z",
                             "2026-11-23T21:00:00+25:00",
                             "2026-11-23 21:00:00",
                             "2026-11-23T21:00:00Zjunk",
                             "1795467600.1234567891",
                             "1795467600.",
                             "99999999999999999999",
                             "9999999999h"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                is_int(parsed(bad[i]), -EINVAL, "\"%s\" is refused", bad[i]);
}

static void test_format(void)
{
        char buf[LOGINDEX_TIME_MAX];
        is_str(logindex_format_time(0, buf), "1970-01-01T00:00:00.000000000Z", "the epoch");
        is_str(logindex_format_time(T21 + 123456789, buf), "2026-11-23T21:00:00.123456789Z",
               "nine fixed digits and Z, as docker logs -t");
        is_str(logindex_format_time(T21 + 5000, buf), "2026-11-23T21:00:00.000005000Z",
               "trailing zeros kept");
        is_str(logindex_format_time(-1, buf), "1969-12-31T23:59:59.999999999Z", "before the epoch");
        int64_t back = 0;
        ok(logindex_parse_time(logindex_format_time(T21 + 987654321, buf), NOW, &back) == 0 &&
               back == T21 + 987654321,
           "what -t prints is a valid --since value for the same instant");
}

static void append(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                abort();
}

static off_t file_size(const char *path)
{
        struct stat st;
        return stat(path, &st) < 0 ? -1 : st.st_size;
}

static void read_index(struct logindex *ix, const char *log)
{
        _cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                logindex_refresh(ix, log, fd);
}

static void test_writer_reader(const char *dir)
{
        _cleanup_free_ char *log = path_join(dir, "container.log");
        _cleanup_free_ char *idx = logindex_path(log);
        is_str(idx + strlen(dir), "/container.log.idx", "the index sits beside the log");
        append(log, "before\n");
        struct stat st;
        stat(log, &st);
        int64_t m0 = (int64_t) st.st_mtim.tv_sec * SEC + st.st_mtim.tv_nsec;
        struct logindex_writer *w = NULL;
        struct stack_error e = {0};
        ok(logindex_writer_open(log, &w, &e) == 0, "writer opens");
        stack_error_clear(&e);
        is_int(file_size(idx), 32, "header and one record: the log's size at the start");
        append(log, "one\n");
        int64_t t1 = logindex_now_ns();
        ok(logindex_writer_mark(w, NULL) == 0, "mark");
        int64_t t1b = logindex_now_ns();
        ok(logindex_writer_mark(w, NULL) == 0, "mark without growth");
        is_int(file_size(idx), 48, "only growth adds a record");
        append(log, "two\npart");

        struct logindex ix = {0};
        read_index(&ix, log);
        is_int(ix.n, 2, "reader sees two records");
        int64_t a = logindex_time(&ix, 0), b = logindex_time(&ix, 7), c = logindex_time(&ix, 11);
        is_int(a, m0,
               "bytes there before the writer started get the log's mtime of then (their last write)");
        ok(a <= t1, "which is before the next mark");
        is_int(logindex_time(&ix, 6), a, "up to the record's end");
        ok(b >= t1 && b <= t1b, "the next line gets its mark's time");
        stat(log, &st);
        int64_t mtime = (int64_t) st.st_mtim.tv_sec * SEC + st.st_mtim.tv_nsec;
        ok(c == (mtime > b ? mtime : b),
           "bytes past the last record get the log's mtime, never before the last record");

        ok(logindex_writer_mark(w, NULL) == 0, "mark the rest");
        read_index(&ix, log);
        is_int(ix.n, 3, "refresh reads the new record only");
        ok(logindex_time(&ix, 11) >= b, "times only grow");
        logindex_writer_free(w);

        /* A torn record at the end (a crash mid-write) is dropped by the next writer, ignored by readers. */
        append(idx, "xyz");
        struct logindex ix2 = {0};
        read_index(&ix2, log);
        is_int(ix2.n, 3, "reader ignores a torn record");
        ok(logindex_writer_open(log, &w, NULL) == 0, "a writer reopens the index");
        is_int(file_size(idx), 16 + 3 * 16, "the torn record is cut, the others kept, nothing added");
        logindex_writer_free(w);
        logindex_done(&ix2);

        /* The container is recreated: a new log under the same name, the old index left beside it. */
        unlink(log);
        append(log, "new\n");
        read_index(&ix, log);
        is_int(ix.n, 0, "the index of the earlier log under that name is ignored by readers");
        ok(logindex_writer_open(log, &w, NULL) == 0, "writer on the new log");
        is_int(file_size(idx), 32, "starts the index over with the new log's size");
        read_index(&ix, log);
        is_int(ix.n, 1, "reader follows the new index");
        /* Truncated in place: the old offsets mean nothing any more. */
        if (truncate(log, 0) < 0)
                abort();
        append(log, "x\n");
        ok(logindex_writer_mark(w, NULL) == 0, "mark after truncation");
        is_int(file_size(idx), 32, "started over with one record");
        read_index(&ix, log);
        ok(ix.n == 1 && ix.recs[0].end == 2, "reader sees the restarted index");
        logindex_writer_free(w);
        logindex_done(&ix);
        ok(logindex_writer_open("/nonexistent/container.log", &w, &e) < 0 && e.msg &&
               strstr(e.msg, "/nonexistent/container.log"),
           "a missing log is an error naming it");
        stack_error_clear(&e);
}

static void test_watch(const char *dir)
{
        _cleanup_free_ char *log = path_join(dir, "watched.log");
        append(log, "");
        sd_event *ev = NULL;
        if (sd_event_new(&ev) < 0)
                abort();
        struct logindex_watch *lw = NULL;
        ok(logindex_watch_new(ev, log, &lw, NULL) == 0, "watch starts");
        int64_t before = logindex_now_ns();
        append(log, "hello\n");
        struct logindex ix = {0};
        for (int i = 0; i < 50 && ix.n == 0; i++) {
                sd_event_run(ev, 10000);
                read_index(&ix, log);
        }
        is_int(ix.n, 1, "a write is recorded without any explicit mark");
        ok(ix.n == 1 && (int64_t) ix.recs[0].realtime_ns >= before &&
               (int64_t) ix.recs[0].realtime_ns - before < 500000000LL,
           "at about the time of the write");

        /* A burst of writes: at most one record per interval, and the last bytes are never left out. */
        uint64_t start = (uint64_t) logindex_now_ns();
        for (int i = 0; i < 300; i++) {
                append(log, "burst line\n");
                sd_event_run(ev, 0);
        }
        for (int i = 0; i < 20; i++)
                sd_event_run(ev, 2000);
        uint64_t elapsed_ms = ((uint64_t) logindex_now_ns() - start) / 1000000;
        read_index(&ix, log);
        size_t burst = ix.n - 1;
        ok(burst >= 1 && burst <= elapsed_ms + 2, "%zu records for 300 writes in %llu ms", burst,
           (unsigned long long) elapsed_ms);
        is_int(ix.recs[ix.n - 1].end, file_size(log), "the last record covers the whole burst");
        /* The watch is off while a mark is due: it must be back once the mark is made. */
        usleep(5000);
        size_t before_n = ix.n;
        int64_t t_again = logindex_now_ns();
        append(log, "again\n");
        for (int i = 0; i < 50 && ix.n == before_n; i++) {
                sd_event_run(ev, 10000);
                read_index(&ix, log);
        }
        ok(ix.n == before_n + 1 && (int64_t) ix.recs[ix.n - 1].realtime_ns >= t_again &&
               ix.recs[ix.n - 1].end == (uint64_t) file_size(log),
           "a write after the burst is recorded by itself: the watch is on again");
        append(log, "last\n");
        logindex_watch_free(lw);
        read_index(&ix, log);
        is_int(ix.recs[ix.n - 1].end, file_size(log), "stopping the watch records what is pending");
        logindex_done(&ix);
        sd_event_unref(ev);
}

int main(void)
{
        test_parse_relative();
        test_parse_absolute();
        test_parse_bad();
        test_format();
        char tmpl[] = "/tmp/test-logindex-XXXXXX";
        if (!mkdtemp(tmpl))
                abort();
        test_writer_reader(tmpl);
        test_watch(tmpl);
        rm_rf(tmpl, NULL);
        return done_testing();
}
