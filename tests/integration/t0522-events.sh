#!/bin/bash
# stack events: a container that exits 3 and is restarted once by its policy shows create, start, die
# (exitCode 3), restart, start, die (exitCode 3) in that order, timestamped; one whose memory hog the OOM
# killer ends shows oom before its die; down shows kill, die, stop and
# destroy for a running one; --json prints docker compose's shape; a SERVICE argument filters; an events
# command started before `up` sees the first events; an unknown service is an error.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/evt" && cd "$STACK_TEST_TMP/evt" || exit 1
cat >compose.yaml <<'YAML'
name: evt
services:
  fail:
    image: stack-example/worker
    restart: on-failure:1
    command: [sh, -c, 'echo run; exit 3']
  hog:
    image: stack-example/worker
    mem_limit: 16m
    command: [sh, -c, 'dd if=/dev/zero of=/dev/null bs=64M count=1; exit 5']
  sleeper:
    image: stack-example/worker
    command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 1 & wait $$!; done']
YAML
all='' only=''
cleanup() {
        stack down -t 0 >/dev/null 2>&1
        [ -n "$all" ] && kill "$all" 2>/dev/null
        [ -n "$only" ] && kill "$only" 2>/dev/null
}
trap cleanup EXIT

not_ok "an unknown service is an error" stack events nosuch
stack events --json >"$STACK_TEST_TMP/all.json" 2>"$STACK_TEST_TMP/all.err" &
all=$!
stack events fail >"$STACK_TEST_TMP/fail.txt" 2>&1 &
only=$!

ok "up -d" stack up -d
ok "hog died" wait_until 600 bash -c "grep -q '\"action\":\"die\".*\"id\":\"evt-hog-1\"' '$STACK_TEST_TMP/all.json'"
ok "fail died twice (ran, restarted once)" wait_until 600 bash -c "[ \$(grep -c '\"action\":\"die\".*\"id\":\"evt-fail-1\"' '$STACK_TEST_TMP/all.json') -ge 2 ]"
ok "down" stack down -t 5
ok "all were destroyed" wait_until 300 bash -c "[ \$(grep -c '\"action\":\"destroy\"' '$STACK_TEST_TMP/all.json') -ge 3 ]"
kill "$all" "$only"
wait "$all" "$only" 2>/dev/null
all='' only=''


actions() { # the actions of container $1, in order
        python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["id"] == sys.argv[2]:
        a = o["action"]
        if a == "die":
            a += "(" + o["attributes"]["exitCode"] + ")"
        print(a, end=" ")
' "$STACK_TEST_TMP/all.json" "$1"
}
is "$(actions evt-fail-1)" "create start die(3) restart start die(3) destroy " \
        "the failing container: created, started, died with 3, restarted, died with 3, destroyed"
is "$(actions evt-hog-1)" "create start oom die(5) destroy " "a run with an OOM kill: oom before die"
like "$(actions evt-sleeper-1)" "create start kill die(0) stop destroy " "the running one: stopped by down"
ok "--json is docker compose's shape, times in order" python3 -c '
import json, sys
prev = ""
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) == {"time", "type", "action", "id", "service", "attributes"}, o
    assert o["type"] == "container" and o["service"] in ("fail", "hog", "sleeper"), o
    assert o["attributes"]["name"] == o["id"] and o["attributes"]["image"] == "stack-example/worker", o
    assert o["time"] >= prev and o["time"].endswith("Z"), o
    prev = o["time"]
' "$STACK_TEST_TMP/all.json"
is "$(grep -c ' container die evt-fail-1 (exitCode=3, image=stack-example/worker, name=evt-fail-1)$' "$STACK_TEST_TMP/fail.txt")" "2" \
        "the text form, as compose prints it"
is "$(grep -c sleeper "$STACK_TEST_TMP/fail.txt")" "0" "a SERVICE argument shows that service only"

trap - EXIT
assert_no_residue evt
done_testing
