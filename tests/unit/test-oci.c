/* config.json generation: for compose snippets (services built by hand), the parts of the generated
 * config are compared with the expected JSON. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base/cleanup.h"
#include "core/runtime/oci.h"
#include "core/runtime/seccomp.h"
#include "core/base/util.h"
#include "tap.h"

static void svc_init(struct stack_service *s)
{
        memset(s, 0, sizeof(*s));
        s->name = xstrdup("web");
        s->stop_grace_period_usec = -1;
        s->scale = 1;
}

static char **sv(const char *words)
{
        return strv_split(words, " ");
}

/* Builds the config and returns the item at a dotted path ("process.args"), as compact JSON. */
static char *build_at(const struct oci_input *in, const char *path, int *ret_r, char **ret_err)
{
        struct stack_error err = {0};
        cJSON *c = NULL;
        int r = oci_config_build(in, &c, &err);
        if (ret_r)
                *ret_r = r;
        if (ret_err)
                *ret_err = err.msg ? xstrdup(err.msg) : NULL;
        stack_error_clear(&err);
        if (r < 0)
                return NULL;
        const cJSON *at = c;
        _cleanup_strv_free_ char **parts = strv_split(path, ".");
        STRV_FOREACH (p, parts)
                at = cJSON_GetObjectItemCaseSensitive(at, *p);
        char *out = at ? cJSON_PrintUnformatted(at) : xstrdup("(absent)");
        cJSON_Delete(c);
        return out;
}

/* Compares the JSON at path with expected (whitespace-insensitive, through cJSON). */
static void expect(const struct oci_input *in, const char *path, const char *expected, const char *what)
{
        _cleanup_free_ char *got = build_at(in, path, NULL, NULL);
        cJSON *e = cJSON_Parse(expected);
        _cleanup_free_ char *want = e ? cJSON_PrintUnformatted(e) : xstrdup(expected);
        cJSON_Delete(e);
        is_str(got, want, "%s", what);
}

static void expect_error(const struct oci_input *in, const char *needle, const char *what)
{
        int r = 0;
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ char *got = build_at(in, "", &r, &msg);
        ok(r < 0, "%s: fails", what);
        contains(msg, needle, "%s: message", what);
}

static struct oci_input input(const struct stack_service *s, const struct image_config *img)
{
        return (struct oci_input){.name = "p-web-1",
                                  .service = s,
                                  .image = img,
                                  .rootfs = "/run/stack/containers/p-web-1/rootfs",
                                  .cgroups_path = "/stack/p-web-1",
                                  .machine = "x86_64",
                                  .kernel_release = "6.1.0"};
}

