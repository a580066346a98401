#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/runtime/user.h"
#include "core/base/util.h"
#include "core/runtime/volume.h"

bool volume_name_is_valid(const char *name)
{
        if (isempty(name) || strlen(name) > 255)
                return false;
        for (const char *p = name; *p; p++) {
                bool alnum =
                    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
                if (!alnum && (p == name || !strchr("_.-", *p)))
                        return false;
        }
        return true;
}

char *volume_data_path(const char *root, const char *name)
{
        return xasprintf("%s/volumes/%s/_data", root, name);
}

bool volume_exists(const char *root, const char *name)
{
        if (!volume_name_is_valid(name))
                return false;
        _cleanup_free_ char *p = volume_data_path(root, name);
        return path_is_dir(p);
}

int volume_create(const char *root, const char *name, const struct stack_kvlist *labels, bool *ret_created,
                  struct stack_error *err)
{
        if (!volume_name_is_valid(name))
                return stack_error_set(
                    err, EINVAL, "volume '%s': invalid name (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)", name);
        _cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
        _cleanup_free_ char *data = path_join(dir, "_data");
        if (path_is_dir(data)) {
                if (ret_created)
                        *ret_created = false;
                return 0;
        }
        /* Containers sharing a new volume may be created in parallel (threads or processes): one of
         * them creates it, under a lock on the volumes directory. */
        _cleanup_free_ char *top = path_join(root, "volumes");
        int r = mkdir_p(top, 0701, err);
        if (r < 0)
                return stack_error_prefix(err, "volume '%s'", name);
        _cleanup_close_ int lock = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock < 0 || flock(lock, LOCK_EX) < 0)
                return stack_error_errno(err, errno, "lock %s", top);
        if (path_is_dir(data)) {
                if (ret_created)
                        *ret_created = false;
                return 0;
        }
        r = mkdir_p(dir, 0701, err);
        if (r < 0)
                return stack_error_prefix(err, "volume '%s'", name);
        cJSON *j = cJSON_CreateObject();
        cJSON *l = cJSON_AddObjectToObject(j, "labels");
        for (size_t i = 0; labels && i < labels->n; i++)
                if (labels->items[i].value)
                        cJSON_AddStringToObject(l, labels->items[i].key, labels->items[i].value);
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        _cleanup_free_ char *lp = path_join(dir, "labels.json");
        r = write_file_atomic(lp, text, strlen(text), 0600, err);
        if (r < 0)
                return stack_error_prefix(err, "volume '%s'", name);
        /* _data last: its presence is what makes the volume exist, so a crash leaves no half volume. */
        if (mkdir(data, 0755) < 0 && errno != EEXIST)
                return stack_error_errno(err, errno, "volume '%s': mkdir %s", name, data);
        if (ret_created)
                *ret_created = true;
        return 0;
}

int volume_remove(const char *root, const char *name, struct stack_error *err)
{
        if (!volume_name_is_valid(name))
                return stack_error_set(err, EINVAL, "volume '%s': invalid name", name);
        _cleanup_free_ char *dir = xasprintf("%s/volumes/%s", root, name);
        int r = rm_rf(dir, err);
        if (r < 0)
                return stack_error_prefix(err, "remove volume '%s'", name);
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int volume_list(const char *root, char ***ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = path_join(root, "volumes");
        _cleanup_closedir_ DIR *d = opendir(dir);
        char **names = NULL;
        if (!d) {
                if (errno != ENOENT)
                        return stack_error_errno(err, errno, "open %s", dir);
                *ret = NULL;
                return 0;
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (volume_name_is_valid(de->d_name) && volume_exists(root, de->d_name))
                        strv_push(&names, de->d_name);
        if (names)
                qsort(names, strv_length(names), sizeof(char *), cmp_str);
        *ret = names;
        return 0;
}

/* Extended attributes (file capabilities such as ping's cap_net_raw, user.*): copied where the file system
 * takes them; an attribute it refuses is left out rather than failing the copy. */
static void copy_xattrs(int sdir, int ddir, const char *name)
{
        _cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        _cleanup_close_ int out = openat(ddir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (in < 0 || out < 0)
                return;
        char names[4096];
        ssize_t n = flistxattr(in, names, sizeof(names));
        for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t) strlen(names + off) + 1) {
                char value[4096];
                ssize_t v = fgetxattr(in, names + off, value, sizeof(value));
                if (v >= 0)
                        (void) fsetxattr(out, names + off, value, (size_t) v, 0);
        }
}

static int copy_attrs(int sfd, int dfd, const char *name, const struct stat *st, const char *path,
                      struct stack_error *err)
{
        if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(err, errno, "chown %s", path);
        /* After chown, which clears security.capability, and before chmod, which keeps it. */
        if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
                copy_xattrs(sfd, dfd, name);
        if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
                return stack_error_errno(err, errno, "chmod %s", path);
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(err, errno, "set times of %s", path);
        return 0;
}

/* Hard links inside the copied tree stay hard links: the first copy of an inode is remembered. */
struct copy_ctx {
        const char *dest_root;
        struct {
                dev_t dev;
                ino_t ino;
                char *rel;
        } * links;
        size_t n_links, cap_links;
};

static int copy_file(int sfd, const char *name, int dfd, const struct stat *st, const char *path,
                     struct stack_error *err)
{
        _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return stack_error_errno(err, errno, "open %s", path);
        _cleanup_close_ int out =
            openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return stack_error_errno(err, errno, "create %s", path);
        off_t left = st->st_size;
        while (left > 0) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t) left, 0);
                if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
                        char buf[65536];
                        n = read(in, buf, sizeof(buf));
                        if (n > 0 && write(out, buf, (size_t) n) != n)
                                return stack_error_errno(err, errno ? errno : EIO, "write %s", path);
                }
                if (n < 0)
                        return stack_error_errno(err, errno, "copy %s", path);
                if (n == 0)
                        break;
                left -= n;
        }
        return 0;
}

