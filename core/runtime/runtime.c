/* The OCI runtime's command line.
 *
 * crun 1.8 and hybrid cgroup hosts: crun refuses to run when cgroup v1 controllers are mounted and the
 * cgroup v2 hierarchy at /sys/fs/cgroup/unified also has a controller ("cgroups in hybrid mode not
 * supported, drop all controllers from cgroupv2"); runc accepts it. Rather than silently switching
 * runtimes, stack runs crun in a private mount namespace in which /sys/fs/cgroup/unified is covered by an
 * empty tmpfs: crun then sees a plain cgroup v1 host, the cgroup v1 controllers (memory, cpu, pids,
 * devices) are the ones it configures, and the host's own mounts are untouched (the namespace is private
 * to that one crun process, and its copy of the mount is made private first so nothing propagates back).
 * The container's mount namespace is made from crun's, so it sees the same v1-only cgroup tree. This
 * costs one unshare() and one mount per runtime call. Where it cannot be done (no CAP_SYS_ADMIN), the
 * error says so and names the alternative (--runtime runc). Other runtimes run unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/runtime/runtime.h"
#include "core/base/util.h"

#define UNIFIED "/sys/fs/cgroup/unified"

struct runtime {
        char *path;
        char *root;
        bool hide_unified;
        uint64_t busy_usec;
        unsigned calls;
};

static char *find_in_path(const char *name)
{
        if (strchr(name, '/'))
                return xstrdup(name);
        const char *path = getenv("PATH");
        _cleanup_strv_free_ char **dirs =
            strv_split(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ":");
        STRV_FOREACH (d, dirs) {
                _cleanup_free_ char *p = path_join(**d ? *d : ".", name);
                if (access(p, X_OK) == 0)
                        return TAKE_PTR(p);
        }
        return NULL;
}

/* A cgroup v1 host that also mounts cgroup v2 with at least one controller enabled on it. */
static bool hybrid_with_v2_controllers(void)
{
        struct statfs s;
        if (statfs("/sys/fs/cgroup", &s) < 0 || s.f_type != TMPFS_MAGIC)
                return false;
        if (statfs(UNIFIED, &s) < 0 || s.f_type != CGROUP2_SUPER_MAGIC)
                return false;
        _cleanup_free_ char *ctrl = NULL;
        if (read_full_file(UNIFIED "/cgroup.controllers", &ctrl, NULL, NULL) < 0)
                return false;
        for (const char *p = ctrl; *p; p++)
                if (*p != ' ' && *p != '\n')
                        return true;
        return false;
}

int runtime_new(const char *path, const char *state_root, struct runtime **ret, struct stack_error *err)
{
        if (isempty(path))
                path = getenv("STACK_RUNTIME");
        if (isempty(path))
                path = "crun";
        _cleanup_free_ char *found = find_in_path(path);
        if (!found || access(found, X_OK) < 0)
                return stack_error_set(
                    err, ENOENT, "OCI runtime '%s' not found (install crun or runc, or pass --runtime PATH)",
                    path);
        struct runtime *rt = xcalloc(1, sizeof(*rt));
        rt->path = TAKE_PTR(found);
        rt->root = xstrdup(state_root);
        rt->hide_unified = startswith(path_basename(rt->path), "crun") && hybrid_with_v2_controllers();
        if (rt->hide_unified)
                log_debug("%s: cgroup v2 controllers on a v1 host; running it without %s", rt->path,
                          UNIFIED);
        *ret = rt;
        return 0;
}

void runtime_free(struct runtime *rt)
{
        if (!rt)
                return;
        free(rt->path);
        free(rt->root);
        free(rt);
}

const char *runtime_path(const struct runtime *rt)
{
        return rt->path;
}

bool runtime_hides_unified_cgroup(const struct runtime *rt)
{
        return rt->hide_unified;
}

#define EXIT_SETUP 125

