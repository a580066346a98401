#!/bin/bash
# The CLI refuses what it cannot do instead of doing nothing: unknown service names, unknown flag values.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/strict" && cd "$STACK_TEST_TMP/strict" || exit 1
cat >compose.yaml <<'YAML'
name: strict
services:
  app:
    image: stack-example/worker
    environment:
      WORKER_INTERVAL: "1"
  tool:
    image: stack-example/worker
    profiles: [tools]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

ok "up -d" stack up -d
ok "app is running" wait_until 200 bash -c "'$STACK_BIN' ps --format json | grep -q '\"State\":\"running\"'"

# Unknown service names are an error naming the service, for every command that takes SERVICE...
for cmd in ps logs wait; do
        err=$(stack "$cmd" nosuch 2>&1 >/dev/null)
        is "$?" 1 "$cmd nosuch exits 1"
        like "$err" "no such service: nosuch" "and names the service"
done
is "$(stack ps -q app)" "strict-app-1" "ps with a known service lists it"
ok "ps with a service disabled by its profile is no error" stack ps tool
# -p without a file: the project's containers say which services exist.
err=$(cd / && stack -p strict ps -q nosuch 2>&1 >/dev/null)
is "$?" 1 "-p NAME ps nosuch without a file exits 1"
like "$err" "no such service: nosuch" "and names the service"
is "$(cd / && stack -p strict ps -q app)" "strict-app-1" "-p NAME ps app without a file finds its container"
err=$(cd / && stack -p strict logs nosuch 2>&1 >/dev/null)
is "$?" 1 "-p NAME logs nosuch without a file exits 1"

# --progress and --ansi take a known value; a wrong one is a usage error that changes nothing.
before=$(ps_field strict-app-1 Created)
err=$(stack --progress bogus up -d --force-recreate 2>&1)
is "$?" 2 "--progress bogus is a usage error (exit 2)"
like "$err" '--progress: unknown mode "bogus"' "naming the flag and the value"
err=$(stack --ansi bogus up -d --force-recreate 2>&1)
is "$?" 2 "--ansi bogus is a usage error (exit 2)"
like "$err" '--ansi: unknown mode "bogus"' "naming the flag and the value"
is "$(ps_field strict-app-1 Created)" "$before" "and app was not recreated"

# --progress json: compose's JSON lines, one object per line.
json=$(stack --progress json up -d --force-recreate 2>&1 >/dev/null)
is "$?" 0 "up with --progress json"
ok "every progress line is a JSON object with id and status" python3 -c '
import json, sys
lines = sys.argv[1].splitlines()
assert lines, "no output"
for l in lines:
    o = json.loads(l)
    assert set(o) == {"id", "status"}, o
assert {"id": "Container strict-app-1", "status": "Started"} in [json.loads(l) for l in lines], lines' "$json"

esc=$'\033'
out=$(stack --ansi always --progress tty up -d --force-recreate 2>&1)
like "$out" "${esc}[" "--ansi always: the tty progress is coloured"
out=$(stack --ansi never --progress tty up -d --force-recreate 2>&1)
like "$out" "Container strict-app-1" "--ansi never: the tty progress is drawn"
is "$(printf '%s' "$out" | grep -c "$esc")" 0 "without any escape code"
# On a real terminal: colour by default, none with --ansi never or NO_COLOR, progress and logs alike.
on_tty() {
        script -qec "$*" /dev/null </dev/null
}
out=$(on_tty "'$STACK_BIN' up -d --force-recreate; '$STACK_BIN' logs --tail 1")
like "$out" "${esc}[" "on a terminal, progress and logs are coloured"
out=$(on_tty "'$STACK_BIN' --ansi never up -d --force-recreate; '$STACK_BIN' --ansi never logs --tail 1")
like "$out" "app-1" "on a terminal with --ansi never, the logs are shown"
is "$(printf '%s' "$out" | grep -c "$esc")" 0 "without any escape code"
out=$(NO_COLOR=1 on_tty "'$STACK_BIN' up -d --force-recreate; '$STACK_BIN' logs --tail 1")
like "$out" "app-1" "on a terminal with NO_COLOR, the logs are shown"
is "$(printf '%s' "$out" | grep -c "$esc")" 0 "without any escape code"

# ps --format: table or json, nothing else; json times are integers (microseconds), never 1.79e+15.
err=$(stack ps --format bogus 2>&1)
is "$?" 2 "ps --format bogus is a usage error (exit 2)"
like "$err" '--format: unknown format "bogus"' "naming the value"
raw=$(stack ps -a --format json)
is "$(printf '%s' "$raw" | grep -c '[0-9][eE][-+]')" 0 "ps --format json writes no number in exponent notation"
ok "StartedAt, FinishedAt and Created are JSON integers" python3 -c '
import json, sys
for c in json.loads(sys.argv[1]):
    for k in ("StartedAt", "FinishedAt", "Created"):
        assert type(c[k]) is int, (k, c[k])
    assert c["Created"] > 10**15, c["Created"]' "$raw"

# Another user: commands that change the host are refused before anything is touched; reading the file,
# help and the version are not. The roots are writable by all, so a command that went ahead would leave
# something there.
if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$STACK_BIN" 2>/dev/null; then
        nr=$(mktemp -d /tmp/stack-nonroot.XXXXXX)
        chmod 755 "$nr" && mkdir -m 1777 "$nr/root" "$nr/run"
        cp compose.yaml "$nr/compose.yaml" && chmod 644 "$nr/compose.yaml"
        as_nobody() {
                (cd "$nr" && STACK_ROOT=$nr/root STACK_RUN_ROOT=$nr/run setpriv --reuid=65534 --regid=65534 --clear-groups \
                        "$STACK_BIN" "$@")
        }
        for c in "up -d" "down" "build" "pull" "image ls"; do
                # shellcheck disable=SC2086 # c is a command and its options
                err=$(as_nobody $c 2>&1)
                is "$?" 1 "as nobody, $c exits 1"
                like "$err" "stack needs root (rootless mode is not supported yet)" "saying why"
        done
        is "$(find "$nr/root" "$nr/run" -mindepth 1)" "" "and nothing was made under the roots"
        like "$(as_nobody config --services)" "app" "as nobody, config works"
        ok "as nobody, --help works" as_nobody --help
        ok "as nobody, --version works" as_nobody --version
        ok "as nobody, up --help works" as_nobody up --help
        rm -rf "$nr"
else
        diag "user 65534 cannot run $STACK_BIN: the checks as another user are left out"
fi

# Read-only commands make nothing under fresh roots.
fresh=$STACK_TEST_TMP/fresh
mkdir -p "$fresh/root" "$fresh/run"
for c in "config" "ps" "ps -a --format json" "logs" "logs app" "ls"; do
        # shellcheck disable=SC2086 # c is a command and its options
        STACK_ROOT=$fresh/root STACK_RUN_ROOT=$fresh/run stack $c >/dev/null 2>&1
        is "$?" 0 "$c against fresh roots"
        is "$(find "$fresh" -mindepth 2)" "" "made nothing under them"
done

ok "down" stack down -t 0
trap - EXIT
assert_no_residue strict
done_testing
