/* stack cp: files between a service's container and the host, with docker cp's rules for files,
 * directories, trailing "/" and "/.". The container's side is read and written through its mount namespace
 * (core/runtime/ctrfs.h): volumes and tmpfs mounts are seen, nothing is needed in the image, and no symlink
 * in the container can lead the copy out of it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/ctrfs-open.h"

static const char cp_usage[] =
    "Usage: stack cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH\n"
    "       stack cp [OPTIONS] SRC_PATH SERVICE:DEST_PATH\n"
    "\n"
    "Copy files or folders between a service container and the local filesystem.\n"
    "\n"
    "Options:\n"
    "  -a, --archive       Archive mode (copy all uid/gid information)\n"
    "  -L, --follow-link   Always follow the symbolic link in SRC_PATH\n"
    "      --index N       Index of the container if the service has several replicas (default 1)\n"
    "  -h, --help          Show this help";

/* One side of the copy: the host (fs NULL) or a container. */
struct side {
        struct ctrfs *fs;
        const char *path; /* as given, without the SERVICE: prefix */
};

/* The path's last element resolved (followed when follow), as a descriptor and a name for the *at calls:
 * name "" means the descriptor is the entry itself. */
static int side_open(const struct side *s, const char *path, bool follow, int *ret_fd, char **ret_name,
                     struct stack_error *err)
{
        if (follow) {
                int fd;
                int r = s->fs ? ctrfs_open(s->fs, path, O_PATH, &fd, err)
                              : ((fd = open(path, O_PATH | O_CLOEXEC)) < 0
                                     ? stack_error_errno(err, errno, "%s", path)
                                     : 0);
                if (r < 0)
                        return r;
                *ret_fd = fd;
                *ret_name = xstrdup("");
                return 0;
        }
        if (s->fs) {
                int r = ctrfs_open_parent(s->fs, path, ret_fd, ret_name, err);
                if (r >= 0 && streq(*ret_name, ".")) {
                        free(*ret_name);
                        *ret_name = xstrdup("");
                }
                return r;
        }
        _cleanup_free_ char *dir = path_dirname(path);
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", dir);
        *ret_fd = fd;
        const char *base = path_basename(path);
        *ret_name = xstrdup(streq(base, "/") || streq(base, ".") ? "" : base);
        return 0;
}

static int stat_at(int fd, const char *name, struct stat *st)
{
        return fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH));
}

/* A directory to copy into: the destination path itself, followed (a link to a directory counts). */
static int open_dir(const struct side *s, const char *path, int *ret_fd, struct stack_error *err)
{
        if (s->fs)
                return ctrfs_open(s->fs, path, O_RDONLY | O_DIRECTORY, ret_fd, err);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        *ret_fd = fd;
        return 0;
}

/* Whether the destination exists (followed), and whether it is a directory. */
static int dest_kind(const struct side *s, const char *path, bool *ret_exists, bool *ret_dir)
{
        struct stat st;
        int fd = -1;
        if (s->fs) {
                if (ctrfs_open(s->fs, path, O_PATH, &fd, NULL) < 0) {
                        *ret_exists = *ret_dir = false;
                        return 0;
                }
                int r = fstat(fd, &st);
                close(fd);
                if (r < 0)
                        return -errno;
        } else if (stat(path, &st) < 0) {
                *ret_exists = *ret_dir = false;
                return errno == ENOENT ? 0 : -errno;
        }
        *ret_exists = true;
        *ret_dir = S_ISDIR(st.st_mode);
        return 0;
}

struct cp_request {
        struct side src, dst;
        bool archive, follow;
};

