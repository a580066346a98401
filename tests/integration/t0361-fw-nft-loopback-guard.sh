#!/bin/bash
# The CVE-2020-8558 guard on the nftables backend, as t0351 checks it on libiptc: a neighbour sending to
# 127.0.0.1:PORT through us and a container sending to the host's 127.0.0.1 services through its bridge
# are both dropped; with our raw chain flushed the same attempts succeed, so the guard is what stops them.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_serve_tcp a1 82
fw_serve_tcp_host 7777 127.0.0.1
fw_wait_listen a1 82
fw_wait_listen - 7777

spec=(--net "front,stkA,10.88.1.0/24,10.88.1.1" --port "front,127.0.0.1:8082,10.88.1.2:82")
ok "apply" fwn apply p1 "${spec[@]}"
is "$(fw_tcp - 127.0.0.1 8082)" "a1 82 10.88.1.1" "the host reaches the 127.0.0.1-published port"

# Make the client and the container able to send to 127.0.0.0/8 on the wire, as an attacker would.
spoof_loopback() {
        ip netns exec "$1" sh -c "
                echo 1 >/proc/sys/net/ipv4/conf/eth0/route_localnet
                ip addr flush dev lo
                ip route add 127.0.0.0/8 via $2 dev eth0 onlink"
}
spoof_loopback client $HOST_IP
spoof_loopback a1 10.88.1.1

pre=$(nft_chain p1 PRE)
ok "our raw chain exists ($pre)" test -n "$pre"
like "$(nft list chain inet stack "$pre")" 'iifname != "lo" ip daddr 127.0.0.0/8 tcp dport 8082 drop' \
        "it drops what does not come from lo to the published port"

is "$(fw_tcp client 127.0.0.1 8082)" "" "a neighbour's packets to the 127.0.0.1-published port are dropped"
is "$(fw_tcp a1 127.0.0.1 7777)" "" "a container cannot reach the host's 127.0.0.1 services through its bridge"
is "$(fw_tcp client $HOST_IP 8082)" "" "nor is the port on the host's other address"

# The control: without our raw rules the same packets get through.
nft flush chain inet stack "$pre"
is "$(fw_tcp client 127.0.0.1 8082)" "a1 82 $CLIENT_IP" "control: without the guard the neighbour gets in"
is "$(fw_tcp a1 127.0.0.1 7777)" "host 7777 10.88.1.2" "control: without the guard the container reaches 127.0.0.1"

out=$(fwn apply p1 "${spec[@]}")
like "$out" "commits 1" "re-apply restores the guard in one transaction"
is "$(fw_tcp client 127.0.0.1 8082)" "" "after re-apply the neighbour is dropped again"
is "$(fw_tcp - 127.0.0.1 8082)" "a1 82 10.88.1.1" "and the host still gets in"

ok "remove" fwn remove p1
is "$(nft_ours)" "" "nothing of ours is left in nftables"
fw_cleanup
assert_no_residue p1
done_testing