static void test_minimal(void)
{
        struct stack_service s;
        svc_init(&s);
        s.command = sv("echo hi");
        s.command_set = true;
        struct oci_input in = input(&s, NULL);
        expect(
            &in, "process",
            "{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"echo\",\"hi\"],"
            "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
            "\"HOSTNAME=p-web-1\",\"HOME=/root\"],\"cwd\":\"/\","
            "\"capabilities\":{"
            "\"bounding\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
            "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
            "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"],"
            "\"effective\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
            "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
            "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"],"
            "\"permitted\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
            "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
            "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"]},"
            "\"noNewPrivileges\":true}",
            "minimal: process");
        expect(&in, "root", "{\"path\":\"/run/stack/containers/p-web-1/rootfs\",\"readonly\":false}",
               "minimal: root");
        expect(&in, "hostname", "\"p-web-1\"", "minimal: hostname is the container name");
        expect(&in, "mounts",
               "[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\","
               "\"noexec\",\"nodev\"]},"
               "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
               "\"strictatime\",\"mode=755\",\"size=65536k\"]},"
               "{\"destination\":\"/dev/"
               "pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\","
               "\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
               "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\","
               "\"noexec\",\"nodev\",\"ro\"]},"
               "{\"destination\":\"/sys/fs/"
               "cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"ro\","
               "\"nosuid\",\"noexec\",\"nodev\"]},"
               "{\"destination\":\"/dev/"
               "mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\","
               "\"noexec\",\"nodev\"]},"
               "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\","
               "\"noexec\",\"nodev\",\"mode=1777\",\"size=67108864\"]}]",
               "minimal: docker's default mounts");
        expect(&in, "linux.namespaces",
               "[{\"type\":\"mount\"},{\"type\":\"network\"},{\"type\":\"pid\"},{\"type\":\"ipc\"},"
               "{\"type\":\"uts\"}]",
               "minimal: namespaces (a new network namespace)");
        expect(&in, "linux.resources",
               "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"access\":\"m\"},{\"allow\":true,\"type\":\"b\",\"access\":"
               "\"m\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":8,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":7,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":0,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":9,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":2,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":200,\"access\":\"rwm\"}],"
               "\"pids\":{\"limit\":2048}}",
               "minimal: device allowlist, and the default pids limit only");
        expect(&in, "linux.maskedPaths",
               "[\"/proc/asound\",\"/proc/acpi\",\"/proc/interrupts\",\"/proc/kcore\",\"/proc/keys\","
               "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
               "\"/proc/scsi\",\"/sys/firmware\",\"/sys/devices/virtual/powercap\"]",
               "minimal: masked paths");
        expect(&in, "linux.readonlyPaths",
               "[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]",
               "minimal: read-only paths");
        expect(
            &in, "linux.sysctl",
            "{\"net.ipv4.ip_unprivileged_port_start\":\"0\",\"net.ipv4.ping_group_range\":\"0 2147483647\"}",
            "minimal: docker's sysctls for a private network namespace");
        expect(&in, "linux.cgroupsPath", "\"/stack/p-web-1\"", "minimal: cgroups path");
        expect(&in, "linux.seccomp.defaultAction", "\"SCMP_ACT_ERRNO\"",
               "minimal: seccomp denies by default");
        expect(&in, "linux.seccomp.architectures",
               "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]",
               "minimal: seccomp architectures for x86_64");
        expect(&in, "annotations",
               "{\"io.stack.stop-signal\":\"15\",\"io.stack.stop-timeout-usec\":\"10000000\"}",
               "minimal: stop annotations (SIGTERM, 10s)");
        stack_service_free_contents(&s);
}

static void test_args(void)
{
        struct image_config img = {.entrypoint = sv("/entry.sh"), .cmd = sv("serve --port 80")};
        struct {
                const char *entrypoint, *command; /* NULL: unset; "": set but empty */
                const char *want;
        } cases[] = {
            {NULL, NULL, "/entry.sh serve --port 80"},
            {NULL, "run", "/entry.sh run"},
            {"/bin/sh -c", NULL, "/bin/sh -c"}, /* a compose entrypoint resets the image Cmd */
            {"/bin/sh -c", "date", "/bin/sh -c date"},
            {"", NULL, "serve --port 80"}, /* an empty entrypoint clears the image's, keeps its Cmd */
            {"", "date", "date"},
            {NULL, "", "/entry.sh serve --port 80"}, /* an empty command is unset, as docker */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct stack_service s;
                svc_init(&s);
                if (cases[i].entrypoint) {
                        s.entrypoint = *cases[i].entrypoint ? strv_split(cases[i].entrypoint, " ")
                                                            : xcalloc(1, sizeof(char *));
                        s.entrypoint_set = true;
                }
                if (cases[i].command) {
                        s.command = *cases[i].command ? strv_split(cases[i].command, " ")
                                                      : xcalloc(1, sizeof(char *));
                        s.command_set = true;
                }
                char **args = NULL;
                _cleanup_error_ struct stack_error err = {0};
                int r = oci_process_args(&s, &img, &args, &err);
                _cleanup_free_ char *got = r < 0 ? xstrdup(err.msg) : strv_join(args, " ");
                is_str(got, cases[i].want, "args: entrypoint=%s command=%s",
                       cases[i].entrypoint ? cases[i].entrypoint : "(unset)",
                       cases[i].command ? cases[i].command : "(unset)");
                strv_free(args);
                stack_service_free_contents(&s);
        }
        struct stack_service s;
        svc_init(&s);
        char **args = NULL;
        _cleanup_error_ struct stack_error err = {0};
        ok(oci_process_args(&s, NULL, &args, &err) == -EINVAL, "args: no image command and none given");
        contains(err.msg, "no command specified", "args: error message");
        stack_service_free_contents(&s);
        image_config_free(&img);
}

