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

ok "down" stack down -t 0
trap - EXIT
assert_no_residue strict
done_testing
