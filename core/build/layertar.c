/* Layer tars of overlay upper directories (see layertar.h). Headers are POSIX ustar; a pax extended
 * header carries what ustar cannot (long names and link targets, big sizes and ids). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/build/layertar.h"

struct hardlink {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct writer {
        int fd;
        const struct layertar_options *o;
        struct hardlink *links;
        size_t n_links, cap_links;
};

static int write_all(struct writer *w, const void *buf, size_t n, struct stack_error *err)
{
        const char *p = buf;
        while (n) {
                ssize_t k = write(w->fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return stack_error_errno(err, errno, "write layer tar");
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int pad(struct writer *w, uint64_t size, struct stack_error *err)
{
        static const char zero[512];
        size_t rem = (size_t) (size % 512);
        return rem ? write_all(w, zero, 512 - rem, err) : 0;
}

/* A zero-padded octal number filling len - 1 digits and a NUL; callers keep v within range. */
static void octal(char *field, size_t len, uint64_t v)
{
        field[len - 1] = '\0';
        for (size_t i = len - 1; i > 0; i--) {
                field[i - 1] = (char) ('0' + (v & 7));
                v >>= 3;
        }
}

/* One pax record: "<len> key=value\n", where len counts itself. */
static void pax_record(struct strbuf *b, const char *key, const char *value)
{
        size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
        size_t len = body + 1;
        while (snprintf(NULL, 0, "%zu", len) + body != len)
                len++;
        strbuf_printf(b, "%zu %s=%s\n", len, key, value);
}