static void test_env_user_cwd(void)
{
        struct image_config img = {.env = sv("PATH=/opt/bin FOO=image BAR=image"),
                                   .cmd = sv("run"),
                                   .working_dir = xstrdup("/srv")};
        struct stack_service s;
        svc_init(&s);
        stack_kvlist_add(&s.environment, "FOO", "service");
        stack_kvlist_add(&s.environment, "UNSET", NULL);
        stack_kvlist_add(&s.environment, "NEW", "1");
        s.tty = true;
        uint32_t gids[] = {44, 50};
        struct user_ids u = {
            .uid = 1000, .gid = 1000, .additional_gids = gids, .n_additional_gids = 2, .home = "/home/app"};
        struct oci_input in = input(&s, &img);
        in.user = &u;
        expect(
            &in, "process.env",
            "[\"PATH=/opt/bin\",\"HOSTNAME=p-web-1\",\"TERM=xterm\",\"FOO=service\",\"BAR=image\",\"NEW=1\","
            "\"HOME=/home/app\"]",
            "env: image PATH wins over the default, service over image, unset keys dropped");
        expect(&in, "process.user", "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[44,50]}", "user ids");
        expect(&in, "process.cwd", "\"/srv\"", "cwd: the image's WorkingDir");
        s.working_dir = xstrdup("/app");
        expect(&in, "process.cwd", "\"/app\"", "cwd: working_dir wins");
        free(s.working_dir);
        s.working_dir = xstrdup("relative");
        expect_error(&in, "must be an absolute path", "cwd: relative working_dir");
        stack_service_free_contents(&s);
        image_config_free(&img);
}