/* The content of the source directory into the destination directory (SRC/.). */
static int copy_contents(int sfd, const char *sname, int ddir, struct ctrfs_copy *o, struct stack_error *err)
{
        _cleanup_free_ char *proc = NULL;
        int fd = *sname
                     ? openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                     : open((proc = xasprintf("/proc/self/fd/%d", sfd)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "open source directory");
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return stack_error_errno(err, errno, "open source directory");
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        int r = ctrfs_copy_at(dirfd(d), de->d_name, ddir, de->d_name, o, err);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool trailing(const char *p, const char *suffix)
{
        return endswith(p, suffix) && strlen(p) > strlen(suffix) - 1;
}

/* The source's own name, for a copy into a directory: "a/b/" and "a/b/." are "b"; "/" is "/". */
static char *source_name(const char *p)
{
        _cleanup_free_ char *s = xstrdup(p);
        for (;;) {
                size_t n = strlen(s);
                if (n > 1 && s[n - 1] == '/')
                        s[n - 1] = '\0';
                else if (n > 2 && endswith(s, "/."))
                        s[n - 2] = '\0';
                else
                        break;
        }
        return xstrdup(streq(s, "/") ? "/" : path_basename(s));
}

static int do_copy(const struct cp_request *rq, struct stack_error *err)
{
        const char *sp = rq->src.path, *dp = rq->dst.path;
        bool contents = trailing(sp, "/.") || streq(sp, ".");
        bool src_must_dir = contents || endswith(sp, "/");
        _cleanup_close_ int sfd = -1;
        _cleanup_free_ char *sname = NULL;
        int r = side_open(&rq->src, sp, rq->follow || src_must_dir, &sfd, &sname, err);
        if (r < 0)
                return r;
        struct stat st;
        if (stat_at(sfd, sname, &st) < 0)
                return stack_error_errno(err, errno, "%s", sp);
        bool src_dir = S_ISDIR(st.st_mode);
        if (src_must_dir && !src_dir)
                return stack_error_set(err, ENOTDIR, "%s: not a directory", sp);

        struct ctrfs_copy o = {.keep_owner = rq->archive};
        if (!rq->dst.fs) {
                o.uid = getuid();
                o.gid = getgid();
        }
        bool exists, is_dir;
        if ((r = dest_kind(&rq->dst, dp, &exists, &is_dir)) < 0)
                return stack_error_errno(err, -r, "%s", dp);
        /* The name the copy gets inside an existing directory: the source's own. */
        _cleanup_free_ char *src_base = source_name(sp);
        if (exists && is_dir) {
                _cleanup_close_ int ddir = -1;
                if ((r = open_dir(&rq->dst, dp, &ddir, err)) < 0)
                        return r;
                if (src_dir && contents)
                        return copy_contents(sfd, sname, ddir, &o, err);
                if (streq(src_base, "/") || streq(src_base, "."))
                        return copy_contents(sfd, sname, ddir, &o, err);
                return ctrfs_copy_at(sfd, sname, ddir, src_base, &o, err);
        }
        if (exists && src_dir)
                return stack_error_set(err, ENOTDIR, "%s: cannot copy a directory to a file", dp);
        if (!exists && endswith(dp, "/"))
                return stack_error_set(err, ENOENT, "%s: destination directory does not exist", dp);
        /* A new name (or a file to overwrite) in an existing directory. */
        _cleanup_close_ int dparent = -1;
        _cleanup_free_ char *dname = NULL;
        if ((r = side_open(&rq->dst, dp, false, &dparent, &dname, err)) < 0)
                return r;
        if (!*dname)
                return stack_error_set(err, EINVAL, "%s: not a file name", dp);
        if (src_dir && contents) {
                if (mkdirat(dparent, dname, st.st_mode & 07777) < 0)
                        return stack_error_errno(err, errno, "mkdir %s", dp);
                _cleanup_close_ int ddir =
                    openat(dparent, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (ddir < 0)
                        return stack_error_errno(err, errno, "%s", dp);
                return copy_contents(sfd, sname, ddir, &o, err);
        }
        return ctrfs_copy_at(sfd, sname, dparent, dname, &o, err);
}

/* "SERVICE:PATH" names a container path when what precedes the colon could be a service name. */
static const char *container_part(const char *arg, char **ret_service)
{
        const char *colon = strchr(arg, ':');
        if (!colon || colon == arg || memchr(arg, '/', (size_t) (colon - arg)))
                return NULL;
        *ret_service = xstrndup(arg, (size_t) (colon - arg));
        return colon + 1;
}

static int find_container(const struct cmd_global *g, const char *project, const char *service, int index,
                          char **ret)
{
        _cleanup_project_status_ struct project_status st = {0};
        int ret_code = cmd_project_status(g, project, &st);
        if (ret_code != EXIT_OK)
                return ret_code;
        bool any = false;
        for (size_t i = 0; i < st.n; i++) {
                if (!streq(st.containers[i].service, service))
                        continue;
                any = true;
                if (st.containers[i].number == index) {
                        *ret = xstrdup(st.containers[i].name);
                        return EXIT_OK;
                }
        }
        if (any)
                fprintf(stderr, "stack cp: service %s has no container with index %d\n", service, index);
        else
                fprintf(stderr, "stack cp: service %s has no container (start it with `stack up`)\n",
                        service);
        return EXIT_ERROR;
}

int cmd_cp(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_INDEX = 0x100 };
        static const struct option opts[] = {
            {"archive", no_argument, NULL, 'a'},
            {"follow-link", no_argument, NULL, 'L'},
            {"index", required_argument, NULL, ARG_INDEX},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cp_request rq = {0};
        int index = 1, c, ret;
        while ((c = getopt_long(argc, argv, "aLh", opts, NULL)) >= 0) {
                if (c == 'a')
                        rq.archive = true;
                else if (c == 'L')
                        rq.follow = true;
                else if (c == ARG_INDEX) {
                        if ((ret = cmd_parse_int("cp", "--index", optarg, &index)) != EXIT_OK)
                                return ret;
                        if (index < 1)
                                return cmd_usage_error("cp", "--index: expected a number from 1, got %d",
                                                       index);
                } else if (c == 'h') {
                        puts(cp_usage);
                        return EXIT_OK;
                } else
                        return cmd_usage_error("cp", "invalid option");
        }
        if (argc - optind != 2)
                return cmd_usage_error("cp",
                                       "expected SERVICE:SRC_PATH DEST_PATH or SRC_PATH SERVICE:DEST_PATH");
        _cleanup_free_ char *src_svc = NULL, *dst_svc = NULL;
        const char *src = container_part(argv[optind], &src_svc);
        const char *dst = container_part(argv[optind + 1], &dst_svc);
        if (src && dst)
                return cmd_usage_error("cp", "copying between containers is not supported");
        if (!src && !dst)
                return cmd_usage_error("cp", "one of the paths must be SERVICE:PATH");
        if (streq(argv[optind], "-") || streq(argv[optind + 1], "-"))
                return cmd_usage_error("cp", "\"-\" (a tar stream on stdin or stdout) is not supported yet");
        const char *service = src ? src_svc : dst_svc;
        rq.src.path = src ? src : argv[optind];
        rq.dst.path = dst ? dst : argv[optind + 1];
        if (isempty(rq.src.path) || isempty(rq.dst.path))
                return cmd_usage_error("cp", "empty path");

        _cleanup_free_ char *project = NULL, *name = NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        char *services[] = {(char *) service, NULL};
        if ((ret = cmd_project_for(g, services, &project, &p)) != EXIT_OK ||
            (ret = find_container(g, project, service, index, &name)) != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        struct status_config sc = cmd_status_config(g);
        _cleanup_ctrfs_ struct ctrfs *fs = NULL;
        if (ctrfs_open_container(&sc, project, name, &fs, &err) < 0)
                return cmd_fail(&err);
        (src ? &rq.src : &rq.dst)->fs = fs;
        if (do_copy(&rq, &err) < 0) {
                stack_error_prefix(&err, "cp");
                return cmd_fail(&err);
        }
        return EXIT_OK;
}
