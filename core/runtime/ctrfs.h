/* Files inside a running container, read and written by stack itself: no shell, tar, stat or mkdir is
 * needed in the image.
 *
 * The container's root is /proc/<init pid>/root opened as a directory: a path walked from there goes
 * through the container's mount namespace, so its volumes and tmpfs mounts are seen as the container sees
 * them. Every path is resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): ".." and absolute
 * symlinks stop at the container's root, and /proc magic links are refused, so a symlink planted in the
 * container can never lead a read or a write to the host. Below the resolved parent directory, every
 * operation works on file descriptors with O_NOFOLLOW (the *at calls), so a tree being copied cannot be
 * swapped for a link half-way either.
 *
 * Writes are atomic (a temporary file in the same directory, then rename) and keep the mode. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/base/error.h"

struct ctrfs;

/* A directory as the root (any directory: tests use a temporary one). */
int ctrfs_open_dir(const char *dir, struct ctrfs **ret, struct stack_error *err);
/* The root of the mount namespace of process pid (/proc/<pid>/root). The caller checks that pid is the
 * container's init before and after (core/engine/ctrfs-open.h does). */
int ctrfs_open_pid(pid_t pid, struct ctrfs **ret, struct stack_error *err);
void ctrfs_free(struct ctrfs *fs);
static inline void ctrfs_freep(struct ctrfs **fs)
{
        if (*fs)
                ctrfs_free(*fs);
}
#define _cleanup_ctrfs_ __attribute__((cleanup(ctrfs_freep)))

/* The process whose root it is (0 for ctrfs_open_dir). */
pid_t ctrfs_pid(const struct ctrfs *fs);
/* The root directory's descriptor (O_PATH), owned by fs. */
int ctrfs_root_fd(const struct ctrfs *fs);

/* Opens path (absolute or relative to the root; symlinks followed, but never out of the root). */
int ctrfs_open(const struct ctrfs *fs, const char *path, int flags, int *ret_fd, struct stack_error *err);
/* Opens the directory that holds path's last element (O_PATH) and returns that element's name; the root
 * itself gives the root and ".". The last element is not followed: the *at calls on (dirfd, name) act on
 * it, whatever it is. */
int ctrfs_open_parent(const struct ctrfs *fs, const char *path, int *ret_dirfd, char **ret_name,
                      struct stack_error *err);
/* lstat of path's last element: -ENOENT (err untouched) when it does not exist. */
int ctrfs_lstat(const struct ctrfs *fs, const char *path, struct stat *ret, struct stack_error *err);
/* Creates path and its missing parents (mode for the new ones); an existing directory is success. */
int ctrfs_mkdir_p(const struct ctrfs *fs, const char *path, mode_t mode, struct stack_error *err);
/* Removes path, recursively for a directory; a missing path is success. */
int ctrfs_remove(const struct ctrfs *fs, const char *path, struct stack_error *err);
/* Whether the regular file at path has exactly the size and content of src_fd (read from its start). */
int ctrfs_same_content(const struct ctrfs *fs, const char *path, int src_fd, bool *ret,
                       struct stack_error *err);

/* Copying between two directory descriptors, one file or a whole tree, never following a symlink. */
struct ctrfs_copy {
        bool keep_owner; /* the source's uid and gid; otherwise uid and gid below */
        uid_t uid;       /* owner of what is created when !keep_owner */
        gid_t gid;
        bool replace; /* an existing entry of another type is removed first (a file where a
                         directory was, and back) */
        bool (*skip)(void *userdata, const char *rel, bool is_dir); /* NULL: copy all; rel from the top */
        void *userdata;
        unsigned n_files; /* counted: regular files, links and directories written */
};
/* Copies src_dfd/src_name to dst_dfd/dst_name: a regular file atomically (temporary + rename), a symlink as
 * a symlink, a directory with its content merged into an existing directory. Modes and times are kept.
 * src_name "" means src_dfd itself (a descriptor already resolved, e.g. for -L). */
int ctrfs_copy_at(int src_dfd, const char *src_name, int dst_dfd, const char *dst_name, struct ctrfs_copy *o,
                  struct stack_error *err);
/* Removes dfd/name, recursively for a directory, without following symlinks; missing is success. */
int ctrfs_remove_at(int dfd, const char *name, struct stack_error *err);
