#!/bin/bash
# Sets up everything the example needs on a Debian 12 machine, builds stack, and runs the example stack.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
mapfile -t pkgs < <(grep -v -e '^#' -e '^$' .ci/packages)
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
[ -x build/stack ] || { ./autogen.sh >/dev/null && mkdir -p build && (cd build && ../configure -q && make -s -j"$(nproc)"); }
build/stack -f examples/web/compose.yaml config
