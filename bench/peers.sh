#!/bin/bash
# `up -d` then `down` of one compose file (N trivial services on the project's default bridge network, no
# published ports) with stack, podman-compose + podman and docker-compose + dockerd, interleaved round by
# round in one run, with the ratios peer / stack. Target (issue 5): stack at least 10x faster than
# docker-compose.
#
# Everything runs in a throwaway network, mount and PID namespace with a private /run and temporary data
# roots for each tool (stack: STACK_ROOT/STACK_RUN_ROOT; podman: a storage.conf and containers.conf of its
# own; dockerd: --data-root, --exec-root, --pidfile, its own socket and config, the containerd it starts
# itself). Bridges, veths and firewall rules live and die with the network namespace. The host's
# /etc/docker and /var/lib/containers are shadowed inside it (dockerd 20.10 writes /etc/docker/key.json
# whatever its flags). The peers' containers get cgroup parents named after this run, removed at the end
# with stack's. dockerd is stopped by its pid, then anything else still in the PID namespace (only this
# run's processes are there) is killed by pid; an interrupted run first lets the tool of the round take
# its containers down. The host's links, iptables (legacy and nft) rules, mounts, cgroups and daemons are
# compared before and after.
#
# The same conditions for all three: the same busybox image imported offline into each store, crun as the
# OCI runtime (dockerd is started with --default-runtime crun), and the cgroup v2 hierarchy of a hybrid
# host hidden in the namespace so that crun sees a plain cgroup v1 host. dockerd is started before the
# rounds and its start-up is not counted (it is a daemon a user has running); stack's supervisor and
# podman's conmons are started by `up` and are counted. podman-compose 1.0.3 sleeps 1 s after each
# `podman run`: its figures are shown with and without those sleeps. The CPU time that other work on the
# machine took during each measurement is printed beside it.
#
# Usage: bench/peers.sh [--install] [-n N] [-r ROUNDS] [--peers LIST]
#   -n N          services in the compose file (default 20)
#   -r ROUNDS     up/down rounds for each tool (default 3); medians are compared
#   --peers LIST  comma-separated subset of podman,docker (default both)
#   --install     apt-get install the peers' Debian packages that are missing (otherwise a peer whose
#                 packages are missing is skipped, with the command that installs them)
# Each `up` and `down` is given STACK_PEERS_TIMEOUT seconds (default 300); STACK_PEERS_LOGS=DIR keeps the
# tools' output there. Needs root, busybox(-static), crun and a built stack (STACK_BIN, default
# build/stack).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
STACK_BIN=${STACK_BIN:-$here/build/stack}

n=20 rounds=3 install=0 peers=podman,docker limit=${STACK_PEERS_TIMEOUT:-300}
while [ $# -gt 0 ]; do
        case $1 in
        -n) n=$2; shift 2 ;;
        -r) rounds=$2; shift 2 ;;
        --peers) peers=$2; shift 2 ;;
        --install) install=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--install] [-n N] [-r ROUNDS] [--peers podman,docker]" >&2; exit 2 ;;
        esac
done
case $n$rounds in *[!0-9]* | '') echo "$0: -n and -r take numbers" >&2; exit 2 ;; esac

pkgs_podman="podman podman-compose netavark aardvark-dns"
pkgs_docker="docker.io docker-compose containerd"

