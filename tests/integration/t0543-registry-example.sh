#!/bin/bash
# examples/registry.sh: the example stack pushed to a local registry and brought up from it, pulled into
# an empty store; `registry.sh down` takes it down and stops the registry.
. "$STACK_SRCDIR/tests/integration/lib.sh"
command -v crun >/dev/null || skip_all "crun not installed"
command -v docker-registry >/dev/null || skip_all "docker-registry not installed"
command -v skopeo >/dev/null || skip_all "skopeo not installed"

export TMPDIR=$STACK_TEST_TMP
REGISTRY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export REGISTRY_PORT
trap '"$STACK_SRCDIR/examples/registry.sh" down >/dev/null 2>&1' EXIT

out=$("$STACK_SRCDIR/examples/registry.sh" 2>&1)
is "$?" 0 "registry.sh brings the example up from the registry"
like "$out" "Pull complete" "the images were pulled"
ok "the example answers" busybox wget -qO- http://127.0.0.1:8080/
like "$(stack image ls)" "127.0.0.1:$REGISTRY_PORT/stack-example/redis" "the store names the registry's images"
regpid=$(cat "$STACK_TEST_TMP/stack-example-registry/pid")
ok "registry.sh down" "$STACK_SRCDIR/examples/registry.sh" down
trap - EXIT
registry_gone() { ! kill -0 "$regpid" 2>/dev/null; }
ok "the registry is stopped" wait_until 100 registry_gone
assert_no_residue webdemo
done_testing
