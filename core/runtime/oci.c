#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/runtime/oci.h"
#include "core/runtime/seccomp.h"
#include "core/base/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM_SIZE (64LL * 1024 * 1024)
#define CPU_PERIOD 100000

/* Every capability Linux knows, in number order (privileged, cap_add: ALL). */
static const char *const all_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/* Docker's default set: what ordinary images need (chown, setuid to drop root, bind low ports, ...).
 * CAP_NET_RAW stays, as in Docker: busybox's ping (alpine and busybox images) needs a raw socket, since it
 * has no fallback to the ICMP datagram sockets that net.ipv4.ping_group_range opens. A raw socket also lets
 * a container hand-build a packet to the host's 127.0.0.1 through a bridge with route_localnet (the
 * CVE-2020-8558 class): the loopback guard rule stops that, and `cap_drop: [NET_RAW]` removes the means
 * for a service that does not need it. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

/* The pids limit of a container that sets none (podman's default): a fork bomb in one service stops
 * there instead of taking the host. `pids_limit: -1` lifts it. */
#define DEFAULT_PIDS_LIMIT 2048

static const char *const masked_paths[] = {
    "/proc/asound",      "/proc/acpi",          "/proc/interrupts", "/proc/kcore",
    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",          "/sys/firmware",    "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* The device allowlist: deny everything, then allow creating any node (using it is what is guarded) and
 * the devices every container needs. */
static const struct {
        char type;
        int64_t major, minor; /* -1: any */
        const char *access;
} default_device_rules[] = {
    {'c', -1, -1, "m"},    {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"},    {'c', 1, 8, "rwm"},
    {'c', 1, 7, "rwm"},    {'c', 5, 0, "rwm"}, {'c', 1, 5, "rwm"},    {'c', 1, 9, "rwm"},
    {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
};

static cJSON *strv_to_json(char *const *l)
{
        cJSON *a = cJSON_CreateArray();
        STRV_FOREACH (s, l)
                cJSON_AddItemToArray(a, cJSON_CreateString(*s));
        return a;
}

static cJSON *consts_to_json(const char *const *l, size_t n)
{
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(l[i]));
        return a;
}

/* ---- process.args ---- */

int oci_process_args(const struct stack_service *s, const struct image_config *img, char ***ret,
                     struct stack_error *err)
{
        char *const *img_entrypoint = img ? img->entrypoint : NULL;
        char *const *img_cmd = img ? img->cmd : NULL;
        char **args = NULL;
        /* Docker's merge: an entrypoint given by the user replaces the image's and drops the image's Cmd
         * (only the user's command follows it). An explicitly empty entrypoint clears the image's and
         * lets the command (the user's, else the image's) run alone. An empty command counts as unset. */
        bool user_cmd = s->command_set && strv_length(s->command) > 0;
        if (s->entrypoint_set && strv_length(s->entrypoint) > 0) {
                args = strv_copy(s->entrypoint);
                STRV_FOREACH (c, user_cmd ? s->command : NULL)
                        strv_push(&args, *c);
        } else {
                if (!s->entrypoint_set)
                        STRV_FOREACH (e, img_entrypoint)
                                strv_push(&args, *e);
                STRV_FOREACH (c, user_cmd ? s->command : img_cmd)
                        strv_push(&args, *c);
        }
        if (strv_length(args) == 0) {
                strv_free(args);
                return stack_error_set(err, EINVAL,
                                       "no command specified: the image has no Entrypoint or Cmd and the "
                                       "service sets no entrypoint or command");
        }
        *ret = args;
        return 0;
}

/* ---- process.env ---- */

static void env_set(char ***env, const char *key, const char *kv)
{
        size_t kl = strlen(key);
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, key, kl) == 0 && ((*e)[kl] == '=' || (*e)[kl] == 0)) {
                        free(*e);
                        *e = xstrdup(kv);
                        return;
                }
        strv_push(env, kv);
}

static bool env_has(char *const *env, const char *key)
{
        size_t kl = strlen(key);
        STRV_FOREACH (e, env)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
                        return true;
        return false;
}