/* In the child, before exec: only async-signal-safe calls. */
static void child_setup(const struct runtime *rt, int out_fd)
{
        /* The runtime hands its signal mask and ignored signals down to the container's processes: a
         * caller with signals blocked for an event loop (the supervisor) must not give its containers a
         * blocked SIGTERM, nor an ignored SIGPIPE. */
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        for (int sig = 1; sig < NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, &dfl, NULL) == 0)
                        continue;
                /* glibc keeps two real-time signals for itself and refuses them; an ignored one would
                 * still be inherited, so reset it with the system call (the kernel's own layout). */
                struct {
                        void *handler;
                        unsigned long flags;
                        void *restorer;
                        uint64_t mask;
                } ksa = {.handler = SIG_DFL};
                (void) syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
        }
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        if (rt->hide_unified) {
                static const char msg[] = "stack: cannot hide " UNIFIED " from crun in a private mount "
                                          "namespace (needs CAP_SYS_ADMIN)\n";
                /* Covered by an empty tmpfs rather than unmounted: crun still makes a directory for the
                 * "0::" line of /proc/self/cgroup, and it must land on this namespace's own tmpfs, not on
                 * the host's /sys/fs/cgroup tmpfs under the cgroup2 mount, where it would stay forever. */
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, UNIFIED, NULL, MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", UNIFIED, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "size=64k,mode=0755") < 0) {
                        if (write(out_fd, msg, sizeof(msg) - 1) < 0) {
                        }
                        _exit(EXIT_SETUP);
                }
        }
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(out_fd, STDERR_FILENO) < 0)
                _exit(EXIT_SETUP);
}

/* In the child: the caller's streams are set aside above the standard fds before child_setup() points those
 * at /dev/null and out_fd (the caller's stdin is fd 0 itself), and put in place after it; -1 stays
 * /dev/null. */
static void child_stdio_save(const struct runtime_stdio *io, int fds[3])
{
        int in[3] = {io->in, io->out, io->err};
        for (int i = 0; i < 3; i++)
                if ((fds[i] = in[i]) >= 0 && (fds[i] = fcntl(in[i], F_DUPFD_CLOEXEC, 3)) < 0)
                        _exit(EXIT_SETUP);
}

static void child_stdio_apply(const int fds[3])
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; i < 3; i++)
                if (dup2(fds[i] >= 0 ? fds[i] : null, i) < 0)
                        _exit(EXIT_SETUP);
}

/* Starts the runtime with args after its global options, its output going to out_fd; with io, the
 * process's streams are io's instead. */
static int spawn_stdio(struct runtime *rt, char *const *args, int out_fd, const struct runtime_stdio *io,
                       pid_t *ret_pid, struct stack_error *err)
{
        char **argv = NULL;
        strv_push(&argv, rt->path);
        strv_push(&argv, "--root");
        strv_push(&argv, rt->root);
        STRV_FOREACH (a, args)
                strv_push(&argv, *a);
        _cleanup_strv_free_ char **argv_owned = argv;
        pid_t pid = fork();
        if (pid < 0)
                return stack_error_errno(err, errno, "fork %s", rt->path);
        if (pid == 0) {
                int fds[3];
                if (io)
                        child_stdio_save(io, fds);
                child_setup(rt, out_fd);
                if (io)
                        child_stdio_apply(fds);
                execv(argv[0], argv);
                _exit(127);
        }
        *ret_pid = pid;
        return 0;
}

static int spawn(struct runtime *rt, char *const *args, int out_fd, pid_t *ret_pid, struct stack_error *err)
{
        return spawn_stdio(rt, args, out_fd, NULL, ret_pid, err);
}

/* Runs the runtime with args after its global options. With out_fd < 0 its output is captured into
 * *ret_output; otherwise it goes to out_fd. */
static int run(struct runtime *rt, char *const *args, int out_fd, char **ret_output, int *ret_status,
               struct stack_error *err)
{
        uint64_t t0 = now_usec();
        int pipefd[2] = {-1, -1};
        if (out_fd < 0 && pipe2(pipefd, O_CLOEXEC) < 0)
                return stack_error_errno(err, errno, "pipe");
        pid_t pid;
        int r = spawn(rt, args, out_fd >= 0 ? out_fd : pipefd[1], &pid, err);
        if (r < 0) {
                if (pipefd[0] >= 0) {
                        close(pipefd[0]);
                        close(pipefd[1]);
                }
                return r;
        }
        char *output = NULL;
        if (pipefd[0] >= 0) {
                close(pipefd[1]);
                if (read_full_fd(pipefd[0], &output, NULL) < 0)
                        output = NULL;
                close(pipefd[0]);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        free(output);
                        return stack_error_errno(err, errno, "waitpid %s", rt->path);
                }
        /* Containers are created in parallel threads through one struct runtime. */
        __atomic_fetch_add(&rt->busy_usec, now_usec() - t0, __ATOMIC_RELAXED);
        __atomic_fetch_add(&rt->calls, 1, __ATOMIC_RELAXED);
        if (ret_output)
                *ret_output = output ? output : xstrdup("");
        else
                free(output);
        *ret_status = status;
        return 0;
}

