#!/bin/bash
# IPv6 isolation on the nftables backend, as t0356 checks it on libiptc: each bridge admits only replies
# and its own traffic, an internal network has no way out, in the same transaction as IPv4; a project
# without IPv6 networks has no IPv6 chain.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

fw_host_setup
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
ip addr add fd00:77::1/64 dev vcl nodad
ip -n client addr add fd00:77::2/64 dev eth0 nodad
ip -n client -6 route add default via fd00:77::1

for spec in stkA,10.88.1.1,fd00:88:1::1 stkB,10.88.2.1,fd00:88:2::1 stkC,10.88.3.1,fd00:88:3::1; do
        IFS=, read -r br gw4 gw6 <<<"$spec"
        fw_bridge "$br" "$gw4/24"
        ip addr add "$gw6/64" dev "$br" nodad
done
for spec in a1,stkA,2,1 a2,stkA,3,1 b1,stkB,2,2 c1,stkC,2,3 c2,stkC,3,3; do
        IFS=, read -r ns br host net <<<"$spec"
        fw_container "$ns" "$br" "10.88.$net.$host/24" "10.88.$net.1"
        ip -n "$ns" addr add "fd00:88:$net::$host/64" dev eth0 nodad
        ip -n "$ns" -6 route add default via "fd00:88:$net::1"
done
serve6() {
        ip netns exec "$1" socat "TCP6-LISTEN:$2,fork,reuseaddr" SYSTEM:"echo $1 $2" 2>/dev/null &
        _fw_pids="$_fw_pids $!"
}
tcp6() {
        ip netns exec "$1" socat -T2 - "TCP6:[$2]:$3,connect-timeout=2" </dev/null 2>/dev/null
}
for ns in a1 a2 b1 c1 c2 client; do serve6 "$ns" 80; done
for ns in a1 a2 b1 c1 c2 client; do fw_wait_listen "$ns" 80; done

wait_until 50 sh -c "ip netns exec a1 socat -T1 - 'TCP6:[fd00:88:2::2]:80,connect-timeout=1' </dev/null 2>/dev/null | grep -q b1"
is "$(tcp6 a1 fd00:88:2::2 80)" "b1 80" "baseline: without rules a1 reaches b1 over IPv6"
is "$(tcp6 client fd00:88:1::2 80)" "a1 80" "baseline: another host reaches a1 over IPv6"

out=$(fwn apply p0 --net "only4,stkB,10.88.2.0/24,10.88.2.1" 2>&1)
is "$?" 0 "apply a project with an IPv4-only network"
is "$(nft list table inet stack | grep -c 'nfproto ipv6')" 0 "it has no IPv6 chain"
ok "remove it" fwn remove p0

spec=(--net "front,stkA,10.88.1.0/24,10.88.1.1,ipv6"
        --net "back,stkB,10.88.2.0/24,10.88.2.1,ipv6"
        --net "secret,stkC,10.88.3.0/24,10.88.3.1,internal,ipv6")
out=$(fwn apply p1 "${spec[@]}" 2>&1)
is "$?" 0 "apply with three IPv6 networks, one internal"
like "$out" "commits 1" "IPv4 and IPv6 in one transaction"
iso6=$(nft_chain p1 ISO6)
ok "an IPv6 isolation chain ($iso6)" test -n "$iso6"
like "$(nft list table inet stack)" "meta nfproto ipv6 jump $iso6" "reached for IPv6 only"

is "$(tcp6 a1 fd00:88:1::3 80)" "a2 80" "within a network containers reach each other"
is "$(tcp6 a1 fd00:88:2::2 80)" "" "front cannot reach back over IPv6"
is "$(tcp6 b1 fd00:88:1::2 80)" "" "back cannot reach front over IPv6"
is "$(tcp6 client fd00:88:1::2 80)" "" "another host cannot reach a container over IPv6"
is "$(tcp6 a1 fd00:77::2 80)" "client 80" "front still reaches another host (the replies come back)"
is "$(tcp6 c1 fd00:88:3::3 80)" "c2 80" "internal: containers of the network reach each other"
is "$(tcp6 c1 fd00:88:1::2 80)" "" "internal: no way to another network"
is "$(tcp6 c1 fd00:77::2 80)" "" "internal: no way to another host"
is "$(tcp6 a1 fd00:88:3::2 80)" "" "nobody reaches into the internal network"

out=$(fwn apply p1 "${spec[@]}" 2>&1)
like "$out" "commits 0" "re-apply without changes: no transaction"

ok "remove" fwn remove p1
is "$(nft_ours)" "" "nothing of ours is left in nftables"
is "$(tcp6 a1 fd00:88:2::2 80)" "b1 80" "after teardown the host routes IPv6 as before"
fw_cleanup
assert_no_residue p1
done_testing
