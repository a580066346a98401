# shellcheck shell=bash
# Helpers for integration tests: TAP output, assertions on real state, and the final residue check.
# Sourced by each tests/integration/tNNNN-*.sh, which tests/integration/run.sh starts inside its own
# network and mount namespace with STACK_ROOT, STACK_RUN_ROOT and STACK_TEST_TMP set.
set -u

_tap_n=0
_tap_failed=0

stack() {
        "$STACK_BIN" "$@"
}

# The tests written against libiptc's tables keep it unless a test (or the caller) picks another backend;
# the nftables tests (t036x) choose theirs explicitly.
export STACK_FIREWALL_BACKEND=${STACK_FIREWALL_BACKEND:-iptables}

ok() { # ok DESCRIPTION COMMAND...: passes when the command succeeds
        local desc=$1
        shift
        _tap_n=$((_tap_n + 1))
        local out
        if out=$("$@" 2>&1); then
                echo "ok $_tap_n - $desc"
        else
                echo "not ok $_tap_n - $desc"
                printf '%s\n' "$out" | sed 's/^/#   /' | head -n 30
                _tap_failed=$((_tap_failed + 1))
        fi
}

not_ok() { # not_ok DESCRIPTION COMMAND...: passes when the command fails
        local desc=$1
        shift
        _tap_n=$((_tap_n + 1))
        if "$@" >/dev/null 2>&1; then
                echo "not ok $_tap_n - $desc (command succeeded)"
                _tap_failed=$((_tap_failed + 1))
        else
                echo "ok $_tap_n - $desc"
        fi
}

is() { # is GOT WANT DESCRIPTION
        _tap_n=$((_tap_n + 1))
        if [ "$1" = "$2" ]; then
                echo "ok $_tap_n - $3"
        else
                echo "not ok $_tap_n - $3"
                printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
                _tap_failed=$((_tap_failed + 1))
        fi
}

like() { # like GOT SUBSTRING DESCRIPTION
        _tap_n=$((_tap_n + 1))
        case $1 in
        *"$2"*) echo "ok $_tap_n - $3" ;;
        *)
                echo "not ok $_tap_n - $3"
                printf '#   got:      %s\n#   expected to contain: %s\n' "$1" "$2" | head -n 30
                _tap_failed=$((_tap_failed + 1))
                ;;
        esac
}

diag() {
        printf '# %s\n' "$*"
}

skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}

done_testing() {
        echo "1..$_tap_n"
        [ "$_tap_failed" -eq 0 ]
}

# Waits until a command succeeds, up to N tenths of a second.
wait_until() {
        local tries=$1
        shift
        while [ "$tries" -gt 0 ]; do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
                tries=$((tries - 1))
        done
        return 1
}

# ---- reading state through stack and the runtime ----
# Names, states and times come from stack's own output (`stack ps --format json`) and the runtime's, so
# that the tests never rebuild a naming rule of their own.

# ps_field CONTAINER KEY: one field of CONTAINER in `stack ps -a --format json` (whole numbers printed
# as integers); empty, and a failure, when there is no such container or key.
ps_field() {
        stack ps -a --format json | python3 -c '
import json, sys
name, key = sys.argv[1], sys.argv[2]
for c in json.load(sys.stdin):
    if c.get("Name") == name and key in c:
        v = c[key]
        print(int(v) if isinstance(v, float) and v.is_integer() else v)
        sys.exit(0)
sys.exit(1)' "$1" "$2"
}

# ctr_pid CONTAINER: the pid of the container's init, as the OCI runtime reports it.
ctr_pid() {
        crun --root "$STACK_RUN_ROOT/runtime" state "$1" 2>/dev/null |
                python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])'
}

# ctr_netns CONTAINER: a path to the running container's network namespace (its init's).
ctr_netns() {
        local pid
        pid=$(ctr_pid "$1") && [ -n "$pid" ] && echo "/proc/$pid/ns/net"
}

# kv TEXT KEY: the value of KEY=VALUE in a line of KEY=VALUE pairs (the test tools print those).
kv() {
        printf '%s\n' "$1" | sed -n "s/.*\(^\| \)$2=\([^ ]*\).*/\2/p"
}

