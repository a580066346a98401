#!/bin/bash
# The example stack from a registry instead of `image import`: starts Debian's docker-registry on
# 127.0.0.1 (plain HTTP, which stack allows for loopback as docker does), pushes the example images into
# it with skopeo, and brings examples/web up with every image pulled from there.
#   examples/registry.sh          build, push, pull and start (after examples/quickstart.sh set up the host)
#   examples/registry.sh down     take the example down and stop the registry
# Needs docker-registry and skopeo (see .ci/packages). The registry keeps its data and pid under
# ${TMPDIR:-/tmp}/stack-example-registry; REGISTRY_PORT chooses its port (default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
stack=${STACK_BIN:-$top/build/stack}
compose=$top/examples/web/compose.yaml
state=${TMPDIR:-/tmp}/stack-example-registry
port=${REGISTRY_PORT:-5000}
reg=127.0.0.1:$port
override=$state/compose.registry.yaml

stop_registry() {
        if [ -f "$state/pid" ]; then
                kill "$(cat "$state/pid")" 2>/dev/null || true
                rm -f "$state/pid"
        fi
}

if [ "${1:-}" = down ]; then
        [ -f "$override" ] && "$stack" -f "$compose" -f "$override" down -v
        stop_registry
        exit 0
fi

for tool in docker-registry skopeo; do
        command -v "$tool" >/dev/null || {
                echo "$0: $tool is missing: apt-get install $tool" >&2
                exit 1
        }
done
mkdir -p "$state/data"
if [ ! -f "$state/pid" ] || ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        cat >"$state/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $state/data}}
http: {addr: $reg}
YAML
        echo "Starting a registry on $reg"
        docker-registry serve "$state/config.yml" >"$state/log" 2>&1 &
        echo $! >"$state/pid"
        for _ in $(seq 100); do
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
                sleep 0.1
        done
fi

echo "Building the example images and pushing them to $reg"
examples/build-images.sh --no-import "$state/images" >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$state/images/httpd" "docker://$reg/stack-example/httpd:latest"
skopeo copy -q --dest-tls-verify=false "oci-archive:$state/images/worker.oci.tar" \
        "docker://$reg/stack-example/worker:latest"
skopeo copy -q --dest-tls-verify=false "oci:$state/images/redis" "docker://$reg/stack-example/redis:latest"

# The same project, with every service's image named in the registry.
cat >"$override" <<YAML
services:
  web: {image: $reg/stack-example/httpd}
  app: {image: $reg/stack-example/worker}
  data: {image: $reg/stack-example/redis}
  migrate: {image: $reg/stack-example/worker}
YAML
echo "Pulling and starting the example stack"
"$stack" -f "$compose" -f "$override" pull
"$stack" -f "$compose" -f "$override" up -d --wait --wait-timeout 120
"$stack" -f "$compose" -f "$override" images
echo
echo "Stop and remove (and stop the registry): $0 down"
