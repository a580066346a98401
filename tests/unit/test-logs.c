/* The log follower (core/engine/logs.h) on real files, and up's option policy (core/engine/options.h). */
#include <stdlib.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/logs.h"
#include "core/engine/options.h"
#include "tests/unit/tap.h"

static void collect(void *userdata, const struct logs_line *l)
{
        struct strbuf *b = userdata;
        strbuf_printf(b, "%s|%zu|", l->label, l->index);
        strbuf_add(b, l->data, l->len);
}

static void append(const char *path, const char *text)
{
        _cleanup_free_ char *old = NULL;
        size_t len = 0;
        (void) read_full_file(path, &old, &len, NULL);
        _cleanup_free_ char *all = xasprintf("%s%s", old ? old : "", text);
        ok(write_file_atomic(path, all, strlen(all), 0600, NULL) >= 0, "write %zu bytes", strlen(all));
}

static char *read_all(struct logs *set)
{
        struct strbuf b = {0};
        logs_read(set, collect, &b);
        return strbuf_take(&b);
}

static void test_follow(const char *dir)
{
        _cleanup_free_ char *log1 = xasprintf("%s/one.log", dir), *log2 = xasprintf("%s/two.log", dir);
        append(log1, "a\nb\nc\nunfinished");
        struct container_info c[] = {
            {.name = (char *) "p-web-1",
             .service = (char *) "web",
             .project = (char *) "p",
             .number = 1,
             .log_path = log1},
            {.name = (char *) "fixed",
             .service = (char *) "db",
             .project = (char *) "p",
             .number = 1,
             .log_path = log2},
        };
        struct project_status st = {.containers = c, .n = 1};
        _cleanup_logs_ struct logs *set = logs_new(&(struct logs_filter){0});
        logs_update(set, &st, NULL, 2, true);
        _cleanup_free_ char *first = read_all(set);
        /* The unfinished last line is one of the two: only "c" is whole so far. */
        is_str(first, "web-1|0|c\n", "--tail 2 starts two lines from the end; the label drops the project");
        append(log1, " line\nd\n");
        _cleanup_free_ char *more = read_all(set);
        is_str(more, "web-1|0|unfinished line\nweb-1|0|d\n", "a line is handed over once it is finished");

        /* A container that appears later is read from its start; services filter. */
        append(log2, "x\n");
        st.n = 2;
        char *only_web[] = {(char *) "web", NULL};
        logs_update(set, &st, only_web, -1, false);
        _cleanup_free_ char *filtered = read_all(set);
        is_str(filtered, "", "a container of another service is not followed");
        logs_update(set, &st, NULL, -1, false);
        _cleanup_free_ char *later = read_all(set);
        is_str(later, "fixed|1|x\n", "a new container is read from its start, a fixed name as it is");
        is_int(logs_label_width(set), 5, "label width");

        append(log2, "no newline");
        _cleanup_free_ char *none = read_all(set);
        is_str(none, "", "an unfinished last line waits");
        struct strbuf b = {0};
        logs_flush(set, collect, &b);
        _cleanup_free_ char *flushed = strbuf_take(&b);
        is_str(flushed, "fixed|1|no newline\n", "and is ended when the output ends");
}

static void test_marks(const char *dir)
{
        _cleanup_free_ char *log = xasprintf("%s/mark.log", dir);
        append(log, "old\n");
        struct container_info c = {.name = (char *) "m", .service = (char *) "m", .log_path = log};
        struct project_status st = {.containers = &c, .n = 1};
        _cleanup_logs_ struct logs *set = logs_new(&(struct logs_filter){0});
        logs_mark(set, &st);
        append(log, "new\n"); /* rewritten: a new inode, so the mark does not apply */
        logs_update(set, &st, NULL, -1, false);
        _cleanup_free_ char *got = read_all(set);
        is_str(got, "m|0|old\nm|0|new\n", "a log replaced since the mark is read from its start");
}

static void test_options(void)
{
        struct stack_project p = {.name = (char *) "p", .settings = {.max_orphans = -1}};
        struct plan_options o = {0};
        unsetenv("STACK_MAX_ORPHANS");
        unsetenv("COMPOSE_REMOVE_ORPHANS");
        unsetenv("COMPOSE_IGNORE_ORPHANS");
        options_orphans(&p, false, -1, &o);
        ok(!o.remove_orphans && o.max_orphans == 3, "default: keep 3 orphans");
        p.settings.max_orphans = 5;
        options_orphans(&p, false, -1, &o);
        is_int(o.max_orphans, 5, "x-stack.max_orphans");
        setenv("STACK_MAX_ORPHANS", "7", 1);
        options_orphans(&p, false, -1, &o);
        is_int(o.max_orphans, 7, "$STACK_MAX_ORPHANS over the file");
        options_orphans(&p, false, 1, &o);
        is_int(o.max_orphans, 1, "--max-orphans over both");
        setenv("COMPOSE_IGNORE_ORPHANS", "true", 1);
        options_orphans(&p, false, -1, &o);
        is_int(o.max_orphans, -1, "$COMPOSE_IGNORE_ORPHANS keeps them all");
        setenv("COMPOSE_REMOVE_ORPHANS", "1", 1);
        options_orphans(&p, false, -1, &o);
        ok(o.remove_orphans && o.max_orphans == 7, "$COMPOSE_REMOVE_ORPHANS removes them");

        struct stack_service svc = {.name = (char *) "web", .scale = 1};
        p.services = &svc;
        p.n_services = 1;
        _cleanup_error_ struct stack_error e1 = {0}, e2 = {0}, e3 = {0};
        ok(options_scale(&p, "web=4", NULL) == 0 && svc.scale == 4, "--scale web=4");
        ok(options_scale(&p, "web", &e1) < 0 && strstr(e1.msg, "expected SERVICE=NUM"), "--scale without =");
        ok(options_scale(&p, "web=x", &e2) < 0 && strstr(e2.msg, "invalid number"),
           "--scale with a bad number");
        ok(options_scale(&p, "db=1", &e3) < 0 && strstr(e3.msg, "no such service: db"),
           "--scale of an unknown service");
        is_int(svc.scale, 4, "a failed --scale changes nothing");
}

int main(void)
{
        char dir[] = "/tmp/test-logs-XXXXXX";
        if (!ok(mkdtemp(dir) != NULL, "temp dir"))
                return done_testing();
        test_follow(dir);
        test_marks(dir);
        test_options();
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        ok(system(cmd) == 0, "clean up");
        return done_testing();
}
