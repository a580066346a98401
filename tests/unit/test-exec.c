/* exec and run without a container: the exit codes, the one-off's name and service, and the terminal
 * relay over a real pty pair. */
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/exec.h"
#include "core/engine/run.h"
#include "core/runtime/console.h"
#include "tests/unit/tap.h"

static int status_exited(int code)
{
        return (code & 0xff) << 8;
}

static void test_exit_codes(void)
{
        is_int(exec_exit_code(status_exited(0), ""), 0, "success");
        is_int(exec_exit_code(status_exited(7), ""), 7, "the command's code");
        is_int(exec_exit_code(status_exited(255), ""), 255, "255 of the command itself (nothing logged)");
        is_int(exec_exit_code(SIGKILL, ""), 128 + SIGKILL, "a signal is 128+N");
        is_int(exec_exit_code(status_exited(255),
                              "executable file `x` not found in $PATH: No such file or directory\n"),
               127, "not found: 127");
        is_int(exec_exit_code(status_exited(255), "open executable: Permission denied\n"), 126,
               "not executable: 126");
        is_int(exec_exit_code(status_exited(255), "chdir `/nope`: No such file or directory\n"), 126,
               "a missing working directory cannot run: 126");
}

static void test_name(void)
{
        _cleanup_free_ char *a = run_container_name("proj", "web");
        _cleanup_free_ char *b = run_container_name("proj", "web");
        ok(startswith(a, "proj-web-run-") && strlen(a) == strlen("proj-web-run-") + 12, "name shape: %s", a);
        ok(strspn(a + strlen("proj-web-run-"), "0123456789abcdef") == 12, "twelve hex digits");
        ok(!streq(a, b), "two names differ");
}

static void test_overrides(void)
{
        struct stack_service svc[2] = {
            {.name = (char *) "db", .scale = 1},
            {.name = (char *) "web", .scale = 2, .n_ports = 1},
        };
        stack_kvlist_set(&svc[1].environment, "A", "1");
        stack_kvlist_set(&svc[1].environment, "B", "2");
        struct stack_project p = {.name = (char *) "proj", .services = svc, .n_services = 2};
        char *cmdv[] = {"sh", "-c", "true", NULL};
        char *env[] = {"B=3", "C=4", NULL};
        char *labels[] = {"x=y", NULL};
        char *caps[] = {"NET_ADMIN", NULL};
        struct run_overrides o = {
            .command = cmdv, .env = env, .labels = labels, .user = "app", .cap_add = caps};
        struct run_project *rp = NULL;
        _cleanup_error_ struct stack_error err = {0};
        is_int(run_project_new(&p, "web", &o, &rp, &err), 0, "run project");
        const struct stack_service *s = stack_project_service(run_project_get(rp), "web");
        ok(s && s != &svc[1], "the service is a copy");
        ok(s && s->command_set && streq(s->command[0], "sh") && strv_length(s->command) == 3, "command");
        ok(s && s->environment.n == 3, "environment merged");
        for (size_t i = 0; s && i < s->environment.n; i++)
                if (streq(s->environment.items[i].key, "B"))
                        is_str(s->environment.items[i].value, "3", "-e wins over the file");
        is_str(s ? s->user : NULL, "app", "user");
        ok(s && s->n_ports == 0, "ports not published without --service-ports");
        ok(s && s->restart.policy == STACK_RESTART_NO, "never restarted");
        ok(s && s->scale == 1, "one container");
        ok(s && strv_contains(s->cap_add, "NET_ADMIN"), "cap_add");
        ok(svc[1].environment.n == 2 && svc[1].n_ports == 1 && !svc[1].command, "the original is untouched");
        run_project_free(rp);
        rp = NULL;
        char *bad[] = {"=x", NULL};
        struct run_overrides ob = {.env = bad};
        ok(run_project_new(&p, "web", &ob, &rp, &err) < 0 && !rp, "-e without a name is refused");
        stack_error_clear(&err);
        ok(run_project_new(&p, "nope", &o, &rp, &err) == -ENOENT, "unknown service");
        contains(err.msg, "nope", "the error names it");
        char *pub[] = {"127.0.0.1:8080:80", "9090:90/udp", "70", NULL};
        struct run_overrides op = {.publish = pub};
        is_int(run_project_new(&p, "web", &op, &rp, &err), 0, "-p");
        s = rp ? stack_project_service(run_project_get(rp), "web") : NULL;
        ok(s && s->n_ports == 3, "three ports, the service's own not among them");
        ok(s && streq_ptr(s->ports[0].host_ip, "127.0.0.1") && s->ports[0].published_start == 8080 &&
               s->ports[0].target == 80 && s->ports[0].protocol == STACK_PROTO_TCP,
           "IP:HOST:CONTAINER");
        ok(s && !s->ports[1].host_ip && s->ports[1].published_start == 9090 && s->ports[1].target == 90 &&
               s->ports[1].protocol == STACK_PROTO_UDP,
           "HOST:CONTAINER/udp");
        ok(s && s->ports[2].published_start == 0 && s->ports[2].target == 70,
           "CONTAINER alone: any host port");
        run_project_free(rp);
        rp = NULL;
        const char *bad_ports[] = {"0", "80:99999", "1-5:1-5", "80/icmp", "a:b:c:d", "x"};
        for (size_t i = 0; i < ELEMENTSOF(bad_ports); i++) {
                char *one[] = {(char *) bad_ports[i], NULL};
                struct run_overrides ob2 = {.publish = one};
                stack_error_clear(&err);
                ok(run_project_new(&p, "web", &ob2, &rp, &err) == -EINVAL && !rp, "-p %s refused",
                   bad_ports[i]);
                contains(err.msg, bad_ports[i], "the error quotes it");
        }
        stack_kvlist_free(&svc[1].environment);
}

/* A child writes to the slave and exits with 3: the relay copies everything to out and returns the status,
 * and the size set on the master is what the child saw. */
static void test_relay(void)
{
        int master, slave;
        struct winsize ws = {.ws_row = 33, .ws_col = 77};
        if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
                ok(true, "# SKIP no pty available");
                return;
        }
        int out[2];
        ok(pipe(out) == 0, "pipe");
        pid_t pid = fork();
        if (pid == 0) {
                close(master);
                struct winsize got;
                char buf[64];
                ioctl(slave, TIOCGWINSZ, &got);
                int n = snprintf(buf, sizeof(buf), "size %d %d\n", got.ws_row, got.ws_col);
                if (write(slave, buf, (size_t) n) < 0)
                        _exit(1);
                for (int i = 0; i < 200; i++)
                        if (write(slave, "0123456789abcdef", 16) < 0)
                                _exit(1);
                _exit(3);
        }
        close(slave);
        int status = -1;
        _cleanup_error_ struct stack_error err = {0};
        is_int(console_relay(master, -1, out[1], pid, &status, &err), 0, "relay");
        close(master);
        close(out[1]);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 3, "the child's status");
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        ok(read_full_fd(out[0], &data, &len) == 0, "read what was relayed");
        close(out[0]);
        ok(data && startswith(data, "size 33 77"), "the size on the master reached the child");
        is_int(len, strlen("size 33 77\r\n") + 200 * 16, "every byte arrived (after the child exited)");
}

int main(void)
{
        test_exit_codes();
        test_name();
        test_overrides();
        test_relay();
        return done_testing();
}
