/* The builder's file-level pieces: .dockerignore matching as Docker evaluates it, and layer tars of upper
 * directories read back with stack's own tar reader. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/build/ignore.h"
#include "core/build/layertar.h"
#include "core/image/layer.h"
#include "tests/unit/tap.h"

static void test_ignore(void)
{
        struct ignore *ig = ignore_parse("# comment\n"
                                         "*.log\n"
                                         "/build\n"
                                         "docs/**/*.md\n"
                                         "!docs/keep/README.md\n"
                                         "./tmp/../cache\n"
                                         "\n"
                                         "secret?.txt\n");
        struct {
                const char *path;
                bool excluded;
        } cases[] = {
            {"app.log", true},       {"sub/app.log", false},         {"build", true},
            {"build/out.o", true},   {"src/build", false},           {"docs/a.md", true},
            {"docs/x/y/b.md", true}, {"docs/keep/README.md", false}, {"docs/a.txt", false},
            {"cache/x", true},       {"secret1.txt", true},          {"secret12.txt", false},
            {"main.c", false},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ok(ignore_match(ig, cases[i].path, false) == cases[i].excluded, "%s is %s", cases[i].path,
                   cases[i].excluded ? "excluded" : "kept");
        ok(ignore_has_exceptions(ig), "exceptions noted");
        ignore_free(ig);
        struct ignore *none = ignore_parse("");
        ok(!ignore_match(none, "anything", false) && !ignore_has_exceptions(none),
           "an empty file excludes nothing");
        ignore_free(none);
}

static void test_layertar(void)
{
        char tmpl[] = "/tmp/test-build-files-XXXXXX";
        if (!ok(mkdtemp(tmpl) != NULL, "temp dir"))
                return;
        _cleanup_free_ char *upper = path_join(tmpl, "upper");
        _cleanup_free_ char *longdir = xasprintf("%s/upper/%0120d", tmpl, 0);
        _cleanup_error_ struct stack_error err = {0};
        ok(mkdir_p(longdir, 0755, &err) == 0, "tree");
        _cleanup_free_ char *f = xasprintf("%s/upper/b.txt", tmpl);
        _cleanup_free_ char *lf = xasprintf("%s/file", longdir);
        _cleanup_free_ char *hl = xasprintf("%s/upper/c-link.txt", tmpl);
        _cleanup_free_ char *sl = xasprintf("%s/upper/a-sym", tmpl);
        _cleanup_free_ char *etc = xasprintf("%s/upper/etc", tmpl);
        _cleanup_free_ char *hosts = xasprintf("%s/upper/etc/hosts", tmpl);
        ok(write_file_atomic(f, "hello\n", 6, 0640, &err) == 0 &&
               write_file_atomic(lf, "x", 1, 0644, &err) == 0 && link(f, hl) == 0 &&
               symlink("/outside/target", sl) == 0 && mkdir(etc, 0755) == 0 &&
               write_file_atomic(hosts, "", 0, 0644, &err) == 0,
           "files, a hard link, a symlink, an empty mount point");
        _cleanup_free_ char *tar = path_join(tmpl, "layer.tar");
        int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        static const char *const skip[] = {"etc/hosts", NULL};
        static const char *const skip_dirs[] = {"etc", NULL};
        struct layertar_options o = {.skip_empty = skip, .skip_empty_dirs = skip_dirs};
        ok(layertar_write(upper, fd, &o, &err) == 0, "layer tar written");
        close(fd);

        fd = open(tar, O_RDONLY | O_CLOEXEC);
        _cleanup_layer_source_ struct layer_source *src = layer_source_fd(fd, true, "layer.tar");
        _cleanup_tar_reader_ struct tar_reader *t = tar_reader_new(src);
        struct strbuf names = {0};
        const struct tar_entry *e;
        int r;
        bool hard = false, sym = false, mode = false, longname = false;
        while ((r = tar_reader_next(t, &e, &err)) > 0) {
                strbuf_printf(&names, "%s ", e->path);
                if (streq(e->path, "c-link.txt"))
                        hard = e->type == TAR_HARDLINK && streq(e->linkpath, "b.txt");
                if (streq(e->path, "a-sym"))
                        sym = e->type == TAR_SYMLINK && streq(e->linkpath, "/outside/target");
                if (streq(e->path, "b.txt"))
                        mode = (e->mode & 07777) == 0640 && e->size == 6;
                if (endswith(e->path, "/file") && strlen(e->path) > 100)
                        longname = true;
        }
        ok(r == 0, "the tar reads back: %s", r < 0 ? err.msg : "");
        _cleanup_free_ char *want = xasprintf("%0120d/ %0120d/file a-sym b.txt c-link.txt ", 0, 0);
        is_str(names.buf, want, "entries sorted; the empty mount point and its directory left out");
        ok(hard, "a second name of a file is a hard link to the first");
        ok(sym, "a symlink is kept as written");
        ok(mode, "modes and sizes kept");
        ok(longname, "a long name through a pax header");
        strbuf_free(&names);
        _cleanup_error_ struct stack_error e2 = {0};
        rm_rf(tmpl, &e2);
}

int main(void)
{
        test_ignore();
        test_layertar();
        return done_testing();
}