/* The runtime's own message, trimmed, with a hint where we know the cause. */
static int runtime_failed(struct runtime *rt, const char *what, const char *id, int status,
                          const char *output, struct stack_error *err)
{
        _cleanup_free_ char *msg = xstrdup(output ? output : "");
        size_t l = strlen(msg);
        while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
                msg[--l] = 0;
        const char *m = msg;
        const char *nl = strrchr(m, '\n');
        if (nl)
                m = nl + 1; /* the last line is the error; earlier ones are warnings */
        const char *hint = "";
        if (strstr(msg, "hybrid mode not supported"))
                hint = " (this host has cgroup v2 controllers on a cgroup v1 host; use --runtime runc)";
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return stack_error_set(err, ENOEXEC, "%s %s: cannot execute %s", what, id, rt->path);
        if (WIFSIGNALED(status))
                return stack_error_set(err, EIO, "%s %s: %s killed by signal %d", what, id, rt->path,
                                       WTERMSIG(status));
        return stack_error_set(err, EIO, "%s %s: %s%s", what, id, *m ? m : "the runtime failed", hint);
}

/* Reads the runtime's --log-format json log and returns its error messages, one per line. */
char *runtime_read_log(const char *path)
{
        _cleanup_free_ char *text = NULL;
        if (read_full_file(path, &text, NULL, NULL) < 0)
                return xstrdup("");
        struct strbuf b = {0};
        _cleanup_strv_free_ char **lines = strv_split(text, "\n");
        STRV_FOREACH (l, lines) {
                cJSON *j = cJSON_Parse(*l);
                const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "msg");
                const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(j, "level");
                if (cJSON_IsString(msg) && (!cJSON_IsString(lvl) || streq(lvl->valuestring, "error") ||
                                            streq(lvl->valuestring, "fatal"))) {
                        strbuf_puts(&b, msg->valuestring);
                        strbuf_putc(&b, '\n');
                } else if (!j && **l) {
                        strbuf_puts(&b, *l);
                        strbuf_putc(&b, '\n');
                }
                cJSON_Delete(j);
        }
        return strbuf_take(&b);
}

int runtime_create_spawn(struct runtime *rt, const char *id, const char *bundle, int stdio_fd,
                         pid_t *ret_pid, struct stack_error *err)
{
        /* The runtime's own errors go to a log in the bundle: its stdout and stderr are the container's. */
        /* The state directory is made by the first container, not by opening the runtime: commands that
         * only read (ps, up --dry-run) create nothing under the run root. */
        int r = mkdir_p(rt->root, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *logp = path_join(bundle, "runtime.log");
        _cleanup_free_ char *pidp = path_join(bundle, "pid");
        unlink(logp);
        char *args[] = {"--log",         logp,         "--log-format", "json",      "create", "--bundle",
                        (char *) bundle, "--pid-file", pidp,           (char *) id, NULL};
        /* Without a stdio fd the output goes nowhere: the errors are in the log. */
        _cleanup_close_ int null = stdio_fd < 0 ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
        if (stdio_fd < 0 && null < 0)
                return stack_error_errno(err, errno, "open /dev/null");
        return spawn(rt, args, stdio_fd >= 0 ? stdio_fd : null, ret_pid, err);
}

int runtime_create(struct runtime *rt, const char *id, const char *bundle, int stdio_fd,
                   struct stack_error *err)
{
        uint64_t t0 = now_usec();
        pid_t pid;
        int r = runtime_create_spawn(rt, id, bundle, stdio_fd, &pid, err);
        if (r < 0)
                return r;
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "waitpid %s", rt->path);
        __atomic_fetch_add(&rt->busy_usec, now_usec() - t0, __ATOMIC_RELAXED);
        __atomic_fetch_add(&rt->calls, 1, __ATOMIC_RELAXED);
        return runtime_create_finish(rt, id, bundle, status, err);
}

int runtime_create_finish(struct runtime *rt, const char *id, const char *bundle, int status,
                          struct stack_error *err)
{
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        _cleanup_free_ char *logp = path_join(bundle, "runtime.log");
        _cleanup_free_ char *out = runtime_read_log(logp);
        if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SETUP && isempty(out)) {
                free(out);
                out = xstrdup("cannot hide " UNIFIED " from crun in a private mount namespace (needs "
                              "CAP_SYS_ADMIN); use --runtime runc");
        }
        return runtime_failed(rt, "create", id, status, out, err);
}

static int simple(struct runtime *rt, const char *what, char *const *args, const char *id,
                  struct stack_error *err)
{
        _cleanup_free_ char *out = NULL;
        int status;
        int r = run(rt, args, -1, &out, &status, err);
        if (r < 0)
                return r;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return runtime_failed(rt, what, id, status, out, err);
}

