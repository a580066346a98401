#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/runtime/container.h"
#include "core/runtime/container-internal.h"
#include "core/base/fileio.h"
#include "core/runtime/oci.h"
#include "core/runtime/user.h"
#include "core/base/util.h"
#include "core/runtime/volume.h"

#define KILL_WAIT_USEC (10 * 1000000LL)

/* ---- the host ---- */

static const char *find_init(void)
{
        /* A static init works in any image (docker bind-mounts its own static tini the same way). */
        static const char *const candidates[] = {
            "/usr/bin/tini-static", "/usr/libexec/docker/docker-init", "/usr/bin/docker-init",
            "/usr/bin/catatonit",   "/usr/libexec/podman/catatonit",
        };
        const char *env = getenv("STACK_INIT");
        if (!isempty(env))
                return env;
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

int container_host_new(const char *root, const char *run_root, const char *runtime,
                       struct container_host **ret, struct stack_error *err)
{
        _cleanup_free_ char *state_root = path_join(run_root, "runtime");
        struct runtime *rt;
        int r = runtime_new(runtime, state_root, &rt, err);
        if (r < 0)
                return r;
        struct container_host *h = xcalloc(1, sizeof(*h));
        h->root = xstrdup(root);
        h->run_root = xstrdup(run_root);
        h->runtime = rt;
        struct statfs s;
        h->cgroup_v2 = statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
        h->swap_limit = h->cgroup_v2
                            ? access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
                            : access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
        const char *init = find_init();
        h->init_path = init ? xstrdup(init) : NULL;
        _cleanup_free_ char *status = NULL;
        if (read_full_file("/proc/self/status", &status, NULL, NULL) >= 0) {
                const char *b = strstr(status, "\nCapBnd:");
                if (b)
                        h->cap_bounding = strtoull(b + 9, NULL, 16);
        }
        char hn[256] = "";
        gethostname(hn, sizeof(hn) - 1);
        h->hostname = xstrdup(hn);
        *ret = h;
        return 0;
}

void container_host_free(struct container_host *h)
{
        if (!h)
                return;
        runtime_free(h->runtime);
        free(h->root);
        free(h->run_root);
        free(h->init_path);
        free(h->hostname);
        free(h);
}

char *container_bundle_path(const struct container_host *h, const char *name)
{
        return xasprintf("%s/containers/%s", h->run_root, name);
}

static char *storage_path(const struct container_host *h, const char *name)
{
        return xasprintf("%s/containers/%s", h->root, name);
}

char *container_log_path(const struct container_host *h, const char *name)
{
        return xasprintf("%s/containers/%s/container.log", h->root, name);
}

char *container_anonymous_volume_name(const char *name, const char *target)
{
        /* FNV-1a: stable and short; the name is what makes it unique, the hash only tells targets apart. */
        uint64_t hash = 1469598103934665603ULL;
        for (const char *p = target; *p; p++)
                hash = (hash ^ (unsigned char) *p) * 1099511628211ULL;
        return xasprintf("%s-anon-%016" PRIx64, name, hash);
}

/* Cgroups are one tree for the whole host, unlike the roots: two stack instances (a test's temporary roots
 * beside the system's) may run containers of the same name, so a non-default run root tags the leaf. */
char *container_cgroup_path(const char *run_root, const char *name)
{
        if (streq(run_root, "/run/stack"))
                return xasprintf("/stack/%s", name);
        uint32_t hash = 2166136261u;
        for (const char *p = run_root; *p; p++)
                hash = (hash ^ (unsigned char) *p) * 16777619u;
        return xasprintf("/stack/%s-%08" PRIx32, name, hash);
}

static char *cgroup_path(const struct container_host *h, const char *name)
{
        return container_cgroup_path(h->run_root, name);
}

static int check_name(const char *name, struct stack_error *err)
{
        if (!volume_name_is_valid(name))
                return stack_error_set(
                    err, EINVAL, "container name '%s' is invalid (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                    name);
        return 0;
}

/* ---- small file helpers ---- */

static int write_text(const char *dir, const char *file, const char *text, mode_t mode,
                      struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(dir, file);
        return write_file_atomic(p, text, strlen(text), mode, err);
}

static bool is_mountpoint(const char *path)
{
        struct stat a, b;
        _cleanup_free_ char *parent = path_dirname(path);
        if (stat(path, &a) < 0 || stat(parent, &b) < 0)
                return false;
        return a.st_dev != b.st_dev;
}

/* /proc/<pid>/stat field 22: start time in clock ticks since boot; 0 when the process is gone. */
static uint64_t pid_starttime(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *s = NULL;
        if (read_full_file(path, &s, NULL, NULL) < 0)
                return 0;
        const char *p = strrchr(s, ')');
        if (!p)
                return 0;
        /* After ") " come fields 3.. ; the start time is field 22, the 20th after the name. */
        unsigned long long v = 0;
        int field = 2;
        for (p++; *p && field < 22; p++)
                if (*p == ' ') {
                        field++;
                        if (field == 22)
                                v = strtoull(p + 1, NULL, 10);
                }
        return v;
}

/* ---- mounts of the bundle ---- */

/* The new mount API takes the layers one by one ("lowerdir+", Linux 6.8), so an image with more layers
 * than fit in one page of mount options still mounts. */
static int mount_rootfs_fsconfig(const struct container_spec *spec, const char *storage, const char *rootfs,
                                 struct stack_error *err)
{
        _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return stack_error_errno(err, errno, "overlay: fsopen");
        for (size_t i = strv_length(spec->layers); i > 0; i--)
                if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", spec->layers[i - 1], 0) < 0)
                        return stack_error_errno(
                            err, errno,
                            "too many image layers (%zu) for one overlay mount, and this "
                            "kernel cannot add them one by one",
                            strv_length(spec->layers));
        _cleanup_free_ char *upper = path_join(storage, "upper");
        _cleanup_free_ char *work = path_join(storage, "work");
        if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return stack_error_errno(err, errno, "overlay: configure the root file system");
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0 || move_mount(mnt, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return stack_error_errno(err, errno, "mount the overlay root file system at %s", rootfs);
        return 0;
}

static int mount_rootfs(const struct container_spec *spec, const char *storage, const char *rootfs,
                        struct stack_error *err)
{
        if (is_mountpoint(rootfs))
                return 0;
        if (strv_length(spec->layers) == 0)
                return stack_error_set(err, EINVAL, "no image layers to mount");
        struct strbuf o = {0};
        strbuf_puts(&o, "lowerdir=");
        /* overlayfs lists the top layer first. */
        for (size_t i = strv_length(spec->layers); i > 0; i--) {
                const char *l = spec->layers[i - 1];
                if (strpbrk(l, ":,")) {
                        strbuf_free(&o);
                        return stack_error_set(err, EINVAL, "layer directory '%s' contains ':' or ','", l);
                }
                strbuf_printf(&o, "%s%s", l, i > 1 ? ":" : "");
        }
        strbuf_printf(&o, ",upperdir=%s/upper,workdir=%s/work", storage, storage);
        _cleanup_free_ char *opts = strbuf_take(&o);
        if (strlen(opts) >= (size_t) sysconf(_SC_PAGESIZE) - 1)
                return mount_rootfs_fsconfig(spec, storage, rootfs, err);
        if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
                return stack_error_errno(err, errno, "mount the overlay root file system at %s", rootfs);
        return 0;
}

/* Unmounts everything at or below path (deepest first). */
static int umount_below(const char *path, struct stack_error *err)
{
        for (int round = 0; round < 16; round++) {
                _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
                if (!f)
                        return stack_error_errno(err, errno, "open /proc/self/mountinfo");
                char *line = NULL;
                size_t cap = 0;
                _cleanup_free_ char *deepest = NULL;
                size_t plen = strlen(path);
                while (getline(&line, &cap, f) > 0) {
                        char mp[4096];
                        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                                continue;
                        if (strncmp(mp, path, plen) != 0 || (mp[plen] != 0 && mp[plen] != '/'))
                                continue;
                        if (!deepest || strlen(mp) > strlen(deepest)) {
                                free(deepest);
                                deepest = xstrdup(mp);
                        }
                }
                free(line);
                if (!deepest)
                        return 0;
                if (umount2(deepest, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                        return stack_error_errno(err, errno, "unmount %s", deepest);
        }
        return stack_error_set(err, EBUSY, "%s: mounts keep coming back", path);
}

/* Creates path and its missing parents inside the root directory rootfd (symlinks resolved inside it). */
/* ---- create ---- */

static void kvlist_merge(struct stack_kvlist *out, const struct stack_kvlist *in)
{
        for (size_t i = 0; in && i < in->n; i++)
                stack_kvlist_set(out, in->items[i].key, in->items[i].value);
}

static int teardown(struct container_host *h, const char *name, bool remove_storage,
                    struct stack_error *err);

static int create_bundle(struct container_host *h, const struct container_spec *spec, const char *bundle,
                         const char *storage, struct stack_error *err)
{
        const struct stack_service *s = spec->service;
        _cleanup_free_ char *rootfs = path_join(bundle, "rootfs");
        _cleanup_free_ char *upper = path_join(storage, "upper");
        _cleanup_free_ char *work = path_join(storage, "work");
        int r;
        if ((r = mkdir_p(upper, 0755, err)) < 0 || (r = mkdir_p(work, 0700, err)) < 0 ||
            (r = mkdir_p(rootfs, 0755, err)) < 0)
                return r;
        r = mount_rootfs(spec, storage, rootfs, err);
        if (r < 0)
                return r;

        /* tty and stdin_open are not supported (the output goes to the log file, which must outlive every
         * stack process): the graph warns about them, once per `up`. */
        bool host_net = s->network_mode && streq(s->network_mode, "host");
        if (s->network_mode && !host_net && !streq(s->network_mode, "none") && !spec->netns_path)
                return stack_error_set(err, ENOTSUP,
                                       "network_mode '%s' needs a network namespace from the network layer",
                                       s->network_mode);

        _cleanup_(user_ids_done) struct user_ids user = {0};
        /* The service's user, else the image's USER, resolved in the image's own files. */
        const char *user_spec = !isempty(s->user) ? s->user : spec->image ? spec->image->user : NULL;
        r = user_resolve(rootfs, user_spec, s->group_add, &user, err);
        if (r < 0)
                return r;

        const char *cwd = !isempty(s->working_dir)                            ? s->working_dir
                          : spec->image && !isempty(spec->image->working_dir) ? spec->image->working_dir
                                                                              : "/";
        if (cwd[0] == '/' && !streq(cwd, "/")) {
                /* docker creates a missing working directory; the runtime would fail to chdir. */
                _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rootfd < 0)
                        return stack_error_errno(err, errno, "open %s", rootfs);
                r = mkdir_in_root(rootfd, cwd, err);
                if (r < 0)
                        return stack_error_prefix(err, "working_dir");
        }

        _cleanup_(mounts_done) struct mounts ms = {0};
        r = volume_mounts(h, spec, rootfs, &ms, err);
        if (r < 0)
                return r;

        const char *hostname = !isempty(s->hostname) ? s->hostname : host_net ? h->hostname : spec->name;
        _cleanup_free_ char *hosts = hosts_file(h, spec, host_net, err);
        if (!hosts)
                return err ? -err->code : -EINVAL;
        _cleanup_free_ char *resolv = resolv_conf(spec, host_net);
        _cleanup_free_ char *hn = xasprintf("%s\n", hostname);
        static const char *const etc[] = {"hosts", "hostname", "resolv.conf"};
        const char *contents[] = {hosts, hn, resolv};
        for (size_t i = 0; i < ELEMENTSOF(etc); i++) {
                r = write_text(bundle, etc[i], contents[i], 0644, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *dest = xasprintf("/etc/%s", etc[i]);
                if (service_mounts_at(s, dest))
                        continue;
                _cleanup_free_ char *src = path_join(bundle, etc[i]);
                mounts_add(&ms, dest, "bind", src, bind_options(false, NULL, s->read_only));
        }
        r = file_mounts(spec, bundle, true, &ms, err);
        if (r < 0)
                return r;
        r = file_mounts(spec, bundle, false, &ms, err);
        if (r < 0)
                return r;

        _cleanup_(devices_done) struct devices ds = {0};
        r = service_devices(s, &ds, err);
        if (r < 0)
                return r;
        if (s->privileged)
                host_devices("/dev", &ds);

        struct oci_security sec;
        r = oci_security_parse(s, &sec, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *profile = NULL;
        if (sec.seccomp_profile && !sec.seccomp_unconfined && !s->privileged) {
                _cleanup_free_ char *p =
                    path_absolute(spec->project ? spec->project->working_dir : ".", sec.seccomp_profile);
                r = read_named_file(p, 0, &profile, NULL, err);
                if (r < 0) {
                        oci_security_done(&sec);
                        return stack_error_prefix(err, "security_opt seccomp");
                }
        }
        oci_security_done(&sec);

        _cleanup_(stack_kvlist_free) struct stack_kvlist ann = {0};
        kvlist_merge(&ann, &s->labels);
        kvlist_merge(&ann, spec->labels);
        _cleanup_free_ char *cgpath = cgroup_path(h, spec->name);
        struct oci_input in = {
            .name = spec->name,
            .service = s,
            .image = spec->image,
            .rootfs = rootfs,
            .user = &user,
            .mounts = ms.m,
            .n_mounts = ms.n,
            .devices = ds.d,
            .n_devices = ds.n,
            .netns_path = spec->netns_path,
            .host_network = host_net,
            .host_hostname = h->hostname,
            .cgroups_path = cgpath,
            .init_path = h->init_path,
            .seccomp_profile_text = profile,
            .cgroup_v2 = h->cgroup_v2,
            .swap_limit = h->swap_limit,
            .cap_available = h->cap_bounding,
            .annotations = &ann,
        };
        _cleanup_(cJSON_Deletep) cJSON *config = NULL;
        r = oci_config_build(&in, &config, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = cJSON_Print(config);
        r = write_text(bundle, "config.json", text, 0600, err);
        if (r < 0)
                return r;

        /* How to stop it, for whichever process stops it later (without parsing config.json). */
        int sig = oci_stop_signal(s, spec->image, err);
        if (sig < 0)
                return sig;
        _cleanup_free_ char *stop =
            xasprintf("%d %" PRId64 "\n", sig,
                      s->stop_grace_period_usec >= 0 ? s->stop_grace_period_usec : (int64_t) 10000000);
        return write_text(bundle, "stop", stop, 0644, err);
}

/* Whether an existing runtime record of the container is live (then there is nothing to make), or gone
 * after an exit (then it is deleted so the container can be made anew over the same writable layer). */
static int prepare_runtime_slot(struct container_host *h, const char *name, bool *ret_live,
                                struct stack_error *err)
{
        *ret_live = false;
        if (!runtime_exists(h->runtime, name))
                return 0;
        struct runtime_state st;
        int r = runtime_state(h->runtime, name, &st, err);
        if (r < 0)
                return stack_error_prefix(err, "container %s", name);
        if (st.status != RUNTIME_STOPPED && st.status != RUNTIME_ABSENT) {
                *ret_live = true;
                return 0;
        }
        r = runtime_delete(h->runtime, name, true, err);
        return r < 0 ? stack_error_prefix(err, "container %s", name) : 0;
}

int container_prepare(struct container_host *h, const struct container_spec *spec, struct stack_error *err)
{
        int r = check_name(spec->name, err);
        if (r < 0)
                return r;
        bool live;
        r = prepare_runtime_slot(h, spec->name, &live, err);
        if (r < 0 || live)
                return r;
        _cleanup_free_ char *bundle = container_bundle_path(h, spec->name);
        _cleanup_free_ char *storage = storage_path(h, spec->name);
        bool new_storage = !path_exists(storage);
        r = mkdir_p(bundle, 0700, err);
        if (r >= 0)
                r = create_bundle(h, spec, bundle, storage, err);
        if (r < 0) {
                _cleanup_error_ struct stack_error e2 = {0};
                (void) teardown(h, spec->name, new_storage, &e2);
                return stack_error_prefix(err, "create container %s", spec->name);
        }
        return 0;
}

int container_create(struct container_host *h, const struct container_spec *spec, struct stack_error *err)
{
        bool live;
        int r = check_name(spec->name, err);
        if (r >= 0)
                r = prepare_runtime_slot(h, spec->name, &live, err);
        if (r < 0 || live)
                return r;
        _cleanup_free_ char *storage = storage_path(h, spec->name);
        bool new_storage = !path_exists(storage);
        r = container_prepare(h, spec, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *bundle = container_bundle_path(h, spec->name);
        _cleanup_close_ int log_fd = -1;
        _cleanup_free_ char *logp = container_log_path(h, spec->name);
        log_fd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (log_fd < 0)
                r = stack_error_errno(err, errno, "open %s", logp);
        if (r >= 0)
                r = runtime_create(h->runtime, spec->name, bundle, log_fd, err);
        if (r >= 0) {
                /* Record the init's pid with its start time, so a recycled pid is never signalled. */
                _cleanup_free_ char *pidp = path_join(bundle, "pid");
                _cleanup_free_ char *pidtext = NULL;
                long pid = 0;
                if (read_full_file(pidp, &pidtext, NULL, NULL) >= 0)
                        pid = strtol(pidtext, NULL, 10);
                if (pid > 0) {
                        _cleanup_free_ char *init =
                            xasprintf("%ld %" PRIu64 "\n", pid, pid_starttime((pid_t) pid));
                        r = write_text(bundle, "init", init, 0644, err);
                }
        }
        if (r < 0) {
                _cleanup_error_ struct stack_error e2 = {0};
                (void) teardown(h, spec->name, new_storage, &e2);
                return stack_error_prefix(err, "create container %s", spec->name);
        }
        return 0;
}

/* ---- the rest of the lifecycle ---- */

int container_start(struct container_host *h, const char *name, struct stack_error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        /* Start first and ask questions after: the common case costs one runtime call, not two. */
        _cleanup_error_ struct stack_error start_err = {0};
        r = runtime_start(h->runtime, name, &start_err);
        if (r >= 0)
                return 0;
        struct runtime_state st;
        int q = runtime_state(h->runtime, name, &st, err);
        if (q < 0)
                return q;
        switch (st.status) {
        case RUNTIME_RUNNING:
        case RUNTIME_PAUSED:
                return 0; /* already started */
        case RUNTIME_ABSENT:
                return stack_error_set(err, ENOENT, "container %s does not exist", name);
        case RUNTIME_STOPPED:
                return stack_error_set(err, ESRCH, "container %s has exited; it must be created again",
                                       name);
        default:
                return stack_error_set(err, start_err.code, "%s", start_err.msg);
        }
}

static enum container_state state_from_runtime(enum runtime_status s)
{
        switch (s) {
        case RUNTIME_ABSENT:
                return CONTAINER_STATE_DEAD;
        case RUNTIME_CREATING:
        case RUNTIME_CREATED:
                return CONTAINER_STATE_CREATED;
        case RUNTIME_RUNNING:
                return CONTAINER_STATE_RUNNING;
        case RUNTIME_PAUSED:
                return CONTAINER_STATE_PAUSED;
        case RUNTIME_STOPPED:
                return CONTAINER_STATE_EXITED;
        }
        return CONTAINER_STATE_UNKNOWN;
}

char *container_name(const char *project, const char *service, const char *fixed_name, int number)
{
        if (fixed_name)
                return xstrdup(fixed_name);
        return xasprintf("%s-%s-%d", project, service, number);
}

const char *container_label(const char *project, const char *service, int number, const char *name)
{
        if (!project || !service)
                return name;
        _cleanup_free_ char *dflt = container_name(project, service, NULL, number);
        return streq(dflt, name) ? name + strlen(project) + 1 : name;
}

static const char *const state_names[_CONTAINER_STATE_MAX] = {
    [CONTAINER_STATE_UNKNOWN] = "unknown", [CONTAINER_STATE_CREATED] = "created",
    [CONTAINER_STATE_RUNNING] = "running", [CONTAINER_STATE_RESTARTING] = "restarting",
    [CONTAINER_STATE_PAUSED] = "paused",   [CONTAINER_STATE_EXITED] = "exited",
    [CONTAINER_STATE_DEAD] = "dead",
};

const char *container_state_to_string(enum container_state s)
{
        return s < _CONTAINER_STATE_MAX ? state_names[s] : "unknown";
}

enum container_state container_state_from_string(const char *s)
{
        for (size_t i = 0; s && i < _CONTAINER_STATE_MAX; i++)
                if (streq(state_names[i], s))
                        return (enum container_state) i;
        return CONTAINER_STATE_UNKNOWN;
}

bool container_state_is_up(enum container_state s)
{
        return s == CONTAINER_STATE_RUNNING || s == CONTAINER_STATE_RESTARTING;
}

bool container_state_is_live(enum container_state s)
{
        return s != CONTAINER_STATE_EXITED && s != CONTAINER_STATE_DEAD;
}

int container_state(struct container_host *h, const char *name, struct container_status *ret,
                    struct stack_error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        struct runtime_state st;
        r = runtime_state(h->runtime, name, &st, err);
        if (r < 0)
                return r;
        *ret = (struct container_status){.state = state_from_runtime(st.status), .pid = st.pid};
        return 0;
}

/* A pidfd for the container's init as recorded at create; -ESRCH when it has exited. */
static int open_init(struct container_host *h, const char *name)
{
        _cleanup_free_ char *bundle = container_bundle_path(h, name);
        _cleanup_free_ char *p = path_join(bundle, "init");
        _cleanup_free_ char *text = NULL;
        long pid = 0;
        unsigned long long start = 0;
        if (read_full_file(p, &text, NULL, NULL) >= 0) {
                if (sscanf(text, "%ld %llu", &pid, &start) != 2 || pid <= 0)
                        return -ESRCH;
        } else {
                /* No record (a crash right after create): the runtime knows the pid; checking it
                 * against the runtime's state is then the best we can do. */
                struct runtime_state st;
                _cleanup_error_ struct stack_error e = {0};
                if (!runtime_exists(h->runtime, name) || runtime_state(h->runtime, name, &st, &e) < 0 ||
                    st.pid <= 0)
                        return -ESRCH;
                pid = st.pid;
                start = pid_starttime(st.pid);
        }
        int fd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
        if (fd < 0)
                return -errno;
        /* The pidfd pins the process; if its start time differs, the pid was reused by someone else. */
        if (pid_starttime((pid_t) pid) != start) {
                close(fd);
                return -ESRCH;
        }
        return fd;
}

static int pidfd_signal(int fd, int sig)
{
        if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
                return errno == ESRCH ? 0 : -errno;
        return 0;
}

/* Waits for the process behind fd to exit; true when it did within timeout_usec. */
static bool wait_exit(int fd, int64_t timeout_usec)
{
        uint64_t deadline = now_usec() + (uint64_t) (timeout_usec > 0 ? timeout_usec : 0);
        for (;;) {
                uint64_t now = now_usec();
                int ms = now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int n = poll(&p, 1, ms);
                if (n > 0)
                        return true;
                if (n == 0)
                        return false;
                if (errno != EINTR)
                        return false;
        }
}

int container_kill(struct container_host *h, const char *name, int sig, struct stack_error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open_init(h, name);
        if (fd == -ESRCH)
                return 0; /* nothing runs: already dead */
        if (fd < 0)
                return runtime_kill(h->runtime, name, sig, err);
        r = pidfd_signal(fd, sig);
        if (r < 0)
                return stack_error_errno(err, -r, "kill container %s", name);
        return 0;
}

int container_stop(struct container_host *h, const char *name, int sig, int64_t timeout_usec,
                   bool *ret_killed, struct stack_error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        if (ret_killed)
                *ret_killed = false;
        if (sig <= 0 || timeout_usec < 0) {
                _cleanup_free_ char *bundle = container_bundle_path(h, name);
                _cleanup_free_ char *p = path_join(bundle, "stop");
                _cleanup_free_ char *text = NULL;
                int csig = SIGTERM;
                long long ctimeout = 10000000;
                if (read_full_file(p, &text, NULL, NULL) >= 0)
                        sscanf(text, "%d %lld", &csig, &ctimeout);
                if (sig <= 0)
                        sig = csig;
                if (timeout_usec < 0)
                        timeout_usec = ctimeout;
        }
        _cleanup_close_ int fd = open_init(h, name);
        if (fd == -ESRCH)
                return 0;
        if (fd < 0)
                return stack_error_errno(err, -fd, "stop container %s", name);
        /* Never started: only the runtime's own init waits there, nothing that would handle a signal. */
        if (runtime_awaiting_start(h->runtime, name)) {
                sig = SIGKILL;
                timeout_usec = KILL_WAIT_USEC;
        }
        r = pidfd_signal(fd, sig);
        if (r < 0)
                return stack_error_errno(err, -r, "stop container %s: signal %d", name, sig);
        if (wait_exit(fd, timeout_usec))
                return 0;
        if (ret_killed)
                *ret_killed = true;
        r = pidfd_signal(fd, SIGKILL);
        if (r < 0)
                return stack_error_errno(err, -r, "stop container %s: SIGKILL", name);
        if (!wait_exit(fd, KILL_WAIT_USEC))
                return stack_error_set(err, ETIMEDOUT, "stop container %s: still alive 10s after SIGKILL",
                                       name);
        return 0;
}

static int teardown(struct container_host *h, const char *name, bool remove_storage, struct stack_error *err)
{
        int r = runtime_delete(h->runtime, name, true, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *bundle = container_bundle_path(h, name);
        _cleanup_free_ char *rootfs = path_join(bundle, "rootfs");
        /* The root file system is the only mount we make: unmount it directly, and scan the mount table
         * only when something else is left under the bundle (a crash between mounts, say). */
        if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return stack_error_errno(err, errno, "unmount %s", rootfs);
        _cleanup_error_ struct stack_error rm_err = {0};
        r = rm_rf(bundle, &rm_err);
        if (r == -EBUSY) {
                r = umount_below(bundle, err);
                if (r >= 0)
                        r = rm_rf(bundle, err);
        } else if (r < 0)
                r = stack_error_set(err, rm_err.code, "%s", rm_err.msg);
        if (r < 0)
                return r;
        if (remove_storage) {
                _cleanup_free_ char *storage = storage_path(h, name);
                r = rm_rf(storage, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int list_dir(const char *dir, char ***l, struct stack_error *err)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : stack_error_errno(err, errno, "open %s", dir);
        struct dirent *de;
        while ((de = readdir(d)))
                if (volume_name_is_valid(de->d_name) && !strv_contains(*l, de->d_name))
                        strv_push(l, de->d_name);
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int container_list(struct container_host *h, char ***ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *state = path_join(h->run_root, "runtime");
        _cleanup_free_ char *bundles = path_join(h->run_root, "containers");
        _cleanup_free_ char *storage = path_join(h->root, "containers");
        int r;
        if ((r = list_dir(state, &names, err)) < 0 || (r = list_dir(bundles, &names, err)) < 0 ||
            (r = list_dir(storage, &names, err)) < 0)
                return r;
        if (names)
                qsort(names, strv_length(names), sizeof(char *), cmp_names);
        *ret = TAKE_PTR(names);
        return 0;
}

int container_remove(struct container_host *h, const char *name, struct stack_error *err)
{
        int r = check_name(name, err);
        if (r < 0)
                return r;
        r = teardown(h, name, true, err);
        if (r < 0)
                return stack_error_prefix(err, "remove container %s", name);
        return 0;
}
