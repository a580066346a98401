#!/bin/bash
# depends_on with condition service_completed_successfully on a job that exits 1: `up` fails with a
# message naming the job, the dependent is never started, and down still removes everything.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/depfail" && cd "$STACK_TEST_TMP/depfail" || exit 1
cat >compose.yaml <<'YAML'
name: depfail
services:
  migrate:
    image: stack-example/worker
    command: ["sh", "-c", "echo migration failed; exit ${MIGRATE_EXIT:-1}"]
  app:
    image: stack-example/worker
    command: ["sh", "-c", "touch /started; exec worker"]
    depends_on:
      migrate:
        condition: service_completed_successfully
  side:
    image: stack-example/worker
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

for mode in -d "-d --wait" ""; do
        # shellcheck disable=SC2086 # $mode is a list of flags
        out=$(timeout 60 "$STACK_BIN" up $mode 2>&1)
        rc=$?
        ok "up $mode fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
        like "$out" "service \"migrate\" didn't complete successfully" "the message names the failed dependency"
        like "$out" "exited (1)" "and its exit code"
        state=$(stack ps -a --format json | python3 -c "
import json,sys
for c in json.load(sys.stdin):
    if c['Service']=='migrate': print(c['State'], c['ExitCode'])")
        is "$state" "exited 1" "migrate ran and exited 1"
        is "$(stack ps -a -q --status running app)" "" "app is not running"
        started=$(stack ps -a --format json | python3 -c "
import json,sys
print(' '.join(c['Name'] for c in json.load(sys.stdin) if c['Service']=='app' and c.get('StartedAt')))")
        is "$started" "" "and was never started"
        ok "down" stack down -t 1
        is "$(residue depfail)" "" "leaves nothing"
done

ok "once the job succeeds, up -d --wait works" env MIGRATE_EXIT=0 "$STACK_BIN" up -d --wait --wait-timeout 40
is "$(stack ps -q --status running app)" "depfail-app-1" "and app runs"
ok "down" stack down -t 1
trap - EXIT
assert_no_residue depfail
done_testing
