/* Log rotation (core/runtime/logfile.h) on real files: the JSON lines are exact and docker's shape, a pass
 * moves whole lines out and frees the live log's blocks with offsets kept, the files stay within their
 * count and size, the follower (core/engine/logs.h) reads across them; and the logging settings a compose
 * file may give (spec/logging.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/logs.h"
#include "core/runtime/logfile.h"
#include "core/runtime/logindex.h"
#include "spec/logging.h"
#include "tests/unit/tap.h"

static void test_json_lines(void)
{
        static const char raw[] = "tab\there \"q\" \\ caf\xc3\xa9 bad\xff\x01 nul\0end\n";
        size_t n = sizeof(raw) - 1, len = 0, cap = 0;
        char *buf = NULL;
        logfile_encode_line(&buf, &len, &cap, raw, n, 1795467600123456789LL);
        is_str(buf,
               "{\"log\":\"tab\\there \\\"q\\\" \\\\ caf\xc3\xa9 bad\\u00ff\\u0001 nul\\u0000end\\n\","
               "\"stream\":\"stdout\",\"time\":\"2026-11-23T21:00:00.123456789Z\"}\n",
               "docker's json-file line; valid UTF-8 as itself, other bytes as \\u00XX");
        _cleanup_free_ char *data = NULL;
        size_t dlen = 0;
        int64_t t = 0;
        ok(logfile_decode_line(buf, len - 1, &data, &dlen, &t) == 0, "decodes");
        ok(dlen == n && memcmp(data, raw, n) == 0, "to the very bytes written");
        is_int(t, 1795467600123456789LL, "with the time");
        ok(logfile_decode_line("{\"x\":1}", 7, &data, &dlen, &t) < 0, "another shape is refused");
        free(buf);
}

__attribute__((format(printf, 2, 3))) static void append(int fd, const char *fmt, ...)
{
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (write(fd, line, (size_t) k) != k)
                abort();
}

static void collect(void *userdata, const struct logs_line *l)
{
        strbuf_add(userdata, l->data, l->len);
}

static void test_rotate(const char *dir)
{
        _cleanup_free_ char *log = xasprintf("%s/container.log", dir);
        _cleanup_close_ int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        ok(fd >= 0, "live log");
        struct logfile_rotator *r = NULL;
        struct stack_error e = {0};
        ok(logfile_rotator_new(log, 4096, 3, &r, &e) == 0, "rotator");
        struct logindex ix = {0};
        uint64_t consumed = 1;
        for (int i = 0; i < 100; i++)
                append(fd, "line %04d of the log\n", i); /* 21 bytes a line */
        ok(logfile_rotate(r, &ix, &consumed, &e) == 0 && consumed == 0, "under max-size: nothing to do");
        for (int i = 100; i < 1000; i++)
                append(fd, "line %04d of the log\n", i);
        ok(logfile_rotate(r, &ix, &consumed, &e) == 0, "rotates");
        is_int((long long) consumed, 21000, "every whole line moved out");
        struct stat st;
        ok(stat(log, &st) == 0 && st.st_size == 21000, "the live log keeps its size (offsets stay)");
        ok(st.st_blocks * 512 <= 4096, "but its blocks are freed (%lld bytes left)",
           (long long) st.st_blocks * 512);
        struct logfile_manifest m = {0};
        ok(logfile_manifest_read(log, &m) == 0 && m.n == 2 && m.consumed == 21000,
           "two rotated files listed");
        for (size_t k = 1; k <= 3; k++) {
                _cleanup_free_ char *p = logfile_segment_path(log, k);
                struct stat ss;
                if (k <= 2)
                        ok(stat(p, &ss) == 0 && ss.st_size <= 4096 && ss.st_size > 3000,
                           "%s within max-size", p);
                else
                        ok(stat(p, &ss) < 0, "no third rotated file: max-file counts the live log");
        }
        ok(m.n == 2 && m.segs[0].end == 21000 && m.segs[1].end == m.segs[0].start,
           "newest first, contiguous");
        uint64_t oldest = m.segs[1].start;
        logfile_manifest_done(&m);
        append(fd, "line %04d after\n", 1000);
        append(fd, "line %04d unfinished", 1001);

        struct container_info c = {.name = (char *) "p-web-1",
                                   .service = (char *) "web",
                                   .project = (char *) "p",
                                   .number = 1,
                                   .log_path = log};
        struct project_status ps = {.containers = &c, .n = 1};
        struct strbuf b = {0};
        _cleanup_logs_ struct logs *set = logs_new(&(struct logs_filter){0});
        logs_update(set, &ps, NULL, -1, true);
        logs_read(set, collect, &b);
        _cleanup_free_ char *first = xasprintf("line %04d of the log\n", (int) (oldest / 21));
        ok(b.len > 0 && strncmp(b.buf, first, strlen(first)) == 0, "logs starts at the oldest kept line");
        _cleanup_free_ char *tail = xasprintf("line 0999 of the log\nline 1000 after\n");
        ok(b.len >= strlen(tail) && streq(b.buf + b.len - strlen(tail), tail), "and ends with the live log");
        size_t lines = 0;
        for (size_t i = 0; i < b.len; i++)
                lines += b.buf[i] == '\n';
        is_int((long long) lines, (long long) (1000 - oldest / 21 + 1), "every line once, in order");
        strbuf_free(&b);

        /* Following across a rotation that moves the unfinished line's start out of the live log. Long
         * lines: their JSON envelope is small beside them, so the two files keep all of this pass. */
        append(fd, " now0\n");
        char pad[181];
        memset(pad, 'x', 180);
        pad[180] = 0;
        for (int i = 1002; i < 1024; i++)
                append(fd, "long line %04d %s\n", i, pad);
        ok(logfile_rotate(r, &ix, &consumed, &e) == 0 && consumed > 21000, "rotates again");
        logs_read(set, collect, &b);
        ok(b.len > 0 && strncmp(b.buf, "line 1001 unfinished now0\nlong line 1002 ", 41) == 0,
           "a follower picks up across the rotation, the unfinished line whole");
        _cleanup_free_ char *last = xasprintf("long line 1023 %s\n", pad);
        ok(b.len >= strlen(last) && streq(b.buf + b.len - strlen(last), last), "up to the last line");
        strbuf_free(&b);

        _cleanup_logs_ struct logs *tail2 = logs_new(&(struct logs_filter){0});
        logs_update(tail2, &ps, NULL, 2, true);
        logs_read(tail2, collect, &b);
        ok(b.len > 0 && strncmp(b.buf, "long line 1022 ", 15) == 0 && strstr(b.buf, "\nlong line 1023 ") &&
               b.len == 2 * strlen(last),
           "--tail 2 across the files");
        strbuf_free(&b);
        logindex_done(&ix);
        logfile_rotator_free(r);
}