static void test_security(void)
{
        struct stack_service s;
        svc_init(&s);
        s.command = sv("true");
        s.command_set = true;
        s.cap_add = sv("net_admin CAP_SYS_TIME");
        s.cap_drop = sv("MKNOD NET_RAW CHOWN DAC_OVERRIDE FSETID FOWNER SETGID SETUID SETFCAP SETPCAP");
        struct oci_input in = input(&s, NULL);
        expect(&in, "process.capabilities.bounding",
               "[\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\",\"CAP_NET_"
               "ADMIN\","
               "\"CAP_SYS_TIME\"]",
               "cap_add and cap_drop, with or without CAP_, any case");
        strv_free(s.cap_add);
        strv_free(s.cap_drop);
        s.cap_drop = sv("ALL");
        s.cap_add = sv("KILL");
        expect(&in, "process.capabilities.bounding", "[\"CAP_KILL\"]", "cap_drop ALL keeps only cap_add");
        strv_free(s.cap_add);
        strv_free(s.cap_drop);
        s.cap_drop = NULL;
        s.cap_add = sv("BOGUS");
        expect_error(&in, "unknown capability 'BOGUS'", "unknown capability");
        strv_free(s.cap_add);
        s.cap_add = sv("ALL");
        s.cap_drop = sv("SYS_ADMIN");
        in.cap_available = (1ULL << 0) | (1ULL << 21) | (1ULL << 5); /* CHOWN, SYS_ADMIN, KILL */
        expect(&in, "process.capabilities.bounding", "[\"CAP_CHOWN\",\"CAP_KILL\"]",
               "cap_add ALL: every available capability but the dropped");
        strv_free(s.cap_add);
        strv_free(s.cap_drop);
        s.cap_add = s.cap_drop = NULL;

        s.privileged = true;
        expect(&in, "process.capabilities.effective", "[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_SYS_ADMIN\"]",
               "privileged: every available capability");
        expect(&in, "process.noNewPrivileges", "false", "privileged: no no_new_privs");
        expect(&in, "linux.seccomp", "(absent)", "privileged: no seccomp");
        expect(&in, "linux.maskedPaths", "(absent)", "privileged: no masked paths");
        expect(&in, "linux.resources.devices", "[{\"allow\":true,\"access\":\"rwm\"}]",
               "privileged: every device allowed");
        s.privileged = false;
        in.cap_available = 0;

        s.security_opt =
            sv("no-new-privileges=false seccomp:unconfined label=disable systempaths=unconfined");
        expect(&in, "process.noNewPrivileges", "false", "security_opt no-new-privileges=false");
        expect(&in, "linux.seccomp", "(absent)", "security_opt seccomp:unconfined");
        expect(&in, "linux.readonlyPaths", "(absent)", "security_opt systempaths=unconfined");
        strv_free(s.security_opt);
        s.security_opt = sv("seccomp=/p.json");
        expect_error(&in, "the profile was not read", "seccomp=FILE needs the file's text");
        in.seccomp_profile_text =
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
            "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},{\"names\":[\"mount\"],"
            "\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}";
        expect(&in, "linux.seccomp",
               "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
               "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}",
               "seccomp=FILE: flattened for the capabilities granted");
        in.seccomp_profile_text = "not json";
        expect_error(&in, "not a JSON seccomp profile", "seccomp=FILE: invalid");
        in.seccomp_profile_text = NULL;
        strv_free(s.security_opt);
        s.security_opt = sv("apparmor=x bogus=1");
        expect_error(&in, "security_opt 'bogus=1': not supported", "unknown security_opt");
        stack_service_free_contents(&s);
}

static bool seccomp_allows(const cJSON *sc, const char *name, bool with_args)
{
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(sc, "syscalls"))
        {
                const cJSON *action = cJSON_GetObjectItemCaseSensitive(r, "action");
                if (!streq(action->valuestring, "SCMP_ACT_ALLOW"))
                        continue;
                if (!!cJSON_GetObjectItemCaseSensitive(r, "args") != with_args)
                        continue;
                const cJSON *n;
                cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(
                                          r, "names")) if (streq(n->valuestring, name)) return true;
        }
        return false;
}

