#!/bin/bash
# The nftables backend: published ports (TCP and UDP from another host, 127.0.0.1 from the host only, a
# range, hairpin), outbound NAT, isolation between networks and an internal network with no way out, as
# t0350 and t0352 check them on libiptc. One transaction per apply, none when nothing changed, a repair
# after someone edits our table, and removal leaves nothing; the legacy tables are never touched.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_bridge stkB 10.88.2.1/24
fw_bridge stkC 10.88.3.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_container a2 stkA 10.88.1.3/24 10.88.1.1
fw_container b1 stkB 10.88.2.2/24 10.88.2.1
fw_container c1 stkC 10.88.3.2/24 10.88.3.1
fw_container c2 stkC 10.88.3.3/24 10.88.3.1
ip -n client route add 10.88.0.0/16 via $HOST_IP

for p in 80 82 90 91; do fw_serve_tcp a1 $p; done
fw_serve_udp a1 81
for ns in b1 c1 c2; do fw_serve_tcp $ns 80; done
fw_serve_tcp client 7000
fw_serve_tcp_host 5353 10.88.3.1
fw_serve_tcp_host 5354 $HOST_IP
for ns in a1 b1 c1 c2; do fw_wait_listen $ns 80; done
fw_wait_listen client 7000
fw_wait_listen a1 91
fw_wait_listen - 5354

is "$(fw_tcp client $HOST_IP 8080)" "" "before apply: port 8080 is not reachable"
is "$(fw_tcp a1 10.88.2.2 80)" "b1 80 10.88.1.2" "baseline: without rules a1 reaches b1 directly"
legacy_before=$(fw_all_rules)

spec=(--net "front,stkA,10.88.1.0/24,10.88.1.1"
        --net "back,stkB,10.88.2.0/24,10.88.2.1"
        --net "secret,stkC,10.88.3.0/24,10.88.3.1,internal"
        --port "front,8080,10.88.1.2:80"
        --port "front,8081,10.88.1.2:81/udp"
        --port "front,127.0.0.1:8082,10.88.1.2:82"
        --port "front,8090-8091,10.88.1.2:90"
        --port "back,8085,10.88.2.2:80")
out=$(fwn apply p1 "${spec[@]}" 2>&1)
is "$?" 0 "apply on nftables succeeds"
like "$out" "commits 1" "one nftables transaction for the whole project"
ok "table inet stack exists" nft list table inet stack

is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "tcp from another host reaches the container"
is "$(fw_udp client $HOST_IP 8081)" "a1 81 $CLIENT_IP" "udp from another host reaches the container"
is "$(fw_tcp client $HOST_IP 8082)" "" "a port published on 127.0.0.1 is not reachable from another host"
is "$(fw_tcp client $HOST_IP 8091)" "a1 91 $CLIENT_IP" "range: the second port maps to the second container port"
is "$(fw_tcp - $HOST_IP 8080)" "a1 80 $HOST_IP" "from the host to its own address"
is "$(fw_tcp - 127.0.0.1 8080)" "a1 80 10.88.1.1" "from the host to 127.0.0.1 (masqueraded to the gateway)"
is "$(fw_tcp - 127.0.0.1 8082)" "a1 82 10.88.1.1" "a port published on 127.0.0.1 works from the host"
is "$(fw_udp - 127.0.0.1 8081)" "a1 81 10.88.1.1" "udp from the host to 127.0.0.1"
is "$(fw_tcp a2 $HOST_IP 8080)" "a1 80 10.88.1.1" "hairpin: a neighbour reaches the published port"
is "$(fw_tcp a1 $HOST_IP 8080)" "a1 80 10.88.1.1" "hairpin: a container reaches its own published port"
is "$(fw_tcp client 10.88.1.2 80)" "" "another host cannot reach a container address directly"
is "$(fw_tcp a1 $CLIENT_IP 7000)" "client 7000 $HOST_IP" "a container reaches another host, masqueraded"
is "$(cat /proc/sys/net/ipv4/conf/stkA/route_localnet)" 1 "route_localnet is on for the bridge"

