#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/runtime/seccomp.h"
#include "core/base/util.h"

/* One rule of the default policy. Names are space-separated to keep the table readable. A rule applies
 * when every capability of caps is granted, none of no_caps is, the machine is one of arches (Go
 * architecture names, as profiles use them) and the kernel is at least min_kernel. */
struct rule {
        const char *names;
        const char *action; /* NULL: SCMP_ACT_ALLOW */
        int errno_ret;
        int arg_index; /* -1: no argument condition */
        unsigned long long arg_value;
        const char *arg_op;
        const char *caps, *no_caps;
        const char *arches, *no_arches;
        const char *min_kernel;
};

#define NO_ARG .arg_index = -1

/* What Docker's default profile allows, organised by why. Everything else fails with EPERM. */
static const struct rule default_rules[] = {
    /* Files, directories, descriptors and I/O. */
    {"access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3 faccessat "
     "faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat "
     "fcntl fcntl64 fdatasync flock fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 "
     "futimesat getcwd getdents getdents64 ioctl lchown lchown32 link linkat _llseek lseek lstat lstat64 "
     "mkdir mkdirat mknod mknodat name_to_handle_at newfstatat open openat openat2 pread64 preadv preadv2 "
     "pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv rename renameat renameat2 rmdir "
     "sendfile sendfile64 splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range "
     "syncfs tee truncate truncate64 umask unlink unlinkat utime utimensat utimensat_time64 utimes vmsplice "
     "write writev",
     NO_ARG},
    /* Extended attributes. */
    {"fgetxattr flistxattr fremovexattr fsetxattr getxattr getxattrat lgetxattr listxattr listxattrat "
     "llistxattr lremovexattr lsetxattr removexattr removexattrat setxattr setxattrat",
     NO_ARG},
    /* Polling, events, notification, asynchronous I/O. */
    {"epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old "
     "eventfd eventfd2 fanotify_mark inotify_add_watch inotify_init inotify_init1 inotify_rm_watch "
     "io_cancel "
     "io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit poll ppoll ppoll_time64 "
     "pselect6 pselect6_time64 select _newselect signalfd signalfd4 timerfd_create timerfd_gettime "
     "timerfd_gettime64 timerfd_settime timerfd_settime64 pipe pipe2",
     NO_ARG},
    /* Processes, threads, credentials and scheduling within the container. */
    {"capget capset execve execveat exit exit_group fork vfork wait4 waitid waitpid getcpu getegid "
     "getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid getppid "
     "getpriority getresgid getresgid32 getresuid getresuid32 getrlimit ugetrlimit prlimit64 setrlimit "
     "get_robust_list set_robust_list getrusage getsid gettid getuid getuid32 ioprio_get ioprio_set "
     "membarrier pidfd_open pidfd_send_signal process_mrelease prctl rseq sched_getaffinity sched_getattr "
     "sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler "
     "sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
     "sched_setscheduler sched_yield seccomp setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 "
     "setgroups setgroups32 setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid "
     "setresuid32 setreuid setreuid32 setsid setuid setuid32 set_tid_address get_thread_area "
     "set_thread_area times uname sysinfo restart_syscall landlock_add_rule landlock_create_ruleset "
     "landlock_restrict_self riscv_hwprobe uretprobe",
     NO_ARG},
    /* Memory. */
    {"brk cachestat madvise map_shadow_stack memfd_create memfd_secret mincore mlock mlock2 mlockall mmap "
     "mmap2 mprotect mremap mseal msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect "
     "remap_file_pages",
     NO_ARG},
    /* Signals, timers and clocks (reading; setting the clock needs CAP_SYS_TIME below). */
    {"alarm kill pause rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn "
     "rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack sigprocmask "
     "sigreturn tgkill tkill adjtimex clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 "
     "clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 nanosleep getitimer setitimer "
     "gettimeofday time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 "
     "timer_settime timer_settime64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake "
     "getrandom",
     NO_ARG},
    /* Sockets (socket itself is restricted by family below) and System V / POSIX IPC. */
    {"accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg "
     "recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair ipc "
     "msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64 shmat shmctl shmdt "
     "shmget mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend "
     "mq_timedsend_time64 mq_unlink",
     NO_ARG},
    /* Mount listing is read-only and scoped to the caller's namespace. */
    {"listmount statmount", NO_ARG},
    /* ptrace and cross-process memory access are safe enough since 4.8 (seccomp is rechecked after a
     * tracer changes a system call). */
    {"process_vm_readv process_vm_writev ptrace", NO_ARG, .min_kernel = "4.8"},
    /* Every socket family except AF_ALG (38) and AF_VSOCK (40). */
    {"socket", .arg_index = 0, .arg_value = 38, .arg_op = "SCMP_CMP_LT"},
    {"socket", .arg_index = 0, .arg_value = 39, .arg_op = "SCMP_CMP_EQ"},
    {"socket", .arg_index = 0, .arg_value = 40, .arg_op = "SCMP_CMP_GT"},
    /* personality: only PER_LINUX, PER_LINUX32, UNAME26 variants and the query (0xffffffff). */
    {"personality", .arg_index = 0, .arg_value = 0x0, .arg_op = "SCMP_CMP_EQ"},
    {"personality", .arg_index = 0, .arg_value = 0x8, .arg_op = "SCMP_CMP_EQ"},
    {"personality", .arg_index = 0, .arg_value = 0x20000, .arg_op = "SCMP_CMP_EQ"},
    {"personality", .arg_index = 0, .arg_value = 0x20008, .arg_op = "SCMP_CMP_EQ"},
    {"personality", .arg_index = 0, .arg_value = 0xffffffff, .arg_op = "SCMP_CMP_EQ"},
    /* Architecture-specific calls. */
    {"sync_file_range2 swapcontext", NO_ARG, .arches = "ppc64le"},
    {"arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls", NO_ARG,
     .arches = "arm arm64"},
    {"arch_prctl", NO_ARG, .arches = "amd64 x32"},
    {"modify_ldt", NO_ARG, .arches = "amd64 x32 x86"},
    {"s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", NO_ARG, .arches = "s390 s390x"},
    {"riscv_flush_icache", NO_ARG, .arches = "riscv64"},
    /* Calls that are only meaningful with a capability the container was granted. */
    {"open_by_handle_at", NO_ARG, .caps = "CAP_DAC_READ_SEARCH"},
    {"bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr "
     "lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl "
     "quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare",
     NO_ARG, .caps = "CAP_SYS_ADMIN"},
    /* Without CAP_SYS_ADMIN, clone may not create namespaces: the mask is every CLONE_NEW* flag. */
    {"clone", .arg_index = 0, .arg_value = 0x7E020000, .arg_op = "SCMP_CMP_MASKED_EQ",
     .no_caps = "CAP_SYS_ADMIN", .no_arches = "s390 s390x"},
    {"clone", .arg_index = 1, .arg_value = 0x7E020000, .arg_op = "SCMP_CMP_MASKED_EQ",
     .no_caps = "CAP_SYS_ADMIN", .arches = "s390 s390x"},
    /* clone3 hides its flags in memory seccomp cannot read: report ENOSYS so libc falls back to clone. */
    {"clone3", .action = "SCMP_ACT_ERRNO", .errno_ret = ENOSYS, NO_ARG, .no_caps = "CAP_SYS_ADMIN"},
    {"reboot", NO_ARG, .caps = "CAP_SYS_BOOT"},
    {"chroot", NO_ARG, .caps = "CAP_SYS_CHROOT"},
    {"delete_module init_module finit_module", NO_ARG, .caps = "CAP_SYS_MODULE"},
    {"acct", NO_ARG, .caps = "CAP_SYS_PACCT"},
    {"kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace", NO_ARG,
     .caps = "CAP_SYS_PTRACE"},
    {"iopl ioperm", NO_ARG, .caps = "CAP_SYS_RAWIO"},
    {"settimeofday stime clock_settime clock_settime64", NO_ARG, .caps = "CAP_SYS_TIME"},
    {"vhangup", NO_ARG, .caps = "CAP_SYS_TTY_CONFIG"},
    {"get_mempolicy mbind set_mempolicy set_mempolicy_home_node", NO_ARG, .caps = "CAP_SYS_NICE"},
    {"syslog", NO_ARG, .caps = "CAP_SYSLOG"},
    {"bpf", NO_ARG, .caps = "CAP_BPF"},
    {"perf_event_open", NO_ARG, .caps = "CAP_PERFMON"},
};

