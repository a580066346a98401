#!/bin/bash
# `stack exec` against real containers: the command's exit code (126/127 as docker for a command that
# cannot run), -u/-w/-e/--index/--privileged/-d, stdin through a pipe with -T, a real pseudo-terminal when
# stdin is one (tty, window size at start and after a resize, raw mode restored), and the errors for an
# unknown service or one that is not running.
# shellcheck disable=SC2016 # single-quoted $-expressions are the container shell's to expand
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"
ptyrun=$STACK_SRCDIR/tests/integration/pty-run.py

mkdir -p "$STACK_TEST_TMP/ex" && cd "$STACK_TEST_TMP/ex" || exit 1
cat >compose.yaml <<'YAML'
name: ex
services:
  app:
    image: stack-example/worker
    scale: 2
    environment:
      FROM_FILE: "file"
  job:
    image: stack-example/worker
    command: ["true"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

ok "up -d" stack up -d
ok "app-1 runs" wait_until 300 bash -c "'$STACK_BIN' ps --format json | grep -q '\"Name\":\"ex-app-1\".*\"State\":\"running\"'"
ok "app-2 runs" wait_until 300 bash -c "'$STACK_BIN' ps --format json | grep -q '\"Name\":\"ex-app-2\".*\"State\":\"running\"'"

# Exit codes.
stack exec -T app sh -c 'exit 7'
is "$?" "7" "the command's exit code is stack's"
stack exec -T app sh -c 'kill -KILL $$'
is "$?" "137" "a command killed by a signal: 128+9"
err=$(stack exec -T app no-such-command 2>&1)
is "$?" "127" "a command that does not exist: 127"
like "$err" "no-such-command" "and the error names it"
err=$(stack exec -T app /etc/passwd 2>&1)
is "$?" "126" "a file that cannot be executed: 126"

# Options.
is "$(stack exec -T app id -u)" "0" "the container's user by default"
is "$(stack exec -T -u app app id -u)" "1000" "-u by name, from the image's passwd"
is "$(stack exec -T -u 4321:4322 app id -u)" "4321" "-u uid:gid"
is "$(stack exec -T --user 4321:4322 app id -g)" "4322" "and its group"
is "$(stack exec -T -u app app sh -c 'echo $HOME')" "/home/app" "HOME follows the user"
not_ok "-u with an unknown name fails" stack exec -T -u nosuchuser app true
is "$(stack exec -T -w /tmp app pwd)" "/tmp" "-w sets the working directory"
err=$(stack exec -T -w /no/such/dir app pwd 2>&1)
is "$?" "126" "-w to a missing directory cannot run: 126"
is "$(stack exec -T -e FOO=bar -e FROM_FILE=over app sh -c 'echo $FOO $FROM_FILE')" "bar over" "-e adds and overrides"
is "$(stack exec -T app sh -c 'echo $FROM_FILE')" "file" "the container's environment is there"
is "$(PASSED=through stack exec -T -e PASSED app sh -c 'echo $PASSED')" "through" "-e KEY passes our value"
is "$(stack exec -T app hostname)" "$(stack exec -T --index 1 app hostname)" "index 1 is the default"
ok "--index 2 runs in replica 2" bash -c "[ \"\$('$STACK_BIN' exec -T --index 2 app cat /proc/1/cmdline | tr '\0' ' ')\" != '' ] &&
        [ \"\$('$STACK_BIN' exec -T --index 2 app cat /etc/hostname)\" != \"\$('$STACK_BIN' exec -T --index 1 app cat /etc/hostname)\" ]"
err=$(stack exec -T --index 3 app true 2>&1)
is "$?" "1" "--index past the replicas: exit 1"
like "$err" "replica 3" "naming the replica"

# Same confinement as the container: cgroup, capabilities, seccomp.
is "$(stack exec -T app sh -c 'cat /proc/self/cgroup' | md5sum)" "$(stack exec -T app cat /proc/1/cgroup | md5sum)" \
        "the command is in the container's cgroup"
cap_init=$(stack exec -T app sh -c 'grep CapBnd /proc/1/status')
cap_exec=$(stack exec -T app sh -c 'grep CapEff /proc/self/status')
is "${cap_exec#*:}" "${cap_init#*:}" "its capabilities are the container's"
cap_priv=$(stack exec -T --privileged app sh -c 'grep CapEff /proc/self/status')
ok "--privileged gives more" test "${cap_priv#*:}" != "${cap_exec#*:}"
is "$(stack exec -T app sh -c 'grep Seccomp: /proc/self/status' | tr -d '\t ')" "Seccomp:2" "the seccomp filter applies"
is "$(stack exec -T app sh -c 'grep NoNewPrivs /proc/self/status' | tr -d '\t ')" "NoNewPrivs:1" "and no_new_privs"

# stdin, with and without -T.
is "$(printf 'hello\nworld\n' | stack exec -T app cat)" "$(printf 'hello\nworld')" "-T: stdin from a pipe reaches the command"
is "$(printf 'piped\n' | stack exec app cat)" "piped" "stdin that is no terminal: no pty, the pipe is passed on"
out=$(stack exec -T app tty 2>&1)
is "$?" "1" "-T: no terminal inside"
like "$out" "not a tty" "tty says so"

# -d: the command runs on after stack returns.
ok "exec -d returns" stack exec -d app sh -c 'sleep 0.2; echo done >/tmp/detached'
ok "and the command ran" wait_until 100 stack exec -T app grep -q "done" /tmp/detached

# A real terminal: stack's stdin is the slave of a pty the test owns.
out=$(python3 "$ptyrun" --rows 33 --cols 101 -- "$STACK_BIN" exec app sh -c 'tty; stty size; exit 3' 2>"$STACK_TEST_TMP/pty.err")
like "$out" "/dev/pts/" "on a terminal, the command gets a pty"
like "$out" "33 101" "of the caller's window size"
is "$(cat "$STACK_TEST_TMP/pty.err")" "exit=3 termios=same" "its exit code, and the caller's terminal settings restored"
out=$(python3 "$ptyrun" --rows 20 --cols 60 --resize 41 132 --after ready --send go -- \
        "$STACK_BIN" exec app sh -c 'echo ready; read x; stty size' 2>"$STACK_TEST_TMP/pty.err")
like "$out" "41 132" "the window size follows a resize (SIGWINCH)"
is "$(cat "$STACK_TEST_TMP/pty.err")" "exit=0 termios=same" "raw mode restored after it"
out=$(python3 "$ptyrun" -- "$STACK_BIN" exec -T app sh -c 'tty' 2>"$STACK_TEST_TMP/pty.err")
like "$out" "not a tty" "-T on a terminal: no pty"
out=$(python3 "$ptyrun" -- "$STACK_BIN" exec app sh -c 'echo $TERM' 2>/dev/null)
like "$out" "xterm" "TERM is set for the pty"

# Errors.
err=$(stack exec nosuch true 2>&1)
is "$?" "1" "unknown service: exit 1"
like "$err" "no such service: nosuch" "naming it"
ok "job exited" wait_until 300 bash -c "'$STACK_BIN' ps -a --format json | grep -q '\"Name\":\"ex-job-1\".*\"State\":\"exited\"'"
err=$(stack exec job true 2>&1)
is "$?" "1" "a service with no running container: exit 1"
like "$err" "\"job\" is not running" "saying so"
not_ok "exec without a command is a usage error" stack exec app
stack exec --index 0 app true >/dev/null 2>&1
is "$?" "2" "--index 0 is a usage error"

ok "down" stack down -t 0
assert_no_residue ex
done_testing
