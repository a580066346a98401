#!/bin/bash
# The test command: build from scratch and run `make check` (unit, integration, fuzz-corpus replay),
# then again under ASan + UBSan: every unit test, fuzz replay and tree check, and the integration tests
# that drive the engine's main paths (the list below; STACK_ASAN_FULL=1 runs all of them, which takes
# longer than CI's 40 minutes allow for both passes). Extra configure flags come from STACK_CONFIGURE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc)

./autogen.sh >/dev/null
rm -rf build build-asan
mkdir -p build build-asan

# suite DIR CONFIGURE-FLAGS...: configures in DIR, builds and runs `make check`; on a failure, shows the end
# of the suite's log and stops.
# With $only set, only those tests run.
suite() {
        local dir=$1
        shift
        local tests=()
        [ -z "${only:-}" ] || tests=(TESTS="$only")
        if ! (cd "$dir" && ../configure -q "$@" && make -s -j"$jobs" && make -s -j"$jobs" check "${tests[@]}"); then
                tail -n 200 "$dir/test-suite.log" 2>/dev/null
                exit 1
        fi
}

read -r -a flags <<<"${STACK_CONFIGURE_FLAGS:-}"
suite build "${flags[@]}"
# Sanitizers: the integration tests that between them take every engine path (containers, networks,
# both firewall backends and their repair, DNS, up/down and their crashes, the supervisor and its death,
# exec, run, the lifecycle verbs, logs, events, pull, push, login, build, watch, cp);
# the tests beside dockerd and ufw check two firewalls' rules rather than memory and skip there anyway, and
# t0521 (a log flood against rotation) measures the supervisor keeping pace, which ASan slows threefold.
asan_integration="t0250-ctr-basics t0251-ctr-security t0253-ctr-volumes t0254-ctr-stop t0300-net-link
t0303-net-options t0350-fw-publish t0360-fw-nft-publish t0372-fw-drift t0400-dns t0403-dns-up t0500-up
t0502-up-crash t0506-ps-logs t0510-up-supervisor-killed t0512-up-interrupt t0514-exec t0515-run
t0517-noop-view t0522-events t0540-registry-pull t0541-registry-auth t0560-life-stop-start
t0562-life-pause-rm-top t0600-build t0700-net-shapes-publish t0800-watch t0801-cp"
only=
if [ "${STACK_ASAN_FULL:-}" != 1 ]; then
        for t in $(make -s -C build print-tests); do
                case $t in
                tests/integration/*)
                        name=${t#tests/integration/}
                        name=${name%.sh}
                        [[ " ${asan_integration//$'\n'/ } " == *" $name "* ]] || continue
                        ;;
                esac
                only+="$t "
        done
fi
STACK_TEST_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 suite build-asan --enable-sanitizers "${flags[@]}"
echo "all tests passed ($top)"