static cJSON *words_array(const char *words)
{
        cJSON *a = cJSON_CreateArray();
        _cleanup_strv_free_ char **l = strv_split(words, " ");
        STRV_FOREACH (w, l)
                if (**w)
                        cJSON_AddItemToArray(a, cJSON_CreateString(*w));
        return a;
}

static void add_filter(cJSON *rule, const char *key, const char *caps, const char *arches,
                       const char *min_kernel)
{
        if (!caps && !arches && !min_kernel)
                return;
        cJSON *f = cJSON_AddObjectToObject(rule, key);
        if (caps)
                cJSON_AddItemToObject(f, "caps", words_array(caps));
        if (arches)
                cJSON_AddItemToObject(f, "arches", words_array(arches));
        if (min_kernel)
                cJSON_AddStringToObject(f, "minKernel", min_kernel);
}

cJSON *seccomp_default_profile(void)
{
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "defaultAction", "SCMP_ACT_ERRNO");
        cJSON_AddNumberToObject(p, "defaultErrnoRet", EPERM);
        static const char *const arch_map[][2] = {
            {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86 SCMP_ARCH_X32"},
            {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
            {"SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS SCMP_ARCH_MIPS64N32"},
            {"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS SCMP_ARCH_MIPS64"},
            {"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL SCMP_ARCH_MIPSEL64N32"},
            {"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL SCMP_ARCH_MIPSEL64"},
            {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"},
            {"SCMP_ARCH_RISCV64", NULL},
            {"SCMP_ARCH_PPC64LE", NULL},
            {"SCMP_ARCH_LOONGARCH64", NULL},
        };
        cJSON *am = cJSON_AddArrayToObject(p, "archMap");
        for (size_t i = 0; i < ELEMENTSOF(arch_map); i++) {
                cJSON *a = cJSON_CreateObject();
                cJSON_AddStringToObject(a, "architecture", arch_map[i][0]);
                cJSON_AddItemToObject(a, "subArchitectures",
                                      arch_map[i][1] ? words_array(arch_map[i][1]) : cJSON_CreateArray());
                cJSON_AddItemToArray(am, a);
        }
        cJSON *calls = cJSON_AddArrayToObject(p, "syscalls");
        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++) {
                const struct rule *r = &default_rules[i];
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToObject(o, "names", words_array(r->names));
                cJSON_AddStringToObject(o, "action", r->action ? r->action : "SCMP_ACT_ALLOW");
                if (r->errno_ret)
                        cJSON_AddNumberToObject(o, "errnoRet", r->errno_ret);
                if (r->arg_index >= 0) {
                        cJSON *args = cJSON_AddArrayToObject(o, "args");
                        cJSON *a = cJSON_CreateObject();
                        cJSON_AddNumberToObject(a, "index", r->arg_index);
                        cJSON_AddNumberToObject(a, "value", (double) r->arg_value);
                        cJSON_AddNumberToObject(a, "valueTwo", 0);
                        cJSON_AddStringToObject(a, "op", r->arg_op);
                        cJSON_AddItemToArray(args, a);
                }
                add_filter(o, "includes", r->caps, r->arches, r->min_kernel);
                add_filter(o, "excludes", r->no_caps, r->no_arches, NULL);
                cJSON_AddItemToArray(calls, o);
        }
        return p;
}

/* uname -m -> the architecture names profiles use (Go's) and the libseccomp native architecture. */
static void machine_names(const char *machine, const char **ret_goarch, const char **ret_scmp)
{
        static const char *const map[][3] = {
            {"x86_64", "amd64", "SCMP_ARCH_X86_64"},
            {"aarch64", "arm64", "SCMP_ARCH_AARCH64"},
            {"i686", "386", "SCMP_ARCH_X86"},
            {"i386", "386", "SCMP_ARCH_X86"},
            {"armv7l", "arm", "SCMP_ARCH_ARM"},
            {"s390x", "s390x", "SCMP_ARCH_S390X"},
            {"ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE"},
            {"riscv64", "riscv64", "SCMP_ARCH_RISCV64"},
            {"loongarch64", "loong64", "SCMP_ARCH_LOONGARCH64"},
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(machine, map[i][0])) {
                        *ret_goarch = map[i][1];
                        *ret_scmp = map[i][2];
                        return;
                }
        *ret_goarch = machine;
        *ret_scmp = NULL;
}

static bool array_has_string(const cJSON *a, const char *s)
{
        const cJSON *i;
        cJSON_ArrayForEach(i, a) if (cJSON_IsString(i) && streq(i->valuestring, s)) return true;
        return false;
}

static int kernel_cmp(const char *release, const char *want)
{
        unsigned a1 = 0, a2 = 0, b1 = 0, b2 = 0;
        sscanf(release, "%u.%u", &a1, &a2);
        sscanf(want, "%u.%u", &b1, &b2);
        if (a1 != b1)
                return a1 < b1 ? -1 : 1;
        return a2 < b2 ? -1 : a2 > b2;
}

/* Whether a rule applies to this container, as docker decides it. */
static bool rule_applies(const cJSON *rule, char *const *caps, const char *goarch, const char *release)
{
        const cJSON *inc = cJSON_GetObjectItemCaseSensitive(rule, "includes");
        const cJSON *exc = cJSON_GetObjectItemCaseSensitive(rule, "excludes");
        const cJSON *c;
        if (inc) {
                const cJSON *arches = cJSON_GetObjectItemCaseSensitive(inc, "arches");
                if (cJSON_GetArraySize(arches) > 0 && !array_has_string(arches, goarch))
                        return false;
                cJSON_ArrayForEach(c,
                                   cJSON_GetObjectItemCaseSensitive(
                                       inc, "caps")) if (!cJSON_IsString(c) ||
                                                         !strv_contains(caps, c->valuestring)) return false;
                const cJSON *mk = cJSON_GetObjectItemCaseSensitive(inc, "minKernel");
                if (cJSON_IsString(mk) && kernel_cmp(release, mk->valuestring) < 0)
                        return false;
        }
        if (exc) {
                if (array_has_string(cJSON_GetObjectItemCaseSensitive(exc, "arches"), goarch))
                        return false;
                cJSON_ArrayForEach(c,
                                   cJSON_GetObjectItemCaseSensitive(
                                       exc, "caps")) if (cJSON_IsString(c) &&
                                                         strv_contains(caps, c->valuestring)) return false;
        }
        return true;
}

int seccomp_profile_to_oci(const cJSON *profile, char *const *caps, const char *machine, const char *release,
                           cJSON **ret, struct stack_error *err)
{
        struct utsname u;
        if ((!machine || !release) && uname(&u) == 0) {
                machine = machine ? machine : u.machine;
                release = release ? release : u.release;
        }
        const char *goarch, *scmp_arch;
        machine_names(machine ? machine : "", &goarch, &scmp_arch);

        const cJSON *da = cJSON_GetObjectItemCaseSensitive(profile, "defaultAction");
        if (!cJSON_IsString(da))
                return stack_error_set(err, EINVAL, "seccomp profile: defaultAction is missing");
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "defaultAction", da->valuestring);
        const cJSON *der = cJSON_GetObjectItemCaseSensitive(profile, "defaultErrnoRet");
        if (cJSON_IsNumber(der))
                cJSON_AddNumberToObject(o, "defaultErrnoRet", der->valuedouble);

        const cJSON *arches = cJSON_GetObjectItemCaseSensitive(profile, "architectures");
        const cJSON *arch_map = cJSON_GetObjectItemCaseSensitive(profile, "archMap");
        if (cJSON_GetArraySize(arches) > 0)
                cJSON_AddItemToObject(o, "architectures", cJSON_Duplicate(arches, true));
        else if (arch_map && scmp_arch) {
                /* Only the native architecture and its sub-architectures (x86 and x32 binaries on x86_64).
                 */
                const cJSON *m;
                cJSON_ArrayForEach(m, arch_map)
                {
                        const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "architecture");
                        if (!cJSON_IsString(a) || !streq(a->valuestring, scmp_arch))
                                continue;
                        cJSON *out = cJSON_AddArrayToObject(o, "architectures");
                        cJSON_AddItemToArray(out, cJSON_CreateString(scmp_arch));
                        const cJSON *s;
                        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(m, "subArchitectures"))
                            cJSON_AddItemToArray(out, cJSON_Duplicate(s, false));
                        break;
                }
        }
        const cJSON *flags = cJSON_GetObjectItemCaseSensitive(profile, "flags");
        if (flags)
                cJSON_AddItemToObject(o, "flags", cJSON_Duplicate(flags, true));

        cJSON *out_calls = cJSON_AddArrayToObject(o, "syscalls");
        const cJSON *rule;
        size_t i = 0;
        cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(profile, "syscalls"))
        {
                i++;
                if (!rule_applies(rule, caps, goarch, release ? release : "0.0"))
                        continue;
                const cJSON *names = cJSON_GetObjectItemCaseSensitive(rule, "names");
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(rule, "name");
                const cJSON *action = cJSON_GetObjectItemCaseSensitive(rule, "action");
                if (!cJSON_IsString(action))
                        return stack_error_set(err, EINVAL, "seccomp profile: syscalls[%zu]: no action",
                                               i - 1);
                cJSON *r = cJSON_CreateObject();
                if (cJSON_IsArray(names))
                        cJSON_AddItemToObject(r, "names", cJSON_Duplicate(names, true));
                else if (cJSON_IsString(name)) {
                        cJSON *n = cJSON_AddArrayToObject(r, "names");
                        cJSON_AddItemToArray(n, cJSON_CreateString(name->valuestring));
                } else {
                        cJSON_Delete(r);
                        return stack_error_set(err, EINVAL, "seccomp profile: syscalls[%zu]: no names",
                                               i - 1);
                }
                cJSON_AddStringToObject(r, "action", action->valuestring);
                static const char *const copy[] = {"errnoRet", "args"};
                for (size_t k = 0; k < ELEMENTSOF(copy); k++) {
                        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rule, copy[k]);
                        if (v && !cJSON_IsNull(v))
                                cJSON_AddItemToObject(r, copy[k], cJSON_Duplicate(v, true));
                }
                cJSON_AddItemToArray(out_calls, r);
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static cJSON *default_cached;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_build(void)
{
        default_cached = seccomp_default_profile();
}

int seccomp_default_oci(char *const *caps, const char *machine, const char *release, cJSON **ret,
                        struct stack_error *err)
{
        /* Read-only after it is built, so threads creating containers share it without locks. */
        pthread_once(&default_once, default_build);
        return seccomp_profile_to_oci(default_cached, caps, machine, release, ret, err);
}

int seccomp_profile_parse(const char *text, const char *origin, char *const *caps, const char *machine,
                          const char *release, cJSON **ret, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *p = cJSON_Parse(text);
        if (!p || !cJSON_IsObject(p))
                return stack_error_set(err, EINVAL, "%s: not a JSON seccomp profile", origin);
        int r = seccomp_profile_to_oci(p, caps, machine, release, ret, err);
        if (r < 0)
                return stack_error_prefix(err, "%s", origin);
        return 0;
}