char **oci_process_env(const struct stack_service *s, const struct image_config *img, const char *hostname,
                       const char *home)
{
        char **env = NULL;
        strv_consume(&env, xstrdup("PATH=" DEFAULT_PATH));
        if (hostname)
                strv_consume(&env, xasprintf("HOSTNAME=%s", hostname));
        if (s->tty)
                strv_push(&env, "TERM=xterm");
        STRV_FOREACH (e, img ? img->env : NULL) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *key = eq ? xstrndup(*e, eq - *e) : xstrdup(*e);
                env_set(&env, key, *e);
        }
        for (size_t i = 0; i < s->environment.n; i++) {
                const struct stack_kv *kv = &s->environment.items[i];
                if (!kv->value)
                        continue; /* a bare KEY unset in the shell: compose leaves it out */
                _cleanup_free_ char *e = xasprintf("%s=%s", kv->key, kv->value);
                env_set(&env, kv->key, e);
        }
        if (home && !env_has(env, "HOME"))
                strv_consume(&env, xasprintf("HOME=%s", home));
        return env;
}

/* ---- capabilities ---- */

static int cap_normalize(const char *in, char **ret, struct stack_error *err)
{
        _cleanup_free_ char *up = NULL;
        if (strncasecmp(in, "CAP_", 4) == 0)
                up = xstrdup(in);
        else
                up = xasprintf("CAP_%s", in);
        for (char *p = up; *p; p++)
                *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        if (streq(up, "CAP_ALL")) {
                *ret = xstrdup("ALL");
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(all_caps); i++)
                if (streq(all_caps[i], up)) {
                        *ret = TAKE_PTR(up);
                        return 0;
                }
        return stack_error_set(err, EINVAL, "unknown capability '%s'", in);
}

static int cap_list(char *const *in, char ***ret, struct stack_error *err)
{
        char **out = NULL;
        STRV_FOREACH (c, in) {
                char *n = NULL;
                int r = cap_normalize(*c, &n, err);
                if (r < 0) {
                        strv_free(out);
                        return r;
                }
                if (strv_contains(out, n))
                        free(n);
                else
                        strv_consume(&out, n);
        }
        *ret = out;
        return 0;
}

int oci_capabilities(const struct stack_service *s, uint64_t available, char ***ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **add = NULL, **drop = NULL;
        int r = cap_list(s->cap_add, &add, err);
        if (r < 0)
                return stack_error_prefix(err, "cap_add");
        r = cap_list(s->cap_drop, &drop, err);
        if (r < 0)
                return stack_error_prefix(err, "cap_drop");

        char **caps = NULL;
        if (s->privileged || strv_contains(add, "ALL")) {
                for (size_t i = 0; i < ELEMENTSOF(all_caps); i++)
                        if ((available == 0 || (available & (1ULL << i))) &&
                            (s->privileged || !strv_contains(drop, all_caps[i])))
                                strv_push(&caps, all_caps[i]);
        } else if (strv_contains(drop, "ALL")) {
                STRV_FOREACH (c, add)
                        strv_push(&caps, *c);
        } else {
                for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                        if (!strv_contains(drop, default_caps[i]))
                                strv_push(&caps, default_caps[i]);
                STRV_FOREACH (c, add)
                        if (!strv_contains(caps, *c))
                                strv_push(&caps, *c);
        }
        *ret = caps;
        return 0;
}

/* ---- security_opt ---- */

static bool parse_bool_word(const char *v, bool *ret)
{
        if (streq(v, "true") || streq(v, "1")) {
                *ret = true;
                return true;
        }
        if (streq(v, "false") || streq(v, "0")) {
                *ret = false;
                return true;
        }
        return false;
}

int oci_security_parse(const struct stack_service *s, struct oci_security *ret, struct stack_error *err)
{
        /* no_new_privs is on by default here (docker leaves it to the daemon's option): a setuid binary in
         * an image cannot raise privileges. `security_opt: [no-new-privileges:false]` turns it off. */
        struct oci_security sec = {.no_new_privileges = true};
        STRV_FOREACH (o, s->security_opt) {
                /* Both "key=value" and the older "key:value" spellings are accepted, as docker does. */
                const char *sep = strpbrk(*o, "=:");
                _cleanup_free_ char *key = sep ? xstrndup(*o, sep - *o) : xstrdup(*o);
                const char *val = sep ? sep + 1 : NULL;
                if (streq(key, "no-new-privileges")) {
                        bool b = true;
                        if (val && !parse_bool_word(val, &b)) {
                                oci_security_done(&sec);
                                return stack_error_set(err, EINVAL, "security_opt '%s': invalid value", *o);
                        }
                        sec.no_new_privileges = b;
                } else if (streq(key, "seccomp") && val) {
                        sec.seccomp_unconfined = streq(val, "unconfined");
                        free(sec.seccomp_profile);
                        sec.seccomp_profile = sec.seccomp_unconfined ? NULL : xstrdup(val);
                } else if (streq(key, "systempaths") && val && streq(val, "unconfined")) {
                        sec.systempaths_unconfined = true;
                } else if (streq(key, "label") || streq(key, "apparmor")) {
                        /* SELinux labels and AppArmor profiles are not applied by stack: a host with
                         * neither enforced is the supported case, so these are accepted and ignored. */
                } else {
                        oci_security_done(&sec);
                        return stack_error_set(err, EINVAL, "security_opt '%s': not supported", *o);
                }
        }
        *ret = sec;
        return 0;
}