# ---- outside: packages, the host's state before and after, and the namespace ----
if [ "${STACK_PEERS_INNER:-}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
        [ -x "$STACK_BIN" ] || { echo "$0: build stack first (STACK_BIN=$STACK_BIN)" >&2; exit 2; }
        if ! command -v busybox >/dev/null || ! command -v crun >/dev/null; then
                echo "$0: needs busybox and crun" >&2
                exit 1
        fi
        missing() { # the packages of a list that are not installed
                local p
                for p in "$@"; do
                        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
                done
        }
        run_peers=""
        for peer in ${peers//,/ }; do
                case $peer in
                podman) list=$pkgs_podman ;;
                docker) list=$pkgs_docker ;;
                *) echo "$0: unknown peer $peer (podman, docker)" >&2; exit 2 ;;
                esac
                # shellcheck disable=SC2086
                need=$(missing $list | tr '\n' ' ')
                if [ -n "$need" ] && [ $install = 1 ]; then
                        echo "installing for $peer: $need"
                        # policy-rc.d-less hosts would start the packaged daemons: forbid it for this install.
                        prc=/usr/sbin/policy-rc.d
                        own_prc=0
                        if [ ! -e $prc ]; then
                                printf '#!/bin/sh\nexit 101\n' >$prc && chmod 755 $prc && own_prc=1
                        fi
                        [ -n "${apt_updated:-}" ] || { apt-get update -qq || true; apt_updated=1; }
                        # shellcheck disable=SC2086
                        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need \
                                >/dev/null || echo "$0: apt-get install $need failed" >&2
                        [ $own_prc = 0 ] || rm -f $prc
                        # shellcheck disable=SC2086
                        need=$(missing $list | tr '\n' ' ')
                fi
                if [ -n "$need" ]; then
                        echo "skipping $peer: not installed: $need(apt-get install --no-install-recommends $need, or run with --install)"
                else
                        run_peers="$run_peers${run_peers:+,}$peer"
                fi
        done

        state=$(mktemp -d /tmp/stack-peers-state.XXXXXX)
        trap 'rm -rf "$state"' EXIT
        daemons='dockerd|containerd|containerd-shim.*|docker-proxy|conmon|aardvark-dns|netavark|podman'
        snapshot() { # DIR: what the bench could leave behind on the host (empty outputs are no error)
                mkdir -p "$1"
                local -
                set +e +o pipefail
                ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort >"$1/links"
                iptables-legacy-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' >"$1/iptables-legacy"
                nft list ruleset >"$1/nft" 2>/dev/null
                findmnt -rn -o TARGET,SOURCE,FSTYPE | sort >"$1/mounts"
                find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d | sort >"$1/cgroups"
                # What lies in the host's tmpfs under the cgroup2 mount point, out of sight of the above.
                unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null &&
                        find /sys/fs/cgroup/unified -mindepth 1 -maxdepth 1' | sort >"$1/cgroups-hidden"
                ps -eo pid=,comm= | awk -v re="^($daemons)\$" '$2 ~ re' | sort >"$1/daemons"
                find /etc/docker /var/lib/docker /var/lib/containers /etc/containers -maxdepth 3 \
                        -printf '%p %s %T@\n' 2>/dev/null | sort >"$1/files"
        }
        snapshot "$state/before"
        rc=0
        # A PID namespace too: whatever a tool leaves running (a container whose conmon was killed, a shim)
        # is found there and stopped by the cleanup, and cannot outlive the run. In the background so that
        # a TERM or Ctrl-C here reaches the inner script (PID 1 there) and its cleanup runs before we look.
        STACK_PEERS_INNER=1 STACK_BIN=$STACK_BIN STACK_PEERS_RUN=$run_peers unshare --net --mount --pid \
                --kill-child --mount-proc --propagation private -- "$0" -n "$n" -r "$rounds" &
        inner=$!
        trap 'kill -TERM $(cat /proc/$inner/task/$inner/children 2>/dev/null) 2>/dev/null' TERM INT HUP
        while :; do
                wait $inner && rc=0 || rc=$?
                kill -0 $inner 2>/dev/null || break
        done
        trap - TERM INT HUP
        snapshot "$state/after"
        echo
        echo "host state after the run (links, iptables-legacy, nft, mounts, cgroups, daemons, files):"
        changed=0
        for f in links iptables-legacy nft mounts cgroups cgroups-hidden daemons files; do
                if ! diff -q "$state/before/$f" "$state/after/$f" >/dev/null; then
                        changed=1
                        echo "  $f changed (other work on the machine can also cause this):"
                        diff "$state/before/$f" "$state/after/$f" | grep '^[<>]' | sed 's/^/    /' | head -20
                fi
        done
        [ $changed = 1 ] || echo "  unchanged"
        exit $rc
fi

