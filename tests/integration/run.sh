#!/bin/bash
# Runs one integration test script in a throwaway network + mount namespace with its own state roots.
# Used as automake's log compiler for tests/integration/*.sh; the script's output is TAP.
set -u
script=$(realpath "$1")

skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}
[ "$(id -u)" = 0 ] || skip_all "needs root"
unshare --net --mount true 2>/dev/null || skip_all "needs CAP_SYS_ADMIN and CAP_NET_ADMIN (unshare -n -m)"

tmp=$(mktemp -d /tmp/stack-it.XXXXXX)
export STACK_TEST_TMP=$tmp
export STACK_ROOT=$tmp/root
export STACK_RUN_ROOT=$tmp/run
mkdir -p "$STACK_ROOT" "$STACK_RUN_ROOT"
: "${STACK_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${STACK_BIN:=$STACK_SRCDIR/stack}"
export STACK_SRCDIR STACK_BIN

# Inside: private mounts (nothing leaks to the host's mount table), a fresh network namespace with lo up,
# and a private /run so that `ip netns add` and the xtables lock stay in the test's own world.
# shellcheck disable=SC2016 # the snippet's variables are expanded by the inner shell
unshare --net --mount --propagation private -- bash -c '
        set -u
        mount -t tmpfs -o mode=0755 tmpfs /run || exit 1
        mkdir -p "$STACK_RUN_ROOT"
        ip link set lo up
        cd "$STACK_TEST_TMP" || exit 1
        exec bash "$1"
' run "$script"
rc=$?
# A test that failed or timed out may leave containers behind. They are ours if their root or working
# directory lies in our temporary tree, and so are stack processes started with our roots: end those, by
# pid, then the cgroups the runtime made for containers of this tree.
for proc in /proc/[0-9]*; do
        pid=${proc#/proc/}
        root=$(readlink "$proc/root" 2>/dev/null) || continue
        cwd=$(readlink "$proc/cwd" 2>/dev/null)
        cmd=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null)
        case "$root $cwd $cmd" in
        *"$tmp"*) [ "$pid" != $$ ] && kill -KILL "$pid" 2>/dev/null ;;
        esac
done
# Container processes live in another mount namespace, so their root says nothing here: they are found
# by the cgroups the runtime made for the containers of this tree.
if [ -d "$tmp/run/containers" ]; then
        for c in "$tmp"/run/containers/*; do
                [ -e "$c" ] || continue
                while read -r cg; do
                        while read -r pid; do
                                kill -KILL "$pid" 2>/dev/null
                        done <"$cg/cgroup.procs"
                done < <(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -name "$(basename "$c")*" 2>/dev/null)
        done
        sleep 0.3
        for c in "$tmp"/run/containers/*; do
                [ -e "$c" ] || continue
                find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -name "$(basename "$c")*" -exec rmdir {} + 2>/dev/null
        done
fi
# The temporary roots are ours alone; a mount left inside them died with the namespace.
rm -rf --one-file-system "$tmp" 2>/dev/null || true
exit $rc