void oci_security_done(struct oci_security *sec)
{
        free(sec->seccomp_profile);
        sec->seccomp_profile = NULL;
}

/* ---- signals ---- */

int oci_signal_parse(const char *name)
{
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {
            {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
            {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
            {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
            {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
            {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
            {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
            {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
            {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
            {"SYS", SIGSYS},
        };
        if (isempty(name))
                return -EINVAL;
        char *end;
        long n = strtol(name, &end, 10);
        if (*end == 0)
                return n > 0 && n < NSIG ? (int) n : -EINVAL;
        const char *n2 = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (strcasecmp(sigs[i].name, n2) == 0)
                        return sigs[i].sig;
        int base = 0;
        const char *rest = NULL;
        if (strncasecmp(n2, "RTMIN", 5) == 0) {
                base = SIGRTMIN;
                rest = n2 + 5;
        } else if (strncasecmp(n2, "RTMAX", 5) == 0) {
                base = SIGRTMAX;
                rest = n2 + 5;
        }
        if (!rest)
                return -EINVAL;
        if (!*rest)
                return base;
        n = strtol(rest, &end, 10);
        if (*end || (rest[0] != '+' && rest[0] != '-'))
                return -EINVAL;
        int sig = base + (int) n;
        return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -EINVAL;
}

int oci_stop_signal(const struct stack_service *s, const struct image_config *img, struct stack_error *err)
{
        const char *name =
            s->stop_signal ? s->stop_signal : (img && img->stop_signal ? img->stop_signal : NULL);
        if (!name)
                return SIGTERM;
        int sig = oci_signal_parse(name);
        if (sig < 0)
                return stack_error_set(err, EINVAL, "stop_signal '%s': unknown signal", name);
        return sig;
}

/* ---- mounts ---- */

static cJSON *mount_json(const char *dest, const char *type, const char *source, char *const *options)
{
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "destination", dest);
        cJSON_AddStringToObject(m, "type", type);
        cJSON_AddStringToObject(m, "source", source);
        cJSON_AddItemToObject(m, "options", strv_to_json(options));
        return m;
}

static size_t path_depth(const char *p)
{
        size_t n = 0;
        for (; *p; p++)
                if (*p == '/' && p[1] && p[1] != '/')
                        n++;
        return n;
}

/* Merges user tmpfs options over docker's defaults: the user's flag wins over its opposite, a key=value
 * replaces the same key. */
static void tmpfs_option_add(char ***opts, const char *o)
{
        static const char *const pairs[][2] = {
            {"exec", "noexec"}, {"suid", "nosuid"},   {"dev", "nodev"},
            {"rw", "ro"},       {"atime", "noatime"}, {"diratime", "nodiratime"},
        };
        const char *eq = strchr(o, '=');
        size_t kl = eq ? (size_t) (eq - o) : strlen(o);
        for (char **e = *opts; e && *e; e++) {
                bool same = eq ? strncmp(*e, o, kl + 1) == 0 : streq(*e, o);
                bool opposite = false;
                for (size_t i = 0; !eq && i < ELEMENTSOF(pairs); i++)
                        if ((streq(o, pairs[i][0]) && streq(*e, pairs[i][1])) ||
                            (streq(o, pairs[i][1]) && streq(*e, pairs[i][0])))
                                opposite = true;
                if (same || opposite) {
                        free(*e);
                        *e = xstrdup(o);
                        return;
                }
        }
        strv_push(opts, o);
}

struct mount_entry {
        size_t depth, order;
        cJSON *json;
        char *destination;
};

static int mount_entry_cmp(const void *a, const void *b)
{
        const struct mount_entry *x = a, *y = b;
        if (x->depth != y->depth)
                return x->depth < y->depth ? -1 : 1;
        return x->order < y->order ? -1 : x->order > y->order;
}

static void entries_add(struct mount_entry **e, size_t *n, size_t *cap, const char *dest, cJSON *json)
{
        GROW(*e, *cap, *n + 1);
        (*e)[*n] = (struct mount_entry){
            .depth = path_depth(dest), .order = *n, .json = json, .destination = xstrdup(dest)};
        (*n)++;
}

static int tmpfs_mounts(const struct stack_service *s, struct mount_entry **e, size_t *n, size_t *cap,
                        struct stack_error *err)
{
        STRV_FOREACH (t, s->tmpfs) {
                const char *colon = strchr(*t, ':');
                _cleanup_free_ char *dest = colon ? xstrndup(*t, colon - *t) : xstrdup(*t);
                if (dest[0] != '/')
                        return stack_error_set(err, EINVAL, "tmpfs '%s': the path must be absolute", *t);
                _cleanup_strv_free_ char **opts = NULL;
                strv_push(&opts, "noexec");
                strv_push(&opts, "nosuid");
                strv_push(&opts, "nodev");
                if (colon) {
                        _cleanup_strv_free_ char **user = strv_split(colon + 1, ",");
                        STRV_FOREACH (o, user)
                                if (**o)
                                        tmpfs_option_add(&opts, *o);
                }
                entries_add(e, n, cap, dest, mount_json(dest, "tmpfs", "tmpfs", opts));
        }
        for (size_t i = 0; i < s->n_volumes; i++) {
                const struct stack_mount *m = &s->volumes[i];
                if (m->type != STACK_MOUNT_TMPFS)
                        continue;
                if (!m->target || m->target[0] != '/')
                        return stack_error_set(err, EINVAL, "volumes[%zu]: tmpfs target must be absolute",
                                               i);
                _cleanup_strv_free_ char **opts = NULL;
                strv_push(&opts, "noexec");
                strv_push(&opts, "nosuid");
                strv_push(&opts, "nodev");
                if (m->read_only)
                        strv_push(&opts, "ro");
                if (m->tmpfs_size > 0)
                        strv_consume(&opts, xasprintf("size=%" PRId64, m->tmpfs_size));
                if (m->tmpfs_mode >= 0)
                        strv_consume(&opts, xasprintf("mode=%o", m->tmpfs_mode));
                entries_add(e, n, cap, m->target, mount_json(m->target, "tmpfs", "tmpfs", opts));
        }
        return 0;
}

static bool entries_have(const struct mount_entry *e, size_t n, const char *dest)
{
        for (size_t i = 0; i < n; i++)
                if (streq(e[i].destination, dest))
                        return true;
        return false;
}

static int build_mounts(const struct oci_input *in, cJSON *spec, struct stack_error *err)
{
        const struct stack_service *s = in->service;
        struct mount_entry *user = NULL;
        size_t n = 0, cap = 0;
        int r = tmpfs_mounts(s, &user, &n, &cap, err);
        for (size_t i = 0; r >= 0 && i < in->n_mounts; i++) {
                const struct oci_mount *m = &in->mounts[i];
                entries_add(&user, &n, &cap, m->destination,
                            mount_json(m->destination, m->type, m->source, m->options));
        }
        if (r >= 0 && s->init) {
                if (!in->init_path)
                        r = stack_error_set(err, ENOENT,
                                            "init: no init binary found on this host (install the Debian "
                                            "package tini)");
                else {
                        char *opts[] = {"bind", "ro", NULL};
                        entries_add(&user, &n, &cap, "/sbin/docker-init",
                                    mount_json("/sbin/docker-init", "bind", in->init_path, opts));
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++) {
                        cJSON_Delete(user[i].json);
                        free(user[i].destination);
                }
                free(user);
                return r;
        }
        if (n > 0)
                qsort(user, n, sizeof(*user), mount_entry_cmp);

        cJSON *mounts = cJSON_AddArrayToObject(spec, "mounts");
        bool priv = s->privileged;
        int64_t shm = s->resources.shm_size > 0 ? s->resources.shm_size : DEFAULT_SHM_SIZE;
        _cleanup_free_ char *shm_opt = xasprintf("size=%" PRId64, shm);
        struct {
                const char *dest, *type, *source;
                const char *opts[8];
        } defaults[] = {
            {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
            {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
            {"/dev/pts",
             "devpts",
             "devpts",
             {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
            {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", priv ? "rw" : "ro"}},
            {"/sys/fs/cgroup", "cgroup", "cgroup", {priv ? "rw" : "ro", "nosuid", "noexec", "nodev"}},
            {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
            {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", shm_opt}},
        };
        bool host_ipc = s->ipc && streq(s->ipc, "host");
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                /* A user mount at the same place (a tmpfs on /dev/shm, say) replaces the default. */
                if (entries_have(user, n, defaults[i].dest))
                        continue;
                if (host_ipc && streq(defaults[i].dest, "/dev/shm")) {
                        /* ipc: host shares the host's POSIX shared memory too (an mqueue mount made in the
                         * host's IPC namespace already shows the host's queues). */
                        char *opts[] = {"rbind", "nosuid", "noexec", "nodev", NULL};
                        cJSON_AddItemToArray(mounts,
                                             mount_json(defaults[i].dest, "bind", defaults[i].dest, opts));
                        continue;
                }
                cJSON_AddItemToArray(mounts,
                                     mount_json(defaults[i].dest, defaults[i].type, defaults[i].source,
                                                (char *const *) defaults[i].opts));
        }
        for (size_t i = 0; i < n; i++) {
                cJSON_AddItemToArray(mounts, user[i].json);
                free(user[i].destination);
        }
        free(user);
        return 0;
}

/* ---- linux ---- */

static cJSON *device_rule(bool allow, char type, int64_t major, int64_t minor, const char *access)
{
        cJSON *d = cJSON_CreateObject();
        cJSON_AddBoolToObject(d, "allow", allow);
        if (type) {
                char t[2] = {type, 0};
                cJSON_AddStringToObject(d, "type", t);
        }
        if (major >= 0)
                cJSON_AddNumberToObject(d, "major", (double) major);
        if (minor >= 0)
                cJSON_AddNumberToObject(d, "minor", (double) minor);
        cJSON_AddStringToObject(d, "access", access);
        return d;
}

static int build_resources(const struct oci_input *in, cJSON *linux_, struct stack_error *err)
{
        const struct stack_service *s = in->service;
        const struct stack_resources *res = &s->resources;
        cJSON *r = cJSON_AddObjectToObject(linux_, "resources");

        cJSON *devs = cJSON_AddArrayToObject(r, "devices");
        if (s->privileged)
                cJSON_AddItemToArray(devs, device_rule(true, 0, -1, -1, "rwm"));
        else {
                cJSON_AddItemToArray(devs, device_rule(false, 0, -1, -1, "rwm"));
                for (size_t i = 0; i < ELEMENTSOF(default_device_rules); i++)
                        cJSON_AddItemToArray(devs, device_rule(true, default_device_rules[i].type,
                                                               default_device_rules[i].major,
                                                               default_device_rules[i].minor,
                                                               default_device_rules[i].access));
                for (size_t i = 0; i < in->n_devices; i++) {
                        const struct oci_device *d = &in->devices[i];
                        cJSON_AddItemToArray(devs, device_rule(true, d->type, d->major, d->minor,
                                                               d->access ? d->access : "rwm"));
                }
        }

        if (res->memory > 0 || res->mem_reservation > 0) {
                cJSON *m = cJSON_AddObjectToObject(r, "memory");
                if (res->memory > 0) {
                        cJSON_AddNumberToObject(m, "limit", (double) res->memory);
                        /* memswap_limit is memory + swap; unset means as much swap as memory, as docker. */
                        int64_t swap = res->memswap;
                        if (swap > 0 && swap < res->memory)
                                return stack_error_set(err, EINVAL,
                                                       "memswap_limit (%" PRId64
                                                       ") must not be smaller than "
                                                       "mem_limit (%" PRId64 ")",
                                                       swap, res->memory);
                        if (swap == 0)
                                swap = 2 * res->memory;
                        if (in->swap_limit)
                                cJSON_AddNumberToObject(m, "swap", (double) swap);
                }
                if (res->mem_reservation > 0)
                        cJSON_AddNumberToObject(m, "reservation", (double) res->mem_reservation);
        }
        if (res->cpus > 0 || res->cpu_shares > 0) {
                cJSON *c = cJSON_AddObjectToObject(r, "cpu");
                if (res->cpu_shares > 0)
                        cJSON_AddNumberToObject(c, "shares", (double) res->cpu_shares);
                if (res->cpus > 0) {
                        cJSON_AddNumberToObject(c, "quota",
                                                (double) (int64_t) (res->cpus * CPU_PERIOD + 0.5));
                        cJSON_AddNumberToObject(c, "period", CPU_PERIOD);
                }
        }
        /* -1 (unlimited) is no pids object at all: crun writes the number as it is, and the kernel refuses
         * "-1" in pids.max. */
        if (res->pids != -1) {
                cJSON *p = cJSON_AddObjectToObject(r, "pids");
                cJSON_AddNumberToObject(p, "limit", (double) (res->pids == 0 ? DEFAULT_PIDS_LIMIT : res->pids));
        }
        return 0;
}

/* Only sysctls that are namespaced may be set for a container (docker's rule). */
static int check_sysctl(const char *key, bool host_network, struct stack_error *err)
{
        static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                          "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                          "kernel.shmmni", "kernel.shm_rmid_forced"};
        for (size_t i = 0; i < ELEMENTSOF(ipc); i++)
                if (streq(key, ipc[i]))
                        return 0;
        if (startswith(key, "fs.mqueue."))
                return 0;
        if (startswith(key, "net.")) {
                if (host_network)
                        return stack_error_set(err, EINVAL,
                                               "sysctl '%s' is not allowed with network_mode: host", key);
                return 0;
        }
        return stack_error_set(err, EINVAL, "sysctl '%s' is not allowed: it is not namespaced", key);
}

static int build_namespaces(const struct oci_input *in, cJSON *linux_, struct stack_error *err)
{
        const struct stack_service *s = in->service;
        struct {
                const char *type, *mode, *key;
        } ns[] = {{"pid", s->pid, "pid"}, {"ipc", s->ipc, "ipc"}, {"uts", s->uts, "uts"}};
        cJSON *a = cJSON_AddArrayToObject(linux_, "namespaces");
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "type", "mount");
        cJSON_AddItemToArray(a, m);
        if (!in->host_network) {
                cJSON *n = cJSON_CreateObject();
                cJSON_AddStringToObject(n, "type", "network");
                if (in->netns_path)
                        cJSON_AddStringToObject(n, "path", in->netns_path);
                cJSON_AddItemToArray(a, n);
        }
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                if (ns[i].mode && streq(ns[i].mode, "host"))
                        continue;
                if (ns[i].mode && !streq(ns[i].mode, "private") && !streq(ns[i].mode, "shareable"))
                        return stack_error_set(err, ENOTSUP, "%s: '%s' is not supported", ns[i].key,
                                               ns[i].mode);
                cJSON *n = cJSON_CreateObject();
                cJSON_AddStringToObject(n, "type", ns[i].type);
                cJSON_AddItemToArray(a, n);
        }
        bool cgroupns = in->cgroup_v2;
        if (s->cgroup)
                cgroupns = streq(s->cgroup, "private");
        if (cgroupns) {
                cJSON *n = cJSON_CreateObject();
                cJSON_AddStringToObject(n, "type", "cgroup");
                cJSON_AddItemToArray(a, n);
        }
        return 0;
}

static const char *rlimit_name(const char *u)
{
        static const char *const map[][2] = {
            {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},
            {"data", "RLIMIT_DATA"},         {"fsize", "RLIMIT_FSIZE"},
            {"locks", "RLIMIT_LOCKS"},       {"memlock", "RLIMIT_MEMLOCK"},
            {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
            {"nofile", "RLIMIT_NOFILE"},     {"nproc", "RLIMIT_NPROC"},
            {"rss", "RLIMIT_RSS"},           {"rtprio", "RLIMIT_RTPRIO"},
            {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
            {"stack", "RLIMIT_STACK"},       {"as", "RLIMIT_AS"},
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(map[i][0], u))
                        return map[i][1];
        return NULL;
}

static int build_process(const struct oci_input *in, const char *hostname, char *const *caps, bool nnp,
                         cJSON *spec, struct stack_error *err)
{
        const struct stack_service *s = in->service;
        cJSON *p = cJSON_AddObjectToObject(spec, "process");
        cJSON_AddBoolToObject(p, "terminal", false);

        cJSON *u = cJSON_AddObjectToObject(p, "user");
        cJSON_AddNumberToObject(u, "uid", in->user ? in->user->uid : 0);
        cJSON_AddNumberToObject(u, "gid", in->user ? in->user->gid : 0);
        if (in->user && in->user->n_additional_gids > 0) {
                cJSON *g = cJSON_AddArrayToObject(u, "additionalGids");
                for (size_t i = 0; i < in->user->n_additional_gids; i++)
                        cJSON_AddItemToArray(g, cJSON_CreateNumber(in->user->additional_gids[i]));
        }

        _cleanup_strv_free_ char **args = NULL;
        int r = oci_process_args(s, in->image, &args, err);
        if (r < 0)
                return r;
        if (s->init) {
                /* tini as PID 1 reaps orphans and forwards signals; "--" ends its own options. */
                char **wrapped = NULL;
                strv_push(&wrapped, "/sbin/docker-init");
                strv_push(&wrapped, "--");
                STRV_FOREACH (a, args)
                        strv_push(&wrapped, *a);
                strv_free(args);
                args = wrapped;
        }
        cJSON_AddItemToObject(p, "args", strv_to_json(args));

        _cleanup_strv_free_ char **env = oci_process_env(s, in->image, hostname,
                                                         !in->user        ? "/root"
                                                         : in->user->home ? in->user->home
                                                                          : "/");
        cJSON_AddItemToObject(p, "env", strv_to_json(env));

        const char *cwd = !isempty(s->working_dir)                        ? s->working_dir
                          : in->image && !isempty(in->image->working_dir) ? in->image->working_dir
                                                                          : "/";
        if (cwd[0] != '/')
                return stack_error_set(err, EINVAL, "working_dir '%s': must be an absolute path", cwd);
        cJSON_AddStringToObject(p, "cwd", cwd);

        cJSON *c = cJSON_AddObjectToObject(p, "capabilities");
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                cJSON_AddItemToObject(c, sets[i], strv_to_json(caps));

        if (s->n_ulimits > 0) {
                cJSON *rl = cJSON_AddArrayToObject(p, "rlimits");
                for (size_t i = 0; i < s->n_ulimits; i++) {
                        const struct stack_ulimit *ul = &s->ulimits[i];
                        const char *type = rlimit_name(ul->name);
                        if (!type)
                                return stack_error_set(err, EINVAL, "ulimits: unknown limit '%s'", ul->name);
                        if (ul->soft > ul->hard && ul->hard >= 0)
                                return stack_error_set(err, EINVAL,
                                                       "ulimits.%s: soft limit %" PRId64
                                                       " is above the hard limit %" PRId64,
                                                       ul->name, ul->soft, ul->hard);
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "type", type);
                        /* -1 is unlimited: RLIM_INFINITY as an unsigned 64-bit number. */
                        cJSON_AddNumberToObject(o, "hard",
                                                ul->hard < 0 ? 18446744073709551615.0 : (double) ul->hard);
                        cJSON_AddNumberToObject(o, "soft",
                                                ul->soft < 0 ? 18446744073709551615.0 : (double) ul->soft);
                        cJSON_AddItemToArray(rl, o);
                }
        }
        cJSON_AddBoolToObject(p, "noNewPrivileges", nnp);
        if (s->oom_score_adj_set)
                cJSON_AddNumberToObject(p, "oomScoreAdj", s->oom_score_adj);
        return 0;
}

int oci_config_build(const struct oci_input *in, cJSON **ret, struct stack_error *err)
{
        const struct stack_service *s = in->service;
        _cleanup_(cJSON_Deletep) cJSON *spec = cJSON_CreateObject();
        cJSON_AddStringToObject(spec, "ociVersion", "1.0.2");

        _cleanup_strv_free_ char **caps = NULL;
        int r = oci_capabilities(s, in->cap_available, &caps, err);
        if (r < 0)
                return r;
        struct oci_security sec;
        r = oci_security_parse(s, &sec, err);
        if (r < 0)
                return r;
        bool nnp = sec.no_new_privileges && !s->privileged;
        bool unconfined = sec.seccomp_unconfined || s->privileged;
        bool systempaths = !sec.systempaths_unconfined && !s->privileged;
        bool custom_seccomp = sec.seccomp_profile != NULL;
        oci_security_done(&sec);
        if (custom_seccomp && !in->seccomp_profile_text && !unconfined)
                return stack_error_set(err, EINVAL, "security_opt seccomp: the profile was not read");

        bool host_uts = s->uts && streq(s->uts, "host");
        const char *hostname = !isempty(s->hostname)                   ? s->hostname
                               : in->host_network && in->host_hostname ? in->host_hostname
                                                                       : in->name;
        if (host_uts)
                hostname = NULL;

        r = build_process(in, hostname, caps, nnp, spec, err);
        if (r < 0)
                return r;

        cJSON *root = cJSON_AddObjectToObject(spec, "root");
        cJSON_AddStringToObject(root, "path", in->rootfs);
        cJSON_AddBoolToObject(root, "readonly", s->read_only);
        if (hostname)
                cJSON_AddStringToObject(spec, "hostname", hostname);
        if (!isempty(s->domainname) && !host_uts)
                cJSON_AddStringToObject(spec, "domainname", s->domainname);

        r = build_mounts(in, spec, err);
        if (r < 0)
                return r;

        cJSON *linux_ = cJSON_AddObjectToObject(spec, "linux");
        if (in->cgroups_path)
                cJSON_AddStringToObject(linux_, "cgroupsPath", in->cgroups_path);
        r = build_namespaces(in, linux_, err);
        if (r < 0)
                return r;
        r = build_resources(in, linux_, err);
        if (r < 0)
                return r;

        if (in->n_devices > 0) {
                cJSON *devs = cJSON_AddArrayToObject(linux_, "devices");
                for (size_t i = 0; i < in->n_devices; i++) {
                        const struct oci_device *d = &in->devices[i];
                        cJSON *o = cJSON_CreateObject();
                        char t[2] = {d->type, 0};
                        cJSON_AddStringToObject(o, "path", d->path);
                        cJSON_AddStringToObject(o, "type", t);
                        cJSON_AddNumberToObject(o, "major", (double) d->major);
                        cJSON_AddNumberToObject(o, "minor", (double) d->minor);
                        cJSON_AddNumberToObject(o, "fileMode", d->file_mode);
                        cJSON_AddNumberToObject(o, "uid", d->uid);
                        cJSON_AddNumberToObject(o, "gid", d->gid);
                        cJSON_AddItemToArray(devs, o);
                }
        }

        cJSON *sysctl = cJSON_CreateObject();
        if (!in->host_network) {
                /* Docker's defaults for a private network namespace: any user may bind low ports and
                 * send ICMP echo (ping without setuid or CAP_NET_RAW). */
                cJSON_AddStringToObject(sysctl, "net.ipv4.ip_unprivileged_port_start", "0");
                cJSON_AddStringToObject(sysctl, "net.ipv4.ping_group_range", "0 2147483647");
        }
        /* runc before 1.2 ignores the domainname field; the UTS namespace's sysctl works everywhere. */
        if (!isempty(s->domainname) && !host_uts)
                cJSON_AddStringToObject(sysctl, "kernel.domainname", s->domainname);
        for (size_t i = 0; i < s->sysctls.n; i++) {
                const struct stack_kv *kv = &s->sysctls.items[i];
                r = check_sysctl(kv->key, in->host_network, err);
                if (r < 0) {
                        cJSON_Delete(sysctl);
                        return r;
                }
                cJSON_DeleteItemFromObjectCaseSensitive(sysctl, kv->key);
                cJSON_AddStringToObject(sysctl, kv->key, kv->value ? kv->value : "");
        }
        if (cJSON_GetArraySize(sysctl) > 0)
                cJSON_AddItemToObject(linux_, "sysctl", sysctl);
        else
                cJSON_Delete(sysctl);

        if (systempaths) {
                cJSON_AddItemToObject(linux_, "maskedPaths",
                                      consts_to_json(masked_paths, ELEMENTSOF(masked_paths)));
                cJSON_AddItemToObject(linux_, "readonlyPaths",
                                      consts_to_json(readonly_paths, ELEMENTSOF(readonly_paths)));
        }

        if (!unconfined) {
                cJSON *sc = NULL;
                if (in->seccomp_profile_text)
                        r = seccomp_profile_parse(in->seccomp_profile_text, "security_opt seccomp", caps,
                                                  in->machine, in->kernel_release, &sc, err);
                else
                        r = seccomp_default_oci(caps, in->machine, in->kernel_release, &sc, err);
                if (r < 0)
                        return r;
                cJSON_AddItemToObject(linux_, "seccomp", sc);
        }

        /* Shared or slave bind propagation only works below a root that propagates too. */
        const char *rootprop = NULL;
        for (size_t i = 0; i < s->n_volumes; i++) {
                const char *p = s->volumes[i].bind_propagation;
                if (s->volumes[i].type != STACK_MOUNT_BIND || !p)
                        continue;
                if (strstr(p, "shared"))
                        rootprop = "rshared";
                else if (strstr(p, "slave") && !rootprop)
                        rootprop = "rslave";
        }
        if (rootprop)
                cJSON_AddStringToObject(linux_, "rootfsPropagation", rootprop);

        cJSON *ann = cJSON_AddObjectToObject(spec, "annotations");
        for (size_t i = 0; in->annotations && i < in->annotations->n; i++)
                if (in->annotations->items[i].value)
                        cJSON_AddStringToObject(ann, in->annotations->items[i].key,
                                                in->annotations->items[i].value);
        r = oci_stop_signal(s, in->image, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *sig = xasprintf("%d", r);
        _cleanup_free_ char *timeout = xasprintf(
            "%" PRId64, s->stop_grace_period_usec >= 0 ? s->stop_grace_period_usec : (int64_t) 10000000);
        cJSON_AddStringToObject(ann, OCI_ANNOTATION_STOP_SIGNAL, sig);
        cJSON_AddStringToObject(ann, OCI_ANNOTATION_STOP_TIMEOUT, timeout);

        *ret = TAKE_PTR(spec);
        return 0;
}
