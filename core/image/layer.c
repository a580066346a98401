/* The tar reader and the safe layer unpacker (see layer.h). The byte sources they read from are in
 * core/image/layer-source.c. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/image/layer.h"
#include "core/base/log.h"
#include "core/base/util.h"

#define BLOCK 512
/* Bounds on what a header may make us allocate: a crafted archive must not exhaust memory. */
#define MAX_NAME_LEN 4096
#define MAX_META_SIZE (1u << 20)
#define MAX_XATTRS 1024

/* ---- tar reader ---- */

struct tar_reader {
        struct layer_source *src;
        struct tar_entry e;
        uint64_t left;    /* data bytes of the current entry not yet read */
        uint64_t padding; /* bytes after the data up to the next block */
        bool ended;
        uint64_t index; /* entries returned, for messages */
};

static void entry_clear(struct tar_entry *e)
{
        free(e->path);
        free(e->linkpath);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                free(e->xattrs[i].name);
                free(e->xattrs[i].value);
        }
        free(e->xattrs);
        *e = (struct tar_entry){0};
}

struct tar_reader *tar_reader_new(struct layer_source *src)
{
        struct tar_reader *t = xcalloc(1, sizeof(*t));
        t->src = src;
        return t;
}

void tar_reader_free(struct tar_reader *t)
{
        entry_clear(&t->e);
        free(t);
}

static int skip_bytes(struct tar_reader *t, uint64_t n, struct stack_error *err)
{
        char buf[8192];
        while (n > 0) {
                size_t k = n > sizeof(buf) ? sizeof(buf) : n;
                int r = layer_source_read_full(t->src, buf, k, err);
                if (r < 0)
                        return r;
                n -= k;
        }
        return 0;
}

/* Numeric header fields: octal text (space or NUL terminated), or GNU base-256 when the high bit of the
 * first byte is set. */
static int parse_number(const char *f, size_t len, uint64_t *ret)
{
        const unsigned char *u = (const unsigned char *) f;
        uint64_t v = 0;
        if (u[0] & 0x80) {
                if (u[0] & 0x40)
                        return -ERANGE; /* negative */
                v = u[0] & 0x3f;
                for (size_t i = 1; i < len; i++) {
                        if (v >> 56)
                                return -ERANGE;
                        v = (v << 8) | u[i];
                }
                *ret = v;
                return 0;
        }
        size_t i = 0;
        while (i < len && f[i] == ' ')
                i++;
        bool any = false;
        for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
                if (v >> 60)
                        return -ERANGE;
                v = v * 8 + (f[i] - '0');
                any = true;
        }
        for (; i < len; i++)
                if (f[i] != ' ' && f[i] != 0)
                        return -EINVAL;
        *ret = any ? v : 0;
        return 0;
}

static char *field_string(const char *f, size_t len)
{
        return xstrndup(f, strnlen(f, len));
}

static bool block_is_zero(const unsigned char *b)
{
        for (size_t i = 0; i < BLOCK; i++)
                if (b[i])
                        return false;
        return true;
}

static bool checksum_ok(const unsigned char *b)
{
        uint64_t want;
        if (parse_number((const char *) b + 148, 8, &want) < 0)
                return false;
        unsigned long usum = 0;
        long ssum = 0;
        for (size_t i = 0; i < BLOCK; i++) {
                unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
                usum += c;
                ssum += (signed char) c;
        }
        return want == usum || (long) want == ssum;
}

/* Metadata gathered from pax and GNU headers for the entry that follows them. */
struct pending {
        char *path, *linkpath;
        bool has_size, has_uid, has_gid, has_mtime, has_major, has_minor;
        uint64_t size, uid, gid, major, minor;
        int64_t mtime_sec;
        long mtime_nsec;
        struct tar_xattr *xattrs;
        size_t n_xattrs, cap_xattrs;
};

static void pending_clear(struct pending *p)
{
        free(p->path);
        free(p->linkpath);
        for (size_t i = 0; i < p->n_xattrs; i++) {
                free(p->xattrs[i].name);
                free(p->xattrs[i].value);
        }
        free(p->xattrs);
        *p = (struct pending){0};
}

