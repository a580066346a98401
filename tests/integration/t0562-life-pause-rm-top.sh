#!/bin/bash
# pause freezes a container (its counter stops once the cgroup freezer reads FROZEN) and unpause thaws it;
# top lists the container's processes; rm removes stopped containers only, -s stops them first, -f does
# not ask, -v takes their anonymous volumes.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/life3/data" && cd "$STACK_TEST_TMP/life3" || exit 1
cat >compose.yaml <<'YAML'
name: life3
services:
  counter:
    image: stack-example/worker
    volumes: ["./data:/data"]
    command: ["sh", "-c", "i=0; while :; do i=$$((i + 1)); echo $$i >>/data/count; sleep 0.05; done"]
  store:
    image: stack-example/worker
    volumes: ["/scratch"]
    stop_grace_period: 1s
    command: ["sh", "-c", "sleep 100000 & sleep 100001 & wait"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

# freezer_state CONTAINER: the cgroup v1 freezer's word on the container (v2: cgroup.freeze, 1 = FROZEN).
freezer_state() {
        local pid path
        pid=$(ctr_pid "$1") || return 1
        path=$(sed -n 's/^[0-9]*:freezer:\(.*\)/\1/p' "/proc/$pid/cgroup")
        if [ -n "$path" ]; then
                cat "/sys/fs/cgroup/freezer$path/freezer.state"
        else
                path=$(sed -n 's/^0::\(.*\)/\1/p' "/proc/$pid/cgroup")
                [ "$(cat "/sys/fs/cgroup$path/cgroup.freeze")" = 1 ] && echo FROZEN || echo THAWED
        fi
}
count() { wc -l <data/count; } # appended to, a line a tick: never caught half-written

ok "up -d" stack up -d
ok "the counter counts" wait_until 200 test -s data/count

# top: the container's processes (its init and the two sleeps it started), in ps -ef's columns.
sleeping() { [ "$(pgrep -c -P "$(ctr_pid life3-store-1)" sleep)" = 2 ]; }
ok "store's two sleeps run" wait_until 200 sleeping
init=$(ctr_pid life3-store-1)
out=$(stack top store)
is "$?" "0" "top store"
is "$(printf '%s\n' "$out" | head -n 1)" "life3-store-1" "top names the container"
is "$(printf '%s\n' "$out" | sed -n 2p | tr -s ' ')" "UID PID PPID C STIME TTY TIME CMD" "then ps -ef's columns"
row=$(printf '%s\n' "$out" | awk -v p="$init" '$2 == p')
like "$row" "sh -c sleep 100000 & sleep 100001 & wait" "the init's row has its command line"
is "$(printf '%s\n' "$row" | awk '{print $1, $6}')" "root ?" "its user and no terminal"
is "$(printf '%s\n' "$out" | awk -v p="$init" '$3 == p {print $2}' | sort -n | tr '\n' ' ')" \
        "$(pgrep -P "$init" | sort -n | tr '\n' ' ')" "and its children, with the init as their parent"
like "$(printf '%s\n' "$out" | awk -v p="$init" '$3 == p')" "sleep 100001" "with their command lines"
is "$(printf '%s\n' "$out" | awk 'NR > 2 && NF' | wc -l)" "3" "three processes in all"
out=$(stack top)
like "$out" "life3-counter-1" "top without a service lists every container"
out=$(stack top nosuch 2>&1)
is "$?" "1" "top of an unknown service exits 1"
like "$out" "nosuch" "naming it"

# pause: once the freezer says FROZEN, the counter stands still.
ok "pause counter" stack pause counter
frozen() { [ "$(freezer_state life3-counter-1)" = FROZEN ]; }
ok "the freezer reads FROZEN" wait_until 200 frozen
is "$(ps_field life3-counter-1 State)" "paused" "ps shows it paused"
like "$(stack ps -q)" "life3-counter-1" "ps without -a lists it, as docker's does"
a=$(count)
sleep 1
b=$(count)
is "$b" "$a" "the counter does not advance while frozen"
out=$(stack pause nosuch 2>&1)
is "$?" "1" "pause of an unknown service exits 1"

# unpause: it counts again.
ok "unpause counter" stack unpause counter
is "$(freezer_state life3-counter-1)" "THAWED" "the freezer reads THAWED"
ok "the counter advances again" wait_until 200 bash -c "[ \"\$(wc -l <data/count)\" -gt $b ]"
is "$(ps_field life3-counter-1 State)" "running" "ps shows it running"

# rm: a running container is not removed without -s.
out=$(stack rm -f counter 2>&1)
is "$?" "0" "rm -f of a running container"
like "$out" "No stopped containers" "says there is nothing stopped"
is "$(ps_field life3-counter-1 State)" "running" "and leaves it running"
# Without -f it asks; no answer is a no.
ok "stop store" stack stop store
vol=$(find "$STACK_ROOT/volumes" -mindepth 1 -maxdepth 1 -name '*scratch*' -o -mindepth 1 -maxdepth 1 -name 'life3-store-1*' | head -n 1)
ok "store has an anonymous volume" test -n "$vol" -a -d "$vol"
out=$(stack rm store </dev/null 2>&1)
like "$out" "Going to remove life3-store-1" "rm asks first"
is "$(ps_field life3-store-1 State)" "exited" "no answer: nothing removed"
out=$(echo y | stack rm -v store 2>&1)
is "$?" "0" "rm -v store, answering y"
not_ok "store is gone from ps -a" ps_field life3-store-1 State
ok "its anonymous volume too" test ! -e "$vol"
# rm -s -f: stops and removes at once.
out=$(stack rm -s -f counter 2>&1)
is "$?" "0" "rm -s -f counter"
like "$out" "Going to remove life3-counter-1" "names what it removes"
not_ok "counter is gone from ps -a" ps_field life3-counter-1 State
not_ok "and from the runtime" crun --root "$STACK_RUN_ROOT/runtime" state life3-counter-1
ok "up -d brings both back" stack up -d
is "$(stack ps -q --status running | sort | tr '\n' ' ')" "life3-counter-1 life3-store-1 " "both run"

# A paused container does not hold up down: it is thawed so that its stop signal and SIGKILL reach it.
ok "pause counter again" stack pause counter
ok "down with a paused container" timeout 120 "$STACK_BIN" down -t 1
assert_no_residue life3
done_testing
