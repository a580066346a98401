#!/bin/bash
# stack beside Debian's ufw, enabled with its defaults (deny incoming, deny routed: INPUT and FORWARD
# policy DROP in iptables-nft's tables). The backend left to the host is nftables. What stack does, as
# Docker does: a published port answers another host although ufw denies incoming (the traffic is
# forwarded to the container, and stack's accepts in ufw's FORWARD chain let it through); the containers
# get out and reach the project's DNS on their gateway (accepts in ufw's INPUT chain for port 53 from
# stack's bridges only); the host's own services stay behind ufw; `down` leaves ufw's rules exactly as
# they were. ufw runs on copies of its configuration, bind-mounted in the test's mount namespace.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

[ -z "${STACK_TEST_SANITIZED:-}" ] || skip_all "run in the unsanitized pass only (tests/run-all.sh)"
command -v ufw >/dev/null || skip_all "ufw not installed"
command -v crun >/dev/null || skip_all "crun not installed"
command -v dig >/dev/null || skip_all "dig not installed"
case $(readlink -f "$(command -v iptables)") in
*nft*) ;;
*) skip_all "this host's iptables is not the nf_tables variant" ;;
esac
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"
unset STACK_FIREWALL_BACKEND

# ufw's state lives in /etc/ufw and /etc/default/ufw: the test's own copies, the host's stay untouched.
# Its sysctl file is left out (some of its settings are not per network namespace).
ufw_dir=$STACK_TEST_TMP/ufw
mkdir -p "$ufw_dir/etc"
cp -a /etc/ufw/. "$ufw_dir/etc/"
sed 's|^IPT_SYSCTL=.*|IPT_SYSCTL=/dev/null|' /etc/default/ufw >"$ufw_dir/default"
mount --bind "$ufw_dir/etc" /etc/ufw
mount --bind "$ufw_dir/default" /etc/default/ufw

proj=$STACK_TEST_TMP/uf
mkdir -p "$proj"
cat >"$proj/compose.yaml" <<'YAML'
name: uf
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
        ufw --force disable >/dev/null 2>&1
        fw_cleanup
        umount /etc/ufw /etc/default/ufw 2>/dev/null
}
trap cleanup EXIT

fw_host_setup
fw_serve_tcp client 7000
fw_serve_tcp_host 5555 "$HOST_IP"
fw_wait_listen client 7000
fw_wait_listen - 5555
ok "ufw enable" ufw --force enable
like "$(ufw status verbose)" "deny (incoming), allow (outgoing), deny (routed)" "ufw denies incoming and routed"
is "$(fw_tcp client "$HOST_IP" 5555)" "" "ufw keeps another host away from the host's own service"
ufw_before=$(nft -s list ruleset 2>/dev/null)

http_get() {
        printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$1" socat -T5 - "TCP:$2:$3,connect-timeout=5" 2>/dev/null
}
cd "$proj" || exit 1
ok "up with the backend left to the host" stack up -d --wait --wait-timeout 120
ok "auto chose nftables" nft list table inet stack
like "$(nft list chain ip filter ufw-before-forward 2>/dev/null; nft list chain ip filter FORWARD 2>/dev/null)" \
        'comment "stack:uf:' "stack's accepts are in ufw's FORWARD chain"

like "$(http_get client "$HOST_IP" 18080)" "<!doctype html>" \
        "the published port answers another host although ufw denies incoming (as with Docker)"
like "$(printf 'GET / HTTP/1.0\r\n\r\n' | socat -T5 - TCP:127.0.0.1:18080,connect-timeout=5 2>/dev/null)" \
        "<!doctype html>" "and the host's 127.0.0.1"
worker_ns=$STACK_RUN_ROOT/netns/uf/uf-worker-1
is "$(nsenter --net="$worker_ns" socat -T5 - "TCP:$CLIENT_IP:7000,connect-timeout=5" </dev/null 2>/dev/null)" \
        "client 7000 $HOST_IP" "a container reaches another host, masqueraded, with ufw denying routed"
gw=$(nsenter --net="$worker_ns" ip -4 route show default | awk '{print $3}')
web_ip=$(nsenter --net="$STACK_RUN_ROOT/netns/uf/uf-web-1" ip -4 -o addr show eth0 | awk '{split($4, a, "/"); print a[1]}')
is "$(dns_answer "$worker_ns" "$gw" web)" "$web_ip " "service DNS on the gateway answers through ufw's INPUT policy"
is "$(fw_tcp client "$HOST_IP" 5555)" "" "the host's own service is still behind ufw"
is "$(nsenter --net="$worker_ns" socat -T3 - "TCP:$HOST_IP:5555,connect-timeout=3" </dev/null 2>/dev/null)" "" \
        "and a container does not reach it either (only port 53 on its gateway is let in)"

ok "down" stack down -t 0
is "$(nft_ours)" "" "nothing of stack's is left in nftables"
is "$(nft -s list ruleset 2>/dev/null)" "$ufw_before" "ufw's ruleset is exactly as it was"
is "$(http_get client "$HOST_IP" 18080)" "" "the port is closed"
like "$(ufw status)" "Status: active" "ufw is still active"

cd "$STACK_TEST_TMP" || exit 1
cleanup
trap - EXIT
nft flush ruleset
assert_no_residue uf
done_testing
