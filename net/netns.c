#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "net/netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

char *netns_path(const char *run_root, const char *project, const char *name)
{
        return xasprintf("%s/netns/%s/%s", run_root, project, name);
}

bool netns_is_mounted(const char *path)
{
        struct statfs sf;
        return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

/* File names under the run root: no separators, nothing hidden. */
static bool name_ok(const char *s)
{
        return !isempty(s) && !strchr(s, '/') && s[0] != '.' && strlen(s) < 200;
}

static int lock_dir(const char *run_root, struct stack_error *err)
{
        int r = mkdir_p(run_root, 0755, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *lock = path_join(run_root, "netns.lock");
        _cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", lock);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "lock %s", lock);
        return TAKE_FD(fd);
}

/* Makes <run-root>/netns a mount point of its own with shared propagation (see netns.h). Private first,
 * so that it becomes a new peer group rather than joining the parent's. */
static int shared_dir(const char *dir, struct stack_error *err)
{
        if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0)
                return 0;
        if (errno != EINVAL)
                return stack_error_errno(err, errno, "make %s shared", dir);
        if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0)
                return stack_error_errno(err, errno, "bind mount %s", dir);
        if (mount("", dir, "none", MS_PRIVATE | MS_REC, NULL) < 0 ||
            mount("", dir, "none", MS_SHARED | MS_REC, NULL) < 0)
                return stack_error_errno(err, errno, "make %s shared", dir);
        return 0;
}

static int lo_up(void)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct ifreq ifr = {0};
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

struct create_job {
        const char *path;
        int r;
        const char *what;
};

/* Runs on its own thread: unshare() moves only this thread into the new namespace, and the thread's exit
 * leaves the rest of the process where it was. */
static void *create_thread(void *p)
{
        struct create_job *job = p;
        if (unshare(CLONE_NEWNET) < 0) {
                job->r = -errno;
                job->what = "unshare(CLONE_NEWNET)";
                return NULL;
        }
        if (mount("/proc/thread-self/ns/net", job->path, "none", MS_BIND, NULL) < 0) {
                job->r = -errno;
                job->what = "bind mount";
                return NULL;
        }
        job->r = lo_up();
        if (job->r < 0)
                job->what = "bring lo up";
        return NULL;
}

static int lo_up_fn(void *userdata)
{
        return lo_up();
}

int netns_create(const char *run_root, const char *project, const char *name, char **ret_path,
                 struct stack_error *err)
{
        if (!name_ok(project) || !name_ok(name))
                return stack_error_set(err, EINVAL, "netns '%s/%s': invalid name", project ? project : "",
                                       name ? name : "");
        _cleanup_close_ int lock = lock_dir(run_root, err);
        if (lock < 0)
                return lock;
        _cleanup_free_ char *dir = path_join(run_root, "netns");
        _cleanup_free_ char *pdir = path_join(dir, project);
        _cleanup_free_ char *path = path_join(pdir, name);
        int r = mkdir_p(dir, 0755, err);
        if (r < 0)
                return r;
        r = shared_dir(dir, err);
        if (r < 0)
                return r;
        if (mkdir(pdir, 0755) < 0 && errno != EEXIST)
                return stack_error_errno(err, errno, "mkdir %s", pdir);

        if (netns_is_mounted(path)) {
                /* Made by an earlier run; it may have stopped before lo was up. */
                _cleanup_close_ int fd = netns_open(path, err);
                if (fd < 0)
                        return fd;
                r = netns_run_in(fd, lo_up_fn, NULL, err);
                if (r < 0)
                        return stack_error_prefix(err, "netns %s: bring lo up", path);
                if (ret_path)
                        *ret_path = TAKE_PTR(path);
                return 0;
        }
        /* A plain file left by a crash between create and mount is reused. */
        int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "create %s", path);
        close(fd);

        struct create_job job = {.path = path};
        pthread_t t;
        r = pthread_create(&t, NULL, create_thread, &job);
        if (r != 0)
                return stack_error_errno(err, r, "netns %s: start thread", path);
        pthread_join(t, NULL);
        if (job.r < 0) {
                int saved = job.r;
                if (netns_is_mounted(path))
                        umount2(path, MNT_DETACH);
                unlink(path);
                return stack_error_errno(err, saved, "netns %s: %s", path, job.what);
        }
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

static bool dir_is_empty(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return false;
        return true;
}

int netns_remove(const char *run_root, const char *project, const char *name, struct stack_error *err)
{
        if (!name_ok(project) || !name_ok(name))
                return stack_error_set(err, EINVAL, "netns '%s/%s': invalid name", project ? project : "",
                                       name ? name : "");
        _cleanup_free_ char *dir = path_join(run_root, "netns");
        if (!path_exists(dir))
                return 0;
        _cleanup_close_ int lock = lock_dir(run_root, err);
        if (lock < 0)
                return lock;
        _cleanup_free_ char *pdir = path_join(dir, project);
        _cleanup_free_ char *path = path_join(pdir, name);
        /* Detach: a process still inside (or a file descriptor) keeps the namespace alive on its own, and
         * the name must go now regardless. Loop for stacked mounts left by races of older versions. */
        while (netns_is_mounted(path))
                if (umount2(path, MNT_DETACH) < 0)
                        return stack_error_errno(err, errno, "unmount netns %s", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return stack_error_errno(err, errno, "remove %s", path);
        if (rmdir(pdir) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
                return stack_error_errno(err, errno, "remove %s", pdir);
        if (dir_is_empty(dir)) {
                /* The last one of every project: give the shared bind mount back too. */
                if (umount2(dir, MNT_DETACH) < 0 && errno != EINVAL)
                        return stack_error_errno(err, errno, "unmount %s", dir);
                if (rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
                        return stack_error_errno(err, errno, "remove %s", dir);
        }
        return 0;
}

int netns_list(const char *run_root, const char *project, char ***ret, struct stack_error *err)
{
        _cleanup_free_ char *pdir = xasprintf("%s/netns/%s", run_root, project);
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = opendir(pdir);
        if (!d) {
                if (errno != ENOENT)
                        return stack_error_errno(err, errno, "open %s", pdir);
                *ret = NULL;
                return 0;
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        strv_push(&names, de->d_name);
        *ret = TAKE_PTR(names);
        return 0;
}

int netns_find(const char *run_root, const char *name, char **ret_path)
{
        if (!name_ok(name))
                return -EINVAL;
        _cleanup_free_ char *dir = path_join(run_root, "netns");
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return -ENOENT;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = netns_path(run_root, de->d_name, name);
                if (netns_is_mounted(p)) {
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}

int netns_open(const char *path, struct stack_error *err)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "open netns %s", path);
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC) {
                close(fd);
                return stack_error_set(err, ENOENT, "%s is not a network namespace (its mount is gone)",
                                       path);
        }
        return fd;
}

int netns_run_in(int netns_fd, int (*fn)(void *userdata), void *userdata, struct stack_error *err)
{
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return stack_error_errno(err, errno, "open /proc/thread-self/ns/net");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return stack_error_errno(err, errno, "enter network namespace");
        int r = fn(userdata);
        if (setns(self, CLONE_NEWNET) < 0) {
                /* Carrying on in a container's namespace would configure the wrong host. There is no
                 * caller to report to after this, so the reason is written where abort() leaves it. */
                log_error("cannot return to the host network namespace: %s", strerror(errno));
                abort();
        }
        return r;
}
