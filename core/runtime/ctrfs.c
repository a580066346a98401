#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/sha256.h"
#include "core/base/util.h"
#include "core/runtime/ctrfs.h"

struct ctrfs {
        int root_fd;
        pid_t pid;  /* 0 for a plain directory */
        char *what; /* names the root in messages */
};

static int open_root(const char *dir, const char *what, struct ctrfs **ret, struct stack_error *err)
{
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", what);
        struct ctrfs *fs = xcalloc(1, sizeof(*fs));
        fs->root_fd = fd;
        fs->what = xstrdup(what);
        *ret = fs;
        return 0;
}

int ctrfs_open_dir(const char *dir, struct ctrfs **ret, struct stack_error *err)
{
        return open_root(dir, dir, ret, err);
}

int ctrfs_open_pid(pid_t pid, struct ctrfs **ret, struct stack_error *err)
{
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/%d/root", (int) pid);
        int r = open_root(proc, "the container's root", ret, err);
        if (r >= 0)
                (*ret)->pid = pid;
        return r;
}

void ctrfs_free(struct ctrfs *fs)
{
        if (!fs)
                return;
        closep(&fs->root_fd);
        free(fs->what);
        free(fs);
}

pid_t ctrfs_pid(const struct ctrfs *fs)
{
        return fs->pid;
}

int ctrfs_root_fd(const struct ctrfs *fs)
{
        return fs->root_fd;
}

/* The path without its leading slashes, "." components and empty ones: openat2 takes it relative to the
 * root descriptor. */
static char *relative(const char *path)
{
        struct strbuf b = {0};
        _cleanup_strv_free_ char **parts = strv_split(path, "/");
        STRV_FOREACH (p, parts) {
                if (!**p || streq(*p, "."))
                        continue;
                if (b.len)
                        strbuf_putc(&b, '/');
                strbuf_puts(&b, *p);
        }
        return b.len ? strbuf_take(&b) : (strbuf_free(&b), xstrdup("."));
}

static int resolve(int root_fd, const char *rel, int flags)
{
        struct open_how how = {
            .flags = (uint64_t) (flags | O_CLOEXEC),
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
        return fd < 0 ? -errno : (int) fd;
}

int ctrfs_open(const struct ctrfs *fs, const char *path, int flags, int *ret_fd, struct stack_error *err)
{
        _cleanup_free_ char *rel = relative(path);
        int fd = resolve(fs->root_fd, rel, flags);
        if (fd < 0)
                return stack_error_errno(err, -fd, "%s", path);
        *ret_fd = fd;
        return 0;
}

int ctrfs_open_parent(const struct ctrfs *fs, const char *path, int *ret_dirfd, char **ret_name,
                      struct stack_error *err)
{
        _cleanup_free_ char *rel = relative(path);
        char *slash = strrchr(rel, '/');
        const char *name = slash ? slash + 1 : rel;
        if (streq(name, ".."))
                return stack_error_set(err, EINVAL, "%s: a path may not end in \"..\"", path);
        if (slash)
                *slash = '\0';
        int fd = resolve(fs->root_fd, slash ? rel : ".", O_PATH | O_DIRECTORY);
        if (fd < 0)
                return stack_error_errno(err, -fd, "%s", path);
        *ret_name = xstrdup(name);
        *ret_dirfd = fd;
        return 0;
}

int ctrfs_lstat(const struct ctrfs *fs, const char *path, struct stat *ret, struct stack_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *name = NULL;
        struct stack_error e = {0};
        int r = ctrfs_open_parent(fs, path, &dfd, &name, &e);
        if (r == -ENOENT || r == -ENOTDIR) {
                stack_error_clear(&e);
                return -ENOENT;
        }
        if (r < 0) {
                *err = e;
                return r;
        }
        if (fstatat(dfd, name, ret, AT_SYMLINK_NOFOLLOW | (streq(name, ".") ? AT_EMPTY_PATH : 0)) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return -ENOENT;
                return stack_error_errno(err, errno, "%s", path);
        }
        return 0;
}

int ctrfs_mkdir_p(const struct ctrfs *fs, const char *path, mode_t mode, struct stack_error *err)
{
        _cleanup_free_ char *rel = relative(path);
        if (streq(rel, "."))
                return 0;
        _cleanup_strv_free_ char **parts = strv_split(rel, "/");
        _cleanup_close_ int parent = fcntl(fs->root_fd, F_DUPFD_CLOEXEC, 3);
        if (parent < 0)
                return stack_error_errno(err, errno, "dup");
        struct strbuf prefix = {0};
        int r = 0;
        STRV_FOREACH (p, parts) {
                if (prefix.len)
                        strbuf_putc(&prefix, '/');
                strbuf_puts(&prefix, *p);
                /* Each prefix from the root: a symlinked component resolves as the container would. */
                int fd = resolve(fs->root_fd, prefix.buf, O_PATH | O_DIRECTORY);
                if (fd == -ENOENT) {
                        if (mkdirat(parent, *p, mode) < 0 && errno != EEXIST) {
                                r = stack_error_errno(err, errno, "mkdir %s", path);
                                break;
                        }
                        fd = resolve(fs->root_fd, prefix.buf, O_PATH | O_DIRECTORY);
                }
                if (fd < 0) {
                        r = stack_error_errno(err, -fd, "%s", prefix.buf);
                        break;
                }
                close(parent);
                parent = fd;
        }
        strbuf_free(&prefix);
        return r;
}

int ctrfs_remove_at(int dfd, const char *name, struct stack_error *err)
{
        if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return stack_error_errno(err, errno, "remove %s", name);
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : stack_error_errno(err, errno, "remove %s", name);
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return stack_error_errno(err, errno, "remove %s", name);
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int r = ctrfs_remove_at(dirfd(d), de->d_name, err);
                if (r < 0)
                        return stack_error_prefix(err, "%s", name);
        }
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return stack_error_errno(err, errno, "remove %s", name);
        return 0;
}

