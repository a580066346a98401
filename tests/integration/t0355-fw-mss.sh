#!/bin/bash
# Large MTU inside the host, right MSS outside it. stack's bridges and veths run at 65520 bytes, so a
# container announces an MSS of ~64 KiB. A connection that leaves the host must still be offered an MSS
# its route can carry: the TCPMSS rule clamps both SYNs (the container's own connection out, and its
# SYN-ACK to a client of a published port) to the MTU of the route they take. The client here sits on a
# jumbo-frame link with a route of MTU 1400 in between, so only the clamp keeps its segments small.
# On each backend (libiptc and nftables), one after the other on the same links.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
command -v python3 >/dev/null || skip_all "python3 not installed"

fw_host_setup
fw_bridge stkM 10.88.7.1/24
ip link set stkM mtu 65520
fw_container m1 stkM 10.88.7.2/24 10.88.7.1
ip link set vm1 mtu 65520
ip -n m1 link set eth0 mtu 65520
ip link set vcl mtu 9000
ip -n client link set eth0 mtu 9000
ip route replace 192.168.77.0/24 dev vcl mtu lock 1400

# mss NETNS_FROM NETNS_TO ADDRESS PORT LISTEN_PORT: one connection from a process in NETNS_FROM to ADDRESS:PORT,
# accepted by a process in NETNS_TO on LISTEN_PORT; prints the MSS each side sends with: "FROM TO". The
# timeouts only end a connection that never comes: on a busy machine starting the client alone can take
# seconds.
mss() {
        local out=$STACK_TEST_TMP/mss.$5 pid from run=""
        [ "$1" = - ] || run="ip netns exec $1"
        ip netns exec "$2" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
print("listening", flush=True)
s.settimeout(120)
c, _ = s.accept()
print(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
c.recv(1)
' "$5" >"$out" 2>/dev/null &
        pid=$!
        wait_until 1200 grep -q listening "$out"
        from=$($run python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
print(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))
c.send(b"x")
c.close()
' "$3" "$4" 2>/dev/null)
        wait "$pid"
        echo "${from:-0} $(sed -n 2p "$out")"
}

# Without our rules (plain forwarding), the client trusts the container's 64 KiB announcement.
read -r _ plain <<<"$(mss m1 client "$CLIENT_IP" 7001 7001)"
ok "without the clamp the client would send ${plain:-?}-byte segments over a 1400-byte route" \
        test "${plain:-0}" -gt 1400

lport=7001
for STACK_FIREWALL_BACKEND in $(fw_backends); do
        export STACK_FIREWALL_BACKEND
        b=$STACK_FIREWALL_BACKEND
        out=$("$FW" apply pm --net "mtu,stkM,10.88.7.0/24,10.88.7.1" --port "mtu,8080,10.88.7.2:7002" 2>&1)
        is "$?" 0 "$b: apply succeeds"
        if [ "$b" = nftables ]; then
                clamp='iifname "stkM" oifname != "stkM" tcp flags syn / syn,rst tcp option maxseg size set rt mtu'
        else
                clamp='-i stkM ! -o stkM -p tcp .*--tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu'
        fi
        is "$(fw_backend_ours | grep -c -- "$clamp")" 1 "$b: the clamp rule is installed for the bridge"

        # New listening ports per pass, so no socket of the first pass is in the way.
        read -r _ outward <<<"$(mss m1 client "$CLIENT_IP" $((lport + 10)) $((lport + 10)))"
        ok "$b: container -> another host: the host's segments towards it are clamped (${outward:-?} <= 1360)" \
                test "${outward:-0}" -gt 0 -a "${outward:-99999}" -le 1360
        read -r inward _ <<<"$(mss client m1 "$HOST_IP" 8080 7002)"
        ok "$b: another host -> published port: its segments are clamped too (${inward:-?} <= 1360)" \
                test "${inward:-0}" -gt 0 -a "${inward:-99999}" -le 1360
        read -r local_mss _ <<<"$(mss - m1 10.88.7.2 $((lport + 20)) $((lport + 20)))"
        ok "$b: host -> container stays at the large MTU (${local_mss:-?} > 9000)" test "${local_mss:-0}" -gt 9000
        lport=$((lport + 100))

        ok "$b: remove succeeds" "$FW" remove pm
        is "$(fw_backend_ours)" "" "$b: after teardown nothing of ours is left"
done
fw_cleanup
assert_no_residue pm
done_testing