static int read_meta(struct tar_reader *t, uint64_t size, char **ret, struct stack_error *err)
{
        if (size > MAX_META_SIZE)
                return stack_error_set(err, EFBIG, "%s: tar: extended header of %llu bytes is too large",
                                       t->src->name, (unsigned long long) size);
        _cleanup_free_ char *buf = xmalloc(size + 1);
        int r = layer_source_read_full(t->src, buf, size, err);
        if (r < 0)
                return r;
        buf[size] = 0;
        uint64_t pad = (BLOCK - size % BLOCK) % BLOCK;
        r = skip_bytes(t, pad, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int parse_decimal(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9' || v > UINT64_MAX / 10 - 10)
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int parse_pax_time(const char *s, size_t n, int64_t *ret_sec, long *ret_nsec)
{
        bool neg = n > 0 && s[0] == '-';
        const char *p = s + neg;
        size_t len = n - neg;
        const char *dot = memchr(p, '.', len);
        uint64_t sec;
        if (parse_decimal(p, dot ? (size_t) (dot - p) : len, &sec) < 0 || sec > INT64_MAX)
                return -EINVAL;
        long nsec = 0;
        if (dot) {
                size_t frac = len - (dot + 1 - p);
                for (size_t i = 0; i < 9; i++) {
                        char c = i < frac ? dot[1 + i] : '0';
                        if (c < '0' || c > '9')
                                return -EINVAL;
                        nsec = nsec * 10 + (c - '0');
                }
        }
        *ret_sec = neg ? -(int64_t) sec : (int64_t) sec;
        *ret_nsec = neg ? 0 : nsec;
        return 0;
}

static int parse_pax(struct tar_reader *t, const char *data, size_t size, struct pending *p,
                     struct stack_error *err)
{
        const char *name = t->src->name;
        size_t off = 0;
        while (off < size) {
                if (data[off] == 0)
                        break; /* trailing NUL padding some writers leave */
                const char *sp = memchr(data + off, ' ', size - off);
                uint64_t reclen;
                if (!sp || parse_decimal(data + off, sp - (data + off), &reclen) < 0 ||
                    reclen > size - off || reclen < (uint64_t) (sp - (data + off)) + 3 ||
                    data[off + reclen - 1] != '\n')
                        return stack_error_set(err, EINVAL, "%s: tar: malformed pax record", name);
                const char *kv = sp + 1, *end = data + off + reclen - 1;
                const char *eq = memchr(kv, '=', end - kv);
                if (!eq)
                        return stack_error_set(err, EINVAL, "%s: tar: malformed pax record", name);
                _cleanup_free_ char *key = xstrndup(kv, eq - kv);
                const char *val = eq + 1;
                size_t vlen = end - val;
                int r = 0;
                if (streq(key, "path")) {
                        free(p->path);
                        p->path = xstrndup(val, vlen);
                } else if (streq(key, "linkpath")) {
                        free(p->linkpath);
                        p->linkpath = xstrndup(val, vlen);
                } else if (streq(key, "size")) {
                        r = parse_decimal(val, vlen, &p->size);
                        p->has_size = true;
                } else if (streq(key, "uid")) {
                        r = parse_decimal(val, vlen, &p->uid);
                        p->has_uid = true;
                } else if (streq(key, "gid")) {
                        r = parse_decimal(val, vlen, &p->gid);
                        p->has_gid = true;
                } else if (streq(key, "mtime")) {
                        r = parse_pax_time(val, vlen, &p->mtime_sec, &p->mtime_nsec);
                        p->has_mtime = true;
                } else if (streq(key, "SCHILY.devmajor")) {
                        r = parse_decimal(val, vlen, &p->major);
                        p->has_major = true;
                } else if (streq(key, "SCHILY.devminor")) {
                        r = parse_decimal(val, vlen, &p->minor);
                        p->has_minor = true;
                } else if (startswith(key, "SCHILY.xattr.")) {
                        const char *xname = key + strlen("SCHILY.xattr.");
                        if (isempty(xname) || p->n_xattrs >= MAX_XATTRS)
                                return stack_error_set(err, EINVAL, "%s: tar: bad or too many xattrs", name);
                        GROW(p->xattrs, p->cap_xattrs, p->n_xattrs + 1);
                        p->xattrs[p->n_xattrs++] = (struct tar_xattr){
                            .name = xstrdup(xname),
                            .value = memcpy(xcalloc(1, vlen + 1), val, vlen), /* binary-safe */
                            .len = vlen,
                        };
                } else if (startswith(key, "GNU.sparse."))
                        return stack_error_set(err, EOPNOTSUPP, "%s: tar: sparse files are not supported",
                                               name);
                if (r < 0)
                        return stack_error_set(err, EINVAL, "%s: tar: bad pax value for \"%s\"", name, key);
                off += reclen;
        }
        return 0;
}

int tar_reader_next(struct tar_reader *t, const struct tar_entry **ret, struct stack_error *err)
{
        const char *name = t->src->name;
        if (t->ended)
                return 0;
        int r = skip_bytes(t, t->left + t->padding, err);
        if (r < 0)
                return r;
        t->left = t->padding = 0;
        entry_clear(&t->e);

        _cleanup_(pending_clear) struct pending p = {0};
        for (;;) {
                unsigned char b[BLOCK];
                size_t got = 0;
                while (got < BLOCK) {
                        ssize_t n = layer_source_read(t->src, b + got, BLOCK - got, err);
                        if (n < 0)
                                return (int) n;
                        if (n == 0)
                                break;
                        got += n;
                }
                if (got == 0) {
                        /* Some writers omit the two zero blocks; a clean end between entries is an end. */
                        if (p.path || p.linkpath || p.has_size)
                                return stack_error_set(
                                    err, EIO, "%s: tar: archive ends after an extended header", name);
                        t->ended = true;
                        return 0;
                }
                if (got < BLOCK)
                        return stack_error_set(err, EIO, "%s: tar: truncated header", name);
                if (block_is_zero(b)) {
                        t->ended = true;
                        return 0;
                }
                if (!checksum_ok(b))
                        return stack_error_set(err, EINVAL,
                                               "%s: tar: header %llu: bad checksum (not a tar file?)", name,
                                               (unsigned long long) t->index + 1);
                const char *h = (const char *) b;
                char type = h[156];
                uint64_t size;
                if (parse_number(h + 124, 12, &size) < 0)
                        return stack_error_set(err, EINVAL, "%s: tar: bad size field", name);
                if (p.has_size)
                        size = p.size;

                if (type == 'x' || type == 'g') {
                        _cleanup_free_ char *data = NULL;
                        r = read_meta(t, size, &data, err);
                        if (r < 0)
                                return r;
                        /* Global headers set defaults for the whole archive; no image writer relies on
                         * them, so they are read and ignored (as docker does). */
                        if (type == 'x') {
                                r = parse_pax(t, data, size, &p, err);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (type == 'L' || type == 'K') {
                        if (size > MAX_NAME_LEN)
                                return stack_error_set(err, ENAMETOOLONG, "%s: tar: GNU long name too long",
                                                       name);
                        char *data = NULL;
                        r = read_meta(t, size, &data, err);
                        if (r < 0)
                                return r;
                        char **slot = type == 'L' ? &p.path : &p.linkpath;
                        /* A pax value wins over a GNU one, whichever came first. */
                        if (*slot)
                                free(data);
                        else
                                *slot = data;
                        continue;
                }
                if (type == 'V') { /* volume label: no file */
                        r = skip_bytes(t, size + (BLOCK - size % BLOCK) % BLOCK, err);
                        if (r < 0)
                                return r;
                        continue;
                }

                struct tar_entry *e = &t->e;
                switch (type) {
                case '0':
                case '\0':
                case '7':
                        e->type = TAR_FILE;
                        break;
                case '1':
                        e->type = TAR_HARDLINK;
                        break;
                case '2':
                        e->type = TAR_SYMLINK;
                        break;
                case '3':
                        e->type = TAR_CHAR;
                        break;
                case '4':
                        e->type = TAR_BLOCK;
                        break;
                case '5':
                        e->type = TAR_DIR;
                        break;
                case '6':
                        e->type = TAR_FIFO;
                        break;
                case 'S':
                        return stack_error_set(err, EOPNOTSUPP, "%s: tar: sparse files are not supported",
                                               name);
                default:
                        return stack_error_set(err, EOPNOTSUPP, "%s: tar: unsupported entry type '%c'", name,
                                               type);
                }

                bool posix = memcmp(h + 257, "ustar\0", 6) == 0;
                if (p.path)
                        e->path = TAKE_PTR(p.path);
                else if (posix && h[345]) {
                        _cleanup_free_ char *prefix = field_string(h + 345, 155);
                        _cleanup_free_ char *base = field_string(h, 100);
                        e->path = xasprintf("%s/%s", prefix, base);
                } else
                        e->path = field_string(h, 100);
                e->linkpath = p.linkpath ? TAKE_PTR(p.linkpath) : field_string(h + 157, 100);
                if (strlen(e->path) > MAX_NAME_LEN || strlen(e->linkpath) > MAX_NAME_LEN)
                        return stack_error_set(err, ENAMETOOLONG, "%s: tar: name too long", name);

                uint64_t v;
                if (parse_number(h + 100, 8, &v) < 0)
                        return stack_error_set(err, EINVAL, "%s: entry '%s': bad mode", name, e->path);
                e->mode = v & 07777;
                if (p.has_uid)
                        v = p.uid;
                else if (parse_number(h + 108, 8, &v) < 0)
                        return stack_error_set(err, EINVAL, "%s: entry '%s': bad uid", name, e->path);
                if (v > UINT32_MAX - 1)
                        return stack_error_set(err, EINVAL, "%s: entry '%s': uid out of range", name,
                                               e->path);
                e->uid = (uid_t) v;
                if (p.has_gid)
                        v = p.gid;
                else if (parse_number(h + 116, 8, &v) < 0)
                        return stack_error_set(err, EINVAL, "%s: entry '%s': bad gid", name, e->path);
                if (v > UINT32_MAX - 1)
                        return stack_error_set(err, EINVAL, "%s: entry '%s': gid out of range", name,
                                               e->path);
                e->gid = (gid_t) v;
                if (p.has_mtime) {
                        e->mtime_sec = p.mtime_sec;
                        e->mtime_nsec = p.mtime_nsec;
                } else {
                        if (parse_number(h + 136, 12, &v) < 0 || v > INT64_MAX)
                                return stack_error_set(err, EINVAL, "%s: entry '%s': bad mtime", name,
                                                       e->path);
                        e->mtime_sec = (int64_t) v;
                }
                if (p.has_major)
                        v = p.major;
                else if (parse_number(h + 329, 8, &v) < 0)
                        v = 0;
                e->devmajor = (unsigned) v;
                if (p.has_minor)
                        v = p.minor;
                else if (parse_number(h + 337, 8, &v) < 0)
                        v = 0;
                e->devminor = (unsigned) v;
                e->xattrs = TAKE_PTR(p.xattrs);
                e->n_xattrs = p.n_xattrs;
                p.n_xattrs = 0;

                /* Only regular files carry data; other types' size fields are skipped as written. */
                uint64_t data = size;
                e->size = e->type == TAR_FILE ? size : 0;
                if (data > INT64_MAX)
                        return stack_error_set(err, EFBIG, "%s: entry '%s': size out of range", name,
                                               e->path);
                t->left = data;
                t->padding = (BLOCK - data % BLOCK) % BLOCK;
                if (e->type != TAR_FILE) {
                        r = skip_bytes(t, t->left + t->padding, err);
                        if (r < 0)
                                return r;
                        t->left = t->padding = 0;
                }
                t->index++;
                *ret = e;
                return 1;
        }
}

ssize_t tar_reader_read(struct tar_reader *t, void *buf, size_t n, struct stack_error *err)
{
        if (t->left == 0)
                return 0;
        if (n > t->left)
                n = t->left;
        ssize_t r = layer_source_read(t->src, buf, n, err);
        if (r < 0)
                return r;
        if (r == 0)
                return stack_error_set(err, EIO, "%s: entry '%s': unexpected end of data", t->src->name,
                                       t->e.path);
        t->left -= r;
        return r;
}

/* ---- safe path resolution ---- */

int layer_open_in_root(int root_fd, const char *path, int flags)
{
        struct open_how how = {
            .flags = (uint64_t) (flags | O_CLOEXEC),
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd >= 0)
                return (int) fd;
        if (errno != ENOSYS)
                return -errno;
        /* No openat2: walk the components without following any symlink. */
        _cleanup_close_ int cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return -errno;
        _cleanup_strv_free_ char **parts = strv_split(path, "/");
        size_t n = strv_length(parts);
        for (size_t i = 0; i < n; i++) {
                if (isempty(parts[i]) || streq(parts[i], "."))
                        continue;
                if (streq(parts[i], ".."))
                        return -EXDEV;
                bool last = i + 1 == n;
                int next = openat(cur, parts[i],
                                  last ? (flags | O_NOFOLLOW | O_CLOEXEC)
                                       : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (next < 0)
                        return -errno;
                close(cur);
                cur = next;
        }
        return TAKE_FD(cur);
}

/* Checks a name from the archive (the entry's own, or a hard link's target) and splits it into clean
 * components. The root itself ("." or "./") yields none. */
static int split_entry_path(const char *entry, const char *what, const char *path, char ***ret,
                            struct stack_error *err)
{
        if (path[0] == '/')
                return streq(entry, path)
                           ? stack_error_set(err, EPERM, "entry '%s': absolute %s", entry, what)
                           : stack_error_set(err, EPERM, "entry '%s': absolute %s '%s'", entry, what, path);
        _cleanup_strv_free_ char **parts = strv_split(path, "/");
        char **out = NULL;
        STRV_FOREACH (s, parts) {
                if (isempty(*s) || streq(*s, "."))
                        continue;
                if (streq(*s, "..")) {
                        strv_free(out);
                        return streq(entry, path)
                                   ? stack_error_set(err, EPERM, "entry '%s': %s contains '..'", entry, what)
                                   : stack_error_set(err, EPERM, "entry '%s': %s '%s' contains '..'", entry,
                                                     what, path);
                }
                strv_push(&out, *s);
        }
        if (!out)
                out = xcalloc(1, sizeof(char *));
        *ret = out;
        return 0;
}

struct unpacker {
        int root_fd;
        unsigned flags;
        struct stack_error *err;
        const char *entry; /* current entry name for messages */
        /* Directories whose mode and times are applied at the end: creating children changes the
         * mtime, and a read-only mode would stop an unprivileged unpacker from filling them. */
        struct dir_meta {
                char **components;
                mode_t mode;
                struct timespec mtime;
        } * dirs;
        size_t n_dirs, cap_dirs;
        struct layer_stats stats;
};

/* Opens (creating when asked) the directory made of components[0..n) below the root, refusing symlinks
 * and non-directories on the way. Returns an O_PATH fd. */
static int open_parent(struct unpacker *u, char **components, size_t n, bool create)
{
        _cleanup_close_ int cur = openat(u->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return stack_error_errno(u->err, errno, "entry '%s': open layer root", u->entry);
        for (size_t i = 0; i < n; i++) {
                int next = openat(cur, components[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(cur, components[i], 0755) < 0 && errno != EEXIST)
                                return stack_error_errno(u->err, errno, "entry '%s': create parent '%s'",
                                                         u->entry, components[i]);
                        next = openat(cur, components[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (next < 0) {
                        int e = errno;
                        struct stat st;
                        if ((e == ENOTDIR || e == ELOOP) &&
                            fstatat(cur, components[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                return stack_error_set(u->err, EPERM,
                                                       "entry '%s': refusing to write through symlink '%s'",
                                                       u->entry, components[i]);
                        return stack_error_errno(u->err, e, "entry '%s': open parent '%s'", u->entry,
                                                 components[i]);
                }
                close(cur);
                cur = next;
        }
        return TAKE_FD(cur);
}

/* Removes whatever is at name so an entry of another kind can take its place; a directory stays when the
 * new entry is a directory too. */
static int make_room(struct unpacker *u, int dfd, const char *name, bool new_is_dir)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : stack_error_errno(u->err, errno, "entry '%s': stat", u->entry);
        if (S_ISDIR(st.st_mode)) {
                if (new_is_dir)
                        return 1;
                _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", dfd);
                char target[PATH_MAX];
                ssize_t len = readlink(proc, target, sizeof(target) - 1);
                if (len < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': locate parent", u->entry);
                target[len] = 0;
                _cleanup_free_ char *full = path_join(target, name);
                return rm_rf(full, u->err);
        }
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return stack_error_errno(u->err, errno, "entry '%s': replace", u->entry);
        return 0;
}

static int apply_xattrs(struct unpacker *u, int fd, const struct tar_entry *e)
{
        if (!(u->flags & LAYER_UNPACK_OWNERSHIP))
                return 0;
        for (size_t i = 0; i < e->n_xattrs; i++) {
                /* overlayfs reads its own xattrs (opaque, redirect, metacopy, origin) from lower layers:
                 * a layer must not forge them. Opaque directories come only from ".wh..wh..opq". */
                if (startswith(e->xattrs[i].name, "trusted.overlay.") ||
                    startswith(e->xattrs[i].name, "user.overlay.")) {
                        log_debug("entry '%s': overlay xattr %s ignored", u->entry, e->xattrs[i].name);
                        continue;
                }
                if (fsetxattr(fd, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0) < 0) {
                        if (errno == ENOTSUP) {
                                log_debug("entry '%s': xattr %s not supported here, skipped", u->entry,
                                          e->xattrs[i].name);
                                continue;
                        }
                        return stack_error_errno(u->err, errno, "entry '%s': set xattr %s", u->entry,
                                                 e->xattrs[i].name);
                }
        }
        return 0;
}

static int apply_owner(struct unpacker *u, int dfd, const char *name, int fd, uid_t uid, gid_t gid)
{
        if (!(u->flags & LAYER_UNPACK_OWNERSHIP))
                return 0;
        int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        if (r < 0)
                return stack_error_errno(u->err, errno, "entry '%s': chown %u:%u", u->entry, (unsigned) uid,
                                         (unsigned) gid);
        return 0;
}

static struct timespec entry_mtime(const struct tar_entry *e)
{
        return (struct timespec){.tv_sec = (time_t) e->mtime_sec, .tv_nsec = e->mtime_nsec};
}

static int write_file(struct unpacker *u, struct tar_reader *t, int dfd, const char *name,
                      const struct tar_entry *e)
{
        _cleanup_close_ int fd =
            openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return stack_error_errno(u->err, errno, "entry '%s': create", u->entry);
        _cleanup_free_ char *buf = xmalloc(1 << 16);
        for (;;) {
                ssize_t n = tar_reader_read(t, buf, 1 << 16, u->err);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(fd, buf + off, n - off);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return stack_error_errno(u->err, errno, "entry '%s': write", u->entry);
                        }
                        off += w;
                }
                u->stats.bytes += n;
        }
        int r = apply_owner(u, dfd, name, fd, e->uid, e->gid);
        if (r < 0)
                return r;
        /* After chown, which clears setuid and setgid bits. */
        if (fchmod(fd, e->mode) < 0)
                return stack_error_errno(u->err, errno, "entry '%s': chmod", u->entry);
        r = apply_xattrs(u, fd, e);
        if (r < 0)
                return r;
        struct timespec ts[2] = {entry_mtime(e), entry_mtime(e)};
        if (futimens(fd, ts) < 0)
                return stack_error_errno(u->err, errno, "entry '%s': set times", u->entry);
        return 0;
}

static void remember_dir(struct unpacker *u, char **components, const struct tar_entry *e)
{
        GROW(u->dirs, u->cap_dirs, u->n_dirs + 1);
        u->dirs[u->n_dirs++] = (struct dir_meta){
            .components = strv_copy(components),
            .mode = e->mode,
            .mtime = entry_mtime(e),
        };
}

static int whiteout(struct unpacker *u, int dfd, const char *target)
{
        struct stat st;
        /* Whiteouts hide lower layers only: an entry this layer already wrote stays. */
        if (fstatat(dfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (mknodat(dfd, target, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return stack_error_errno(u->err, errno, "entry '%s': create whiteout", u->entry);
        if (fchownat(dfd, target, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(u->err, errno, "entry '%s': chown whiteout", u->entry);
        return 0;
}

static int opaque(struct unpacker *u, int dfd)
{
        _cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(u->err, errno, "entry '%s': open directory", u->entry);
        if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                return stack_error_errno(u->err, errno, "entry '%s': mark directory opaque", u->entry);
        return 0;
}

static int unpack_entry(struct unpacker *u, struct tar_reader *t, const struct tar_entry *e)
{
        _cleanup_strv_free_ char **parts = NULL;
        int r = split_entry_path(e->path, "path", e->path, &parts, u->err);
        if (r < 0)
                return r;
        size_t n = strv_length(parts);
        if (n == 0) {
                /* "./": the layer root's own metadata. */
                if (e->type != TAR_DIR)
                        return stack_error_set(u->err, EINVAL, "entry '%s': the root must be a directory",
                                               e->path);
                remember_dir(u, parts, e);
                if (u->flags & LAYER_UNPACK_OWNERSHIP) {
                        if (fchown(u->root_fd, e->uid, e->gid) < 0)
                                return stack_error_errno(u->err, errno, "entry '%s': chown", e->path);
                }
                return 0;
        }
        const char *base = parts[n - 1];

        if ((u->flags & LAYER_UNPACK_WHITEOUTS) && startswith(base, ".wh.")) {
                const char *target = base + strlen(".wh.");
                _cleanup_close_ int dfd = open_parent(u, parts, n - 1, true);
                if (dfd < 0)
                        return dfd;
                if (streq(target, ".wh..opq"))
                        return opaque(u, dfd);
                if (startswith(target, ".wh."))
                        return 0; /* AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content */
                if (isempty(target) || streq(target, ".") || streq(target, ".."))
                        return stack_error_set(u->err, EINVAL, "entry '%s': invalid whiteout", e->path);
                return whiteout(u, dfd, target);
        }

        _cleanup_close_ int dfd = open_parent(u, parts, n - 1, true);
        if (dfd < 0)
                return dfd;
        r = make_room(u, dfd, base, e->type == TAR_DIR);
        if (r < 0)
                return r;
        bool dir_exists = r == 1;

        switch (e->type) {
        case TAR_FILE:
                return write_file(u, t, dfd, base, e);
        case TAR_DIR: {
                if (!dir_exists && mkdirat(dfd, base, 0700) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': mkdir", e->path);
                _cleanup_close_ int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': open directory", e->path);
                r = apply_owner(u, dfd, base, fd, e->uid, e->gid);
                if (r < 0)
                        return r;
                r = apply_xattrs(u, fd, e);
                if (r < 0)
                        return r;
                remember_dir(u, parts, e);
                return 0;
        }
        case TAR_SYMLINK: {
                if (isempty(e->linkpath))
                        return stack_error_set(u->err, EINVAL, "entry '%s': symlink without a target",
                                               e->path);
                if (symlinkat(e->linkpath, dfd, base) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': symlink", e->path);
                r = apply_owner(u, dfd, base, -1, e->uid, e->gid);
                if (r < 0)
                        return r;
                struct timespec ts[2] = {entry_mtime(e), entry_mtime(e)};
                if (utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': set times", e->path);
                return 0;
        }
        case TAR_HARDLINK: {
                _cleanup_strv_free_ char **tparts = NULL;
                r = split_entry_path(e->path, "hard link target", e->linkpath, &tparts, u->err);
                if (r < 0)
                        return r;
                size_t tn = strv_length(tparts);
                if (tn == 0)
                        return stack_error_set(u->err, EPERM, "entry '%s': hard link to the layer root",
                                               e->path);
                _cleanup_close_ int tfd = open_parent(u, tparts, tn - 1, false);
                if (tfd < 0) {
                        stack_error_clear(u->err);
                        return stack_error_set(u->err, EPERM,
                                               "entry '%s': hard link target '%s' is not inside this layer",
                                               e->path, e->linkpath);
                }
                struct stat st;
                if (fstatat(tfd, tparts[tn - 1], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return stack_error_set(u->err, EPERM,
                                               "entry '%s': hard link target '%s' is not inside this layer",
                                               e->path, e->linkpath);
                if (S_ISDIR(st.st_mode))
                        return stack_error_set(u->err, EPERM, "entry '%s': hard link to a directory",
                                               e->path);
                if (linkat(tfd, tparts[tn - 1], dfd, base, 0) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': hard link", e->path);
                return 0;
        }
        case TAR_CHAR:
        case TAR_BLOCK:
        case TAR_FIFO: {
                if (e->type != TAR_FIFO && !(u->flags & LAYER_UNPACK_OWNERSHIP)) {
                        log_debug("entry '%s': device node skipped (unprivileged unpack)", e->path);
                        return 0;
                }
                mode_t kind = e->type == TAR_CHAR ? S_IFCHR : e->type == TAR_BLOCK ? S_IFBLK : S_IFIFO;
                if (mknodat(dfd, base, kind | (e->mode & 0777), makedev(e->devmajor, e->devminor)) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': mknod", e->path);
                r = apply_owner(u, dfd, base, -1, e->uid, e->gid);
                if (r < 0)
                        return r;
                if (fchmodat(dfd, base, e->mode & 07777, 0) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': chmod", e->path);
                struct timespec ts[2] = {entry_mtime(e), entry_mtime(e)};
                if (utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return stack_error_errno(u->err, errno, "entry '%s': set times", e->path);
                return 0;
        }
        }
        return 0;
}

static int finish_dirs(struct unpacker *u)
{
        /* Deepest first does not matter for times (each is set on its own inode), but a parent made
         * read-only before its children's times are set would stop an unprivileged unpacker; reverse
         * order applies children before parents. */
        for (size_t i = u->n_dirs; i-- > 0;) {
                struct dir_meta *d = &u->dirs[i];
                size_t n = strv_length(d->components);
                _cleanup_close_ int fd = -1;
                if (n == 0)
                        fd = openat(u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                else {
                        u->entry = d->components[n - 1];
                        _cleanup_close_ int pfd = open_parent(u, d->components, n - 1, false);
                        if (pfd < 0)
                                return pfd;
                        fd = openat(pfd, d->components[n - 1],
                                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (fd < 0) {
                        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                                continue; /* replaced by a later entry */
                        return stack_error_errno(u->err, errno, "directory '%s': open", u->entry);
                }
                if (fchmod(fd, d->mode) < 0)
                        return stack_error_errno(u->err, errno, "directory '%s': chmod", u->entry);
                struct timespec ts[2] = {d->mtime, d->mtime};
                if (futimens(fd, ts) < 0)
                        return stack_error_errno(u->err, errno, "directory '%s': set times", u->entry);
        }
        return 0;
}

static void unpacker_done(struct unpacker *u)
{
        for (size_t i = 0; i < u->n_dirs; i++)
                strv_free(u->dirs[i].components);
        free(u->dirs);
}

int layer_unpack(struct layer_source *src, int root_fd, unsigned flags, struct layer_stats *ret_stats,
                 struct stack_error *err)
{
        _cleanup_(unpacker_done) struct unpacker u = {.root_fd = root_fd, .flags = flags, .err = err};
        _cleanup_tar_reader_ struct tar_reader *t = tar_reader_new(src);
        for (;;) {
                const struct tar_entry *e;
                int r = tar_reader_next(t, &e, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                u.entry = e->path;
                r = unpack_entry(&u, t, e);
                if (r < 0)
                        return r;
                u.stats.entries++;
        }
        u.entry = ".";
        int r = finish_dirs(&u);
        if (r < 0)
                return r;
        /* The blob's digest covers the padding after the end-of-archive blocks too. */
        r = layer_source_drain(src, err);
        if (r < 0)
                return r;
        if (ret_stats)
                *ret_stats = u.stats;
        return 0;
}

/* nftw passes no user data, so the running total is a global; the lock keeps concurrent pulls apart. */
static uint64_t du_bytes;
static pthread_mutex_t du_lock = PTHREAD_MUTEX_INITIALIZER;

static int du_visit(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        if (flag == FTW_F && S_ISREG(st->st_mode))
                du_bytes += st->st_size;
        return 0;
}

uint64_t layer_dir_size(const char *path)
{
        pthread_mutex_lock(&du_lock);
        du_bytes = 0;
        (void) nftw(path, du_visit, 16, FTW_PHYS); /* a partial sum is only a smaller figure for `images` */
        uint64_t n = du_bytes;
        pthread_mutex_unlock(&du_lock);
        return n;
}
