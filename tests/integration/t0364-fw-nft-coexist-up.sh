#!/bin/bash
# `stack up` / `stack down` on the nftables backend beside what Docker on iptables-nft leaves: an
# `ip filter` table whose FORWARD chain drops by policy. The published port answers another host, a
# container reaches another host, the legacy tables stay empty; after `down` neither stack's table nor
# the accepts it put into Docker's chain are left, and Docker's table is exactly as it was.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

command -v crun >/dev/null || skip_all "crun not installed"
command -v iptables-nft >/dev/null || skip_all "iptables-nft not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

fw_host_setup
fw_serve_tcp client 7000
fw_wait_listen client 7000
iptables-nft -P FORWARD DROP
iptables-nft -N DOCKER-USER
iptables-nft -A FORWARD -j DOCKER-USER
foreign_before=$(nft_foreign)

mkdir -p "$STACK_TEST_TMP/coex" && cd "$STACK_TEST_TMP/coex" || exit 1
cat >compose.yaml <<'YAML'
name: coex
services:
  web:
    image: stack-example/httpd
    ports:
      - "18080:80"
  worker:
    image: stack-example/worker
YAML
trap 'stack --firewall-backend nftables down -t 0 >/dev/null 2>&1; fw_cleanup' EXIT
netns() { echo "$STACK_RUN_ROOT/netns/coex/$1"; }
# http_get NETNS ADDRESS PORT: the page (busybox wget crashes under `ip netns exec` here; socat does not)
http_get() {
        printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$1" socat -T3 - "TCP:$2:$3,connect-timeout=2" 2>/dev/null
}

ok "up on the nftables backend" stack --firewall-backend nftables up -d --wait --wait-timeout 60
ok "stack's table is there" nft list table inet stack
like "$(nft list chain ip filter FORWARD)" 'comment "stack:coex:' "stack's accepts are in Docker's FORWARD chain"
is "$(iptables-legacy-save 2>/dev/null | grep -c STACK)" 0 "nothing in the legacy tables"

like "$(http_get client "$HOST_IP" 18080)" "<!doctype html>" "the published port answers another host through Docker's drop policy"
is "$(nsenter --net="$(netns coex-worker-1)" socat -T2 - "TCP:$CLIENT_IP:7000,connect-timeout=2" </dev/null 2>/dev/null)" \
        "client 7000 $HOST_IP" "a container reaches another host, masqueraded"
like "$(stack --firewall-backend nftables port web 80)" ":18080" "stack port reads the published port back from nftables"

ok "down" stack --firewall-backend nftables down -t 0
is "$(nft_ours)" "" "no table inet stack and no accept of stack's is left"
is "$(nft_foreign)" "$foreign_before" "Docker's table is exactly as it was"
is "$(http_get client "$HOST_IP" 18080)" "" "the port is closed"

iptables-nft -F
iptables-nft -X
iptables-nft -P FORWARD ACCEPT
nft delete table ip filter
fw_cleanup
assert_no_residue coex
done_testing