int ctrfs_remove(const struct ctrfs *fs, const char *path, struct stack_error *err)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *name = NULL;
        struct stack_error e = {0};
        int r = ctrfs_open_parent(fs, path, &dfd, &name, &e);
        if (r == -ENOENT || r == -ENOTDIR) {
                stack_error_clear(&e);
                return 0;
        }
        if (r < 0) {
                *err = e;
                return r;
        }
        if (streq(name, "."))
                return stack_error_set(err, EINVAL, "refusing to remove the container's root");
        r = ctrfs_remove_at(dfd, name, err);
        return r < 0 ? stack_error_prefix(err, "%s", path) : 0;
}

static int hash_fd(int fd, uint8_t md[SHA256_DIGEST_SIZE], off_t *ret_size)
{
        struct sha256 s;
        sha256_init(&s);
        char buf[65536];
        off_t size = 0;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                sha256_update(&s, buf, (size_t) n);
                size += n;
        }
        sha256_final(&s, md);
        *ret_size = size;
        return 0;
}

int ctrfs_same_content(const struct ctrfs *fs, const char *path, int src_fd, bool *ret,
                       struct stack_error *err)
{
        struct stat sst, dst;
        if (fstat(src_fd, &sst) < 0)
                return stack_error_errno(err, errno, "stat");
        int r = ctrfs_lstat(fs, path, &dst, err);
        if (r == -ENOENT || (r >= 0 && (!S_ISREG(dst.st_mode) || dst.st_size != sst.st_size))) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *name = NULL;
        if ((r = ctrfs_open_parent(fs, path, &dfd, &name, err)) < 0)
                return r;
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", path);
        uint8_t a[SHA256_DIGEST_SIZE], b[SHA256_DIGEST_SIZE];
        off_t na, nb;
        if (lseek(src_fd, 0, SEEK_SET) < 0 || (r = hash_fd(src_fd, a, &na)) < 0 ||
            (r = hash_fd(fd, b, &nb)) < 0)
                return stack_error_errno(err, r < 0 ? -r : errno, "read %s", path);
        *ret = na == nb && memcmp(a, b, sizeof(a)) == 0;
        return 0;
}

