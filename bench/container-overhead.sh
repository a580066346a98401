#!/bin/bash
# The cost of stack's container lifecycle over the bare OCI runtime, measured in one run.
#
# Each container goes through create + start + stop (SIGKILL, waited for) + delete twice, interleaved:
# once through core/runtime/container.c (overlay mount of the layer, user resolution, /etc files, config.json
# generation with the default seccomp policy, the runtime calls, the pidfd-based stop, unmount and
# removal) and once through the same runtime calls on a prepared bundle with the same config.json. The
# difference is stack's own overhead per container; the target is under 2 ms. Both run in a throwaway
# mount namespace with their own roots, the runtime the same way stack runs it (on a hybrid cgroup host,
# crun in a private mount namespace without the cgroup v2 hierarchy: see core/runtime/runtime.c).
#
#   bench/container-overhead.sh [N]   (root; STACK_BUILDDIR defaults to the current directory;
#                                      STACK_RUNTIME selects the runtime, crun by default)
set -eu
N=${1:-30}
[ "$(id -u)" = 0 ] || { echo "container-overhead: needs root" >&2; exit 1; }
: "${STACK_BUILDDIR:=$PWD}"
CT=$STACK_BUILDDIR/tests/integration/ctr-tool
[ -x "$CT" ] || { echo "container-overhead: $CT not found: build with 'make check' first or set STACK_BUILDDIR" >&2; exit 1; }
BUSYBOX=$(command -v busybox) || { echo "container-overhead: needs busybox-static" >&2; exit 1; }
export CT N BUSYBOX

# shellcheck disable=SC2016 # the script in single quotes runs in the private mount namespace
unshare --mount --propagation private -- bash -c '
        set -eu
        tmp=$(mktemp -d /tmp/stack-bench.XXXXXX)
        trap "rm -rf --one-file-system \"\$tmp\"" EXIT
        mount -t tmpfs tmpfs "$tmp"
        export STACK_ROOT=$tmp/root STACK_RUN_ROOT=$tmp/run
        mkdir -p "$tmp/layer/bin" "$tmp/layer/etc" "$STACK_ROOT" "$STACK_RUN_ROOT"
        cp "$BUSYBOX" "$tmp/layer/bin/busybox"
        chroot "$tmp/layer" /bin/busybox --install -s /bin
        echo "root:x:0:0:root:/root:/bin/sh" >"$tmp/layer/etc/passwd"
        echo "root:x:0:" >"$tmp/layer/etc/group"
        "$CT" bench "$N" --rootfs "$tmp/layer"
        umount -l "$tmp"
'