int runtime_start(struct runtime *rt, const char *id, struct stack_error *err)
{
        char *args[] = {"start", (char *) id, NULL};
        return simple(rt, "start", args, id, err);
}

int runtime_start_spawn(struct runtime *rt, const char *id, int out_fd, pid_t *ret_pid,
                        struct stack_error *err)
{
        char *args[] = {"start", (char *) id, NULL};
        return spawn(rt, args, out_fd, ret_pid, err);
}

int runtime_start_finish(struct runtime *rt, const char *id, int status, const char *output,
                         struct stack_error *err)
{
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return runtime_failed(rt, "start", id, status, output, err);
}

int runtime_kill(struct runtime *rt, const char *id, int sig, struct stack_error *err)
{
        char s[16];
        snprintf(s, sizeof(s), "%d", sig);
        char *args[] = {"kill", (char *) id, s, NULL};
        return simple(rt, "kill", args, id, err);
}

int runtime_pause(struct runtime *rt, const char *id, struct stack_error *err)
{
        char *args[] = {"pause", (char *) id, NULL};
        return simple(rt, "pause", args, id, err);
}

int runtime_resume(struct runtime *rt, const char *id, struct stack_error *err)
{
        char *args[] = {"resume", (char *) id, NULL};
        return simple(rt, "resume", args, id, err);
}

bool runtime_exists(struct runtime *rt, const char *id)
{
        _cleanup_free_ char *p = path_join(rt->root, id);
        return path_is_dir(p);
}

bool runtime_awaiting_start(struct runtime *rt, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/%s/exec.fifo", rt->root, id);
        return path_exists(p);
}

int runtime_delete(struct runtime *rt, const char *id, bool force, struct stack_error *err)
{
        if (!runtime_exists(rt, id))
                return 0;
        char *args[] = {"delete", force ? "--force" : (char *) id, force ? (char *) id : NULL, NULL};
        _cleanup_error_ struct stack_error e = {0};
        int r = simple(rt, "delete", args, id, &e);
        if (r < 0 && runtime_exists(rt, id)) {
                stack_error_set(err, e.code, "%s", e.msg);
                return r;
        }
        return 0;
}

/* crun deletes every container whose name matches a regular expression in one process: one exec, one
 * private mount namespace and one cgroup walk for a whole project's teardown instead of one each. Names
 * are [A-Za-z0-9][A-Za-z0-9_.-]*, so only the dot needs escaping. */
static char *names_regex(char *const *ids, size_t from, size_t to)
{
        struct strbuf re = {0};
        strbuf_add(&re, "^(", 2);
        for (size_t i = from; i < to; i++) {
                if (i > from)
                        strbuf_add(&re, "|", 1);
                for (const char *c = ids[i]; *c; c++) {
                        if (*c == '.')
                                strbuf_add(&re, "\\", 1);
                        strbuf_add(&re, c, 1);
                }
        }
        strbuf_add(&re, ")$", 2);
        return strbuf_take(&re);
}