/* ---- copying between descriptors ---- */

static char *temp_name(const char *name)
{
        static unsigned counter;
        return xasprintf(".%s.stack-%d-%u", name, (int) getpid(),
                         __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

static int copy_data(int in, int out)
{
        for (;;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno == EINTR)
                        continue;
                if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                        return -errno;
                break; /* no copy_file_range between these file systems: plain reads and writes */
        }
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        off += w;
                }
        }
}

/* Puts the temporary entry in place of dst_name; a directory of that name is removed first when
 * replacing (rename cannot replace a directory with a file or a link). */
static int put_in_place(int dfd, const char *tmp, const char *dst_name, const struct ctrfs_copy *o,
                        struct stack_error *err)
{
        if (renameat(dfd, tmp, dfd, dst_name) == 0)
                return 0;
        int e = errno;
        if ((e == EISDIR || e == ENOTEMPTY || e == EEXIST) && o->replace) {
                int r = ctrfs_remove_at(dfd, dst_name, err);
                if (r >= 0 && renameat(dfd, tmp, dfd, dst_name) == 0)
                        return 0;
                e = r < 0 ? -r : errno;
        }
        (void) unlinkat(dfd, tmp, 0);
        if (e == EISDIR)
                return stack_error_set(err, EISDIR, "%s: cannot overwrite a directory with a non-directory",
                                       dst_name);
        return stack_error_errno(err, e, "rename into %s", dst_name);
}

static void owner_of(const struct stat *st, const struct ctrfs_copy *o, uid_t *uid, gid_t *gid)
{
        *uid = o->keep_owner ? st->st_uid : o->uid;
        *gid = o->keep_owner ? st->st_gid : o->gid;
}

static int open_src(int dfd, const char *name, int flags)
{
        if (*name)
                return openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
        /* The descriptor itself (O_PATH possibly): reopened through our own fd link. */
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
        return open(proc, flags | O_CLOEXEC);
}

