#!/bin/bash
# network_mode service:NAME where NAME sets container_name: the joiner is made in the namespace of the
# target's real container, so it has the target's interface and address and reaches the target's server on
# 127.0.0.1.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/joinr" && cd "$STACK_TEST_TMP/joinr" || exit 1
cat >compose.yaml <<'YAML'
name: joinr
services:
  vpn:
    image: stack-example/httpd
    container_name: tunnel
  client:
    image: stack-example/worker
    network_mode: service:vpn
    depends_on: [vpn]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

# in_ctr CONTAINER CMD...: CMD from the container's own filesystem in its network namespace.
in_ctr() {
        local pid
        pid=$(ctr_pid "$1")
        shift
        nsenter -t "$pid" -n -m "$@"
}
addr_of() { nsenter --net="$(ctr_netns "$1")" ip -4 -o addr show dev eth0 | awk '{print $4}'; }

ok "up with a joiner of a service that sets container_name" stack up -d --wait --wait-timeout 60
is "$(ps_field tunnel State)" "running" "the target runs under its container_name"
is "$(ps_field joinr-client-1 State)" "running" "the joiner runs"
vpn_addr=$(addr_of tunnel)
ok "the target has an address on eth0 ($vpn_addr)" test -n "$vpn_addr"
is "$(addr_of joinr-client-1)" "$vpn_addr" "the joiner sees the target's interface and address"
is "$(stat -Lc %i "$(ctr_netns joinr-client-1)")" "$(stat -Lc %i "$(ctr_netns tunnel)")" \
        "both are in one network namespace"
like "$(in_ctr joinr-client-1 timeout 10 busybox wget -qO- http://127.0.0.1/ 2>&1)" \
        "Hello from stack-example/httpd" "the joiner reaches the target's server on 127.0.0.1"

ok "down" stack down -t 0
is "$(stack ps -a -q)" "" "no container is left"
assert_no_residue joinr
done_testing
