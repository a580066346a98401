#include <stdlib.h>
#include <sys/stat.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

static void test_strv(void)
{
        _cleanup_strv_free_ char **l = strv_split("a,b,,c", ",");
        is_int(strv_length(l), 4, "split keeps empty fields");
        _cleanup_free_ char *j = strv_join(l, "+");
        is_str(j, "a+b++c", "join");
        ok(strv_contains(l, "c") && !strv_contains(l, "d"), "contains");
}

static void test_paths(void)
{
        _cleanup_free_ char *a = path_absolute("/srv/app", "../data/./x");
        is_str(a, "/srv/data/x", "relative path resolved lexically");
        _cleanup_free_ char *b = path_absolute("/srv", "/etc/../opt/");
        is_str(b, "/opt", "absolute path normalized");
        _cleanup_free_ char *c = path_join("/", "etc");
        is_str(c, "/etc", "join on root");
        _cleanup_free_ char *d = path_dirname("/a/b/c");
        is_str(d, "/a/b", "dirname");
        is_str(path_basename("/a/b/c"), "c", "basename");
}

static void test_atomic_write(void)
{
        char dir[] = "/tmp/stack-test-util-XXXXXX";
        ok(mkdtemp(dir) != NULL, "temp dir");
        _cleanup_free_ char *sub = path_join(dir, "x/y");
        _cleanup_error_ struct stack_error err = {0};
        is_int(mkdir_p(sub, 0755, &err), 0, "mkdir_p");
        _cleanup_free_ char *f = path_join(sub, "state.json");
        is_int(write_file_atomic(f, "{}", 2, 0600, &err), 0, "atomic write");
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        is_int(read_full_file(f, &data, &len, &err), 0, "read back");
        is_str(data, "{}", "content");
        struct stat st;
        ok(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600, "mode honoured");
        is_int(rm_rf(dir, &err), 0, "rm_rf");
        ok(!path_exists(dir), "tree gone");
        _cleanup_error_ struct stack_error e2 = {0};
        ok(read_full_file("/nonexistent/x", &data, &len, &e2) == -ENOENT, "missing file is -ENOENT");
        contains(e2.msg, "/nonexistent/x", "error names the file");
}

int main(void)
{
        test_strv();
        test_paths();
        test_atomic_write();
        return done_testing();
}
