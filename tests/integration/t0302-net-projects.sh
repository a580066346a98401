#!/bin/bash
# Two projects side by side: their own subnets (skipping one routed on the host), one joining the other's
# network as external; tearing one down leaves the other working, and a network still used by another
# project is kept (and named) until that project is gone.
. "$STACK_SRCDIR/tests/integration/lib.sh"

NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || skip_all "net-tool not built"
command -v busybox >/dev/null || skip_all "busybox not installed"


# Somebody else's network on the host holds the first /24 of our pool.
ip link add hostv type veth peer name hostp
ip addr add 172.30.0.5/24 dev hostv
ip link set hostp up
ip link set hostv up

a=$("$NT" setup pa pa_default)
like "$a" "subnet=172.30.1.0/24" "project a skips the subnet routed on the host"
b=$("$NT" setup pb pb_default)
like "$b" "subnet=172.30.2.0/24" "project b gets the next one"
bra=$(printf '%s\n' "$a" | sed -n 's/.*bridge=\([^ ]*\).*/\1/p')
brb=$(printf '%s\n' "$b" | sed -n 's/.*bridge=\([^ ]*\).*/\1/p')
ok "the bridges differ" test "$bra" != "$brb"

like "$("$NT" -d attach pa pa_default pa-web-1)" "addr=172.30.1.2/24" "a's container"
like "$("$NT" -d attach pb pb_default pb-web-1)" "addr=172.30.2.2/24" "b's container"
like "$("$NT" -x -n eth1 attach pb pa_default pb-web-1)" "addr=172.30.1.3/24" \
        "b's container joins a's network as external, as eth1"
ok "b reaches a over the shared network" netns_exec pb pb-web-1 busybox ping -c 1 -W 3 172.30.1.2
ok "a reaches b there" netns_exec pa pa-web-1 busybox ping -c 1 -W 3 172.30.1.3

out=$("$NT" setup pb pa_default 2>&1)
like "$out" "belongs to project 'pa'" "b cannot claim a's network without external"
out=$("$NT" -x setup pb pb_nothere 2>&1)
like "$out" "external network 'pb_nothere' not found" "an external network must exist"

out=$("$NT" down pa 2>&1)
like "$out" "active endpoints of other projects: pb-web-1" "a's network stays while b uses it, and says why"
not_ok "a's own containers are gone" test -e "$STACK_RUN_ROOT/netns/pa/pa-web-1"
ok "a's bridge is still there for b" ip link show dev "$bra"
ok "b's container still reaches its gateway" netns_exec pb pb-web-1 busybox ping -c 1 -W 3 172.30.2.1
ok "the host still reaches b's container" busybox ping -c 1 -W 3 172.30.2.2
ok "hostv was left alone" ip link show dev hostv

ok "b goes down" "$NT" down pb
not_ok "b's bridge is gone" ip link show dev "$brb"
ok "a goes down now" "$NT" down pa
not_ok "a's bridge is gone" ip link show dev "$bra"
ok "hostv is still left alone" ip link show dev hostv
ip link del hostv

assert_no_residue pa
assert_no_residue pb
done_testing
