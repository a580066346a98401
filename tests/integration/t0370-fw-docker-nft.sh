#!/bin/bash
# stack beside a real dockerd on iptables-nft (Debian 12's default): docker's own rules with its FORWARD
# policy DROP, DOCKER-USER and its isolation chains, a docker container publishing a port. With the
# backend left to the host, stack picks nftables; its published port answers from the host and from
# another namespace, its containers get out (masqueraded), docker's port and docker's way out keep
# working, a docker container cannot reach a stack container directly, a port docker holds is refused
# before anything changes; `down` leaves docker's ruleset exactly as it was and nothing of stack's.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0379-fw-docker-lib.inc"

command -v crun >/dev/null || skip_all "crun not installed"
case $(readlink -f "$(command -v iptables)") in
*nft*) ;;
*) skip_all "this host's iptables is not the nf_tables variant (docker would not use nftables)" ;;
esac
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"
unset STACK_FIREWALL_BACKEND

proj=$STACK_TEST_TMP/coex
mkdir -p "$proj"
cat >"$proj/compose.yaml" <<'YAML'
name: dcoex
services:
  web:
    image: stack-example/httpd
    ports:
      - "18080:80"
  worker:
    image: stack-example/worker
YAML
cleanup() {
        (cd "$proj" && stack down -t 0 >/dev/null 2>&1)
        docker_stop
        ip link del docker0 2>/dev/null
        fw_cleanup
}
trap cleanup EXIT

echo 0 >/proc/sys/net/ipv4/ip_forward
docker_start nft
is "$?" 0 "dockerd starts in the test's namespace on iptables-nft"
docker_image || diag "docker import failed"
ok "a docker container publishes 18090" dk run -d --name dweb -p 18090:80 "$DK_IMAGE" /bin/busybox httpd -f -p 80 -h /www
wait_until 600 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | socat -T5 - TCP:127.0.0.1:18090 | grep -q 'docker web'"
is "$(iptables-nft -S FORWARD | head -n 1)" "-P FORWARD DROP" "docker set the FORWARD policy to DROP"
like "$(iptables-nft -S FORWARD)" "-A FORWARD -j DOCKER-USER" "docker's DOCKER-USER jump is there"
is "$(iptables-legacy-save 2>/dev/null | grep -c '^-A')" 0 "docker wrote nothing to the legacy tables"

fw_host_setup
fw_serve_tcp client 7000
fw_wait_listen client 7000
nft_before=$(nft_not_ours)
legacy_before=$(legacy_not_ours)
like "$(http_get client "$HOST_IP" 18090)" "docker web" "docker's port answers another host before stack comes"

cd "$proj" || exit 1
ok "up with the backend left to the host" stack up -d --wait --wait-timeout 120
ok "auto chose nftables: stack's table is there" nft list table inet stack
is "$(fw_ours)" "" "nothing of stack's in the legacy tables"
like "$(nft list chain ip filter FORWARD 2>/dev/null)" 'comment "stack:dcoex:' "stack's accepts are in docker's FORWARD chain"

like "$(http_get - 127.0.0.1 18080)" "<!doctype html>" "the published port answers on the host's 127.0.0.1"
like "$(http_get - "$HOST_IP" 18080)" "<!doctype html>" "and on the host's own address"
like "$(http_get client "$HOST_IP" 18080)" "<!doctype html>" "and from another namespace, through docker's DROP policy"
worker_ns=$STACK_RUN_ROOT/netns/dcoex/dcoex-worker-1
is "$(nsenter --net="$worker_ns" socat -T5 - "TCP:$CLIENT_IP:7000,connect-timeout=5" </dev/null 2>/dev/null)" \
        "client 7000 $HOST_IP" "a stack container reaches the outside namespace, masqueraded"

like "$(http_get client "$HOST_IP" 18090)" "docker web" "docker's published port still answers another host"
like "$(http_get - 127.0.0.1 18090)" "docker web" "and the host"
is "$(dk exec dweb /bin/busybox sh -c "echo | /bin/busybox nc $CLIENT_IP 7000" 2>/dev/null)" \
        "client 7000 $HOST_IP" "a docker container still reaches the outside namespace"
web_ip=$(nsenter --net="$STACK_RUN_ROOT/netns/dcoex/dcoex-web-1" ip -4 -o addr show eth0 | awk '{split($4, a, "/"); print a[1]}')
is "$(dk exec dweb /bin/busybox sh -c "echo | /bin/busybox timeout 5 /bin/busybox nc $web_ip 80" 2>/dev/null)" "" \
        "a docker container cannot reach a stack container directly ($web_ip:80)"

# Docker restarting sets its chains up again; whatever that does to stack's rules, the next up puts
# them back (firewall drift), and both published ports answer.
dk stop -t 0 dweb >/dev/null 2>&1
docker_restart
is "$?" 0 "dockerd restarts"
dk start dweb >/dev/null 2>&1
wait_until 600 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | socat -T5 - TCP:127.0.0.1:18090 | grep -q 'docker web'"
diag "after docker's restart, up plans: $(stack up -d --dry-run 2>&1 | tr '\n' ' ')"
ok "up after docker's restart" stack up -d
like "$(http_get client "$HOST_IP" 18080)" "<!doctype html>" "stack's port answers another host after docker's restart and an up"
like "$(http_get client "$HOST_IP" 18090)" "docker web" "and docker's"
is "$(stack up -d --dry-run 2>&1)" "" "a further up has nothing to do"
# What docker owns now, for the comparison after down (its restart may have rewritten its own rules).
nft_before=$(nft_not_ours)
legacy_before=$(legacy_not_ours)

# A port docker holds is refused before stack changes anything.
mkdir -p "$STACK_TEST_TMP/clash"
cat >"$STACK_TEST_TMP/clash/compose.yaml" <<'YAML'
name: dclash
services:
  web:
    image: stack-example/httpd
    ports:
      - "18090:80"
YAML
out=$(cd "$STACK_TEST_TMP/clash" && stack up -d 2>&1)
is "$?" 1 "a project publishing docker's port 18090 fails"
like "$out" "18090" "naming the port"
is "$(nft list ruleset 2>/dev/null | grep -c 'stack:dclash')" 0 "and writes no rule"

ok "down" stack down -t 0
is "$(nft_ours)" "" "no table inet stack and no accept of stack's is left"
is "$(nft_not_ours)" "$nft_before" "docker's nftables ruleset is exactly as it was"
is "$(legacy_not_ours)" "$legacy_before" "the legacy tables are as they were"
is "$(http_get client "$HOST_IP" 18080)" "" "stack's port is closed"
like "$(http_get client "$HOST_IP" 18090)" "docker web" "docker's port still answers another host"
is "$(dk exec dweb /bin/busybox sh -c "echo | /bin/busybox nc $CLIENT_IP 7000" 2>/dev/null)" \
        "client 7000 $HOST_IP" "and its container still gets out"

cd "$STACK_TEST_TMP" || exit 1
cleanup
trap - EXIT
is "$(docker_residue)" "" "nothing of dockerd is left (cgroups, processes)"
nft flush ruleset
assert_no_residue dcoex
done_testing
