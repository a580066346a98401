#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"

int read_full_fd(int fd, char **ret_data, size_t *ret_len)
{
        return read_full_fd_max(fd, SIZE_MAX, ret_data, ret_len);
}

int read_full_fd_max(int fd, size_t max, char **ret_data, size_t *ret_len)
{
        struct strbuf b = {0};
        char chunk[65536];
        for (;;) {
                if (b.len > max) {
                        strbuf_free(&b);
                        return -EFBIG;
                }
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        strbuf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
                strbuf_add(&b, chunk, n);
        }
        if (ret_len)
                *ret_len = b.len;
        *ret_data = strbuf_take(&b);
        return 0;
}

int read_full_file(const char *path, char **ret_data, size_t *ret_len, struct stack_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        int r = read_full_fd(fd, ret_data, ret_len);
        if (r < 0)
                return stack_error_errno(err, r, "read %s", path);
        return 0;
}

int read_named_file(const char *path, unsigned flags, char **ret_data, size_t *ret_len,
                    struct stack_error *err)
{
        /* O_NONBLOCK: opening a FIFO that no one writes must not block before it can be refused. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return stack_error_errno(err, errno, "%s", path);
        bool pipe_ok = (flags & READ_PIPE_OK) && S_ISFIFO(st.st_mode);
        if (S_ISDIR(st.st_mode))
                return stack_error_set(err, -EISDIR, "%s: is a directory, not a file", path);
        if (!S_ISREG(st.st_mode) && !pipe_ok)
                return stack_error_set(err, -EINVAL, "%s: not a regular file", path);
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size > NAMED_FILE_MAX)
                return stack_error_set(err, -EFBIG, "%s: larger than %s, the limit for a file stack reads",
                                       path, NAMED_FILE_MAX_TEXT);
        if (pipe_ok && fcntl(fd, F_SETFL, 0) < 0)
                return stack_error_errno(err, errno, "%s", path);
        /* A regular file can still grow while it is read. */
        int r = read_full_fd_max(fd, NAMED_FILE_MAX, ret_data, ret_len);
        if (r == -EFBIG)
                return stack_error_set(err, r, "%s: larger than %s, the limit for a file stack reads", path,
                                       NAMED_FILE_MAX_TEXT);
        if (r < 0)
                return stack_error_errno(err, r, "read %s", path);
        return 0;
}

static int write_file_rename(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                             struct stack_error *err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int) getpid());
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return stack_error_errno(err, errno, "create %s", tmp);
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = errno;
                        unlink(tmp);
                        return stack_error_errno(err, r, "write %s", tmp);
                }
                p += n;
                len -= n;
        }
        if (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0) || rename(tmp, path) < 0) {
                int r = errno;
                unlink(tmp);
                return stack_error_errno(err, r, "write %s", path);
        }
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct stack_error *err)
{
        return write_file_rename(path, data, len, mode, true, err);
}

int write_file_replace(const char *path, const void *data, size_t len, mode_t mode, struct stack_error *err)
{
        return write_file_rename(path, data, len, mode, false, err);
}

int mkdir_p(const char *path, mode_t mode, struct stack_error *err)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return stack_error_errno(err, errno, "mkdir %s", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return stack_error_errno(err, errno, "mkdir %s", p);
        return 0;
}

static int rm_rf_at(int parent_fd, const char *name, dev_t dev, const char *path, struct stack_error *err)
{
        struct stat st;
        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : stack_error_errno(err, errno, "stat %s", path);
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
                        return stack_error_errno(err, errno, "remove %s", path);
                return 0;
        }
        if (st.st_dev != dev)
                return stack_error_set(err, EBUSY, "%s: a file system is still mounted there", path);
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", path);
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return stack_error_errno(err, errno, "open %s", path);
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = path_join(path, de->d_name);
                int r = rm_rf_at(dirfd(d), de->d_name, dev, sub, err);
                if (r < 0)
                        return r;
        }
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return stack_error_errno(err, errno, "remove %s", path);
        return 0;
}

int rm_rf(const char *path, struct stack_error *err)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : stack_error_errno(err, errno, "stat %s", path);
        return rm_rf_at(AT_FDCWD, path, st.st_dev, path, err);
}

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        if (la == 1 && a[0] == '/')
                return xasprintf("/%s", b);
        if (!*b)
                return xstrndup(a, la);
        return xasprintf("%.*s/%s", (int) la, a, b);
}

char *path_absolute(const char *base, const char *p)
{
        _cleanup_free_ char *joined = p[0] == '/' ? xstrdup(p) : path_join(base, p);
        _cleanup_strv_free_ char **parts = strv_split(joined, "/");
        char **out = xcalloc(strv_length(parts) + 1, sizeof(char *));
        size_t n = 0;
        STRV_FOREACH (s, parts) {
                if (isempty(*s) || streq(*s, "."))
                        continue;
                if (streq(*s, "..")) {
                        if (n > 0)
                                free(out[--n]);
                        out[n] = NULL;
                        continue;
                }
                out[n++] = xstrdup(*s);
        }
        _cleanup_free_ char *rest = strv_join(out, "/");
        strv_free(out);
        return xasprintf("/%s", rest);
}

char *path_dirname(const char *p)
{
        const char *s = strrchr(p, '/');
        if (!s)
                return xstrdup(".");
        if (s == p)
                return xstrdup("/");
        return xstrndup(p, s - p);
}

const char *path_basename(const char *p)
{
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

bool path_exists(const char *p)
{
        return access(p, F_OK) == 0;
}

bool path_is_dir(const char *p)
{
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
