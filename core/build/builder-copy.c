/* COPY and ADD: resolving sources inside the context or an earlier stage, copying them into a step's root
 * without following links out of it, and the --chown/--chmod/--link options. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/build/builder.h"
#include "core/build/dockerfile.h"
#include "core/build/ignore.h"
#include "core/build/layertar.h"
#include "core/image/image.h"
#include "core/image/layer.h"
#include "core/image/reference.h"
#include "core/image/registry.h"
#include "core/runtime/user.h"
#include "spec/units.h"
#include "core/build/builder-internal.h"

/* Opens (creating what is missing) the directory path inside root, never leaving it. */
static int mkdir_in_root(int root_fd, const char *path, int *ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **parts = strv_split(path, "/");
        _cleanup_close_ int cur = dup(root_fd);
        if (cur < 0)
                return stack_error_errno(err, errno, "dup");
        struct strbuf sofar = {0};
        int r = 0;
        STRV_FOREACH (p, parts) {
                if (!**p || streq(*p, "."))
                        continue;
                if (sofar.len)
                        strbuf_putc(&sofar, '/');
                strbuf_puts(&sofar, *p);
                int fd = layer_open_in_root(root_fd, sofar.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd == -ENOENT) {
                        if (mkdirat(cur, *p, 0755) < 0 && errno != EEXIST) {
                                r = stack_error_errno(err, errno, "create /%s", sofar.buf);
                                break;
                        }
                        fd = layer_open_in_root(root_fd, sofar.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (fd < 0) {
                        r = stack_error_errno(err, -fd, "/%s", sofar.buf);
                        break;
                }
                close(cur);
                cur = fd;
        }
        strbuf_free(&sofar);
        if (r < 0)
                return r;
        *ret = TAKE_FD(cur);
        return 0;
}

struct copy_opts {
        bool hashing; /* only digest what would be copied */
        struct digest *d;
        bool have_owner;
        uid_t uid;
        gid_t gid;
        int chmod;                   /* -1: keep */
        const struct ignore *ignore; /* context sources only */
        bool extract;                /* ADD: unpack local archives */
};

static void hash_str(struct digest *d, const char *s)
{
        digest_update(d, s, strlen(s) + 1);
}

static int copy_file_data(int in, int out, struct digest *d, const char *what, struct stack_error *err)
{
        char buf[65536];
        for (;;) {
                ssize_t k = read(in, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return stack_error_errno(err, errno, "read %s", what);
                if (k == 0)
                        return 0;
                if (d)
                        digest_update(d, buf, (size_t) k);
                for (ssize_t off = 0; out >= 0 && off < k;) {
                        ssize_t w = write(out, buf + off, (size_t) (k - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return stack_error_errno(err, errno, "write %s", what);
                        off += w;
                }
        }
}

static bool is_archive(int fd)
{
        unsigned char m[512];
        ssize_t n = pread(fd, m, sizeof(m), 0);
        if (n >= 4 && ((m[0] == 0x1f && m[1] == 0x8b) ||
                       (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)))
                return true;
        return n == 512 && memcmp(m + 257, "ustar", 5) == 0;
}

static int copy_entry(int src_dir, const char *name, const char *rel, int dst_dir, const char *dst_name,
                      const struct copy_opts *o, struct stack_error *err);

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int copy_dir_contents(int src_fd, const char *rel, int dst_fd, const struct copy_opts *o,
                             struct stack_error *err)
{
        int dfd = dup(src_fd);
        if (dfd < 0)
                return stack_error_errno(err, errno, "dup");
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return stack_error_errno(err, errno, "open %s", rel);
        }
        rewinddir(d);
        _cleanup_strv_free_ char **names = xcalloc(1, sizeof(char *));
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        closedir(d);
        qsort(names, strv_length(names), sizeof(char *), cmp_names);
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *sub = streq(rel, ".") ? xstrdup(*n) : xasprintf("%s/%s", rel, *n);
                int r = copy_entry(src_fd, *n, sub, dst_fd, *n, o, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_entry(int src_dir, const char *name, const char *rel, int dst_dir, const char *dst_name,
                      const struct copy_opts *o, struct stack_error *err)
{
        struct stat st;
        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(err, errno, "%s", rel);
        bool is_dir = S_ISDIR(st.st_mode);
        if (o->ignore && !streq(rel, ".") && ignore_match(o->ignore, rel, is_dir) &&
            !(is_dir && ignore_has_exceptions(o->ignore)))
                return 0;
        uid_t uid = o->have_owner ? o->uid : (o->ignore ? 0 : st.st_uid);
        gid_t gid = o->have_owner ? o->gid : (o->ignore ? 0 : st.st_gid);
        mode_t mode = o->chmod >= 0 ? (mode_t) o->chmod : (st.st_mode & 07777);
        if (o->hashing) {
                _cleanup_free_ char *meta =
                    xasprintf("%s %o %u %u %c", rel, (unsigned) mode, (unsigned) uid, (unsigned) gid,
                              is_dir                ? 'd'
                              : S_ISLNK(st.st_mode) ? 'l'
                                                    : 'f');
                hash_str(o->d, meta);
        }
        if (is_dir) {
                _cleanup_close_ int sfd =
                    openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0)
                        return stack_error_errno(err, errno, "open %s", rel);
                _cleanup_close_ int dfd = -1;
                if (!o->hashing) {
                        if (!streq(dst_name, ".") && mkdirat(dst_dir, dst_name, 0755) < 0 && errno != EEXIST)
                                return stack_error_errno(err, errno, "create %s", dst_name);
                        dfd = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0)
                                return stack_error_errno(err, errno, "open destination %s", dst_name);
                }
                int r = copy_dir_contents(sfd, rel, dfd, o, err);
                if (r < 0)
                        return r;
                if (!o->hashing && !streq(rel, ".") && (fchown(dfd, uid, gid) < 0 || fchmod(dfd, mode) < 0))
                        return stack_error_errno(err, errno, "set owner and mode of %s", dst_name);
                return 0;
        }
        if (S_ISLNK(st.st_mode)) {
                /* Copied as a link, never followed: a link out of the context stays a link. */
                char target[PATH_MAX];
                ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return stack_error_errno(err, errno, "readlink %s", rel);
                target[n] = '\0';
                if (o->hashing) {
                        hash_str(o->d, target);
                        return 0;
                }
                (void) unlinkat(dst_dir, dst_name, 0);
                if (symlinkat(target, dst_dir, dst_name) < 0 ||
                    fchownat(dst_dir, dst_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return stack_error_errno(err, errno, "create link %s", dst_name);
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return 0; /* devices, fifos and sockets are not copied from a context */
        _cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return stack_error_errno(err, errno, "open %s", rel);
        if (o->extract && is_archive(in)) {
                if (o->hashing) {
                        hash_str(o->d, "extract");
                        return copy_file_data(in, -1, o->d, rel, err);
                }
                _cleanup_layer_source_ struct layer_source *src = NULL;
                enum layer_compression comp;
                int r = layer_source_decompress(layer_source_fd(TAKE_FD(in), true, rel), &src, &comp, err);
                if (r < 0)
                        return r;
                /* ADD unpacks into the destination directory, through the unpacker that never writes
                 * outside it. */
                _cleanup_close_ int dfd = -1;
                if (streq(dst_name, "."))
                        dfd = dup(dst_dir);
                else {
                        if (mkdirat(dst_dir, dst_name, 0755) < 0 && errno != EEXIST)
                                return stack_error_errno(err, errno, "create %s", dst_name);
                        dfd = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (dfd < 0)
                        return stack_error_errno(err, errno, "open destination %s", dst_name);
                return layer_unpack(src, dfd, LAYER_UNPACK_OWNERSHIP, NULL, err);
        }
        if (o->hashing)
                return copy_file_data(in, -1, o->d, rel, err);
        (void) unlinkat(dst_dir, dst_name, 0);
        _cleanup_close_ int out =
            openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return stack_error_errno(err, errno, "create %s", dst_name);
        int r = copy_file_data(in, out, NULL, rel, err);
        if (r < 0)
                return r;
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (fchown(out, uid, gid) < 0 || fchmod(out, mode) < 0 || futimens(out, ts) < 0)
                return stack_error_errno(err, errno, "set owner and mode of %s", dst_name);
        return 0;
}

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

/* A source path relative to its root, cleaned; NULL when it leaves the root. */
char *build_clean_rel(const char *p)
{
        _cleanup_strv_free_ char **parts = strv_split(p, "/");
        _cleanup_strv_free_ char **out = xcalloc(1, sizeof(char *));
        STRV_FOREACH (x, parts) {
                if (!**x || streq(*x, "."))
                        continue;
                if (streq(*x, "..")) {
                        size_t n = strv_length(out);
                        if (!n)
                                return NULL;
                        free(out[n - 1]);
                        out[n - 1] = NULL;
                        continue;
                }
                strv_push(&out, *x);
        }
        return out[0] ? strv_join(out, "/") : xstrdup(".");
}

struct source {
        char *rel; /* relative to the source root */
};

/* Expands wildcards of context sources; everything else is taken as written. */
static int expand_sources(const char *root, char *const *srcs, bool globbing, char ***ret,
                          struct stack_error *err)
{
        char **l = xcalloc(1, sizeof(char *));
        STRV_FOREACH (s, srcs) {
                _cleanup_free_ char *rel = build_clean_rel(*s);
                if (!rel) {
                        strv_free(l);
                        return stack_error_set(err, EINVAL, "%s: outside the build context", *s);
                }
                if (!globbing || !has_glob(rel)) {
                        strv_push(&l, rel);
                        continue;
                }
                _cleanup_free_ char *pattern = xasprintf("%s/%s", root, rel);
                glob_t g = {0};
                int gr = glob(pattern, GLOB_NOSORT, NULL, &g);
                if (gr == 0)
                        for (size_t i = 0; i < g.gl_pathc; i++)
                                strv_push(&l, g.gl_pathv[i] + strlen(root) + 1);
                globfree(&g);
                if (gr != 0 && gr != GLOB_NOMATCH) {
                        strv_free(l);
                        return stack_error_set(err, EIO, "%s: cannot expand", *s);
                }
        }
        *ret = l;
        return 0;
}

static int open_parent_in_root(int root_fd, const char *rel, int *ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = path_dirname(rel);
        int fd = streq(dir, ".") || !*dir
                     ? dup(root_fd)
                     : layer_open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, fd == -1 ? errno : -fd, "%s", rel);
        *ret = fd;
        return 0;
}

/* Copies srcs (relative to src_root_fd) to dest (absolute, in the image) inside dst_root_fd, with Docker's
 * rules: a directory's contents are copied, a destination ending in '/' or naming a directory receives
 * files under their own names. */
static int copy_sources(int src_root_fd, char *const *srcs, const char *dest, int dst_root_fd,
                        const struct copy_opts *o, struct stack_error *err)
{
        bool dest_dir = endswith(dest, "/") || strv_length(srcs) > 1;
        if (!o->hashing && !dest_dir) {
                int probe = layer_open_in_root(dst_root_fd, dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (probe >= 0) {
                        dest_dir = true;
                        close(probe);
                }
        }
        STRV_FOREACH (s, srcs) {
                _cleanup_close_ int parent = -1;
                int r = open_parent_in_root(src_root_fd, *s, &parent, err);
                if (r < 0)
                        return r;
                const char *base = streq(*s, ".") ? "." : path_basename(*s);
                struct stat st;
                if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                return stack_error_set(err, ENOENT, "%s: no such file or directory", *s);
                        return stack_error_errno(err, errno, "%s", *s);
                }
                if (o->ignore && !streq(*s, ".") && ignore_match(o->ignore, *s, S_ISDIR(st.st_mode)))
                        return stack_error_set(err, ENOENT, "%s: excluded by .dockerignore", *s);
                if (o->hashing) {
                        hash_str(o->d, *s);
                        r = copy_entry(parent, base, *s, -1, ".", o, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                _cleanup_close_ int dfd = -1;
                const char *dname;
                _cleanup_free_ char *dparent = NULL;
                /* ADD unpacks an archive into the destination directory itself. */
                bool archive = false;
                if (o->extract && S_ISREG(st.st_mode)) {
                        _cleanup_close_ int afd = openat(parent, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        archive = afd >= 0 && is_archive(afd);
                }
                if (S_ISDIR(st.st_mode) || dest_dir) {
                        r = mkdir_in_root(dst_root_fd, dest, &dfd, err);
                        dname = S_ISDIR(st.st_mode) || archive ? "." : base;
                } else {
                        dparent = path_dirname(dest);
                        r = mkdir_in_root(dst_root_fd, dparent, &dfd, err);
                        dname = path_basename(dest);
                }
                if (r < 0)
                        return r;
                r = copy_entry(parent, base, *s, dfd, dname, o, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_chown(const char *spec, const char *rootfs, struct copy_opts *o, struct stack_error *err)
{
        struct user_ids ids = {0};
        int r = user_resolve(rootfs, spec, NULL, &ids, err);
        if (r < 0)
                return stack_error_prefix(err, "--chown=%s", spec);
        o->have_owner = true;
        o->uid = ids.uid;
        o->gid = ids.gid;
        user_ids_done(&ids);
        return 0;
}

/* The root a COPY --from reads: an earlier stage (built first) or a stored image. */
static int from_source(struct build *b, const char *from, struct stage_state *tmp_state,
                       const struct stage_state **ret, struct stack_error *err)
{
        int idx = dockerfile_find_stage(b->df, from);
        if (idx >= 0) {
                if (!b->stages[idx].built) {
                        int r = build_stage(b, (size_t) idx, err);
                        if (r < 0)
                                return r;
                }
                *ret = &b->stages[idx];
                return 0;
        }
        _cleanup_image_ struct image *img = NULL;
        int r = image_lookup(b->store, from, &img, err);
        if (r < 0)
                return stack_error_prefix(err, "--from=%s: neither a stage nor a stored image", from);
        r = image_layer_refs(b->store, img->id, &tmp_state->layers, &tmp_state->n_layers, err);
        if (r < 0)
                return r;
        tmp_state->image = cJSON_CreateObject();
        digest_data(img->id, strlen(img->id), tmp_state->key);
        *ret = tmp_state;
        return 0;
}

int build_copy_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                    struct stack_error *err)
{
        bool add = in->kind == DF_ADD;
        struct stack_kvlist env = {0};
        build_stage_env(st, &env);
        _cleanup_strv_free_ char **words = NULL;
        int r = in->exec_form ? 0 : df_words(in->rest, b->df->escape, &env, &words, err);
        if (in->exec_form)
                words = strv_copy(in->argv);
        _cleanup_free_ char *chown_spec = NULL, *chmod_spec = NULL, *from = NULL;
        const struct stack_kv *f;
        if (r >= 0 && (f = stack_kvlist_get(&in->flags, "chown")) && f->value)
                r = df_word(f->value, b->df->escape, &env, &chown_spec, err);
        if (r >= 0 && (f = stack_kvlist_get(&in->flags, "chmod")) && f->value)
                r = df_word(f->value, b->df->escape, &env, &chmod_spec, err);
        if (r >= 0 && (f = stack_kvlist_get(&in->flags, "from")) && f->value)
                r = df_word(f->value, b->df->escape, &env, &from, err);
        stack_kvlist_free(&env);
        if (r < 0)
                return r;
        if (in->n_heredocs)
                return stack_error_set(err, ENOTSUP, "%s <<heredoc is not supported yet",
                                       df_kind_name(in->kind));
        if (stack_kvlist_get(&in->flags, "parents") || stack_kvlist_get(&in->flags, "exclude") ||
            stack_kvlist_get(&in->flags, "checksum") || stack_kvlist_get(&in->flags, "keep-git-dir"))
                return stack_error_set(
                    err, ENOTSUP,
                    "--parents, --exclude, --checksum and --keep-git-dir are not supported yet");
        size_t n = strv_length(words);
        if (n < 2)
                return stack_error_set(err, EINVAL, "requires at least two arguments");
        _cleanup_free_ char *dest_raw = words[n - 1];
        words[n - 1] = NULL;
        STRV_FOREACH (s, words)
                if (strstr(*s, "://"))
                        return stack_error_set(err, ENOTSUP, "%s: fetching URLs is not supported yet", *s);
        const char *wd = json_get_str(build_config_obj(st), "WorkingDir");
        _cleanup_free_ char *dest =
            dest_raw[0] == '/' ? xstrdup(dest_raw) : xasprintf("%s/%s", isempty(wd) ? "" : wd, dest_raw);
        if (endswith(dest_raw, "/") && !endswith(dest, "/")) {
                char *d2 = xasprintf("%s/", dest);
                free(dest);
                dest = d2;
        }
        bool wildcard = false;
        STRV_FOREACH (s, words)
                wildcard |= has_glob(*s);
        if ((n > 2 || wildcard) && !endswith(dest, "/"))
                return stack_error_set(
                    err, EINVAL, "with several sources the destination must be a directory and end with /");
        int chmod_mode = -1;
        if (chmod_spec) {
                char *end;
                long m = strtol(chmod_spec, &end, 8);
                if (*end || m < 0 || m > 07777)
                        return stack_error_set(err, EINVAL, "--chmod=%s: an octal mode is required",
                                               chmod_spec);
                chmod_mode = (int) m;
        }

        /* The source root: the context, or the --from stage or image mounted read-only for the copy. */
        struct stage_state from_tmp = {0};
        const struct stage_state *from_state = NULL;
        if (from) {
                r = from_source(b, from, &from_tmp, &from_state, err);
                if (r < 0) {
                        stage_state_done(&from_tmp);
                        return r;
                }
        }
        _cleanup_strv_free_ char **srcs = NULL;
        r = expand_sources(b->ctx_real, words, !from, &srcs, err);
        if (r < 0) {
                stage_state_done(&from_tmp);
                return r;
        }
        if (!srcs || !srcs[0]) {
                stage_state_done(&from_tmp);
                return stack_error_set(err, ENOENT, "no source files were specified (%s matched nothing)",
                                       words[0]);
        }

        /* The key: parent, instruction after substitution, and the sources' content. */
        _cleanup_digest_ struct digest d = {0};
        r = digest_init(&d, err);
        if (r < 0) {
                stage_state_done(&from_tmp);
                return r;
        }
        struct strbuf what = {0};
        strbuf_printf(&what, "%s chown=%s chmod=%s dest=%s", add ? "ADD" : "COPY",
                      chown_spec ? chown_spec : "", chmod_spec ? chmod_spec : "", dest);
        STRV_FOREACH (s, srcs)
                strbuf_printf(&what, " src=%s", *s);
        if (from_state)
                strbuf_printf(&what, " from=%s", from_state->key);
        else {
                _cleanup_close_ int ctx_fd = open(b->ctx_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct copy_opts ho = {
                    .hashing = true, .d = &d, .chmod = chmod_mode, .ignore = b->ignore, .extract = add};
                if (ctx_fd < 0)
                        r = stack_error_errno(err, errno, "%s", b->ctx_real);
                else
                        r = copy_sources(ctx_fd, srcs, dest, -1, &ho, err);
                if (r < 0) {
                        strbuf_free(&what);
                        stage_state_done(&from_tmp);
                        return r;
                }
                char content[DIGEST_STRING_MAX];
                digest_final(&d, content);
                strbuf_printf(&what, " content=%s", content);
        }
        build_chain_key(st, what.buf);
        strbuf_free(&what);
        if (build_cache_load(b, st->key, st)) {
                stage_state_done(&from_tmp);
                build_progress(b, "#%u CACHED\n", b->step);
                return 0;
        }

        _cleanup_(step_container_done) struct step_container c = {0};
        _cleanup_(step_container_done) struct step_container src = {0};
        r = step_container_prepare(b, st, &c, err);
        if (r >= 0) {
                c.svc.command = strv_split("true", " ");
                struct container_spec spec = step_container_spec(&c);
                c.created = true;
                r = container_prepare(b->host, &spec, err);
        }
        _cleanup_free_ char *bundle = container_bundle_path(b->host, c.name);
        _cleanup_free_ char *rootfs = path_join(bundle, "rootfs");
        _cleanup_close_ int root_fd = -1;
        if (r >= 0 && (root_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = stack_error_errno(err, errno, "open %s", rootfs);
        struct copy_opts o = {.chmod = chmod_mode, .extract = add && !from};
        if (r >= 0 && chown_spec)
                r = parse_chown(chown_spec, rootfs, &o, err);
        _cleanup_close_ int src_fd = -1;
        if (r >= 0 && from_state) {
                r = step_container_prepare(b, (struct stage_state *) from_state, &src, err);
                if (r >= 0) {
                        src.svc.command = strv_split("true", " ");
                        struct container_spec spec = step_container_spec(&src);
                        src.created = true;
                        r = container_prepare(b->host, &spec, err);
                }
                _cleanup_free_ char *sb = container_bundle_path(b->host, src.name);
                _cleanup_free_ char *sroot = path_join(sb, "rootfs");
                if (r >= 0 && (src_fd = open(sroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = stack_error_errno(err, errno, "open %s", sroot);
        } else if (r >= 0) {
                o.ignore = b->ignore;
                if ((src_fd = open(b->ctx_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = stack_error_errno(err, errno, "%s", b->ctx_real);
        }
        if (r >= 0)
                r = copy_sources(src_fd, srcs, dest, root_fd, &o, err);
        stage_state_done(&from_tmp);
        if (r < 0)
                return r;
        return build_finish_step(b, st, c.name, in, err);
}
