#!/bin/bash
# Under a Type=notify unit: attached `up` tells systemd READY=1 only once every service is healthy, and
# SIGTERM stops the project gracefully (what `systemctl stop` does).
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
command -v socat >/dev/null || skip_all "socat not installed"
[ -x /usr/bin/redis-server ] || skip_all "redis-server not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/boot" && cd "$STACK_TEST_TMP/boot" || exit 1
cat >compose.yaml <<'YAML'
name: boot
services:
  data:
    image: stack-example/redis
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      start_interval: 200ms
      start_period: 20s
  app:
    image: stack-example/worker
    depends_on:
      data:
        condition: service_healthy
YAML

sock=$STACK_TEST_TMP/notify.sock
socat -u "UNIX-RECV:$sock" - >"$STACK_TEST_TMP/notify.log" &
listener=$!
wait_until 50 test -S "$sock"
NOTIFY_SOCKET=$sock "$STACK_BIN" up --no-log-prefix >"$STACK_TEST_TMP/up.log" 2>&1 &
up=$!
ok "READY=1 is sent" wait_until 300 grep -q READY=1 "$STACK_TEST_TMP/notify.log"
health=$(stack ps --format json | python3 -c "import json,sys; print(next(c['Health'] for c in json.load(sys.stdin) if c['Service']=='data'))")
is "$health" "healthy" "and only once the health-gated service is healthy"
like "$(cat "$STACK_TEST_TMP/notify.log")" "STATUS=" "status lines go to systemd as well"
kill -TERM "$up"
wait "$up"
is "$?" "0" "SIGTERM stops the attached up cleanly"
is "$(stack ps -q)" "" "and no container runs any more"
like "$(cat "$STACK_TEST_TMP/notify.log")" "STOPPING=1" "STOPPING=1 is sent on the way down"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
ok "down removes the stopped project" stack down
assert_no_residue boot
done_testing
