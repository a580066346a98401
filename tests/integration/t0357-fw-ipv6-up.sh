#!/bin/bash
# IPv6 isolation through `stack up` / `stack down`: the reconciler applies net/firewall6.h for networks
# with enable_ipv6 and removes it on down. Containers of one network talk over IPv6, other networks and
# an internal one cannot reach across, and down leaves nothing in ip6tables.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
command -v ip6tables-legacy-save >/dev/null || skip_all "ip6tables-legacy not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/fw6" && cd "$STACK_TEST_TMP/fw6" || exit 1
cat >compose.yaml <<'YAML'
name: fw6
services:
  web:
    image: stack-example/httpd
    networks: [front]
  peer:
    image: stack-example/worker
    networks: [front]
  other:
    image: stack-example/worker
    networks: [back]
  vault:
    image: stack-example/httpd
    networks: [secret]
  insider:
    image: stack-example/worker
    networks: [secret]
networks:
  front:
    enable_ipv6: true
  back:
    enable_ipv6: true
  secret:
    enable_ipv6: true
    internal: true
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

addr6() { nsenter --net="$(ctr_netns "$1")" ip -6 -o addr show dev eth0 scope global | awk '{print $4}' | cut -d/ -f1; }
# ping6 CONTAINER ADDRESS: "up" when ADDRESS answers an echo request from CONTAINER, empty otherwise
ping6() { nsenter --net="$(ctr_netns "$1")" busybox ping -c 1 -W 2 "$2" >/dev/null 2>&1 && echo up; }

ok "up with three IPv6 networks, one internal" stack up -d --wait --wait-timeout 60
web=$(addr6 fw6-web-1)
vault=$(addr6 fw6-vault-1)
ok "web has an IPv6 address ($web)" test -n "$web"
ok "vault has an IPv6 address ($vault)" test -n "$vault"
ok "IPv6 reaches the web container from its own network" \
        wait_until 50 nsenter --net="$(ctr_netns fw6-peer-1)" busybox ping -c 1 -W 1 "$web"

save=$(ip6tables-legacy-save | grep -E 'STACK')
like "$save" "-A FORWARD -j STACK-FORWARD" "FORWARD jumps to STACK-FORWARD in ip6tables"
like "$save" 'stack:fw6:fw6_front" -j DROP' "front is isolated"
like "$save" 'stack:fw6:fw6_back" -j DROP' "back is isolated"
is "$(printf '%s\n' "$save" | grep -c -- '-INT -i \(stk[0-9a-f]*\) ! -o \1 -m comment --comment "stack:fw6:fw6_secret" -j DROP')" 1 \
        "nothing leaves the internal network"

is "$(ping6 fw6-peer-1 "$web")" "up" "peer reaches web over IPv6 (same network)"
is "$(ping6 fw6-other-1 "$web")" "" "another network cannot reach web over IPv6"
is "$(ping6 fw6-insider-1 "$web")" "" "the internal network cannot reach web over IPv6"
is "$(ping6 fw6-insider-1 "$vault")" "up" "inside the internal network IPv6 works"
is "$(ping6 fw6-peer-1 "$vault")" "" "nobody reaches into the internal network over IPv6"

# The same traffic without our jump: it is the rules that block it (the test can fail).
ip6tables-legacy -D FORWARD -j STACK-FORWARD
is "$(ping6 fw6-other-1 "$web")" "up" "without the jump the host routes IPv6 between the networks"
ip6tables-legacy -I FORWARD -j STACK-FORWARD
is "$(ping6 fw6-other-1 "$web")" "" "with it back, blocked again"

ok "down" stack down -t 0
is "$(ip6tables-legacy-save | grep -c STACK)" 0 "nothing of ours is left in ip6tables-legacy-save"
assert_no_residue fw6
done_testing