static int copy_tree(struct copy_ctx *ctx, int sfd, int dfd, const char *path, const char *rel,
                     struct stack_error *err)
{
        int fd = dup(sfd);
        if (fd < 0)
                return stack_error_errno(err, errno, "dup");
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
                _cleanup_free_ char *subrel = path_join(rel, de->d_name);
                struct stat st;
                if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return stack_error_errno(err, errno, "stat %s", sub);
                int r = 0;
                if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(dfd, de->d_name, 0700) < 0)
                                return stack_error_errno(err, errno, "mkdir %s", sub);
                        _cleanup_close_ int s2 =
                            openat(sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int d2 =
                            openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s2 < 0 || d2 < 0)
                                return stack_error_errno(err, errno, "open %s", sub);
                        r = copy_tree(ctx, s2, d2, sub, subrel, err);
                } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                        const char *first = NULL;
                        for (size_t i = 0; i < ctx->n_links; i++)
                                if (ctx->links[i].dev == st.st_dev && ctx->links[i].ino == st.st_ino)
                                        first = ctx->links[i].rel;
                        if (first) {
                                _cleanup_free_ char *target = path_join(ctx->dest_root, first);
                                if (linkat(AT_FDCWD, target, dfd, de->d_name, 0) < 0)
                                        return stack_error_errno(err, errno, "link %s", sub);
                                continue; /* same inode: its attributes are already set */
                        }
                        r = copy_file(sfd, de->d_name, dfd, &st, sub, err);
                        GROW(ctx->links, ctx->cap_links, ctx->n_links + 1);
                        ctx->links[ctx->n_links].dev = st.st_dev;
                        ctx->links[ctx->n_links].ino = st.st_ino;
                        ctx->links[ctx->n_links++].rel = xstrdup(subrel);
                } else if (S_ISREG(st.st_mode)) {
                        r = copy_file(sfd, de->d_name, dfd, &st, sub, err);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n = readlinkat(sfd, de->d_name, target, sizeof(target) - 1);
                        if (n < 0)
                                return stack_error_errno(err, errno, "readlink %s", sub);
                        target[n] = 0;
                        if (symlinkat(target, dfd, de->d_name) < 0)
                                return stack_error_errno(err, errno, "symlink %s", sub);
                } else {
                        if (mknodat(dfd, de->d_name, st.st_mode, st.st_rdev) < 0)
                                return stack_error_errno(err, errno, "mknod %s", sub);
                }
                if (r < 0)
                        return r;
                r = copy_attrs(sfd, dfd, de->d_name, &st, sub, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int volume_fill_from_image(const char *dest, const char *rootfs, const char *path, struct stack_error *err)
{
        _cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return stack_error_errno(err, errno, "open %s", dest);
        /* Two containers mounting the same new volume: the first copies, the second finds it filled. */
        if (flock(dfd, LOCK_EX) < 0)
                return stack_error_errno(err, errno, "lock %s", dest);
        {
                int fd = dup(dfd);
                _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                if (!d) {
                        if (fd >= 0)
                                close(fd);
                        return stack_error_errno(err, errno, "open %s", dest);
                }
                struct dirent *de;
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                return 0; /* not empty: the volume's data wins */
        }
        _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return stack_error_errno(err, errno, "open %s", rootfs);
        _cleanup_close_ int sfd = user_open_in_root(rootfd, path, O_RDONLY | O_DIRECTORY);
        if (sfd == -ENOENT || sfd == -ENOTDIR)
                return 0;
        if (sfd < 0)
                return stack_error_errno(err, -sfd, "open %s in the image", path);
        struct stat st;
        if (fstat(sfd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s in the image", path);
        struct copy_ctx ctx = {.dest_root = dest};
        int r = copy_tree(&ctx, sfd, dfd, path, "", err);
        for (size_t i = 0; i < ctx.n_links; i++)
                free(ctx.links[i].rel);
        free(ctx.links);
        if (r < 0)
                return stack_error_prefix(err, "copy the image's %s into the volume", path);
        /* The volume's root takes the owner and mode of the directory it covers, as docker does. */
        if (fchown(dfd, st.st_uid, st.st_gid) < 0 || fchmod(dfd, st.st_mode & 07777) < 0)
                return stack_error_errno(err, errno, "chown %s", dest);
        return 0;
}
