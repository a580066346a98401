#!/bin/bash
# `stack up -d` and `stack down` of N trivial services against a shell loop doing the same kernel and runtime
# work serially (netns + veth on a bridge + crun create/start; kill/delete + netns removal), measured in one
# run inside a throwaway network and mount namespace; plus a no-op `up` and the supervisor's resident memory.
# Targets (issue 17): up <= 0.35x the loop, down <= 0.5x, no-op up <= 10 ms for 20 services and <= 20 ms for
# 100, ps <= 10 ms for 20 (no-op up and ps: the median of 5 runs); supervisor <= 4 MiB.
#
# Usage: bench/up-down.sh [N...]   (default: 20 100); needs root, crun, busybox-static, a built stack.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
STACK_BIN=${STACK_BIN:-$here/build/stack}
[ -x "$STACK_BIN" ] || { echo "build stack first (STACK_BIN=$STACK_BIN)" >&2; exit 2; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(20 100)

if [ "${STACK_BENCH_INNER:-}" != 1 ]; then
        export STACK_BENCH_INNER=1 STACK_BIN
        exec unshare --net --mount --propagation private -- "$0" "${sizes[@]}"
fi

# Inside: private /run, lo up, and the cgroup v2 hierarchy hidden so crun runs directly for the baseline.
mount -t tmpfs tmpfs /run
ip link set lo up
# Covered by a tmpfs, not unmounted: crun makes a directory for the cgroup2 line of /proc/self/cgroup there,
# which must not land on the host's /sys/fs/cgroup tmpfs beneath the mount point.
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        mount -t tmpfs -o size=1m tmpfs /sys/fs/cgroup/unified
fi
tmp=$(mktemp -d /tmp/stack-bench.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
# As installed: records on disk (--root), volatile state on the tmpfs /run (--run-root, and crun's root for
# the loop, as crun's default /run/crun is); the pid in the name keeps its cgroups apart from a real /run/stack.
export STACK_ROOT=$tmp/root STACK_RUN_ROOT=/run/stack-bench-$$
mkdir -p "$STACK_ROOT" "$STACK_RUN_ROOT"

# One tiny image: busybox, sleeping.
rootfs=$tmp/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
ln -s busybox "$rootfs/bin/sleep"
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$tmp/rootfs.tar" .
"$STACK_BIN" image import "$tmp/rootfs.tar" bench/sleep >/dev/null

ms() { echo $(($(date +%s%N) / 1000000)); }

compose() { # compose N FILE
        {
                echo "name: bench"
                echo "services:"
                for i in $(seq 1 "$1"); do
                        printf '  s%d:\n    image: bench/sleep\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n' "$i"
                done
        } >"$2"
}

baseline_up() { # N: the floor, serially
        ip link add stkbench type bridge
        ip addr add 10.99.0.1/16 dev stkbench
        ip link set stkbench up
        crun spec --bundle "$tmp" --rootless >/dev/null 2>&1 || true
        for i in $(seq 1 "$1"); do
                local b=$tmp/b$i
                mkdir -p "$b"
                ip netns add "bench$i"
                ip link add "vb$i" type veth peer name eth0 netns "bench$i"
                ip link set "vb$i" master stkbench up
                ip -n "bench$i" addr add "10.99.$((i / 250)).$((i % 250 + 2))/16" dev eth0
                ip -n "bench$i" link set eth0 up
                ip -n "bench$i" link set lo up
                cat >"$b/config.json" <<JSON
{"ociVersion":"1.0.0","process":{"args":["sleep","3600"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}},
 "root":{"path":"$rootfs","readonly":true},"hostname":"b$i",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"ipc"},{"type":"uts"},
   {"type":"network","path":"/run/netns/bench$i"}]}}
JSON
                crun --root /run/crun-bench create --bundle "$b" "bench$i" </dev/null >/dev/null 2>&1
                crun --root /run/crun-bench start "bench$i"
        done
}

baseline_down() {
        for i in $(seq 1 "$1"); do
                crun --root /run/crun-bench kill "bench$i" KILL 2>/dev/null || true
                crun --root /run/crun-bench delete -f "bench$i"
                ip netns del "bench$i"
        done
        ip link del stkbench
}

for n in "${sizes[@]}"; do
        compose "$n" "$tmp/compose-$n.yaml"
        t0=$(ms); baseline_up "$n"; t1=$(ms); baseline_down "$n"; t2=$(ms)
        b_up=$((t1 - t0)) b_down=$((t2 - t1))
        t0=$(ms); "$STACK_BIN" -f "$tmp/compose-$n.yaml" --progress quiet up -d; t1=$(ms)
        s_up=$((t1 - t0))
        noops=() ps_runs=()
        for _ in 1 2 3 4 5; do
                t0=$(ms); "$STACK_BIN" -f "$tmp/compose-$n.yaml" --progress quiet up -d; noops+=($(($(ms) - t0)))
                t0=$(ms); "$STACK_BIN" -f "$tmp/compose-$n.yaml" ps >/dev/null; ps_runs+=($(($(ms) - t0)))
        done
        noop=$(printf '%s\n' "${noops[@]}" | sort -n | sed -n 3p)
        ps_ms=$(printf '%s\n' "${ps_runs[@]}" | sort -n | sed -n 3p)
        sup=$(cut -d' ' -f1 "$STACK_RUN_ROOT/projects/bench/supervisor.pid")
        rss=$(awk '/^Rss/{print $2}' "/proc/$sup/smaps_rollup")
        pss=$(awk '/^Pss:/{print $2}' "/proc/$sup/smaps_rollup")
        t0=$(ms); "$STACK_BIN" -f "$tmp/compose-$n.yaml" --progress quiet down; t1=$(ms)
        s_down=$((t1 - t0))
        awk -v n="$n" -v bu="$b_up" -v su="$s_up" -v bd="$b_down" -v sd="$s_down" -v noop="$noop" -v psm="$ps_ms" -v rss="$rss" -v pss="$pss" 'BEGIN {
                printf "%3d services: up   stack %6d ms  loop %6d ms  ratio %.2f (target <= 0.35)\n", n, su, bu, su / bu
                printf "%3d services: down stack %6d ms  loop %6d ms  ratio %.2f (target <= 0.5)\n", n, sd, bd, sd / bd
                printf "%3d services: no-op up %d ms, ps %d ms (medians of 5); supervisor RSS %.1f MiB, PSS %.1f MiB (target <= 4)\n", n, noop, psm, rss / 1024, pss / 1024
                printf "%3d services: per service: up %.1f ms, no-op up %.2f ms, ps %.2f ms, down %.1f ms\n", n, su / n, noop / n, psm / n, sd / n
        }'
done
