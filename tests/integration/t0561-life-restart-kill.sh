#!/bin/bash
# restart (with the dependents whose depends_on entry says restart: true, and --no-deps), kill -s with a
# trap in the container recording the signal, kill's default SIGKILL ending a container for good, and
# stop honouring stop_signal and stop_grace_period.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/life2/data" && cd "$STACK_TEST_TMP/life2" || exit 1
cat >compose.yaml <<'YAML'
name: life2
services:
  db:
    image: stack-example/worker
  app:
    image: stack-example/worker
    depends_on:
      db: {condition: service_started, restart: true}
  side:
    image: stack-example/worker
    restart: always
    depends_on: [db]
  trap:
    image: stack-example/worker
    restart: always
    stop_signal: SIGUSR2
    stop_grace_period: 60s
    volumes: ["./data:/data"]
    command:
      - sh
      - -c
      - |
        trap 'echo USR1 >>/data/signals' USR1
        trap 'echo USR2 >>/data/signals; exit 0' USR2
        echo ready >/data/ready
        while :; do sleep 1 & wait $$!; done
  stubborn:
    image: stack-example/worker
    stop_grace_period: 1s
    command: ["sh", "-c", "trap '' TERM; while :; do sleep 1 & wait $$!; done"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

pids() { # the init pids of the given containers, on one line
        local c
        for c in "$@"; do printf '%s ' "$(ctr_pid "$c")"; done
}

ok "up -d" stack up -d
ok "the trap container is ready" wait_until 200 test -f data/ready

# restart db: app (restart: true) restarts after it; side (a plain dependency) keeps running.
read -r db0 app0 side0 <<<"$(pids life2-db-1 life2-app-1 life2-side-1)"
out=$(stack --progress plain restart db 2>&1)
is "$?" "0" "restart db"
read -r db1 app1 side1 <<<"$(pids life2-db-1 life2-app-1 life2-side-1)"
ok "db has a new init" test "$db1" != "$db0" -a -n "$db1"
ok "app, which depends on db with restart: true, too" test "$app1" != "$app0" -a -n "$app1"
is "$side1" "$side0" "side, without restart: true, was left alone"
db_started=$(printf '%s\n' "$out" | grep -n 'life2-db-1 Started' | cut -d: -f1)
app_stopping=$(printf '%s\n' "$out" | grep -n 'life2-app-1 Stopping' | cut -d: -f1)
ok "app is restarted once db is back" test "${db_started:-99}" -lt "${app_stopping:-0}"
is "$(stack ps -q --status running | sort | tr '\n' ' ')" \
        "life2-app-1 life2-db-1 life2-side-1 life2-stubborn-1 life2-trap-1 " "everything runs"

ok "restart --no-deps db" stack restart --no-deps db
read -r db2 app2 <<<"$(pids life2-db-1 life2-app-1)"
ok "db restarted again" test "$db2" != "$db1" -a -n "$db2"
is "$app2" "$app1" "but not app"
out=$(stack restart nosuch 2>&1)
is "$?" "1" "restart of an unknown service exits 1"
like "$out" "nosuch" "naming it"
not_ok "stop --no-deps is refused (stop has no such flag)" stack stop --no-deps db

# kill -s: the signal reaches the container's init, which keeps running.
trap_pid=$(ctr_pid life2-trap-1)
ok "kill -s SIGUSR1 trap" stack kill -s SIGUSR1 trap
ok "the trap recorded USR1" wait_until 200 grep -qx USR1 data/signals
is "$(ps_field life2-trap-1 State)" "running" "the container still runs"
is "$(ctr_pid life2-trap-1)" "$trap_pid" "with the same init"
not_ok "kill -s with an unknown signal is refused" stack kill -s SIGNOPE trap
out=$(stack kill nosuch 2>&1)
is "$?" "1" "kill of an unknown service exits 1"
like "$out" "nosuch" "naming it"

# stop honours stop_signal: USR2 makes the trap exit 0 by itself, long before its 60 s grace.
ok "stop trap" stack stop trap
is "$(tail -n 1 data/signals)" "USR2" "the trap got its stop_signal"
is "$(ps_field life2-trap-1 State)/$(ps_field life2-trap-1 ExitCode)" "exited/0" "and exited by itself"
ok "start trap" stack start trap
is "$(ps_field life2-trap-1 State)" "running" "it runs again"

# kill's default, SIGKILL, ends it for good: restart: always does not bring it back.
ok "kill trap" stack kill trap
ok "it is exited" wait_until 200 bash -c "[ \"\$('$STACK_BIN' ps -a --format json | python3 -c '
import json, sys
print([c[\"State\"] for c in json.load(sys.stdin) if c[\"Name\"] == \"life2-trap-1\"][0])')\" = exited ]"
is "$(ps_field life2-trap-1 ExitCode)" "137" "killed by SIGKILL"
# The policy is live: side (restart: always) killed behind stack's back after that comes back, and by
# then trap would have come back too had the kill not been recorded as one asked for.
side_pid=$(ctr_pid life2-side-1)
kill -KILL "$side_pid"
ok "side comes back with a new init" wait_until 300 bash -c "p=\$(crun --root '$STACK_RUN_ROOT/runtime' state life2-side-1 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"pid\"] if d[\"status\"] == \"running\" else 0)'); [ -n \"\$p\" ] && [ \"\$p\" != 0 ] && [ \"\$p\" != $side_pid ]"
is "$(ps_field life2-trap-1 State)" "exited" "trap is still exited"

# stop_grace_period: stubborn ignores SIGTERM, so the stop waits its 1 s grace and then kills it.
t0=$(date +%s%N)
ok "stop stubborn" stack stop stubborn
t1=$(date +%s%N)
ok "the stop waited the grace period (>= 1 s)" test $(((t1 - t0) / 1000000)) -ge 1000
is "$(ps_field life2-stubborn-1 ExitCode)" "137" "then killed it"
ok "start stubborn" stack start stubborn
ok "stop -t 0 stubborn" stack stop -t 0 stubborn
is "$(ps_field life2-stubborn-1 ExitCode)" "137" "-t 0 kills at once"

ok "down" stack down -t 0
assert_no_residue life2
done_testing
