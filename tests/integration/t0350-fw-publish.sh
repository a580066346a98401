#!/bin/bash
# Published ports through kernel DNAT, with the FORWARD policy set to DROP as on a host running Docker:
# TCP and UDP from another host, from the host to its own addresses and to 127.0.0.1, a specific host
# address, 127.0.0.1 only, a range, a random port, hairpin from the containers, outbound NAT; then
# teardown leaves nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"

fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_container a2 stkA 10.88.1.3/24 10.88.1.1
iptables-legacy -P FORWARD DROP

for p in 80 82 83 90 91; do fw_serve_tcp a1 $p; done
fw_serve_udp a1 81
fw_serve_tcp client 7000
fw_wait_listen a1 91
fw_wait_listen client 7000

fw_serve_tcp_host 8100
fw_wait_listen - 8100
is "$(fw_tcp client $HOST_IP 8080)" "" "before apply: port 8080 is not reachable"

net="front,stkA,10.88.1.0/24,10.88.1.1"
spec=(--net "$net"
        --port "front,8080,10.88.1.2:80"
        --port "front,8081,10.88.1.2:81/udp"
        --port "front,127.0.0.1:8082,10.88.1.2:82"
        --port "front,$HOST_IP:8083,10.88.1.2:83"
        --port "front,8090-8091,10.88.1.2:90"
        --port "front,0,10.88.1.2:80"
        --port "front,8100~8101,10.88.1.2:91")
out=$("$FW" apply p1 "${spec[@]}" 2>&1)
is "$?" 0 "apply succeeds"
like "$out" "commits 3" "one commit per table (raw, filter, nat) for seven port specs"
rand=$(printf '%s\n' "$out" | sed -n 's|^published 0.0.0.0:\([0-9]*\)/tcp -> 10.88.1.2:80$|\1|p' | grep -vx 8080)
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
ok "the random host port $rand is in the ephemeral range $lo-$hi" test -n "$rand" -a "${rand:-0}" -ge "$lo" -a "${rand:-0}" -le "$hi"

# From another host: the client's own address reaches the container (no masquerade on the way in).
is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "tcp from another host reaches the container"
is "$(fw_udp client $HOST_IP 8081)" "a1 81 $CLIENT_IP" "udp from another host reaches the container"
is "$(fw_tcp client $HOST_IP 8083)" "a1 83 $CLIENT_IP" "a port published on one host address works there"
is "$(fw_tcp client $HOST_IP 8082)" "" "a port published on 127.0.0.1 is not reachable from another host"
is "$(fw_tcp client $HOST_IP 8090)" "a1 90 $CLIENT_IP" "range: first port"
is "$(fw_tcp client $HOST_IP 8091)" "a1 91 $CLIENT_IP" "range: second port maps to the second container port"
is "$(fw_tcp client $HOST_IP "${rand:-1}")" "a1 80 $CLIENT_IP" "the random host port reaches the container"
like "$out" "published 0.0.0.0:8101/tcp -> 10.88.1.2:91" "8100-8101:91 takes 8101, as a host process holds 8100"
is "$(fw_tcp client $HOST_IP 8101)" "a1 91 $CLIENT_IP" "and it works"
is "$(fw_tcp client $HOST_IP 8100)" "host 8100 $CLIENT_IP" "the host process keeps 8100"

# From the host itself.
is "$(fw_tcp - $HOST_IP 8080)" "a1 80 $HOST_IP" "from the host to its own address"
is "$(fw_tcp - 10.88.1.1 8080)" "a1 80 10.88.1.1" "from the host to the bridge's address"
is "$(fw_tcp - 127.0.0.1 8080)" "a1 80 10.88.1.1" "from the host to 127.0.0.1 (masqueraded to the gateway)"
is "$(fw_tcp - 127.0.0.1 8082)" "a1 82 10.88.1.1" "a port published on 127.0.0.1 works from the host"
is "$(fw_udp - 127.0.0.1 8081)" "a1 81 10.88.1.1" "udp from the host to 127.0.0.1"
is "$(fw_tcp - 127.0.0.1 8083)" "" "a port published on one address is not on 127.0.0.1"

# Hairpin: containers of the network back through the published port, replies through the host.
is "$(fw_tcp a1 $HOST_IP 8080)" "a1 80 10.88.1.1" "hairpin: a container reaches its own published port"
is "$(fw_tcp a2 $HOST_IP 8080)" "a1 80 10.88.1.1" "hairpin: a neighbour on the same network reaches it"
is "$(fw_tcp a2 10.88.1.1 8080)" "a1 80 10.88.1.1" "hairpin through the gateway address"
is "$(fw_udp a2 $HOST_IP 8081)" "a1 81 10.88.1.1" "hairpin udp"

# Unpublished and direct: the container address alone is no way in.
ip -n client route add 10.88.1.0/24 via $HOST_IP 2>/dev/null
is "$(fw_tcp client 10.88.1.2 80)" "" "another host cannot reach a published container port directly"
is "$(fw_tcp client 10.88.1.2 82)" "" "nor an unpublished one"

# Outbound: masqueraded to the host's address, with FORWARD policy DROP.
is "$(fw_tcp a1 $CLIENT_IP 7000)" "client 7000 $HOST_IP" "a container reaches another host, masqueraded"
is "$(iptables-legacy -S FORWARD | head -n 1)" "-P FORWARD DROP" "the FORWARD policy is still DROP"
is "$(iptables-legacy -S FORWARD | sed -n 2p)" "-A FORWARD -j STACK-FORWARD" "one jump from FORWARD, at the top"
is "$(cat /proc/sys/net/ipv4/conf/stkA/route_localnet)" 1 "route_localnet is on for the bridge"

out=$("$FW" list)
like "$out" "p1 front 127.0.0.1:8082/tcp -> 10.88.1.2:82" "published ports are read back from the kernel"

# Someone flushes FORWARD (a firewall reload, an admin): the next apply puts back just our jump.
iptables-legacy -F FORWARD
is "$(fw_tcp client $HOST_IP 8080)" "" "with our FORWARD jump gone the DROP policy stops the traffic"
out=$("$FW" apply p1 "${spec[@]}")
like "$out" "commits 1" "re-apply after the flush repairs it: one commit, filter only"
like "$out" "published 0.0.0.0:$rand/tcp -> 10.88.1.2:80" "the random port is kept across re-applies"
is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "the port works again"
is "$(iptables-legacy -S FORWARD | grep -c STACK-FORWARD)" 1 "with exactly one jump"
out=$("$FW" apply p1 "${spec[@]}")
like "$out" "commits 0" "and the next re-apply has nothing to do"

ok "remove succeeds" "$FW" remove p1
is "$(fw_ours)" "" "after teardown iptables-legacy-save shows nothing of ours"
is "$(fw_tcp client $HOST_IP 8080)" "" "after teardown the port is closed"
out=$("$FW" remove p1)
is "$out" "commits 0" "a second remove changes nothing (idempotent, no commit)"

fw_cleanup
iptables-legacy -P FORWARD ACCEPT
assert_no_residue p1
done_testing
