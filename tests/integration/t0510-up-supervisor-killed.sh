#!/bin/bash
# The supervisor killed in the middle of an `up` (between the runtime's create and start, or between start
# and recording it): the next `up` starts a new one that watches every container, so exits are seen and
# restart policies applied, and a killed container comes back.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/supk" && cd "$STACK_TEST_TMP/supk" || exit 1
cat >compose.yaml <<'YAML'
name: supk
services:
  a:
    image: stack-example/worker
    restart: always
  b:
    image: stack-example/worker
  flaky:
    image: stack-example/worker
    command: ["sh", "-c", "echo try; sleep 0.5; exit 1"]
    restart: on-failure:2
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT
flaky_done() { [ "$(ps_field supk-flaky-1 State) $(ps_field supk-flaky-1 ExitCode) $(ps_field supk-flaky-1 RestartCount)" = "exited 1 2" ]; }
a_restarted() { [ "$(ps_field supk-a-1 State) $(ps_field supk-a-1 RestartCount)" = "running 1" ]; }
pidfile=$STACK_RUN_ROOT/projects/supk/supervisor.pid

for delay in 0 0.02 0.04 0.08; do
        rm -f "$pidfile"
        "$STACK_BIN" up -d >"$STACK_TEST_TMP/up.log" 2>&1 &
        up=$!
        for _ in $(seq 500); do
                [ -s "$pidfile" ] && break
                sleep 0.01
        done
        sleep "$delay"
        kill -KILL "$(cut -d' ' -f1 "$pidfile")"
        wait "$up"
        diag "supervisor killed $delay s after it started; up: $(tail -n 1 "$STACK_TEST_TMP/up.log")"
        ok "the next up -d succeeds ($delay)" stack up -d
        ok "flaky's exits are seen and its policy applied: exited 1 after 2 restarts" wait_until 100 flaky_done
        is "$(ps_field supk-b-1 State)" "running" "b runs"
        pid=$(ctr_pid supk-a-1)
        kill -KILL "$pid"
        ok "a, killed, is restarted (restart: always): it is watched" \
                wait_until 100 a_restarted
        ok "down" stack down -t 0
        is "$(residue supk)" "" "leaves nothing"
done

trap - EXIT
assert_no_residue supk
done_testing
