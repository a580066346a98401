#!/bin/bash
# The reverse-proxy shape: a proxy on a public network and an internal backend network publishes its
# port through the public one (the internal network comes first in its list), the backend service is
# reachable from the proxy by name but has no way out, and a service whose only network is internal is
# refused with a message that says so, before anything is made.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/edge" && cd "$STACK_TEST_TMP/edge" || exit 1
cat >compose.yaml <<'YAML'
name: edge
services:
  proxy:
    image: stack-example/httpd
    ports: ["127.0.0.1:18700:80"]
    networks: [backend, public]
  app:
    image: stack-example/httpd
    networks: [backend]
networks:
  public: {}
  backend:
    internal: true
YAML
outside_pid=
cleanup() {
        stack down -t 0 >/dev/null 2>&1
        [ -n "$outside_pid" ] && kill "$outside_pid" 2>/dev/null
        ip link del shapes0 2>/dev/null
}
trap cleanup EXIT

# An address outside every network of the project, on the host side: the way out the backend must lack.
ip link add shapes0 type veth peer name shapes1 && ip addr add 198.51.100.1/32 dev shapes0 &&
        ip link set shapes0 up && ip link set shapes1 up
mkdir -p "$STACK_TEST_TMP/outside" && echo outside >"$STACK_TEST_TMP/outside/index.html"
busybox httpd -f -p 198.51.100.1:18701 -h "$STACK_TEST_TMP/outside" &
outside_pid=$!

ok "up with the proxy on an internal and a public network" stack up -d --wait --wait-timeout 60
like "$(busybox wget -qO- http://127.0.0.1:18700/ 2>&1)" "Hello from stack-example/httpd" \
        "the proxy's published port answers from the host"
like "$(stack port proxy 80 2>&1)" "127.0.0.1:18700" "stack port shows it"

# in_ctr CONTAINER CMD...: CMD from the container's own filesystem (its busybox, its resolv.conf) in its
# network namespace.
in_ctr() {
        local pid
        pid=$(ctr_pid "$1")
        shift
        nsenter -t "$pid" -n -m "$@"
}
like "$(in_ctr edge-proxy-1 timeout 10 busybox wget -qO- http://app/ 2>&1)" "Hello from stack-example/httpd" \
        "the proxy reaches the backend service by name"
app_addr=$(nsenter --net="$(ctr_netns edge-app-1)" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
like "$(in_ctr edge-proxy-1 timeout 10 busybox wget -qO- "http://$app_addr/" 2>&1)" "Hello from stack-example/httpd" \
        "and at its address ($app_addr)"
is "$(in_ctr edge-app-1 timeout 5 busybox wget -qO- http://198.51.100.1:18701/ 2>/dev/null)" "" \
        "the backend has no way out to an address outside its network"
like "$(timeout 5 busybox wget -qO- http://198.51.100.1:18701/ 2>&1)" "outside" \
        "while that address answers from the host"
ok "down" stack down -t 0

# Only internal networks: nothing to publish through, refused before anything is made.
mkdir -p "$STACK_TEST_TMP/closed" && cd "$STACK_TEST_TMP/closed" || exit 1
cat >compose.yaml <<'YAML'
name: closed
services:
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:18702:80"]
    networks: [inner, vault]
networks:
  inner:
    internal: true
  vault:
    internal: true
YAML
out=$(stack up -d 2>&1)
rc=$?
ok "up of a service with ports on internal networks only fails" test "$rc" -ne 0
like "$out" "all of its networks are internal" "and says why"
like "$out" "compose.yaml:" "naming the file"
is "$(stack ps -a -q)" "" "no container was made"
is "$(ip -o link show | grep -vc ': lo:')" "2" "no link was made (only the test's own veth pair)"

kill "$outside_pid" && wait "$outside_pid" 2>/dev/null
outside_pid=
ip link del shapes0
assert_no_residue edge
assert_no_residue closed
done_testing