static void test_seccomp(void)
{
        cJSON *def = seccomp_default_profile();
        char *caps[] = {"CAP_CHOWN", "CAP_KILL", NULL};
        cJSON *sc = NULL;
        _cleanup_error_ struct stack_error err = {0};
        ok(seccomp_profile_to_oci(def, caps, "x86_64", "6.1.0", &sc, &err) == 0,
           "seccomp: default flattens");
        ok(seccomp_allows(sc, "read", false), "seccomp: read allowed");
        ok(seccomp_allows(sc, "ptrace", false), "seccomp: ptrace allowed on kernel >= 4.8");
        ok(seccomp_allows(sc, "arch_prctl", false), "seccomp: arch_prctl on amd64");
        ok(!seccomp_allows(sc, "set_tls", false), "seccomp: no arm-only calls on amd64");
        ok(!seccomp_allows(sc, "mount", false), "seccomp: mount denied without CAP_SYS_ADMIN");
        ok(!seccomp_allows(sc, "reboot", false), "seccomp: reboot denied without CAP_SYS_BOOT");
        ok(seccomp_allows(sc, "clone", true) && !seccomp_allows(sc, "clone", false),
           "seccomp: clone only without namespace flags");
        ok(seccomp_allows(sc, "socket", true) && !seccomp_allows(sc, "socket", false),
           "seccomp: socket restricted by family");
        _cleanup_free_ char *text = cJSON_PrintUnformatted(sc);
        contains(text, "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}",
                 "seccomp: clone3 fails with ENOSYS without CAP_SYS_ADMIN");
        cJSON_Delete(sc);

        char *admin[] = {"CAP_SYS_ADMIN", "CAP_SYS_BOOT", NULL};
        ok(seccomp_profile_to_oci(def, admin, "aarch64", "4.4.0", &sc, &err) == 0,
           "seccomp: with CAP_SYS_ADMIN");
        ok(seccomp_allows(sc, "mount", false) && seccomp_allows(sc, "clone", false) &&
               seccomp_allows(sc, "reboot", false),
           "seccomp: mount, clone, reboot allowed with their capabilities");
        ok(!seccomp_allows(sc, "ptrace", false), "seccomp: ptrace denied on a kernel before 4.8");
        ok(seccomp_allows(sc, "set_tls", false) && !seccomp_allows(sc, "arch_prctl", false),
           "seccomp: arm calls on arm64, not amd64 ones");
        _cleanup_free_ char *t2 =
            cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(sc, "architectures"));
        is_str(t2, "[\"SCMP_ARCH_AARCH64\",\"SCMP_ARCH_ARM\"]", "seccomp: architectures for aarch64");
        cJSON_Delete(sc);
        cJSON_Delete(def);
}

static void test_mounts_resources(void)
{
        struct stack_service s;
        svc_init(&s);
        s.command = sv("true");
        s.command_set = true;
        s.read_only = true;
        s.tmpfs = sv("/run:exec,size=1m /tmp");
        s.resources.shm_size = 1 << 20;
        s.resources.memory = 64 << 20;
        s.resources.cpus = 1.5;
        s.resources.cpu_shares = 512;
        s.resources.pids = 100;
        s.init = true;
        s.init_set = true;
        char *bind_opts[] = {"rbind", "rprivate", NULL};
        struct oci_mount mounts[] = {
            {.destination = "/data/sub", .type = "bind", .source = "/v2", .options = bind_opts},
            {.destination = "/data", .type = "bind", .source = "/v1", .options = bind_opts},
        };
        struct oci_input in = input(&s, NULL);
        in.mounts = mounts;
        in.n_mounts = 2;
        in.init_path = "/usr/bin/tini-static";
        in.swap_limit = true;
        _cleanup_free_ char *all = build_at(&in, "mounts", NULL, NULL);
        cJSON *m = cJSON_Parse(all);
        int n = cJSON_GetArraySize(m);
        is_int(n, 12, "mounts: 7 defaults + 2 tmpfs + 2 binds + init");
        _cleanup_free_ char *tail = NULL;
        {
                struct strbuf b = {0};
                for (int i = 7; i < n; i++) {
                        const cJSON *d =
                            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(m, i), "destination");
                        strbuf_printf(&b, "%s%s", i > 7 ? " " : "", d->valuestring);
                }
                tail = strbuf_take(&b);
        }
        is_str(tail, "/run /tmp /data /data/sub /sbin/docker-init", "mounts: user mounts sorted by depth");
        _cleanup_free_ char *run = cJSON_PrintUnformatted(cJSON_GetArrayItem(m, 7));
        is_str(run,
               "{\"destination\":\"/"
               "run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"exec\",\"nosuid\","
               "\"nodev\",\"size=1m\"]}",
               "tmpfs: the user's exec replaces docker's noexec default");
        _cleanup_free_ char *shm = cJSON_PrintUnformatted(cJSON_GetArrayItem(m, 6));
        contains(shm, "size=1048576", "shm_size");
        cJSON_Delete(m);
        expect(&in, "root.readonly", "true", "read_only");
        expect(&in, "process.args", "[\"/sbin/docker-init\",\"--\",\"true\"]", "init wraps the command");
        expect(&in, "linux.resources.memory", "{\"limit\":67108864,\"swap\":134217728}",
               "mem_limit; swap defaults to as much again");
        expect(&in, "linux.resources.cpu", "{\"shares\":512,\"quota\":150000,\"period\":100000}",
               "cpus, cpu_shares");
        expect(&in, "linux.resources.pids", "{\"limit\":100}", "pids_limit");
        s.resources.memswap = -1;
        expect(&in, "linux.resources.memory", "{\"limit\":67108864,\"swap\":-1}",
               "memswap_limit -1: unlimited");
        in.swap_limit = false;
        expect(&in, "linux.resources.memory", "{\"limit\":67108864}", "no swap limit where the host cannot");
        s.resources.memswap = 1 << 20;
        expect_error(&in, "must not be smaller than mem_limit", "memswap below mem_limit");
        s.resources.memswap = 0;
        in.init_path = NULL;
        expect_error(&in, "no init binary found", "init without tini");
        stack_service_free_contents(&s);
}

