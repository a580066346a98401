/* Files in a container's root: creating, replacing and removing, and every way a symlink planted in the
 * container could try to lead a write or a read out of it. A temporary directory stands for the root (the
 * same openat2 resolution applies to /proc/<pid>/root). */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/runtime/ctrfs.h"
#include "tests/unit/tap.h"

static char *base;

static char *at(const char *rel)
{
        return path_join(base, rel);
}

static bool exists(const char *rel)
{
        _cleanup_free_ char *p = at(rel);
        struct stat st;
        return lstat(p, &st) == 0;
}

static char *content(const char *rel)
{
        _cleanup_free_ char *p = at(rel);
        char *s = NULL;
        return read_full_file(p, &s, NULL, NULL) < 0 ? NULL : s;
}

static void put(const char *rel, const char *text)
{
        _cleanup_free_ char *p = at(rel);
        write_file_atomic(p, text, strlen(text), 0644, NULL);
}

static int copy_in(struct ctrfs *fs, const char *host, const char *target, struct stack_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *name = NULL;
        int r = ctrfs_open_parent(fs, target, &dfd, &name, err);
        if (r < 0)
                return r;
        struct ctrfs_copy o = {.replace = true, .uid = getuid(), .gid = getgid()};
        return ctrfs_copy_at(AT_FDCWD, host, dfd, name, &o, err);
}

int main(void)
{
        char tmpl[] = "/tmp/test-ctrfs-XXXXXX";
        base = mkdtemp(tmpl);
        _cleanup_free_ char *root = at("root"), *outside = at("outside"), *src = at("src.txt");
        mkdir(root, 0755);
        mkdir(outside, 0755);
        put("src.txt", "new content\n");
        chmod(src, 0751);
        put("outside/secret", "host file\n");
        _cleanup_free_ char *outside_dir = at("outside");
        /* Links planted in the container: absolute, relative climbing, and to the host's directory. */
        _cleanup_free_ char *l1 = at("root/abs"), *l2 = at("root/up"), *l3 = at("root/etc");
        symlink("/", l1);
        symlink("../../../../..", l2);
        symlink(outside_dir, l3);

        struct ctrfs *fs = NULL;
        _cleanup_error_ struct stack_error err = {0};
        if (!ok(ctrfs_open_dir(root, &fs, &err) == 0, "open a directory as the root"))
                return done_testing();

        ok(ctrfs_mkdir_p(fs, "/app/a/b", 0755, &err) == 0, "mkdir -p");
        ok(exists("root/app/a/b"), "made inside the root");
        ok(copy_in(fs, src, "/app/a/b/f.txt", &err) == 0, "write a file");
        _cleanup_free_ char *c1 = content("root/app/a/b/f.txt");
        is_str(c1, "new content\n", "with its content");
        struct stat st;
        _cleanup_free_ char *f = at("root/app/a/b/f.txt");
        ok(stat(f, &st) == 0 && (st.st_mode & 07777) == 0751, "and its mode");

        /* Writes through each planted link stay in the root. */
        ok(ctrfs_mkdir_p(fs, "/abs/x", 0755, &err) == 0, "mkdir through a link to /");
        ok(exists("root/x"), "lands at the container's /x");
        ok(copy_in(fs, src, "/up/y.txt", &err) == 0, "write through a link climbing with ..");
        ok(exists("root/y.txt"), "lands at the container's /y.txt");
        stack_error_clear(&err);
        (void) copy_in(fs, src, "/etc/secret", &err); /* fails or lands in the root: never on the host */
        _cleanup_free_ char *secret = content("outside/secret");
        is_str(secret, "host file\n", "never reaches the host's file");
        stack_error_clear(&err);
        /* Replacing a link with a file replaces the link itself, not its target. */
        ok(copy_in(fs, src, "/etc", &err) == 0, "a file over a planted link");
        ok(exists("outside/secret"), "the host directory it pointed to is untouched");
        _cleanup_free_ char *c2 = content("root/etc");
        is_str(c2, "new content\n", "the link became the file");

        int fd = -1;
        stack_error_clear(&err);
        ok(ctrfs_open(fs, "/up/../../outside/secret", O_RDONLY, &fd, &err) < 0,
           "reading out through .. fails");
        if (fd >= 0)
                close(fd);
        _cleanup_free_ char *l4 = at("root/proc-self");
        symlink("/proc/self/root/etc/passwd", l4);
        stack_error_clear(&err);
        fd = -1;
        ok(ctrfs_open(fs, "/proc-self", O_RDONLY, &fd, &err) < 0, "a link into /proc is not followed out");
        if (fd >= 0)
                close(fd);

        /* Removal: recursive, never following a link to the host. */
        _cleanup_free_ char *l5 = at("root/app/a/hostlink");
        symlink(outside_dir, l5);
        stack_error_clear(&err);
        ok(ctrfs_remove(fs, "/app", &err) == 0, "remove a tree");
        ok(!exists("root/app"), "gone");
        ok(exists("outside/secret"), "a link inside it was removed, not followed");
        ok(ctrfs_remove(fs, "/app", &err) == 0, "removing what is gone is success");
        ok(ctrfs_remove(fs, "/", &err) < 0, "the root itself is refused");

        /* Content comparison, for the initial sync. */
        bool same = true;
        _cleanup_close_ int sfd = open(src, O_RDONLY);
        stack_error_clear(&err);
        ok(ctrfs_same_content(fs, "/y.txt", sfd, &same, &err) == 0 && same, "same size and hash");
        put("root/y.txt", "new contenT\n");
        ok(ctrfs_same_content(fs, "/y.txt", sfd, &same, &err) == 0 && !same, "same size, other content");
        ok(ctrfs_same_content(fs, "/none", sfd, &same, &err) == 0 && !same, "a missing file differs");

        /* A directory where a file was, and back. */
        stack_error_clear(&err);
        ok(ctrfs_mkdir_p(fs, "/y.txt", 0755, &err) < 0, "mkdir over a file fails");
        ctrfs_free(fs);
        _cleanup_free_ char *cmd = xasprintf("rm -rf %s", base);
        (void) !system(cmd);
        return done_testing();
}
