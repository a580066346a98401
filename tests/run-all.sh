#!/bin/bash
# The test command: build from scratch and run `make check` (unit, integration, fuzz-corpus replay),
# then the unit suite again under ASan + UBSan. Extra configure flags come from STACK_CONFIGURE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc)

./autogen.sh >/dev/null
rm -rf build build-asan
mkdir -p build build-asan

# suite DIR CONFIGURE-FLAGS...: configures in DIR, builds and runs `make check`; on a failure, shows the end
# of the suite's log and stops.
suite() {
        local dir=$1
        shift
        if ! (cd "$dir" && ../configure -q "$@" && make -s -j"$jobs" && make -s -j"$jobs" check); then
                tail -n 200 "$dir/test-suite.log" 2>/dev/null
                exit 1
        fi
}

read -r -a flags <<<"${STACK_CONFIGURE_FLAGS:-}"
suite build "${flags[@]}"
# Sanitizers: the whole suite again, so that every path the tests take is checked for memory errors (but
# the tests beside dockerd and ufw, which check two firewalls' rules rather than memory: they skip there).
STACK_TEST_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 suite build-asan --enable-sanitizers "${flags[@]}"
echo "all tests passed ($top)"
