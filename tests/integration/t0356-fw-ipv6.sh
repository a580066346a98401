#!/bin/bash
# IPv6 isolation (net/firewall6.h) with the FORWARD policy left at ACCEPT: the host forwards IPv6 between
# bridges, so without our rules every network and another host reach every container. With them, each
# bridge admits only replies and its own traffic, an internal network has no way out, other tools'
# ip6tables rules survive, and a project without IPv6 networks does not touch ip6tables at all.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"

command -v ip6tables-legacy-save >/dev/null || skip_all "ip6tables-legacy not installed"
fw_host_setup
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
ip addr add fd00:77::1/64 dev vcl nodad
ip -n client addr add fd00:77::2/64 dev eth0 nodad
ip -n client -6 route add default via fd00:77::1

# bridge, IPv4 gateway, IPv6 gateway
for spec in stkA,10.88.1.1,fd00:88:1::1 stkB,10.88.2.1,fd00:88:2::1 stkC,10.88.3.1,fd00:88:3::1; do
        IFS=, read -r br gw4 gw6 <<<"$spec"
        fw_bridge "$br" "$gw4/24"
        ip addr add "$gw6/64" dev "$br" nodad
done
# container netns, bridge, last IPv4 octet and IPv6 host part, network number
for spec in a1,stkA,2,1 a2,stkA,3,1 b1,stkB,2,2 c1,stkC,2,3 c2,stkC,3,3; do
        IFS=, read -r ns br host net <<<"$spec"
        fw_container "$ns" "$br" "10.88.$net.$host/24" "10.88.$net.1"
        ip -n "$ns" addr add "fd00:88:$net::$host/64" dev eth0 nodad
        ip -n "$ns" -6 route add default via "fd00:88:$net::1"
done

# serve6 NETNS PORT: answers "NETNS PORT" to each IPv6 connection
serve6() {
        ip netns exec "$1" socat "TCP6-LISTEN:$2,fork,reuseaddr" SYSTEM:"echo $1 $2" 2>/dev/null &
        _fw_pids="$_fw_pids $!"
}
# tcp6 NETNS ADDRESS PORT: the answer, empty when unreachable
tcp6() {
        ip netns exec "$1" socat -T2 - "TCP6:[$2]:$3,connect-timeout=2" </dev/null 2>/dev/null
}
ours6() {
        ip6tables-legacy-save 2>/dev/null | grep -E '^:STACK|STACK-' | sed 's/\[[0-9]*:[0-9]*\]//'
}
all6() {
        ip6tables-legacy-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
}
for ns in a1 a2 b1 c1 c2 client; do serve6 "$ns" 80; done
for ns in a1 a2 b1 c1 c2 client; do fw_wait_listen "$ns" 80; done

# Another tool's rules, before and after ours; they must survive every apply and the removal.
ip6tables-legacy -N OTHER6
ip6tables-legacy -A OTHER6 -s 2001:db8::1/128 -j DROP
ip6tables-legacy -A FORWARD -j OTHER6
ip6tables-legacy -A INPUT -s 2001:db8::2/128 -j DROP

# Freshly made links need a moment (neighbour discovery, link-local DAD) before IPv6 flows.
wait_until 50 sh -c "ip netns exec a1 socat -T1 - 'TCP6:[fd00:88:2::2]:80,connect-timeout=1' </dev/null 2>/dev/null | grep -q b1"
# Without our rules everything is routed everywhere: the baseline the rules must change.
is "$(tcp6 a1 fd00:88:2::2 80)" "b1 80" "baseline: without rules a1 reaches b1 over IPv6"
is "$(tcp6 client fd00:88:1::2 80)" "a1 80" "baseline: another host reaches a1 over IPv6"
is "$(tcp6 c1 fd00:88:1::2 80)" "a1 80" "baseline: the internal network's c1 reaches a1 over IPv6"

# A project without IPv6 networks leaves ip6tables exactly as it is.
before=$(all6)
out=$("$FW" apply p0 --net only4,stkB,10.88.2.0/24,10.88.2.1 2>&1)
is "$?" 0 "apply a project with an IPv4-only network"
unlike() { if printf '%s' "$1" | grep -q -- "$2"; then is "$1" "(no $2)" "$3"; else is x x "$3"; fi; }
unlike "$out" "commits6" "no IPv6 commit for it"
is "$(all6)" "$before" "ip6tables unchanged by an IPv4-only project"
ok "remove the IPv4-only project" "$FW" remove p0

out=$("$FW" apply p1 \
        --net front,stkA,10.88.1.0/24,10.88.1.1,ipv6 \
        --net back,stkB,10.88.2.0/24,10.88.2.1,ipv6 \
        --net secret,stkC,10.88.3.0/24,10.88.3.1,internal,ipv6 2>&1)