static int copy_file(int sdfd, const char *sname, const struct stat *st, int ddfd, const char *dname,
                     struct ctrfs_copy *o, struct stack_error *err)
{
        _cleanup_close_ int in = open_src(sdfd, sname, O_RDONLY);
        if (in < 0)
                return stack_error_errno(err, errno, "open %s", *sname ? sname : dname);
        _cleanup_free_ char *tmp = temp_name(dname);
        _cleanup_close_ int out =
            openat(ddfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return stack_error_errno(err, errno, "create %s", dname);
        uid_t uid;
        gid_t gid;
        owner_of(st, o, &uid, &gid);
        int r = copy_data(in, out);
        /* chown before chmod: changing the owner clears set-id bits. */
        if (r >= 0 && fchown(out, uid, gid) < 0)
                r = -errno;
        if (r >= 0 && fchmod(out, st->st_mode & 07777) < 0)
                r = -errno;
        struct timespec times[2] = {st->st_atim, st->st_mtim};
        if (r >= 0 && futimens(out, times) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(ddfd, tmp, 0);
                return stack_error_errno(err, -r, "write %s", dname);
        }
        o->n_files++;
        return put_in_place(ddfd, tmp, dname, o, err);
}

static int copy_symlink(int sdfd, const char *sname, const struct stat *st, int ddfd, const char *dname,
                        struct ctrfs_copy *o, struct stack_error *err)
{
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(sdfd, sname, target, sizeof(target) - 1);
        if (n < 0)
                return stack_error_errno(err, errno, "readlink %s", sname);
        target[n] = '\0';
        _cleanup_free_ char *tmp = temp_name(dname);
        if (symlinkat(target, ddfd, tmp) < 0)
                return stack_error_errno(err, errno, "symlink %s", dname);
        uid_t uid;
        gid_t gid;
        owner_of(st, o, &uid, &gid);
        if (fchownat(ddfd, tmp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
                int e = errno;
                (void) unlinkat(ddfd, tmp, 0);
                return stack_error_errno(err, e, "chown %s", dname);
        }
        o->n_files++;
        return put_in_place(ddfd, tmp, dname, o, err);
}

static int copy_tree(int sdfd, const char *sname, const struct stat *st, int ddfd, const char *dname,
                     const char *rel, struct ctrfs_copy *o, struct stack_error *err);

static int copy_entry(int sdfd, const char *sname, int ddfd, const char *dname, const char *rel,
                      struct ctrfs_copy *o, struct stack_error *err)
{
        struct stat st;
        if (fstatat(sdfd, sname, &st, AT_SYMLINK_NOFOLLOW | (*sname ? 0 : AT_EMPTY_PATH)) < 0)
                return stack_error_errno(err, errno, "stat %s", *sname ? sname : dname);
        if (o->skip && *rel && o->skip(o->userdata, rel, S_ISDIR(st.st_mode)))
                return 0;
        if (S_ISDIR(st.st_mode))
                return copy_tree(sdfd, sname, &st, ddfd, dname, rel, o, err);
        if (S_ISREG(st.st_mode))
                return copy_file(sdfd, sname, &st, ddfd, dname, o, err);
        if (S_ISLNK(st.st_mode))
                return copy_symlink(sdfd, sname, &st, ddfd, dname, o, err);
        return stack_error_set(err, ENOTSUP, "%s: not a regular file, directory or symlink (not copied)",
                               *rel ? rel : dname);
}

/* Creates dname as a directory, or takes the one that is there. */
static int make_dir(int ddfd, const char *dname, const struct stat *st, struct ctrfs_copy *o,
                    struct stack_error *err)
{
        if (mkdirat(ddfd, dname, 0700) == 0) {
                uid_t uid;
                gid_t gid;
                owner_of(st, o, &uid, &gid);
                if (fchownat(ddfd, dname, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                    fchmodat(ddfd, dname, st->st_mode & 07777, 0) < 0)
                        return stack_error_errno(err, errno, "mkdir %s", dname);
                o->n_files++;
                return 0;
        }
        if (errno != EEXIST)
                return stack_error_errno(err, errno, "mkdir %s", dname);
        struct stat dst;
        if (fstatat(ddfd, dname, &dst, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(err, errno, "stat %s", dname);
        if (S_ISDIR(dst.st_mode))
                return 0;
        if (!o->replace)
                return stack_error_set(err, ENOTDIR, "%s: cannot overwrite a non-directory with a directory",
                                       dname);
        int r = ctrfs_remove_at(ddfd, dname, err);
        return r < 0 ? r : make_dir(ddfd, dname, st, o, err);
}

static int copy_tree(int sdfd, const char *sname, const struct stat *st, int ddfd, const char *dname,
                     const char *rel, struct ctrfs_copy *o, struct stack_error *err)
{
        int r = make_dir(ddfd, dname, st, o, err);
        if (r < 0)
                return r;
        int sfd = open_src(sdfd, sname, O_RDONLY | O_DIRECTORY);
        if (sfd < 0)
                return stack_error_errno(err, errno, "open %s", *sname ? sname : dname);
        _cleanup_closedir_ DIR *d = fdopendir(sfd);
        if (!d) {
                close(sfd);
                return stack_error_errno(err, errno, "open %s", dname);
        }
        _cleanup_close_ int dfd = openat(ddfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return stack_error_errno(err, errno, "open %s", dname);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                if ((r = copy_entry(dirfd(d), de->d_name, dfd, de->d_name, sub, o, err)) < 0)
                        return r;
        }
        struct timespec times[2] = {st->st_atim, st->st_mtim};
        (void) futimens(dfd, times); /* a time is a nicety: the content is what counts */
        return 0;
}

int ctrfs_copy_at(int src_dfd, const char *src_name, int dst_dfd, const char *dst_name, struct ctrfs_copy *o,
                  struct stack_error *err)
{
        return copy_entry(src_dfd, src_name, dst_dfd, dst_name, "", o, err);
}
