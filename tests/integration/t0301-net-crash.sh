#!/bin/bash
# Crash repair: whatever a run left half-made (a bridge without alias or address, a namespace file without
# its mount, a container without its address, a stray veth under our name, lost IPAM records) is repaired
# by the next setup and removed by teardown. Someone else's link under our name is refused, not touched.
. "$STACK_SRCDIR/tests/integration/lib.sh"

NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || skip_all "net-tool not built"
command -v busybox >/dev/null || skip_all "busybox not installed"


out=$("$NT" setup p1 p1_default)
br=$(kv "$out" bridge)

# A crash right after the bridge was created: no alias, no address, down.
ip link set dev "$br" alias ""
ip addr flush dev "$br"
ip link set dev "$br" down
ip addr add 10.99.0.1/24 dev "$br" # and an address of a subnet the network no longer has
ok "setup repairs a half-made bridge" "$NT" setup p1 p1_default
like "$(ip -d link show dev "$br")" "alias stack:p1/p1_default" "the alias is back"
like "$(ip -o link show dev "$br")" ",UP" "the bridge is up again"
is "$(ip -o -4 addr show dev "$br" | awk '{print $4}')" "172.30.0.1/24" "only the gateway address is on the bridge"

# A namespace file whose mount was lost.
path=$("$NT" netns p1 p1-a-1)
umount "$path"
ok "the file is left without its mount" test -f "$path"
not_ok "it is no namespace any more" mountpoint -q "$path"
ok "attach mounts a fresh namespace on it" "$NT" -d attach p1 p1_default p1-a-1
ok "it is a namespace again" mountpoint -q "$path"
ok "and reaches the gateway" netns_exec p1 p1-a-1 busybox ping -c 1 -W 3 172.30.0.1

# A container whose address and route are gone (crash between veth and address).
"$NT" -d attach p1 p1_default p1-b-1 >/dev/null
netns_exec p1 p1-b-1 ip addr flush dev eth0
netns_exec p1 p1-b-1 ip link set eth0 down
ok "attach again repairs the container side" "$NT" -d attach p1 p1_default p1-b-1
like "$(netns_exec p1 p1-b-1 ip -o -4 addr show dev eth0)" "172.30.0.3/24" "its address is back"
like "$(netns_exec p1 p1-b-1 ip route show default)" "via 172.30.0.1" "its default route is back"
ok "b reaches a" netns_exec p1 p1-b-1 busybox ping -c 1 -W 3 172.30.0.2

# A stray veth under the name of a container's host end, with its peer in the wrong place.
a=$("$NT" -d attach p1 p1_default p1-c-1)
host=$(kv "$a" host)
"$NT" rm p1 p1-c-1
ip link add "$host" type veth peer name strayp
ip link set "$host" master "$br"
ok "attach replaces the stray veth" "$NT" -d attach p1 p1_default p1-c-1
not_ok "the stray peer is gone" ip link show dev strayp
ok "c reaches a" netns_exec p1 p1-c-1 busybox ping -c 1 -W 3 172.30.0.2

# Someone else's bridge under a name we would use is refused and left alone.
ip link add stkforeign type bridge
out=$("$NT" -b stkforeign setup p1 p1_other 2>&1)
like "$out" "exists and is not stack's" "a foreign link under our name is refused"
ok "and left in place" ip link show dev stkforeign
is "$(grep -c '^network p1_other' "$STACK_ROOT/ipam/leases")" 0 "the refused network gave its subnet back"
ip link del stkforeign
"$NT" teardown p1 p1_other

# Half an up: a network and a namespace, nothing attached; then down.
"$NT" setup p1 p1_half >/dev/null
"$NT" netns p1 p1-d-1 >/dev/null
ok "down removes a half-made project" "$NT" down p1
is "$(ip -o link show | grep -c stk)" 0 "no stack link left"
not_ok "no namespace directory left" test -e "$STACK_RUN_ROOT/netns"

# A bridge whose IPAM record was lost is still found (by its alias) and removed.
"$NT" setup p1 p1_lost >/dev/null
printf 'stack-ipam 1\n' >"$STACK_ROOT/ipam/leases"
ok "down with the records gone" "$NT" down p1
is "$(ip -o link show | grep -c stk)" 0 "the bridge went anyway"

assert_no_residue p1
done_testing
