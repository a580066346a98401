#!/bin/bash
# shellcheck disable=SC2016 # the snippets in single quotes are expanded inside the namespace
# Attaching N container namespaces to one network: stack's netlink code (net/network.h, through the test
# tool net-tool) against the same work done with the `ip` command in a loop, measured in the same run,
# each in a fresh network + mount namespace. The work per container, both ways: a named network
# namespace with lo up, a veth pair with the peer inside as eth0, the host end on the bridge with
# hairpin on, an address, and a default route through the gateway. Ours also allocates the addresses
# through the IPAM lease file (flock, one atomic, fsynced rewrite for the batch: network_attach_many, as
# a scale-up does) and checks what exists (idempotence).
#
#   bench/net-attach.sh [N]        (root; STACK_BUILDDIR defaults to ./ or the build dir next to it)
set -eu
N=${1:-50}
[ "$(id -u)" = 0 ] || { echo "net-attach: needs root" >&2; exit 1; }
: "${STACK_BUILDDIR:=$PWD}"
NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || { echo "net-attach: $NT not found: build with 'make check' first or set STACK_BUILDDIR" >&2; exit 1; }
export NT N

# Runs "$1" (a bash snippet) in a throwaway network + mount namespace with a private /run; prints the
# wall time of the snippet in microseconds.
in_ns() {
        unshare --net --mount --propagation private -- bash -c '
                set -eu
                mount -t tmpfs tmpfs /run
                tmp=$(mktemp -d /tmp/stack-bench.XXXXXX)
                export STACK_ROOT=$tmp/root STACK_RUN_ROOT=/run/stack
                ip link set lo up
                t0=$(date +%s%N)
                eval "$1"
                t1=$(date +%s%N)
                echo $(((t1 - t0) / 1000))
                rm -rf "$tmp"
        ' bench "$1"
}

ours='"$NT" -d attach-many bench bench_default "$N" >/dev/null'

baseline='
        ip link add stkbench type bridge
        ip addr add 172.30.0.1/24 dev stkbench
        ip link set stkbench up
        for i in $(seq 1 "$N"); do
                ip netns add c$i
                ip -n c$i link set lo up
                ip link add v$i type veth peer name eth0 netns c$i
                ip link set v$i master stkbench up
                bridge link set dev v$i hairpin on
                ip -n c$i addr add 172.30.0.$((i + 1))/24 dev eth0
                ip -n c$i link set eth0 up
                ip -n c$i route add default via 172.30.0.1
        done'

# One warm-up round each (page cache, module autoload), then the median of three.
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
in_ns "$ours" >/dev/null
in_ns "$baseline" >/dev/null
o=() b=()
for _ in 1 2 3; do
        o+=("$(in_ns "$ours")")
        b+=("$(in_ns "$baseline")")
done
mo=$(median "${o[@]}")
mb=$(median "${b[@]}")
printf 'attach %d containers: stack %.1f ms (%.2f ms each), ip loop %.1f ms (%.2f ms each)\n' \
        "$N" "$(bc -l <<<"$mo/1000")" "$(bc -l <<<"$mo/1000/$N")" "$(bc -l <<<"$mb/1000")" "$(bc -l <<<"$mb/1000/$N")"
printf 'ratio: %.1fx faster (target: at least 3x)\n' "$(bc -l <<<"$mb/$mo")"
