#!/bin/bash
# Sets up what the example needs on a Debian 12 machine (as root), builds stack and the example images,
# and brings the example stack up: a web front end on http://127.0.0.1:8080/, an application service, a
# redis it waits on until healthy, and a one-shot migration it waits on until it completed.
#   examples/quickstart.sh          set up and start
#   examples/quickstart.sh down     take the example down again (nothing is left behind)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
stack=$top/build/stack
compose=$top/examples/web/compose.yaml

if [ "${1:-}" = down ]; then
        exec "$stack" -f "$compose" down -v
fi

export DEBIAN_FRONTEND=noninteractive
mapfile -t pkgs < <(grep -v -e '^#' -e '^$' .ci/packages)
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
        echo "Installing packages: ${pkgs[*]}"
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
if [ ! -x "$stack" ]; then
        echo "Building stack"
        ./autogen.sh >/dev/null
        mkdir -p build
        (cd build && ../configure -q && make -s -j"$(nproc)" >/dev/null)
fi
echo "Building the example images"
STACK_BIN=$stack examples/build-images.sh "${TMPDIR:-/tmp}/stack-example-images" >/dev/null

echo "Starting the example stack"
"$stack" -f "$compose" up -d --wait --wait-timeout 120
"$stack" -f "$compose" ps
echo
echo "The example answers at http://127.0.0.1:8080/ :"
busybox wget -qO- http://127.0.0.1:8080/ | head -n 5
echo
echo "Logs: $stack -f $compose logs -f      Stop and remove: $0 down"