# netns_exec PROJECT CONTAINER CMD...: runs CMD in the network namespace that net/ made for CONTAINER of
# PROJECT (under the run root, as net/netns.h lays them out); for tests that drive net/ without stack.
netns_exec() {
        local ns=$STACK_RUN_ROOT/netns/$1/$2
        shift 2
        nsenter --net="$ns" "$@"
}

# ---- DNS questions ----

# in_netns NETNS CMD...: runs CMD in a network namespace given by name (ip netns) or by path.
in_netns() {
        local ns=$1
        shift
        case $ns in
        */*) nsenter --net="$ns" "$@" ;;
        *) ip netns exec "$ns" "$@" ;;
        esac
}

# dig's timeout and tries for the helpers below; a test may set its own before asking.
DIG_TIMING=${DIG_TIMING:-+time=3 +tries=2}

# dns_answer NETNS SERVER NAME [DIG-OPTION...]: the short answer, sorted, on one line.
dns_answer() {
        local ns=$1 server=$2 name=$3
        shift 3
        # shellcheck disable=SC2086 # DIG_TIMING is a list of options
        in_netns "$ns" dig +short $DIG_TIMING "@$server" "$@" "$name" | sort | tr '\n' ' '
}

# dns_status NETNS SERVER NAME [DIG-OPTION...]: the reply's status (NOERROR, NXDOMAIN, SERVFAIL ...).
dns_status() {
        local ns=$1 server=$2 name=$3
        shift 3
        # shellcheck disable=SC2086 # DIG_TIMING is a list of options
        in_netns "$ns" dig $DIG_TIMING "@$server" "$@" "$name" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}

# Prints what a project may have left on the host, one line per object; empty when clean.
residue() {
        local project=$1
        ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -v '^lo$' | sed 's/^/link /'
        ip netns list 2>/dev/null | sed 's/^/netns /'
        grep -E "$STACK_ROOT|$STACK_RUN_ROOT" /proc/self/mountinfo | awk '{print "mount " $5}'
        if command -v iptables-legacy-save >/dev/null; then
                iptables-legacy-save 2>/dev/null | grep -E '^:STACK|-j STACK' | sed 's/^/rule /'
        fi
        if command -v ip6tables-legacy-save >/dev/null; then
                ip6tables-legacy-save 2>/dev/null | grep -E '^:STACK|-j STACK' | sed 's/^/rule6 /'
        fi
        if command -v nft >/dev/null; then
                nft list ruleset 2>/dev/null | grep -E '^table inet stack|comment "stack:' | sed 's/^/nft /'
        fi
        # Cgroups are host-wide: containers of a non-default run root carry a tag made from it, which tells
        # this test's cgroups from those of tests running beside it. stack's own rule gives it
        # (container_cgroup_path, through ctr-tool); without the tool the check cannot be made, and says so.
        local tag tool=${STACK_BUILDDIR:-$(dirname "$STACK_BIN")}/tests/integration/ctr-tool
        if ! tag=$("$tool" cgroup-tag "$STACK_RUN_ROOT") || [ -z "$tag" ]; then
                echo "unchecked cgroups: no tag from $tool"
                tag=unknown
        fi
        find /sys/fs/cgroup -maxdepth 3 -type d -name "*$project*-$tag" 2>/dev/null | sed 's/^/cgroup /'
        # A runtime that had the cgroup2 mount hidden from it may have made directories on the host's
        # /sys/fs/cgroup tmpfs beneath that mount point: look under the mount too.
        if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
                # shellcheck disable=SC2016 # $1 and $2 belong to the inner shell
                unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null &&
                        find /sys/fs/cgroup/unified -maxdepth 2 -type d -name "*$1*-$2"' _ "$project" "$tag" |
                        sed 's/^/hidden-cgroup /'
        fi
        if [ -d "$STACK_RUN_ROOT/runtime" ]; then
                find "$STACK_RUN_ROOT/runtime" -mindepth 1 -maxdepth 1 | sed 's/^/runtime-state /'
        fi
        pgrep -f -- "$STACK_TEST_TMP" 2>/dev/null | grep -v "^$$\$" | sed 's/^/process /'
}

# The last assertion of every test: nothing of the project is left.
assert_no_residue() {
        local left
        left=$(residue "$1")
        is "$left" "" "nothing of project $1 is left (links, netns, mounts, rules, cgroups, processes)"
}
