#!/bin/bash
# A host port already in use is a clear error before anything is changed: `stack up` names the port and
# creates no link, netns, container or rule; once the port is free, the same up works.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
command -v socat >/dev/null || skip_all "socat not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/clash" && cd "$STACK_TEST_TMP/clash" || exit 1
cat >compose.yaml <<'YAML'
name: clash
services:
  app:
    image: stack-example/worker
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:18083:80"]
    depends_on: [app]
  other:
    image: stack-example/httpd
    ports: ["${OTHER_PORT:-18084}:80"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1; kill $holder 2>/dev/null' EXIT

socat TCP-LISTEN:18083,bind=127.0.0.1,reuseaddr,fork /dev/null &
holder=$!
ok "a host process listens on 127.0.0.1:18083" wait_until 50 bash -c "ss -Hltn | grep -q '127.0.0.1:18083 '"
out=$(stack up -d 2>&1)
rc=$?
ok "up fails (exit $rc)" test "$rc" -ne 0
like "$out" "127.0.0.1:18083/tcp is already in use" "the error names the port"
is "$(residue clash)" "" "no link, netns, mount, rule, cgroup or process was made"
is "$(stack ps -a -q)" "" "no container was created"
is "$(find "$STACK_ROOT/containers" "$STACK_RUN_ROOT/containers" -mindepth 1 -maxdepth 1 2>/dev/null)" "" \
        "no container directory either"
kill "$holder"
wait "$holder" 2>/dev/null

# A wildcard listener holds the port on every address, 127.0.0.1 included; and a clash on the second
# service's port stops the whole up as well.
socat TCP-LISTEN:18084,reuseaddr,fork /dev/null &
holder=$!
ok "a host process listens on *:18084" wait_until 50 bash -c "ss -Hltn | grep -q ':18084 '"
out=$(stack up -d 2>&1)
ok "up fails again" test $? -ne 0
like "$out" ":18084/tcp is already in use" "naming the other port"
is "$(residue clash)" "" "and leaves nothing behind"
kill "$holder"
wait "$holder" 2>/dev/null

ok "with the ports free, up -d --wait works" stack up -d --wait --wait-timeout 40
ok "the port answers" timeout 5 busybox wget -qO- http://127.0.0.1:18083/

# On a running project, a change that needs a taken port fails before it stops or recreates anything.
before=$(ps_field clash-other-1 StartedAt)
socat TCP-LISTEN:18085,reuseaddr,fork /dev/null &
holder=$!
ok "a host process listens on *:18085" wait_until 50 bash -c "ss -Hltn | grep -q ':18085 '"
out=$(OTHER_PORT=18085 "$STACK_BIN" up -d 2>&1)
ok "up with other moved to the taken port fails" test $? -ne 0
like "$out" ":18085/tcp is already in use" "naming that port"
is "$(ps_field clash-other-1 StartedAt)" "$before" "other was not recreated"
ok "and still answers on its old port" timeout 5 busybox wget -qO- http://127.0.0.1:18084/
kill "$holder"
wait "$holder" 2>/dev/null

ok "down" stack down -t 1
trap - EXIT
assert_no_residue clash
done_testing
