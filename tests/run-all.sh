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

# shellcheck disable=SC2086
(cd build && ../configure -q ${STACK_CONFIGURE_FLAGS:-} && make -s -j"$jobs" &&
        make -s -j"$jobs" check || { cat test-suite.log 2>/dev/null | tail -n 200; exit 1; })

# Sanitizers: the whole suite again, so that every path the tests take is checked for memory errors.
# shellcheck disable=SC2086
(cd build-asan && ../configure -q --enable-sanitizers ${STACK_CONFIGURE_FLAGS:-} && make -s -j"$jobs" &&
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make -s -j"$jobs" check ||
        { cat test-suite.log 2>/dev/null | tail -n 200; exit 1; })
echo "all tests passed ($top)"
