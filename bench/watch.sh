#!/bin/bash
# stack watch, measured: the latency from a file write on the host to the new content being visible in the
# container (median and 90th percentile over N edits; the content is read through /proc/<pid>/root, i.e. in
# the container's mount namespace, polled every 0.2 ms), and a burst of 1,000 new files: how many batches
# (Syncing lines) the watcher makes of it and how long until the last file is in the container.
# Targets (issue "The dev loop"): median <= 50 ms; the burst in <= 3 batches.
#
#   bench/watch.sh [N]   (root; STACK_BIN defaults to ./stack; needs busybox-static and crun)
set -eu
N=${1:-50}
[ "$(id -u)" = 0 ] || { echo "watch bench: needs root" >&2; exit 1; }
: "${STACK_BIN:=$PWD/stack}"
[ -x "$STACK_BIN" ] || { echo "watch bench: $STACK_BIN not found (set STACK_BIN)" >&2; exit 1; }
BUSYBOX=$(command -v busybox) || { echo "watch bench: needs busybox-static" >&2; exit 1; }
export STACK_BIN BUSYBOX N

# shellcheck disable=SC2016 # the script in single quotes runs in the private namespaces
unshare --net --mount --propagation private -- bash -c '
        set -eu
        ip link set lo up
        tmp=$(mktemp -d /tmp/stack-bench-watch.XXXXXX)
        mount -t tmpfs -o mode=0755 tmpfs /run
        export STACK_ROOT=$tmp/root STACK_RUN_ROOT=/run/stack-bench
        mkdir -p "$tmp/base/bin" "$tmp/base/etc" "$tmp/base/tmp" "$tmp/proj/src" "$STACK_ROOT"
        cp "$BUSYBOX" "$tmp/base/bin/busybox"
        chroot "$tmp/base" /bin/busybox --install -s /bin
        echo "root:x:0:0:root:/root:/bin/sh" >"$tmp/base/etc/passwd"
        tar -C "$tmp/base" -cf "$tmp/base.tar" .
        "$STACK_BIN" image import "$tmp/base.tar" busybox:bench >/dev/null
        cd "$tmp/proj"
        printf "name: wbench\nservices:\n  app:\n    image: busybox:bench\n    command: [sleep, \"100000\"]\n    stop_signal: SIGKILL\n    develop:\n      watch:\n        - {action: sync, path: ./src, target: /app}\n" >compose.yaml
        "$STACK_BIN" up -d >/dev/null 2>&1
        "$STACK_BIN" watch --no-up >"$tmp/watch.out" 2>&1 &
        wpid=$!
        trap "kill \$wpid 2>/dev/null; \"\$STACK_BIN\" down >/dev/null 2>&1; rm -rf --one-file-system \"\$tmp\"" EXIT
        until grep -q "Watch enabled" "$tmp/watch.out"; do sleep 0.05; done
        pid=$(crun --root "$STACK_RUN_ROOT/runtime" state wbench-app-1 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"pid\"])")
        python3 - "$tmp/proj/src" "/proc/$pid/root/app" "$N" "$tmp/watch.out" <<"PY"
import os, sys, time, statistics
src, dst, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def wait_for(path, want, limit=60.0):
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        try:
            with open(path, "rb") as f:
                if f.read() == want:
                    return True
        except OSError:
            pass
        time.sleep(0.0002)
    return False

lat = []
for i in range(n):
    data = ("edit %d %f\n" % (i, time.time())).encode()
    t0 = time.perf_counter()
    with open(os.path.join(src, "lat.txt"), "wb") as f:
        f.write(data)
    if not wait_for(os.path.join(dst, "lat.txt"), data):
        sys.exit("edit %d never arrived" % i)
    lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.05)
lat.sort()
print("latency write -> visible in the container over %d edits: median %.1f ms, p90 %.1f ms, max %.1f ms (target <= 50 ms)"
      % (n, statistics.median(lat), lat[int(len(lat) * 0.9) - 1], lat[-1]))

os.mkdir(os.path.join(src, "burst"))
wait_for(os.path.join(dst, "lat.txt"), data)
time.sleep(0.5)
before = open(out).read().count("Syncing")
t0 = time.perf_counter()
for i in range(1000):
    with open(os.path.join(src, "burst", "f%04d" % i), "w") as f:
        f.write("%d\n" % i)
last = os.path.join(dst, "burst", "f0999")
ok = wait_for(last, b"999\n")
took = time.perf_counter() - t0
ok = ok and all(wait_for(os.path.join(dst, "burst", "f%04d" % i), ("%d\n" % i).encode(), 1.0) for i in range(1000))
time.sleep(1.0)
batches = open(out).read().count("Syncing") - before
print("burst of 1000 new files: %s in %.2f s, %d batch%s (target <= 3)"
      % ("all in the container" if ok else "NOT all synced", took, batches, "" if batches == 1 else "es"))
PY
'
