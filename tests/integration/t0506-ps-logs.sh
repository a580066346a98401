#!/bin/bash
# What a user looks at: `stack ps` (table, json, -q, --services, --status), `stack ls`, `stack logs`
# (prefix, --tail, --no-log-prefix, -f across a restart and a scale-up), `stack wait` with a one-shot's
# exit code, and attached `up` with --abort-on-container-exit / --exit-code-from.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/obs" && cd "$STACK_TEST_TMP/obs" || exit 1
cat >compose.yaml <<'YAML'
name: obs
services:
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:18086:80"]
  ticker:
    image: stack-example/worker
    restart: always
    environment:
      WORKER_INTERVAL: "1"
  job:
    image: stack-example/worker
    command: ["sh", "-c", "echo line1; echo line2; printf line3; exit 3"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1; kill $follower 2>/dev/null' EXIT
follower=

ok "up -d" stack up -d
ok "web is healthy" wait_until 200 bash -c "'$STACK_BIN' ps --format json | grep -q '\"Health\":\"healthy\"'"

# wait: blocks until the one-shot exits and returns its code.
stack wait job >/dev/null 2>&1
is "$?" "3" "wait job returns the job's exit code"

# ps
table=$(stack ps 2>&1)
header=$(printf '%s\n' "$table" | head -n 1)
like "$header" "NAME" "ps table has a NAME column"
like "$header" "SERVICE" "a SERVICE column"
like "$header" "STATUS" "a STATUS column"
like "$header" "PORTS" "and a PORTS column"
web_row=$(printf '%s\n' "$table" | grep '^obs-web-1 ')
like "$web_row" "127.0.0.1:18086->80/tcp" "web's row shows its published port"
like "$web_row" "(healthy)" "and its health"
is "$(printf '%s\n' "$table" | grep -c '^obs-job-1 ')" "0" "ps without -a hides the exited job"
ok "ps -a shows it, exited with 3" bash -c "'$STACK_BIN' ps -a | grep '^obs-job-1 ' | grep -q 'Exited (3)'"
is "$(stack ps -q | sort | tr '\n' ' ')" "obs-ticker-1 obs-web-1 " "ps -q prints the running containers only"
is "$(stack ps --services | sort | tr '\n' ' ')" "ticker web " "ps --services"
is "$(stack ps -q --status exited)" "obs-job-1" "ps --status exited"
is "$(stack ps -q --status running | sort | tr '\n' ' ')" "obs-ticker-1 obs-web-1 " "ps --status running"
json=$(stack ps -a --format json)
is "$(printf '%s' "$json" | python3 -c "
import json,sys
for c in sorted(json.load(sys.stdin), key=lambda c: c['Name']):
    print(c['Name'], c['Service'], c['State'], c['ExitCode'])" | tr '\n' ';')" \
        "obs-job-1 job exited 3;obs-ticker-1 ticker running 0;obs-web-1 web running 0;" \
        "ps --format json: names, services, states and exit codes"
ok "ps json has web's publisher" bash -c "printf '%s' '$json' | python3 -c \"
import json,sys
w=next(c for c in json.load(sys.stdin) if c['Service']=='web')
p=w['Publishers'][0]
assert (p['URL'], p['PublishedPort'], p['TargetPort'], p['Protocol']) == ('127.0.0.1', 18086, 80, 'tcp'), p\""
not_ok "ps --format yaml is refused" stack ps --format yaml

# ls
ls_out=$(stack ls 2>&1)
like "$(printf '%s\n' "$ls_out" | head -n 1)" "NAME" "ls has a header"
like "$(printf '%s\n' "$ls_out" | grep '^obs ')" "running(2)" "ls: obs with two running containers"
like "$(printf '%s\n' "$ls_out" | grep '^obs ')" "$PWD/compose.yaml" "and its compose file"
is "$(stack ls -q)" "obs" "ls -q"
is "$(stack ls --format json | python3 -c "import json,sys; print([p['Name'] for p in json.load(sys.stdin)])")" \
        "['obs']" "ls --format json"

# logs
is "$(stack logs --no-log-prefix job)" "$(printf 'line1\nline2\nline3')" "logs --no-log-prefix: the job's output as it was, its last line without a newline too"
is "$(stack logs job | tr -s ' ')" "$(printf 'job-1 | line1\njob-1 | line2\njob-1 | line3')" "logs prefixes each line with the container"
is "$(stack logs --tail 1 job | tr -s ' ')" "job-1 | line3" "logs --tail 1"
is "$(stack logs --tail 0 job)" "" "logs --tail 0"
all=$(stack logs)
like "$all" "ticker-1 | worker: heartbeat" "logs of the whole project has the ticker"
like "$(printf '%s\n' "$all" | tr -s ' ')" "job-1 | line2" "and the job"

# logs -f follows a restarted container and a new replica.
"$STACK_BIN" logs -f ticker >"$STACK_TEST_TMP/follow.log" 2>&1 &
follower=$!
ok "logs -f shows the ticker" wait_until 50 grep -q 'ticker-1 *| worker: started' "$STACK_TEST_TMP/follow.log"
pid=$(ctr_pid obs-ticker-1)
kill -KILL "$pid"
ok "after its init is killed, ticker restarts and -f shows it starting again" \
        wait_until 150 bash -c "[ \$(grep -c 'ticker-1 *| worker: started' '$STACK_TEST_TMP/follow.log') -ge 2 ]"
ok "scale ticker to 2" stack up -d --scale ticker=2
ok "-f shows the new replica's output" wait_until 100 grep -q 'ticker-2 *| worker: heartbeat' "$STACK_TEST_TMP/follow.log"
ok "the follower is still running" kill -0 "$follower"
kill "$follower"
wait "$follower" 2>/dev/null
follower=
ok "down" stack down -t 1
is "$(residue obs)" "" "nothing of obs is left"

# Attached up with --abort-on-container-exit / --exit-code-from.
mkdir -p "$STACK_TEST_TMP/abort" && cd "$STACK_TEST_TMP/abort" || exit 1
cat >compose.yaml <<'YAML'
name: abort
services:
  srv:
    image: stack-example/worker
  check:
    image: stack-example/worker
    command: ["sh", "-c", "sleep 1; echo checked; exit ${CHECK_EXIT:-4}"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT
out=$(timeout 60 "$STACK_BIN" up --exit-code-from check 2>&1)
is "$?" "4" "up --exit-code-from check returns check's exit code"
like "$out" "checked" "and streamed its output"
is "$(stack ps -q)" "" "the other service was stopped"
# srv exited 0 because it was told to stop: unlike a finished one-shot, the next up starts it again.
ok "up -d after the abort" stack up -d
is "$(stack ps -q --status running srv)" "abort-srv-1" "starts the stopped service again"
out=$(CHECK_EXIT=0 timeout 60 "$STACK_BIN" up --exit-code-from check 2>&1)
is "$?" "0" "exit code 0 when check succeeds"
# srv ran all along: attached, up shows what is new (as compose attaches), not srv's earlier output.
is "$(printf '%s\n' "$out" | grep -c 'srv-1 *| worker: started')" "0" "attached up does not replay old logs"
is "$(printf '%s\n' "$out" | grep -c 'check-1 *| checked')" "1" "but shows the new output"
out=$(timeout 60 "$STACK_BIN" up --abort-on-container-exit 2>&1)
rc=$?
ok "up --abort-on-container-exit returns when check exits (exit $rc)" test "$rc" -ne 124
is "$rc" "4" "with the failed container's exit code"
is "$(stack ps -q)" "" "and stops the rest"
out=$(CHECK_EXIT=5 timeout 60 "$STACK_BIN" up --abort-on-container-failure 2>&1)
is "$?" "5" "up --abort-on-container-failure returns the failed container's exit code"
is "$(stack ps -q)" "" "and stops the rest"
ok "down" stack down -t 1

trap - EXIT
assert_no_residue abort
is "$(residue obs)" "" "nor of obs"
done_testing