is "$?" 0 "apply with three IPv6 networks, one internal"
like "$out" "commits6 1" "one commit of the ip6tables filter table"

save=$(ours6)
like "$save" "-A FORWARD -j STACK-FORWARD" "FORWARD jumps to STACK-FORWARD"
is "$(ip6tables-legacy -S FORWARD | sed -n 2p)" "-A FORWARD -j STACK-FORWARD" "and that jump comes first"
is "$(ip6tables-legacy -S STACK-FORWARD | grep -o 'STACK-[0-9a-f]*-[A-Z]*$' | sed 's/.*-//' | tr '\n' ' ')" \
        "INT ISO " "the internal chain is jumped to before the isolation chain"
like "$save" '-o stkA -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "stack:p1:front" -j ACCEPT' \
        "replies into front are accepted"
like "$save" '-i stkA -o stkA -m comment --comment "stack:p1:front" -j ACCEPT' "front's own traffic is accepted"
like "$save" '-o stkA -m comment --comment "stack:p1:front" -j DROP' "the rest into front is dropped"
like "$save" '-i stkC ! -o stkC -m comment --comment "stack:p1:secret" -j DROP' "nothing leaves the internal bridge"

is "$(tcp6 a1 fd00:88:1::3 80)" "a2 80" "within a network containers reach each other"
is "$(tcp6 a1 fd00:88:2::2 80)" "" "front cannot reach back over IPv6"
is "$(tcp6 b1 fd00:88:1::2 80)" "" "back cannot reach front over IPv6"
is "$(tcp6 client fd00:88:1::2 80)" "" "another host cannot reach a container over IPv6"
is "$(tcp6 a1 fd00:77::2 80)" "client 80" "front still reaches another host (the replies come back)"
is "$(tcp6 c1 fd00:88:3::3 80)" "c2 80" "internal: containers of the network reach each other"
is "$(tcp6 c1 fd00:88:1::2 80)" "" "internal: no way to another network"
is "$(tcp6 c1 fd00:77::2 80)" "" "internal: no way to another host"
is "$(tcp6 a1 fd00:88:3::2 80)" "" "nobody reaches into the internal network"

out=$("$FW" apply p1 \
        --net front,stkA,10.88.1.0/24,10.88.1.1,ipv6 \
        --net back,stkB,10.88.2.0/24,10.88.2.1,ipv6 \
        --net secret,stkC,10.88.3.0/24,10.88.3.1,internal,ipv6 2>&1)
like "$out" "commits6 0" "re-apply without changes: no IPv6 commit"
is "$(ours6)" "$save" "and the rules are as they were"

# Dropping IPv6 from one network replaces the project's rules in one commit.
out=$("$FW" apply p1 \
        --net front,stkA,10.88.1.0/24,10.88.1.1,ipv6 \
        --net back,stkB,10.88.2.0/24,10.88.2.1 \
        --net secret,stkC,10.88.3.0/24,10.88.3.1,internal,ipv6 2>&1)
like "$out" "commits6 1" "a changed network: one IPv6 commit"
is "$(ours6 | grep -c stkB)" 0 "no rule for the network without IPv6 any more"

is "$(ip6tables-legacy -S OTHER6)" "-N OTHER6
-A OTHER6 -s 2001:db8::1/128 -j DROP" "another tool's chain survives apply"

out=$("$FW" remove p1 2>&1)
is "$?" 0 "remove"
like "$out" "commits6 1" "one IPv6 commit for the removal"
is "$(ours6)" "" "nothing of ours is left in ip6tables-legacy-save"
is "$(ip6tables-legacy -S OTHER6)" "-N OTHER6
-A OTHER6 -s 2001:db8::1/128 -j DROP" "another tool's chain survives removal"
is "$(ip6tables-legacy -S FORWARD | grep -c OTHER6)" 1 "and its jump from FORWARD"
is "$(ip6tables-legacy -S INPUT | grep -c 2001:db8::2)" 1 "and its rule in INPUT"
out=$("$FW" remove p1 2>&1)
is "$out" "commits 0" "a second remove changes nothing"
is "$(tcp6 a1 fd00:88:2::2 80)" "b1 80" "after teardown the host routes IPv6 as before"

ip6tables-legacy -D FORWARD -j OTHER6
ip6tables-legacy -F OTHER6
ip6tables-legacy -X OTHER6
ip6tables-legacy -D INPUT -s 2001:db8::2/128 -j DROP
fw_cleanup
assert_no_residue p1
done_testing