int runtime_delete_many(struct runtime *rt, char *const *ids, struct stack_error *err)
{
        if (!startswith(path_basename(rt->path), "crun"))
                return stack_error_set(err, EOPNOTSUPP, "%s deletes one container at a time", rt->path);
        _cleanup_strv_free_ char **present = xcalloc(1, sizeof(char *));
        STRV_FOREACH (id, ids)
                if (runtime_exists(rt, *id))
                        strv_push(&present, *id);
        size_t n = strv_length(present);
        /* Bounded pieces keep each argument far below the kernel's limit for one (128 KiB). */
        for (size_t from = 0; from < n; from += 256) {
                size_t to = from + 256 < n ? from + 256 : n;
                _cleanup_free_ char *re = names_regex(present, from, to);
                char *args[] = {"delete", "--force", "--regex", re, NULL};
                int r = simple(rt, "delete", args, present[from], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static enum runtime_status status_from_string(const char *s)
{
        if (streq(s, "creating"))
                return RUNTIME_CREATING;
        if (streq(s, "created"))
                return RUNTIME_CREATED;
        if (streq(s, "running"))
                return RUNTIME_RUNNING;
        if (streq(s, "paused"))
                return RUNTIME_PAUSED;
        return RUNTIME_STOPPED;
}

const char *runtime_status_to_string(enum runtime_status s)
{
        static const char *const names[] = {"absent", "creating", "created", "running", "stopped", "paused"};
        return s < ELEMENTSOF(names) ? names[s] : "unknown";
}

int runtime_state(struct runtime *rt, const char *id, struct runtime_state *ret, struct stack_error *err)
{
        if (!runtime_exists(rt, id)) {
                *ret = (struct runtime_state){.status = RUNTIME_ABSENT};
                return 0;
        }
        char *args[] = {"state", (char *) id, NULL};
        _cleanup_free_ char *out = NULL;
        int status;
        int r = run(rt, args, -1, &out, &status, err);
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (!runtime_exists(rt, id)) {
                        *ret = (struct runtime_state){.status = RUNTIME_ABSENT};
                        return 0;
                }
                return runtime_failed(rt, "state", id, status, out, err);
        }
        /* crun may print warnings before the JSON document. */
        const char *json = strchr(out, '{');
        cJSON *j = json ? cJSON_Parse(json) : NULL;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
        if (!cJSON_IsString(st)) {
                cJSON_Delete(j);
                return stack_error_set(err, EIO, "state %s: unexpected output from %s: %s", id, rt->path,
                                       out);
        }
        struct runtime_state s = {.status = status_from_string(st->valuestring)};
        if (cJSON_IsNumber(pid) && s.status != RUNTIME_STOPPED)
                s.pid = (pid_t) pid->valuedouble;
        cJSON_Delete(j);
        *ret = s;
        return 0;
}

uint64_t runtime_time_usec(const struct runtime *rt)
{
        return __atomic_load_n(&rt->busy_usec, __ATOMIC_RELAXED);
}

unsigned runtime_calls(const struct runtime *rt)
{
        return __atomic_load_n(&rt->calls, __ATOMIC_RELAXED);
}

int runtime_exec(struct runtime *rt, const char *id, char *const *argv, int out_fd, int *ret_status,
                 struct stack_error *err)
{
        return runtime_exec_with(rt, id, NULL, argv, out_fd, ret_status, err);
}

int runtime_exec_with(struct runtime *rt, const char *id, char *const *opts, char *const *argv, int out_fd,
                      int *ret_status, struct stack_error *err)
{
        char **args = NULL;
        strv_push(&args, "exec");
        STRV_FOREACH (o, opts)
                strv_push(&args, *o);
        strv_push(&args, id);
        STRV_FOREACH (a, argv)
                strv_push(&args, *a);
        _cleanup_strv_free_ char **owned = args;
        _cleanup_close_ int null = -1;
        if (out_fd < 0) {
                null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null < 0)
                        return stack_error_errno(err, errno, "open /dev/null");
                out_fd = null;
        }
        return run(rt, args, out_fd, NULL, ret_status, err);
}

int runtime_exec_spawn(struct runtime *rt, const char *id, const struct runtime_exec_options *o,
                       pid_t *ret_pid, struct stack_error *err)
{
        char **args = NULL;
        if (o->log) {
                strv_push(&args, "--log");
                strv_push(&args, o->log);
                strv_push(&args, "--log-format");
                strv_push(&args, "json");
        }
        strv_push(&args, "exec");
        strv_push(&args, "--process");
        strv_push(&args, o->process);
        if (o->console_socket) {
                strv_push(&args, "--console-socket");
                strv_push(&args, o->console_socket);
        }
        if (o->detach)
                strv_push(&args, "--detach");
        strv_push(&args, id);
        _cleanup_strv_free_ char **owned = args;
        _cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0)
                return stack_error_errno(err, errno, "open /dev/null");
        __atomic_fetch_add(&rt->calls, 1, __ATOMIC_RELAXED);
        return spawn_stdio(rt, args, null, &o->stdio, ret_pid, err);
}

int runtime_run_spawn(struct runtime *rt, const char *id, const char *bundle, const char *console_socket,
                      const struct runtime_stdio *stdio, pid_t *ret_pid, struct stack_error *err)
{
        _cleanup_free_ char *logp = path_join(bundle, "runtime.log");
        _cleanup_free_ char *pidp = path_join(bundle, "pid");
        unlink(logp);
        char **args = NULL;
        strv_push(&args, "--log");
        strv_push(&args, logp);
        strv_push(&args, "--log-format");
        strv_push(&args, "json");
        strv_push(&args, "run");
        strv_push(&args, "--bundle");
        strv_push(&args, bundle);
        strv_push(&args, "--pid-file");
        strv_push(&args, pidp);
        if (console_socket) {
                strv_push(&args, "--console-socket");
                strv_push(&args, console_socket);
        }
        strv_push(&args, id);
        _cleanup_strv_free_ char **owned = args;
        _cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0)
                return stack_error_errno(err, errno, "open /dev/null");
        __atomic_fetch_add(&rt->calls, 1, __ATOMIC_RELAXED);
        return spawn_stdio(rt, args, null, stdio, ret_pid, err);
}