is "$(fw_tcp a1 10.88.2.2 80)" "" "front cannot reach back directly"
is "$(fw_tcp b1 10.88.1.2 80)" "" "back cannot reach front directly"
is "$(fw_tcp b1 $HOST_IP 8080)" "a1 80 10.88.1.1" "back reaches front through its published port"
is "$(fw_tcp a1 $HOST_IP 8085)" "b1 80 10.88.2.1" "front reaches back through its published port"
is "$(fw_tcp c1 10.88.3.3 80)" "c2 80 10.88.3.2" "internal: containers of the network reach each other"
is "$(fw_tcp c1 $CLIENT_IP 7000)" "" "internal: no way to another host"
is "$(fw_tcp c1 10.88.1.2 80)" "" "internal: no way to another network"
is "$(fw_tcp c1 $HOST_IP 8080)" "" "internal: not even through a published port"
is "$(fw_tcp c1 10.88.3.1 5353)" "host 5353 10.88.3.2" "internal: the gateway address answers (for DNS)"
is "$(fw_tcp c1 $HOST_IP 5354)" "" "internal: other host addresses do not"
is "$(fw_tcp a1 10.88.3.2 80)" "" "nobody reaches into the internal network"
is "$(nft list table inet stack | grep -c 'oifname != "stkC".*masquerade')" 0 "no masquerade for the internal network"

out=$(fwn list)
like "$out" "p1 front 127.0.0.1:8082/tcp -> 10.88.1.2:82" "published ports are read back from nftables"
like "$out" "p1 back 0.0.0.0:8085/tcp -> 10.88.2.2:80" "of every network"
is "$(fw_all_rules)" "$legacy_before" "the legacy tables are untouched"

out=$(fwn apply p1 "${spec[@]}" 2>&1)
like "$out" "commits 0" "re-apply without changes: no transaction"

# Someone empties our DNAT chain: the next apply repairs it in one transaction.
dnat=$(nft_chain p1 DNAT)
ok "the project's DNAT chain is there ($dnat)" test -n "$dnat"
nft flush chain inet stack "$dnat"
is "$(fw_tcp client $HOST_IP 8080)" "" "with the DNAT chain flushed the port is closed"
out=$(fwn apply p1 "${spec[@]}" 2>&1)
like "$out" "commits 1" "re-apply after the flush repairs it: one transaction"
is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "the port works again"

# A second project beside it; removing the first leaves the second as it was.
out=$(fwn apply p2 --net "other,stkB,10.88.2.0/24,10.88.2.1" 2>&1)
is "$?" 0 "a second project on its own"
p2_before=$(nft -s list table inet stack | grep 'stack:p2')
ok "remove p1" fwn remove p1
is "$(nft -s list table inet stack | grep -c 'stack:p1')" 0 "nothing of p1 is left"
is "$(nft -s list table inet stack | grep 'stack:p2')" "$p2_before" "p2's chains are untouched"
is "$(fw_tcp client $HOST_IP 8080)" "" "after teardown the port is closed"
ok "remove p2" fwn remove p2
is "$(nft_ours)" "" "the last project out takes table inet stack with it"
out=$(fwn remove p1)
is "$out" "commits 0" "a second remove changes nothing"
is "$(fw_tcp a1 10.88.2.2 80)" "b1 80 10.88.1.2" "after teardown the host routes as before"

# The backend choice changed between up and down: removal through either takes what the other holds.
ok "apply on nftables again" fwn apply p1 "${spec[@]}"
ok "remove through libiptc" "$FW" --backend iptables remove p1
is "$(nft_ours)" "" "what nftables held is gone too"
ok "apply on libiptc" "$FW" --backend iptables apply p1 "${spec[@]}"
ok "remove through nftables" fwn remove p1
is "$(fw_ours)" "" "what the legacy tables held is gone too"

fw_cleanup
assert_no_residue p1
done_testing
