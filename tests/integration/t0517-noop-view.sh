#!/bin/bash
# A no-op `up` and `ps` answer from the supervisor's view and run no runtime process, with a health-checked
# service and an exited one-shot in the project; yet what happened behind stack's back is still seen: a
# killed container (its reaper, the supervisor, knows), a container the runtime lost, and, with the
# supervisor gone, the runtime's own word. `down` deletes the containers the supervisor stopped in one
# runtime call.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/noop" && cd "$STACK_TEST_TMP/noop" || exit 1
# The runtime through a wrapper that logs each call with the command line of its caller (the CLI or the
# supervisor). Its name starts with "crun": stack treats it as crun.
log=$STACK_TEST_TMP/runtime.log
wrapper=$STACK_TEST_TMP/crun-logged
cat >"$wrapper" <<SH
#!/bin/bash
printf '%s | %s\n' "\$(tr '\0' ' ' </proc/\$PPID/cmdline)" "\$*" >>"$log"
exec crun "\$@"
SH
chmod +x "$wrapper"
export STACK_RUNTIME=$wrapper

cat >compose.yaml <<'YAML'
name: noop
services:
  web:
    image: stack-example/worker
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  once:
    image: stack-example/worker
    command: ["true"]
  plain:
    image: stack-example/worker
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT
# cli_calls VERB: how many runtime calls stack's own CLI (not the supervisor) made with VERB.
cli_calls() { grep -v ' supervise ' "$log" | grep -c " | --root [^ ]* $1 "; }
healthy() { [ "$(ps_field noop-web-1 Health)" = healthy ]; }
once_done() { [ "$(ps_field noop-once-1 State) $(ps_field noop-once-1 ExitCode)" = "exited 0" ]; }

ok "up -d" stack up -d
ok "web becomes healthy" wait_until 300 healthy
ok "once runs to completion" wait_until 300 once_done
web_pid=$(ctr_pid noop-web-1)

: >"$log"
ok "a no-op up -d succeeds" stack up -d
ok "ps succeeds" stack ps -a
is "$(grep -vc ' supervise ' "$log")" "0" "the no-op up and ps ran no runtime process"
is "$(ctr_pid noop-web-1)" "$web_pid" "web was left alone"
is "$(ps_field noop-once-1 State)" "exited" "the one-shot was not run again"

# Killed behind stack's back: the supervisor reaps it, ps says so, and up starts it again.
plain_pid=$(ctr_pid noop-plain-1)
kill -KILL "$plain_pid"
plain_exited() { [ "$(ps_field noop-plain-1 State)" = exited ]; }
ok "ps shows plain, killed, as exited" wait_until 100 plain_exited
ok "up -d after the kill" stack up -d
is "$(ps_field noop-plain-1 State)" "running" "up started plain again"
new_pid=$(ctr_pid noop-plain-1)
ok "with a new process" test -n "$new_pid" -a "$new_pid" != "$plain_pid"

# Lost by the runtime behind stack's back: ps no longer shows it running, and up replaces it.
crun --root "$STACK_RUN_ROOT/runtime" delete -f noop-plain-1
not_ok "ps no longer shows plain running" test "$(ps_field noop-plain-1 State)" = running
ok "up -d after the runtime lost plain" stack up -d
is "$(ps_field noop-plain-1 State)" "running" "up made plain again"

# Without a supervisor, ps asks the runtime: a container killed then is seen as exited.
pidfile=$STACK_RUN_ROOT/projects/noop/supervisor.pid
sup=$(cut -d' ' -f1 "$pidfile")
kill -KILL "$sup"
ok "the supervisor is gone" wait_until 50 bash -c "! kill -0 $sup"
plain_pid=$(ctr_pid noop-plain-1)
kill -KILL "$plain_pid"
ok "the killed container's process is gone" wait_until 50 bash -c "! kill -0 $plain_pid"
not_ok "ps, from the runtime, no longer shows plain running" test "$(ps_field noop-plain-1 State)" = running
ok "up -d brings a supervisor back and plain with it" stack up -d
plain_running() { [ "$(ps_field noop-plain-1 State)" = running ]; }
ok "plain runs again" wait_until 100 plain_running

: >"$log"
ok "down" stack down -t 0
batch=$(grep -v ' supervise ' "$log" | grep -- ' delete --force --regex ')
like "$batch" "noop-web-1" "down deleted web in its batched runtime call"
like "$batch" "noop-plain-1" "and plain in the same call"
is "$(cli_calls delete)" "2" "the exited one-shot, not stopped by down, was deleted on its own"
trap - EXIT
assert_no_residue noop
done_testing
