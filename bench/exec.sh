#!/bin/bash
# `stack exec SERVICE true` against the OCI runtime's own `exec` of the same command in the same
# container, measured in one run inside a throwaway network and mount namespace: what stack adds per exec
# (loading the compose file, finding the container, the runtime's state call, building the process object
# from the bundle's config.json). Reports the mean of each and their ratio; not a timed test.
#
# Usage: bench/exec.sh [N]   (default 50); needs root, crun, busybox-static, a built stack
#        (STACK_BIN, default build/stack).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
STACK_BIN=${STACK_BIN:-$here/build/stack}
[ -x "$STACK_BIN" ] || { echo "build stack first (STACK_BIN=$STACK_BIN)" >&2; exit 2; }
N=${1:-50}

if [ "${STACK_BENCH_INNER:-}" != 1 ]; then
        export STACK_BENCH_INNER=1 STACK_BIN
        exec unshare --net --mount --propagation private -- "$0" "$N"
fi

# Inside: private /run, lo up, and the cgroup v2 hierarchy hidden (as stack hides it from crun on a
# hybrid host) so the baseline's crun runs as stack's does.
mount -t tmpfs tmpfs /run
ip link set lo up
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        mount -t tmpfs -o size=1m tmpfs /sys/fs/cgroup/unified
fi
tmp=$(mktemp -d /tmp/stack-bench.XXXXXX)
export STACK_ROOT=$tmp/root STACK_RUN_ROOT=/run/stack-bench-$$
mkdir -p "$STACK_ROOT" "$STACK_RUN_ROOT"
cleanup() {
        (cd "$tmp" && "$STACK_BIN" down -t 0 >/dev/null 2>&1) || true
        rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

rootfs=$tmp/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for c in sh sleep true; do ln -s busybox "$rootfs/bin/$c"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$tmp/rootfs.tar" .
"$STACK_BIN" image import "$tmp/rootfs.tar" bench/sleep >/dev/null

cd "$tmp"
printf 'name: benchexec\nservices:\n  s:\n    image: bench/sleep\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n' >compose.yaml
"$STACK_BIN" up -d >/dev/null 2>&1

ns() { date +%s%N; }

# Interleaved, so that a load change during the run weighs on both alike.
t_stack=0 t_crun=0
for _ in $(seq 1 "$N"); do
        t0=$(ns)
        "$STACK_BIN" exec -T s true
        t1=$(ns)
        crun --root "$STACK_RUN_ROOT/runtime" exec benchexec-s-1 true
        t2=$(ns)
        t_stack=$((t_stack + t1 - t0))
        t_crun=$((t_crun + t2 - t1))
done
awk -v n="$N" -v s="$t_stack" -v c="$t_crun" 'BEGIN {
        printf "exec of `true`, mean of %d: stack exec %.1f ms, crun exec %.1f ms, ratio %.2f\n",
                n, s / n / 1e6, c / n / 1e6, s / c
}'
