#!/bin/bash
# Attached `stack up` and Ctrl-C, as compose: the first SIGINT stops the stack gracefully, dependents before
# their dependencies; a second SIGINT kills what is still stopping instead of waiting out the grace period.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

cd "$STACK_TEST_TMP" || exit 1
# `sleep` as a container's first process ignores SIGTERM (the kernel spares a namespace's init signals it
# has no handler for), so only SIGKILL ends these, after their 60 s grace period.
cat >compose.yaml <<'YAML'
name: intr
services:
  db:
    image: stack-example/worker
    command: ["sleep", "600"]
    stop_grace_period: 60s
  app:
    image: stack-example/worker
    command: ["sleep", "600"]
    stop_grace_period: 60s
    depends_on: [db]
YAML
state() { stack ps -a --format json 2>/dev/null | python3 -c "
import json, sys
print(' '.join(c['Service'] + '=' + c['State'] for c in sorted(json.load(sys.stdin), key=lambda c: c['Service'])))"; }

"$STACK_BIN" --progress plain up >"$STACK_TEST_TMP/out" 2>&1 &
up=$!
trap 'kill -KILL $up 2>/dev/null; stack down -t 0 >/dev/null 2>&1' EXIT
both_running() { [ "$(state)" = "app=running db=running" ]; }
ok "attached up brings both services up" wait_until 200 both_running

kill -INT "$up"
ok "the first Ctrl-C says it stops gracefully" wait_until 50 grep -q "Gracefully stopping" "$STACK_TEST_TMP/out"
ok "app, the dependent, is asked to stop first" wait_until 50 grep -q "Container intr-app-1 Stopping" "$STACK_TEST_TMP/out"
sleep 1
is "$(state)" "app=running db=running" "within the grace period both still run (SIGTERM ignored)"
not_ok "db is not asked while its dependent still runs" grep -q "Container intr-db-1 Stopping" "$STACK_TEST_TMP/out"
ok "up is still waiting" kill -0 "$up"

t0=$(date +%s)
kill -INT "$up"
ok "the second Ctrl-C ends up quickly" wait_until 100 bash -c "! kill -0 $up"
kill -0 "$up" 2>/dev/null || wait "$up"
ok "well before the 60 s grace period" test $(($(date +%s) - t0)) -lt 20
is "$(state)" "app=exited db=exited" "both containers were killed"
app_stopped=$(grep -n "Container intr-app-1 Stopped" "$STACK_TEST_TMP/out" | cut -d: -f1)
db_stopping=$(grep -n "Container intr-db-1 Stopping" "$STACK_TEST_TMP/out" | cut -d: -f1)
ok "db was stopped only after app (lines ${app_stopped:-?} < ${db_stopping:-?})" test "${app_stopped:-99}" -lt "${db_stopping:-0}"

ok "down" stack down -t 0
assert_no_residue intr
done_testing