# ---- inside the namespaces (this script is PID 1 here) ----
exec 3>&1 # the terminal, for the cleanup's messages whatever a tool's output was redirected to
mount -t tmpfs tmpfs /run
ip link set lo up
# Hide the cgroup v2 hierarchy under a private tmpfs rather than unmounting it: the runtimes still create
# a directory there for the "0::" line of /proc/self/cgroup, and on the bare mount point that would be the
# host's /sys/fs/cgroup tmpfs, hidden under its cgroup2 mount and never removed.
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        mount -t tmpfs -o size=16m tmpfs /sys/fs/cgroup/unified
fi
tmp=$(mktemp -d /tmp/stack-peers.XXXXXX)
tag=stack-peers-${tmp##*.}
project=bench
# Volatile state on the private tmpfs /run, for every tool, as installed (stack's /run/stack, dockerd's
# /var/run/docker, podman's /run/containers); persistent state in the temporary directory.
export STACK_ROOT=$tmp/stack/root STACK_RUN_ROOT=/run/$tag-stack
mkdir -p "$STACK_ROOT" "$STACK_RUN_ROOT"
log=$tmp/log
mkdir -p "$log"
# Shadow the host's default state directories that exist (dockerd writes /etc/docker/key.json).
for d in /etc/docker /var/lib/containers /var/lib/docker; do
        if [ -d $d ]; then
                mkdir -p "$tmp/shadow$d"
                mount --bind "$tmp/shadow$d" $d
        fi
done

ms() { echo $(($(date +%s%N) / 1000000)); }
fnv1a32() { # STRING: its 32-bit FNV-1a hash in hex, as stack tags its cgroups with its run root's
        local s=$1 h=2166136261 i c
        for ((i = 0; i < ${#s}; i++)); do
                printf -v c '%d' "'${s:i:1}"
                h=$((((h ^ c) * 16777619) & 0xffffffff))
        done
        printf '%08x' $h
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The load the figures were measured under: everything this run starts (the tools, their daemons, shims
# and supervisors) is accounted in a cpuacct cgroup of its own; what the CPUs did besides is other work.
acct=/sys/fs/cgroup/cpuacct/$tag-acct
acct_home=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3}' /proc/self/cgroup)
if [ -f /sys/fs/cgroup/cpuacct/cgroup.procs ] && mkdir "$acct" 2>/dev/null; then
        echo $$ >"$acct/cgroup.procs"
else
        acct=""
fi
ncpu=$(nproc)
sample() { # prints: wall ms, busy CPU ms of the whole machine, CPU ms of this run
        local busy
        busy=$(awk '$1 == "cpu" {print ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / '"$(getconf CLK_TCK)"'; exit}' /proc/stat)
        echo "$(ms) $busy $([ -n "$acct" ] && echo $(($(cat "$acct/cpuacct.usage") / 1000000)) || echo 0)"
}
others() { # SAMPLE-BEFORE SAMPLE-AFTER: the CPU share of other work between them, in % of all CPUs
        [ -n "$acct" ] || { echo "?"; return; }
        awk -v n="$ncpu" -v a="$1" -v b="$2" 'BEGIN {
                split(a, x, " "); split(b, y, " ")
                o = ((y[2] - x[2]) - (y[3] - x[3])) / ((y[1] - x[1]) * n) * 100
                printf "%.0f%%", o < 0 ? 0 : o
        }'
}

dockerd_pid=""
cleanup() {
        set +e
        exec >&3 2>&3
        # Interrupted in a round: let that tool take its containers down itself first.
        if [ -n "${current:-}" ]; then
                echo "taking $current's containers down"
                "${current}_down" >>"$log/$current-down" 2>&1
        fi
        if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
                kill -TERM "$dockerd_pid"
                for _ in $(seq 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
                kill -0 "$dockerd_pid" 2>/dev/null && { echo "dockerd $dockerd_pid did not stop; killing it"; kill -KILL "$dockerd_pid"; }
        fi
        # Anything else still in this PID namespace was started by this run (conmons, shims, supervisors,
        # containers): this script is PID 1 here, and its own subshells have its name.
        local p left=""
        for p in /proc/[0-9]*; do
                p=${p#/proc/}
                [ "$p" = $$ ] || [ "$p" = $BASHPID ] && continue
                [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$(cat /proc/$$/comm)" ] && continue
                [ -e /proc/"$p" ] || continue
                left="$left $p($(cat /proc/"$p"/comm 2>/dev/null))"
        done
        if [ -n "$left" ]; then
                echo "left behind, killing by pid:$left"
                for p in $left; do kill -KILL "${p%%(*}" 2>/dev/null; done
                sleep 0.5
        fi
        # Cgroups created under this run's parents, deepest first (the private unified tmpfs goes with us),
        # and those of stack's containers, tagged with a hash of its run root (see core/runtime/container.c).
        [ -z "$acct" ] || echo $$ >"/sys/fs/cgroup/cpuacct${acct_home:-/}/cgroup.procs"
        local c
        for c in /sys/fs/cgroup/*/"$tag"-* /sys/fs/cgroup/*/stack/"$project"-*-"$(fnv1a32 "$STACK_RUN_ROOT")"; do
                [ "${c#/sys/fs/cgroup/unified/}" = "$c" ] || continue
                [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
                [ -d "$c" ] && echo "cgroup $c could not be removed"
        done
        if [ -n "${STACK_PEERS_LOGS:-}" ]; then
                mkdir -p "$STACK_PEERS_LOGS" && cp -r "$log"/. "$STACK_PEERS_LOGS"/ && echo "logs kept in $STACK_PEERS_LOGS"
        fi
        # The stores hold overlay mounts of this namespace only; take them down before removing.
        findmnt -rn -o TARGET | grep "^$tmp/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
        rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted" >&3; exit 143' TERM INT HUP

# One image: busybox with sh and sleep, as a rootfs tar every tool can import.
rootfs=$tmp/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
ln -s busybox "$rootfs/bin/sleep"
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
tar -C "$rootfs" -cf "$tmp/rootfs.tar" .
image=localhost/bench/sleep:latest

# The compose file: N services, the default network (one bridge), no ports; SIGKILL as the stop signal so
# that no tool waits out a timeout for a PID 1 that ignores SIGTERM.
compose=$tmp/compose.yaml
{
        echo "services:"
        for i in $(seq 1 "$n"); do
                printf '  s%d:\n    image: %s\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n' "$i" "$image"
        done
} >"$compose"

# ---- the tools: setup, up, down, count of running containers ----
stack_setup() { "$STACK_BIN" image import "$tmp/rootfs.tar" "$image" >"$log/stack-import" 2>&1; }
stack_up() { timeout "$limit" "$STACK_BIN" -f "$compose" -p $project --progress quiet up -d; }
stack_down() { timeout "$limit" "$STACK_BIN" -f "$compose" -p $project --progress quiet down; }
stack_running() { "$STACK_BIN" -f "$compose" -p $project ps -q 2>/dev/null | grep -c . || true; }

export CONTAINERS_CONF=$tmp/podman/containers.conf CONTAINERS_STORAGE_CONF=$tmp/podman/storage.conf
podman_setup() {
        mkdir -p "$tmp/podman/networks" "$tmp/podman/tmp" "$tmp/podman/volumes"
        cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$tmp/podman/root"
runroot = "/run/$tag-podman"
EOF
        # podman asks for 1048576 open files and the host's process limit in a root container, while the
        # conmon it starts has at most 32768 processes; where the hard limits cannot be raised (a sandbox
        # without CAP_SYS_RESOURCE), crun fails with EPERM. Ask for what can be had; stack and dockerd
        # leave the limits as they are.
        local nofile nproc
        nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
        [ "$nproc" != unlimited ] && [ "$nproc" -le 32768 ] || nproc=32768
        cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
tmp_dir = "$tmp/podman/tmp"
image_copy_tmp_dir = "$tmp/podman/tmp"
volume_path = "$tmp/podman/volumes"
[network]
network_backend = "netavark"
network_config_dir = "$tmp/podman/networks"
EOF
        podman import -q "$tmp/rootfs.tar" "$image" >"$log/podman-import" 2>&1
}
podman_compose=(podman-compose -f "$compose" -p "$project" --podman-run-args="--cgroup-parent=/$tag-podman")
podman_up() { timeout "$limit" "${podman_compose[@]}" up -d; }
podman_down() { timeout "$limit" "${podman_compose[@]}" down; }
podman_running() { podman ps -q --filter label=io.podman.compose.project=$project | grep -c . || true; }

# Only the docker tools see these (podman reads DOCKER_CONFIG for credentials).
dk() { DOCKER_HOST=unix://$tmp/docker/docker.sock DOCKER_CONFIG=$tmp/docker/config "$@"; }
docker_setup() {
        mkdir -p "$tmp/docker/config"
        echo '{}' >"$tmp/docker/daemon.json"
        local t0
        t0=$(ms)
        dockerd --config-file "$tmp/docker/daemon.json" --data-root "$tmp/docker/data" \
                --exec-root "/run/$tag-docker" --pidfile "$tmp/docker/dockerd.pid" -H "unix://$tmp/docker/docker.sock" \
                --add-runtime crun="$(command -v crun)" --default-runtime crun \
                --cgroup-parent "/$tag-docker" </dev/null >"$log/dockerd" 2>&1 &
        dockerd_pid=$!
        local i
        for i in $(seq 300); do
                dk docker version >/dev/null 2>&1 && break
                kill -0 $dockerd_pid 2>/dev/null || break
                sleep 0.1
        done
        if ! dk docker version >/dev/null 2>&1; then
                echo "dockerd did not start; its log ends with:"
                tail -5 "$log/dockerd" | sed 's/^/    /'
                return 1
        fi
        echo "dockerd started in $(($(ms) - t0)) ms (not counted)"
        dk docker import "$tmp/rootfs.tar" "$image" >"$log/docker-import" 2>&1
}
docker_up() { dk timeout "$limit" docker-compose -f "$compose" -p $project up -d; }
docker_down() { dk timeout "$limit" docker-compose -f "$compose" -p $project down; }
docker_running() { dk docker ps -q --filter label=com.docker.compose.project=$project | grep -c . || true; }

tools=stack
for peer in ${STACK_PEERS_RUN//,/ }; do tools="$tools $peer"; done
ready=""
for t in $tools; do
        if "${t}_setup"; then
                ready="$ready $t"
        else
                echo "skipping $t: setup failed:"
                tail -5 "$log/$t-import" 2>/dev/null | sed 's/^/    /'
        fi
done
echo "$n services, $rounds rounds, tools:$ready; load average before: $(loadavg)"
# podman-compose's own interpreter (a python3 earlier in PATH may not see its module).
pc_python=$(sed -n '1s/^#! *//p' "$(command -v podman-compose 2>/dev/null || echo /dev/null)" | cut -d' ' -f1)
pc_python=${pc_python:-python3}
for t in $ready; do
        case $t in
        stack) v=$("$STACK_BIN" --version 2>&1 | head -1) ;;
        podman) v="$(podman --version), podman-compose $("$pc_python" -c 'import podman_compose as p; print(p.__version__)' 2>&1)" ;;
        docker) v="dockerd $(dk docker version -f '{{.Server.Version}}' 2>&1), docker-compose $(docker-compose version --short 2>&1)" ;;
        esac
        echo "  $t: $v"
done
echo "  runtime: $(crun --version | head -1)"
# podman-compose 1.0.x waits a second after each `podman run` (Podman.run(..., sleep=1)).
pc_sleeps=0
case " $ready " in *" podman "*)
        "$pc_python" -c 'import inspect, podman_compose as p, sys
sys.exit(0 if inspect.signature(p.Podman.run).parameters["sleep"].default == 1 else 1)' 2>/dev/null && pc_sleeps=1 ;;
esac

declare -A ups downs rup rdown rboth rup_nosleep
measure() { # TOOL ROUND: one `up -d` and `down`, checked; sets mu and md (ms) and records them
        local t=$1 r=$2 t0 t1 t2 t3 s0 s1 running other
        current=$t
        s0=$(sample)
        t0=$(ms)
        "${t}_up" >>"$log/$t-up" 2>&1 ||
                { echo "$t up failed or took over $limit s (round $r):"; tail -5 "$log/$t-up"; exit 1; }
        t1=$(ms)
        running=$("${t}_running")
        [ "$running" = "$n" ] || { echo "$t: $running of $n containers running after up:"; tail -8 "$log/$t-up"; exit 1; }
        t2=$(ms)
        "${t}_down" >>"$log/$t-down" 2>&1 ||
                { echo "$t down failed or took over $limit s (round $r):"; tail -5 "$log/$t-down"; exit 1; }
        t3=$(ms)
        running=$("${t}_running")
        [ "$running" = 0 ] || { echo "$t: $running containers left after down:"; tail -8 "$log/$t-down"; exit 1; }
        current=""
        s1=$(sample)
        mu=$((t1 - t0)) md=$((t3 - t2))
        ups[$t]="${ups[$t]:-} $mu"
        downs[$t]="${downs[$t]:-} $md"
        other=$(others "$s0" "$s1")
        others_all="${others_all:-} ${other%\%}"
        printf 'round %d %-7s up %6d ms  down %6d ms  (other work: %s of %d CPUs; load average %s)\n' \
                "$r" "$t" "$mu" "$md" "$other" "$ncpu" "$(loadavg)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# Each peer's run is framed by two of stack's, and compared with their mean: the load on a shared machine
# drifts within a round, and a ratio of two runs made apart would measure the drift.
peer_tools=${ready# stack}
for r in $(seq 1 "$rounds"); do
        measure stack "$r"
        bu=$mu bd=$md
        for t in $peer_tools; do
                measure "$t" "$r"
                pu=$mu pd=$md
                measure stack "$r"
                su=$(((bu + mu) / 2)) sd=$(((bd + md) / 2))
                rup[$t]="${rup[$t]:-} $(ratio "$pu" "$su")"
                rdown[$t]="${rdown[$t]:-} $(ratio "$pd" "$sd")"
                rboth[$t]="${rboth[$t]:-} $(ratio $((pu + pd)) $((su + sd)))"
                rup_nosleep[$t]="${rup_nosleep[$t]:-} $(ratio $((pu - 1000 * n)) "$su")"
                bu=$mu bd=$md
        done
done
# The fixed cost of one invocation of each tool: `ps` of the (now empty) project.
declare -A fixed
for t in $ready; do
        t0=$(ms)
        case $t in
        stack) "$STACK_BIN" -f "$compose" -p $project ps >/dev/null 2>&1 || true ;;
        podman) "${podman_compose[@]}" ps >/dev/null 2>&1 || true ;;
        docker) dk docker-compose -f "$compose" -p $project ps >/dev/null 2>&1 || true ;;
        esac
        fixed[$t]=$(($(ms) - t0))
done
# podman-compose 1.0.3 leaves the project network on down; it is no part of the timings.
case " $ready " in *" podman "*) podman network rm -f "${project}_default" >/dev/null 2>&1 || true ;; esac

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo
other="no cpuacct cgroup: unknown"
# shellcheck disable=SC2086
[ -z "$acct" ] || other="$(median $others_all)% of the CPUs, median over the measurements"
echo "$n services, $rounds rounds (other work: $other; load average after: $(loadavg))"
echo "median times:"
range() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | paste -sd- -; }
for t in $ready; do
        # shellcheck disable=SC2086
        printf '  %-7s up %6.0f ms  down %6.0f ms  (ps of the empty project: %d ms)\n' "$t" "$(median ${ups[$t]})" "$(median ${downs[$t]})" "${fixed[$t]}"
done
[ -z "$peer_tools" ] || echo "peer / stack (median of the rounds' ratios, range in brackets; each peer run against the
mean of the stack runs just before and after it):"
for t in $peer_tools; do
        # shellcheck disable=SC2086
        printf '  %-7s up %5.1fx [%s]  down %5.1fx [%s]  up+down %5.1fx [%s]\n' "$t" \
                "$(median ${rup[$t]})" "$(range ${rup[$t]})" "$(median ${rdown[$t]})" "$(range ${rdown[$t]})" \
                "$(median ${rboth[$t]})" "$(range ${rboth[$t]})"
        if [ "$t" = podman ] && [ $pc_sleeps = 1 ]; then
                # shellcheck disable=SC2086
                printf '  %-7s up %5.1fx [%s] without podman-compose'\''s %d x 1 s sleeps\n' "" \
                        "$(median ${rup_nosleep[$t]})" "$(range ${rup_nosleep[$t]})" "$n"
        fi
done
case " $ready " in *" docker "*) ;; *) echo "  (docker-compose did not run: no figure for the 10x target)" ;; esac