static void test_linux_misc(void)
{
        struct stack_service s;
        svc_init(&s);
        s.command = sv("true");
        s.command_set = true;
        s.hostname = xstrdup("db");
        s.domainname = xstrdup("example.org");
        s.stop_signal = xstrdup("SIGQUIT");
        s.stop_grace_period_usec = 3000000;
        s.oom_score_adj = -500;
        s.oom_score_adj_set = true;
        stack_kvlist_add(&s.sysctls, "net.core.somaxconn", "1024");
        stack_kvlist_add(&s.sysctls, "net.ipv4.ip_unprivileged_port_start", "1024");
        s.n_ulimits = 2;
        s.ulimits = xcalloc(2, sizeof(*s.ulimits));
        s.ulimits[0] = (struct stack_ulimit){.name = xstrdup("nofile"), .soft = 1024, .hard = 4096};
        s.ulimits[1] = (struct stack_ulimit){.name = xstrdup("core"), .soft = -1, .hard = -1};
        struct stack_kvlist labels = {0};
        stack_kvlist_add(&labels, "com.docker.compose.project", "p");
        struct oci_input in = input(&s, NULL);
        in.netns_path = "/run/stack/netns/p-web-1";
        in.annotations = &labels;
        expect(&in, "hostname", "\"db\"", "hostname");
        expect(&in, "domainname", "\"example.org\"", "domainname");
        expect(&in, "process.oomScoreAdj", "-500", "oom_score_adj");
        expect(&in, "process.rlimits",
               "[{\"type\":\"RLIMIT_NOFILE\",\"hard\":4096,\"soft\":1024},"
               "{\"type\":\"RLIMIT_CORE\",\"hard\":18446744073709551615,\"soft\":18446744073709551615}]",
               "ulimits, -1 is unlimited");
        expect(&in, "linux.sysctl",
               "{\"net.ipv4.ping_group_range\":\"0 2147483647\",\"kernel.domainname\":\"example.org\","
               "\"net.core.somaxconn\":\"1024\","
               "\"net.ipv4.ip_unprivileged_port_start\":\"1024\"}",
               "sysctls, the service's over docker's defaults");
        expect(&in, "linux.namespaces.1", "(absent)", "(cJSON paths do not index arrays)");
        _cleanup_free_ char *ns = build_at(&in, "linux.namespaces", NULL, NULL);
        contains(ns, "{\"type\":\"network\",\"path\":\"/run/stack/netns/p-web-1\"}", "netns joined by path");
        expect(&in, "annotations",
               "{\"com.docker.compose.project\":\"p\",\"io.stack.stop-signal\":\"3\","
               "\"io.stack.stop-timeout-usec\":\"3000000\"}",
               "labels and the stop settings recorded as annotations");

        in.host_network = true;
        in.netns_path = NULL;
        in.host_hostname = "myhost";
        expect_error(&in, "not allowed with network_mode: host", "net.* sysctls with host network");
        stack_kvlist_free(&s.sysctls);
        ns = (free(ns), build_at(&in, "linux.namespaces", NULL, NULL));
        is_str(ns, "[{\"type\":\"mount\"},{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}]",
               "host network: no network namespace");
        expect(&in, "linux.sysctl", "{\"kernel.domainname\":\"example.org\"}",
               "host network: no network sysctls (the domain name is set through its sysctl too)");
        free(s.hostname);
        s.hostname = NULL;
        expect(&in, "hostname", "\"myhost\"", "host network: the host's hostname");
        s.uts = xstrdup("host");
        expect(&in, "hostname", "(absent)", "uts host: no hostname");
        s.ipc = xstrdup("host");
        _cleanup_free_ char *mounts = build_at(&in, "mounts", NULL, NULL);
        contains(mounts,
                 "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/dev/shm\",\"options\":["
                 "\"rbind\",\"nosuid\",\"noexec\",\"nodev\"]}",
                 "ipc host: the host's /dev/shm");
        ns = (free(ns), build_at(&in, "linux.namespaces", NULL, NULL));
        is_str(ns, "[{\"type\":\"mount\"},{\"type\":\"pid\"}]", "ipc and uts host: no ipc or uts namespace");
        free(s.ipc);
        s.ipc = NULL;
        s.pid = xstrdup("container:x");
        expect_error(&in, "pid: 'container:x' is not supported", "pid container: not yet");
        free(s.pid);
        s.pid = NULL;
        stack_kvlist_add(&s.sysctls, "kernel.panic", "1");
        expect_error(&in, "sysctl 'kernel.panic' is not allowed", "non-namespaced sysctl");
        stack_kvlist_free(&s.sysctls);
        free(s.ulimits[1].name);
        s.ulimits[1].name = xstrdup("bogus");
        expect_error(&in, "unknown limit 'bogus'", "unknown ulimit");
        free(s.ulimits[1].name);
        s.ulimits[1].name = xstrdup("core");
        free(s.stop_signal);
        s.stop_signal = xstrdup("SIGNOPE");
        expect_error(&in, "stop_signal 'SIGNOPE'", "unknown stop signal");
        stack_kvlist_free(&labels);
        stack_service_free_contents(&s);
}