struct entry {
        const char *path; /* in the archive */
        char type;        /* '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
        const char *link;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        uint64_t size;
        int64_t mtime;
        unsigned major, minor;
};

static int write_header(struct writer *w, const struct entry *e, struct stack_error *err);

static int write_raw_header(struct writer *w, const char *name, char type, const struct entry *e,
                            uint64_t size, struct stack_error *err)
{
        char h[512] = {0};
        snprintf(h, 100, "%s", name);
        octal(h + 100, 8, e->mode & 07777);
        octal(h + 108, 8, e->uid > 07777777 ? 0 : e->uid);
        octal(h + 116, 8, e->gid > 07777777 ? 0 : e->gid);
        octal(h + 124, 12, size > 077777777777ULL ? 0 : size);
        octal(h + 136, 12, e->mtime < 0 ? 0 : (uint64_t) e->mtime);
        h[156] = type;
        if (e->link && strlen(e->link) < 100)
                memcpy(h + 157, e->link, strlen(e->link));
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        if (e->type == '3' || e->type == '4') {
                octal(h + 329, 8, e->major);
                octal(h + 337, 8, e->minor);
        }
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < 512; i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        h[155] = ' ';
        return write_all(w, h, 512, err);
}

static int write_header(struct writer *w, const struct entry *e, struct stack_error *err)
{
        struct strbuf pax = {0};
        if (strlen(e->path) >= 100)
                pax_record(&pax, "path", e->path);
        if (e->link && strlen(e->link) >= 100)
                pax_record(&pax, "linkpath", e->link);
        if (e->size > 077777777777ULL) {
                _cleanup_free_ char *v = xasprintf("%llu", (unsigned long long) e->size);
                pax_record(&pax, "size", v);
        }
        if (e->uid > 07777777) {
                _cleanup_free_ char *v = xasprintf("%u", (unsigned) e->uid);
                pax_record(&pax, "uid", v);
        }
        if (e->gid > 07777777) {
                _cleanup_free_ char *v = xasprintf("%u", (unsigned) e->gid);
                pax_record(&pax, "gid", v);
        }
        int r = 0;
        if (pax.len) {
                struct entry pe = {.mode = 0644};
                r = write_raw_header(w, "PaxHeader", 'x', &pe, pax.len, err);
                if (r >= 0)
                        r = write_all(w, pax.buf, pax.len, err);
                if (r >= 0)
                        r = pad(w, pax.len, err);
        }
        strbuf_free(&pax);
        if (r < 0)
                return r;
        return write_raw_header(w, e->path, e->type, e, e->size, err);
}

static int write_file_data(struct writer *w, int dirfd, const char *name, uint64_t size, const char *path,
                           struct stack_error *err)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", path);
        char buf[65536];
        uint64_t left = size;
        while (left) {
                ssize_t k = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return stack_error_errno(err, errno, "read %s", path);
                if (k == 0)
                        return stack_error_set(err, EIO, "%s changed while it was archived", path);
                int r = write_all(w, buf, (size_t) k, err);
                if (r < 0)
                        return r;
                left -= (uint64_t) k;
        }
        return pad(w, size, err);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool listed(const char *const *l, const char *path)
{
        for (; l && *l; l++)
                if (streq(*l, path))
                        return true;
        return false;
}

static int write_dir(struct writer *w, int dirfd, const char *prefix, struct stack_error *err);

static int write_one(struct writer *w, int dirfd, const char *name, const char *prefix,
                     struct stack_error *err)
{
        _cleanup_free_ char *path = *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(err, errno, "stat %s", path);
        struct entry e = {.path = path,
                          .mode = st.st_mode,
                          .uid = st.st_uid,
                          .gid = st.st_gid,
                          .mtime = st.st_mtim.tv_sec};
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                /* An overlay whiteout: the name was deleted. */
                _cleanup_free_ char *wh =
                    *prefix ? xasprintf("%s/.wh.%s", prefix, name) : xasprintf(".wh.%s", name);
                e = (struct entry){.path = wh, .type = '0', .mode = 0644};
                return write_header(w, &e, err);
        }
        if (S_ISREG(st.st_mode)) {
                if (st.st_size == 0 && listed(w->o ? w->o->skip_empty : NULL, path))
                        return 0;
                if (st.st_nlink > 1) {
                        for (size_t i = 0; i < w->n_links; i++)
                                if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino) {
                                        e.type = '1';
                                        e.link = w->links[i].path;
                                        return write_header(w, &e, err);
                                }
                        GROW(w->links, w->cap_links, w->n_links + 1);
                        w->links[w->n_links++] = (struct hardlink){st.st_dev, st.st_ino, xstrdup(path)};
                }
                e.type = '0';
                e.size = (uint64_t) st.st_size;
                int r = write_header(w, &e, err);
                return r < 0 ? r : write_file_data(w, dirfd, name, e.size, path, err);
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return stack_error_errno(err, errno, "readlink %s", path);
                target[n] = '\0';
                e.type = '2';
                e.link = target;
                return write_header(w, &e, err);
        }
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
                e.type = S_ISCHR(st.st_mode) ? '3' : S_ISBLK(st.st_mode) ? '4' : '6';
                e.major = major(st.st_rdev);
                e.minor = minor(st.st_rdev);
                return write_header(w, &e, err);
        }
        if (S_ISSOCK(st.st_mode))
                return 0; /* sockets cannot be archived; docker leaves them out too */
        if (!S_ISDIR(st.st_mode))
                return 0;
        _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return stack_error_errno(err, errno, "open %s", path);
        char opaque[2] = {0};
        bool is_opaque = fgetxattr(sub, "trusted.overlay.opaque", opaque, 1) == 1 && opaque[0] == 'y';
        if (!is_opaque && listed(w->o ? w->o->skip_empty_dirs : NULL, path)) {
                _cleanup_close_ int probe = dup(sub);
                DIR *d = probe >= 0 ? fdopendir(probe) : NULL;
                bool empty = true;
                if (d) {
                        probe = -1;
                        for (struct dirent *de; (de = readdir(d));) {
                                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                        continue;
                                /* Entries left out themselves do not make the directory part of the
                                 * layer: etc/ holding only the runtime's mount points is no change. */
                                _cleanup_free_ char *child = xasprintf("%s/%s", path, de->d_name);
                                struct stat cst;
                                if (listed(w->o->skip_empty, child) &&
                                    fstatat(sub, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
                                    S_ISREG(cst.st_mode) && cst.st_size == 0)
                                        continue;
                                empty = false;
                        }
                        closedir(d);
                }
                if (empty)
                        return 0;
        }
        _cleanup_free_ char *dpath = xasprintf("%s/", path);
        e.path = dpath;
        e.type = '5';
        int r = write_header(w, &e, err);
        if (r < 0)
                return r;
        if (is_opaque) {
                _cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", path);
                struct entry oe = {.path = opq, .type = '0', .mode = 0644};
                r = write_header(w, &oe, err);
                if (r < 0)
                        return r;
        }
        return write_dir(w, sub, path, err);
}

static int write_dir(struct writer *w, int dirfd, const char *prefix, struct stack_error *err)
{
        int fd = dup(dirfd);
        if (fd < 0)
                return stack_error_errno(err, errno, "dup");
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return stack_error_errno(err, errno, "open %s", *prefix ? prefix : ".");
        }
        rewinddir(d);
        _cleanup_strv_free_ char **names = xcalloc(1, sizeof(char *));
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        closedir(d);
        qsort(names, strv_length(names), sizeof(char *), cmp_names);
        STRV_FOREACH (n, names) {
                int r = write_one(w, dirfd, *n, prefix, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int layertar_write(const char *upper_dir, int out_fd, const struct layertar_options *o,
                   struct stack_error *err)
{
        _cleanup_close_ int root = open(upper_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return stack_error_errno(err, errno, "open %s", upper_dir);
        struct writer w = {.fd = out_fd, .o = o};
        int r = write_dir(&w, root, "", err);
        for (size_t i = 0; i < w.n_links; i++)
                free(w.links[i].path);
        free(w.links);
        if (r < 0)
                return stack_error_prefix(err, "layer from %s", upper_dir);
        static const char end[1024];
        return write_all(&w, end, sizeof(end), err);
}
