#!/bin/bash
# shellcheck disable=SC2016 # the snippet in single quotes runs inside the namespace
# Published ports, two numbers, measured in the same run inside a throwaway network + mount namespace:
#
# 1. TCP throughput through a published port (kernel DNAT, no userland proxy: host -> 127.0.0.1:PORT ->
#    bridge -> veth -> a "container" netns) against the same transfer to a host process on loopback,
#    both with iperf3, interleaved rounds. Target: at least 95% of direct. Also shown, not judged: the
#    container's address without any DNAT (what the veth + bridge path costs by itself), the published
#    port through the host's own address, and from a second netns acting as another host.
# 2. Firewall commits per apply (net/stack-fw, the libiptc backend): one per table however many ports,
#    and none for a re-apply that changes nothing.
#
#   bench/net-throughput.sh [SECONDS [ROUNDS]]   (root; STACK_BUILDDIR defaults to the current directory)
set -eu
SECS=${1:-3}
ROUNDS=${2:-5}
[ "$(id -u)" = 0 ] || { echo "net-throughput: needs root" >&2; exit 1; }
: "${STACK_BUILDDIR:=$PWD}"
FW=$STACK_BUILDDIR/net/stack-fw
[ -x "$FW" ] || { echo "net-throughput: $FW not found: build with 'make check' first or set STACK_BUILDDIR" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "net-throughput: iperf3 is not installed" >&2; exit 1; }
export FW SECS ROUNDS

unshare --net --mount --propagation private -- bash -c '
set -eu
mount -t tmpfs tmpfs /run
ip link set lo up
echo 1 >/proc/sys/net/ipv4/ip_forward
pids=""
cleanup() {
        for p in $pids; do kill "$p" 2>/dev/null || true; done
        for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Topology: bridge stkbench 10.99.0.1/24, container netns ctr 10.99.0.2, client netns 192.168.99.2. The
# bridge and the container veth get the MTU stack gives its networks (NETWORK_DEFAULT_MTU, net/network.h);
# the link to the client, another host, keeps the ethernet MTU of 1500.
ip link add stkbench mtu 65520 type bridge
ip addr add 10.99.0.1/24 dev stkbench
ip link set stkbench up
ip netns add ctr
ip link add vctr mtu 65520 type veth peer name eth0 mtu 65520 netns ctr
ip link set vctr master stkbench up
ip -n ctr link set lo up
ip -n ctr addr add 10.99.0.2/24 dev eth0
ip -n ctr link set eth0 up
ip -n ctr route add default via 10.99.0.1
ip netns add cli
ip link add vcli type veth peer name eth0 netns cli
ip addr add 192.168.99.1/24 dev vcli
ip link set vcli up
ip -n cli link set lo up
ip -n cli addr add 192.168.99.2/24 dev eth0
ip -n cli link set eth0 up
ip -n cli route add default via 192.168.99.1

ip netns exec ctr iperf3 -s -p 5201 >/dev/null 2>&1 &
pids="$pids $!"
iperf3 -s -p 5301 -B 127.0.0.1 >/dev/null 2>&1 &
pids="$pids $!"
sleep 0.5

out=$("$FW" apply bench --net n,stkbench,10.99.0.0/24,10.99.0.1 --port n,8080,10.99.0.2:5201)
commits_first=$(printf "%s\n" "$out" | sed -n "s/^commits //p")

gbps() { # gbps [NETNS|-] ADDRESS PORT: receiver throughput in Gbit/s, client and server on separate CPUs
        local run=""
        [ "$1" = - ] || run="ip netns exec $1"
        $run iperf3 -c "$2" -p "$3" -t "$SECS" -A 0,1 -J 2>/dev/null |
                jq -r ".end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100"
}
median() { printf "%s\n" "$@" | sort -g | awk "{ v[NR] = \$1 } END { print v[int((NR + 1) / 2)] }"; }
# Rounds interleave the two transfers, so a busy moment of the machine hits both; the verdict is on the
# median of the per-round ratios.
d=() p=() v=() h=() c=() r=()
for _ in $(seq 1 "$ROUNDS"); do
        d+=("$(gbps - 127.0.0.1 5301)")
        p+=("$(gbps - 127.0.0.1 8080)")
        r+=("$(echo "${p[-1]} ${d[-1]}" | awk "{ printf \"%.3f\", \$1 / \$2 }")")
        v+=("$(gbps - 10.99.0.2 5201)")
        h+=("$(gbps - 192.168.99.1 8080)")
        c+=("$(gbps cli 192.168.99.1 8080)")
done
ratio=$(median "${r[@]}")
verdict=$(echo "$ratio" | awk "{ print (\$1 >= 0.95) ? \"PASS\" : \"BELOW TARGET\" }")
echo "tcp throughput, ${SECS}s transfers, $ROUNDS interleaved rounds, median (Gbit/s):"
echo "  direct, host process on 127.0.0.1:        $(median "${d[@]}")   (${d[*]})"
echo "  published, 127.0.0.1:8080 -> container:   $(median "${p[@]}")   (${p[*]})"
echo "  no DNAT, host -> container address:        $(median "${v[@]}")   (${v[*]})   (the veth path alone)"
echo "  published, host address -> container:     $(median "${h[@]}")   (${h[*]})"
echo "  published, another host -> container:     $(median "${c[@]}")   (${c[*]})"
echo "  published/direct per round: ${r[*]}"
echo "  median ratio = $ratio (target >= 0.95): $verdict"
echo "  load average: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs (other work on the machine skews both sides)"

# Commits per apply, for growing numbers of ports.
echo "firewall commits per apply (libiptc backend):"
echo "  1 port, first apply:                      $commits_first"
for n in 10 100 1000; do
        args=""
        for i in $(seq 1 "$n"); do args="$args --port n,$((20000 + i)),10.99.0.2:$((1000 + i))"; done
        # shellcheck disable=SC2086
        out=$("$FW" apply bench --net n,stkbench,10.99.0.0/24,10.99.0.1 $args)
        t0=$(date +%s%N)
        # shellcheck disable=SC2086
        again=$("$FW" apply bench --net n,stkbench,10.99.0.0/24,10.99.0.1 $args)
        t1=$(date +%s%N)
        printf "  %4d ports: %s commits, %5d rules; re-apply unchanged: %s commits (%d ms)\n" "$n" \
                "$(printf "%s\n" "$out" | sed -n "s/^commits //p")" "$(printf "%s\n" "$out" | sed -n "s/^rules //p")" \
                "$(printf "%s\n" "$again" | sed -n "s/^commits //p")" $(((t1 - t0) / 1000000))
done
"$FW" remove bench >/dev/null
'