static void test_signals(void)
{
        is_int(oci_signal_parse("SIGTERM"), SIGTERM, "signal: SIGTERM");
        is_int(oci_signal_parse("kill"), SIGKILL, "signal: kill");
        is_int(oci_signal_parse("10"), 10, "signal: number");
        is_int(oci_signal_parse("SIGRTMIN+3"), SIGRTMIN + 3, "signal: SIGRTMIN+3");
        is_int(oci_signal_parse("SIGFOO"), -EINVAL, "signal: unknown");
        is_int(oci_signal_parse("0"), -EINVAL, "signal: 0 is not a signal");
        struct stack_service s;
        svc_init(&s);
        struct image_config img = {.stop_signal = xstrdup("SIGUSR1")};
        _cleanup_error_ struct stack_error err = {0};
        is_int(oci_stop_signal(&s, &img, &err), SIGUSR1, "stop signal: the image's StopSignal");
        s.stop_signal = xstrdup("INT");
        is_int(oci_stop_signal(&s, &img, &err), SIGINT, "stop signal: stop_signal wins");
        is_int(oci_stop_signal(&s, NULL, &err), SIGINT, "stop signal: without image");
        free(s.stop_signal);
        s.stop_signal = NULL;
        is_int(oci_stop_signal(&s, NULL, &err), SIGTERM, "stop signal: SIGTERM by default");
        image_config_free(&img);
        stack_service_free_contents(&s);
}

int main(void)
{
        test_minimal();
        test_args();
        test_env_user_cwd();
        test_security();
        test_seccomp();
        test_mounts_resources();
        test_linux_misc();
        test_signals();
        return done_testing();
}