static void test_settings(void)
{
        struct stack_log_limits lim;
        const char *key = NULL;
        char *msg = NULL;
        struct stack_logging l = {0};
        ok(spec_logging_resolve(&l, &lim, &key, &msg) == 0 && lim.driver == STACK_LOG_JSON_FILE &&
               lim.max_size == 10 << 20 && lim.max_file == 3,
           "no logging: json-file, 10m x 3");
        struct stack_kv opts[] = {{(char *) "max-file", (char *) "5"},
                                  {(char *) "max-size", (char *) "200k"}};
        l = (struct stack_logging){.driver = (char *) "local", .options = {.items = opts, .n = 2}};
        ok(spec_logging_resolve(&l, &lim, &key, &msg) == 0 && lim.driver == STACK_LOG_LOCAL &&
               lim.max_size == 200 << 10 && lim.max_file == 5,
           "local with options");
        struct stack_kv unlimited[] = {{(char *) "max-size", (char *) "-1"}};
        l = (struct stack_logging){.options = {.items = unlimited, .n = 1}};
        int r = spec_logging_resolve(&l, &lim, &key, &msg);
        ok(r < 0 && streq(key, "max-size"), "-1 is refused: %s", msg);
        free(msg);
        l = (struct stack_logging){.driver = (char *) "journald"};
        r = spec_logging_resolve(&l, &lim, &key, &msg);
        ok(r < 0 && streq(key, "driver"), "journald: %s", msg);
        free(msg);
        l = (struct stack_logging){.driver = (char *) "none", .options = {.items = opts, .n = 1}};
        ok(spec_logging_resolve(&l, &lim, &key, &msg) < 0, "none takes no options");
        free(msg);
}

int main(void)
{
        char dir[] = "/tmp/test-logfile-XXXXXX";
        ok(mkdtemp(dir) != NULL, "temp dir");
        test_json_lines();
        test_rotate(dir);
        test_settings();
        _cleanup_free_ char *cmd = xasprintf("rm -rf %s", dir);
        ok(system(cmd) == 0, "clean up");
        return done_testing();
}
