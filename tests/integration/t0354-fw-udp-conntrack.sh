#!/bin/bash
# A UDP client that keeps sending from the same source port keeps its conntrack entry alive, and NAT is
# decided once per entry: when the published port moves to another container (a recreate with a new
# address), its datagrams would still go to the old one. The apply deletes exactly those stale entries.
# On each backend (libiptc and nftables), one after the other.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"

[ -r /proc/net/nf_conntrack ] || skip_all "no /proc/net/nf_conntrack"
fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_container a2 stkA 10.88.1.3/24 10.88.1.1
fw_serve_udp a1 81
fw_serve_udp a2 81
fw_serve_udp a1 85
fw_wait_listen a1 81
fw_wait_listen a2 81
fw_wait_listen a1 85

# send PORT SPORT: one datagram from the client's fixed source port
send() {
        echo ping | ip netns exec client socat -T2 -t2 - "UDP:$HOST_IP:$1,sourceport=$2" 2>/dev/null
}
entry() { # the conntrack entry of the client's flow from SPORT, if any
        grep "src=$CLIENT_IP dst=$HOST_IP sport=$1 " /proc/net/nf_conntrack
}

net=front,stkA,10.88.1.0/24,10.88.1.1
sport=40000
for STACK_FIREWALL_BACKEND in $(fw_backends); do
        export STACK_FIREWALL_BACKEND
        b=$STACK_FIREWALL_BACKEND
        # Fresh client ports per pass: the first pass's entries may still be in the table.
        s1=$sport s2=$((sport + 1))
        sport=$((sport + 2))
        ok "$b: publish 8081 -> a1:81 and 8085 -> a1:85" "$FW" apply p1 --net $net --port front,8081,10.88.1.2:81/udp --port front,8085,10.88.1.2:85/udp
        is "$(send 8081 $s1)" "a1 81 $CLIENT_IP" "$b: the client's flow goes to a1"
        is "$(send 8085 $s2)" "a1 85 $CLIENT_IP" "$b: a second flow, on a port that will not change"
        like "$(entry $s1)" "src=10.88.1.2" "$b: conntrack holds the flow, DNATed to a1"

        ok "$b: the port moves to a2" "$FW" apply p1 --net $net --port front,8081,10.88.1.3:81/udp --port front,8085,10.88.1.2:85/udp
        is "$(entry $s1)" "" "$b: the stale entry towards a1 is gone"
        like "$(entry $s2)" "src=10.88.1.2" "$b: the entry of the unchanged port is kept"
        is "$(send 8081 $s1)" "a2 81 $CLIENT_IP" "$b: the same client flow now reaches a2"

        ok "$b: remove" "$FW" remove p1
        is "$(fw_backend_ours)" "" "$b: nothing of ours is left"
done
fw_cleanup
assert_no_residue p1
done_testing
