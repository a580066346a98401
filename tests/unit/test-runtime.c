/* The runtime driver against a fake runtime (a shell script): the command lines it builds, how it reads
 * state, and how runtime errors become messages. No privileges needed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/runtime/runtime.h"
#include "core/base/util.h"
#include "tap.h"

/* Records its arguments in $dir/args, and behaves by subcommand. */
static const char fake[] =
    "#!/bin/sh\n"
    "dir=$(dirname \"$0\")\n"
    "echo \"$@\" >>\"$dir/args\"\n"
    "root=$2; shift 2\n"
    "log=\n"
    "if [ \"$1\" = --log ]; then log=$2; shift 4; fi\n"
    "cmd=$1; shift\n"
    "case $cmd in\n"
    "create)\n"
    "  eval id=\\${$#}\n"
    "  if [ \"$id\" = bad ]; then\n"
    "    echo '{\"msg\":\"a warning\",\"level\":\"warning\"}' >>\"$log\"\n"
    "    echo '{\"msg\":\"executable file `nope` not found\",\"level\":\"error\"}' >>\"$log\"; exit 1; fi\n"
    "  mkdir -p \"$root/$id\"; : >\"$root/$id/exec.fifo\"; echo \"to the container's log\"; exit 0;;\n"
    "start) if [ \"$1\" != hybrid ]; then rm -f \"$root/$1/exec.fifo\"; exit 0; fi;;\n"
    "state)\n"
    "  [ -d \"$root/$1\" ] || { echo \"container $1 does not exist\" >&2; exit 1; }\n"
    "  echo 'a warning line first'\n"
    "  echo '{\"ociVersion\":\"1.0.2\",\"id\":\"'$1'\",\"status\":\"running\",\"pid\":4242}'; exit 0;;\n"
    "kill) [ \"$1\" = gone ] && { echo 'container not running' >&2; exit 1; }; exit 0;;\n"
    "delete) [ \"$1\" = --force ] && shift; rmdir \"$root/$1\"; exit 0;;\n"
    "exec) shift; \"$@\"; exit $?;;\n"
    "esac\n"
    "echo 'cgroups in hybrid mode not supported, drop all controllers from cgroupv2' >&2; exit 1\n";

int main(void)
{
        char tmpl[] = "/tmp/test-runtime.XXXXXX";
        char *dir = mkdtemp(tmpl);
        ok(dir != NULL, "temporary directory");
        _cleanup_free_ char *bin = path_join(dir, "fake-runtime");
        _cleanup_free_ char *state = path_join(dir, "state");
        _cleanup_free_ char *args = path_join(dir, "args");
        _cleanup_free_ char *bundle = path_join(dir, "bundle");
        _cleanup_error_ struct stack_error err = {0};
        write_file_atomic(bin, fake, strlen(fake), 0755, &err);
        mkdir(bundle, 0700);

        struct runtime *rt = NULL;
        _cleanup_error_ struct stack_error e0 = {0};
        is_int(runtime_new("/nonexistent/crun", state, &rt, &e0), -ENOENT, "a missing runtime");
        contains(e0.msg, "install crun or runc", "the error says what to do");
        ok(runtime_new(bin, state, &rt, &err) == 0, "runtime_new");
        ok(!path_exists(state), "opening the runtime creates nothing (read-only commands use it too)");
        ok(!runtime_hides_unified_cgroup(rt), "only crun runs without the cgroup v2 hierarchy");

        _cleanup_free_ char *logp = path_join(dir, "ctr.log");
        int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        ok(runtime_create(rt, "c1", bundle, logfd, &err) == 0, "create");
        ok(path_is_dir(state), "the first create makes the state root");
        close(logfd);
        _cleanup_free_ char *logtext = NULL;
        read_full_file(logp, &logtext, NULL, &err);
        is_str(logtext, "to the container's log\n", "the runtime's stdout is the container's log");
        _cleanup_free_ char *a = NULL;
        read_full_file(args, &a, NULL, &err);
        _cleanup_free_ char *want =
            xasprintf("--root %s --log %s/runtime.log --log-format json create --bundle %s "
                      "--pid-file %s/pid c1\n",
                      state, bundle, bundle, bundle);
        is_str(a, want, "create's command line");
        ok(runtime_exists(rt, "c1"), "exists after create");
        ok(runtime_awaiting_start(rt, "c1"), "created, not started: the exec fifo is there");
        ok(runtime_start(rt, "c1", &err) == 0, "start");
        ok(!runtime_awaiting_start(rt, "c1"), "started: no exec fifo");

        struct runtime_state st;
        ok(runtime_state(rt, "c1", &st, &err) == 0, "state");
        is_str(runtime_status_to_string(st.status), "running", "state: status (after a warning line)");
        is_int(st.pid, 4242, "state: pid");
        ok(runtime_state(rt, "nope", &st, &err) == 0 && st.status == RUNTIME_ABSENT,
           "state of an unknown container: absent, without running the runtime");

        _cleanup_error_ struct stack_error e1 = {0};
        is_int(runtime_create(rt, "bad", bundle, -1, &e1), -EIO, "a failing create");
        is_str(e1.msg, "create bad: executable file `nope` not found",
               "the runtime's error from its JSON log, warnings left out");
        _cleanup_error_ struct stack_error e2 = {0};
        ok(runtime_kill(rt, "gone", SIGTERM, &e2) < 0, "a failing kill");
        is_str(e2.msg, "kill gone: container not running", "the runtime's stderr becomes the message");
        _cleanup_error_ struct stack_error e3 = {0};
        ok(runtime_start(rt, "hybrid", &e3) < 0, "crun's hybrid cgroup refusal");
        contains(e3.msg, "cgroups in hybrid mode not supported", "its message");
        contains(e3.msg, "use --runtime runc", "and what to do about it");
        int status = 0;
        char *argv[] = {"sh", "-c", "exit 7", NULL};
        ok(runtime_exec(rt, "c1", argv, -1, &status, &err) == 0, "exec");
        is_int(WEXITSTATUS(status), 7, "exec: the command's exit status");

        ok(runtime_delete(rt, "c1", true, &err) == 0, "delete");
        ok(!runtime_exists(rt, "c1"), "gone after delete");
        ok(runtime_delete(rt, "c1", true, &err) == 0, "deleting again is success");
        ok(runtime_calls(rt) >= 6, "calls are counted");

        runtime_free(rt);
        rm_rf(dir, &err);
        return done_testing();
}
