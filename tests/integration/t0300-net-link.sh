#!/bin/bash
# The link layer: a network is a bridge with the gateway address; two container namespaces attached to it
# reach each other and the gateway; everything is idempotent; teardown leaves nothing behind.
. "$STACK_SRCDIR/tests/integration/lib.sh"

NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || skip_all "net-tool not built"
command -v busybox >/dev/null || skip_all "busybox not installed"


out=$("$NT" setup p1 p1_default)
ok "setup a network" test -n "$out"
br=$(printf '%s\n' "$out" | sed -n 's/.*bridge=\([^ ]*\).*/\1/p')
like "$br" "stk" "the bridge name has stack's prefix"
is "${#br}" 11 "bridge name is stk + 8 hex digits"
like "$out" "subnet=172.30.0.0/24 gateway=172.30.0.1" "first /24 of the default pool, gateway .1"
like "$(ip -d link show dev "$br")" "alias stack:p1/p1_default" "the bridge's alias names project and network"
like "$(ip -o link show dev "$br")" ",UP" "the bridge is up"
like "$(ip -o -4 addr show dev "$br")" "172.30.0.1/24" "the gateway address is on the bridge"
is "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "forwarding is on"

out2=$("$NT" setup p1 p1_default)
is "$out2" "$out" "setting up again changes nothing"
is "$(ip -o -4 addr show dev "$br" | wc -l)" 1 "still one address on the bridge"

a1=$("$NT" -d attach p1 p1_default p1-web-1)
like "$a1" "ifname=eth0" "the container side is eth0"
like "$a1" "addr=172.30.0.2/24" "first container gets .2"
a2=$("$NT" -d attach p1 p1_default p1-web-2)
like "$a2" "addr=172.30.0.3/24" "second container gets .3"
host1=$(printf '%s\n' "$a1" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
host2=$(printf '%s\n' "$a2" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
ok "host end of the first veth is a port of the bridge" sh -c "ip -o link show dev $host1 | grep -q 'master $br'"
ok "host end of the second veth is a port of the bridge" sh -c "ip -o link show dev $host2 | grep -q 'master $br'"
like "$(bridge -d link show dev "$host1")" "hairpin on" "hairpin mode is on for the port"

ok "netns is a mounted namespace file" mountpoint -q "$STACK_RUN_ROOT/netns/p1/p1-web-1"
like "$(netns_exec p1 p1-web-1 ip -o link show lo)" "UP" "lo is up inside"
like "$(netns_exec p1 p1-web-1 ip -o -4 addr show dev eth0)" "172.30.0.2/24" "the address is inside"
like "$(netns_exec p1 p1-web-1 ip route show default)" "default via 172.30.0.1 dev eth0" "default route through the gateway"
like "$(netns_exec p1 p1-web-1 ip -o link show eth0)" "02:53:ac:1e:00:02" "the MAC is derived from the address"

ok "web-1 pings web-2" netns_exec p1 p1-web-1 busybox ping -c 1 -W 3 172.30.0.3
ok "web-2 pings web-1" netns_exec p1 p1-web-2 busybox ping -c 1 -W 3 172.30.0.2
ok "the gateway answers" netns_exec p1 p1-web-1 busybox ping -c 1 -W 3 172.30.0.1
ok "the host reaches a container" busybox ping -c 1 -W 3 172.30.0.3

a1b=$("$NT" -d attach p1 p1_default p1-web-1)
is "$a1b" "$a1" "attaching again is idempotent: same address, same names"
is "$(netns_exec p1 p1-web-1 ip -o -4 addr show | grep -c 172.30)" 1 "still one address inside"

st=$("$NT" status p1_default)
like "$st" "endpoint p1-web-1 172.30.0.2" "status lists the first endpoint"
like "$st" "endpoint p1-web-2 172.30.0.3" "status lists the second endpoint"
like "$st" "in_kernel=yes" "status sees the bridge"

ok "detach web-2" "$NT" detach p1 p1_default p1-web-2
not_ok "its veth is gone" ip link show dev "$host2"
not_ok "web-1 no longer reaches web-2" netns_exec p1 p1-web-1 busybox ping -c 1 -W 1 172.30.0.3
ok "detach twice is fine" "$NT" detach p1 p1_default p1-web-2
ok "remove web-2's namespace" "$NT" rm p1 p1-web-2
not_ok "its namespace file is gone" test -e "$STACK_RUN_ROOT/netns/p1/p1-web-2"
a3=$("$NT" -d attach p1 p1_default p1-web-3)
like "$a3" "addr=172.30.0.3/24" "a released address is handed out again"

out=$("$NT" -d attach-many p1 p1_default 5)
like "$out" "usec" "five replicas attached in one batch"
st=$("$NT" status p1_default)
is "$(printf '%s\n' "$st" | grep -c '^endpoint p1-c-')" 5 "each has a lease"
is "$(printf '%s\n' "$st" | awk '/^endpoint/ {print $3}' | sort | uniq -d)" "" "no address was handed out twice"
ok "the last replica reaches the first" \
        netns_exec p1 p1-c-5 busybox ping -c 1 -W 3 "$(printf '%s\n' "$st" | awk '$2 == "p1-c-1" {print $3}')"

ok "remove web-1" "$NT" rm p1 p1-web-1
not_ok "web-1's veth went with its namespace" ip link show dev "$host1"
ok "remove web-1 again (already gone)" "$NT" rm p1 p1-web-1
ok "tear the project down" "$NT" down p1
not_ok "the bridge is gone" ip link show dev "$br"
ok "tear down twice is fine" "$NT" down p1
is "$(grep -c '^lease\|^network' "$STACK_ROOT/ipam/leases")" 0 "no leases or network records left"
not_ok "no netns directory left" test -e "$STACK_RUN_ROOT/netns"

assert_no_residue p1
done_testing
