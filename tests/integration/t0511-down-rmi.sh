#!/bin/bash
# `stack down --rmi`: `all` removes the images the services use once their containers are gone, but keeps
# one another project's container still uses; `local` removes none (stack builds no images); --dry-run
# names the images and removes nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

images() { stack image ls 2>/dev/null | awk 'NR > 1 { print $1 ":" $2 }' | sort | tr '\n' ' '; }
mkdir -p "$STACK_TEST_TMP/a" "$STACK_TEST_TMP/b"
cat >"$STACK_TEST_TMP/a/compose.yaml" <<'YAML'
name: rmia
services:
  web:
    image: stack-example/httpd
  job:
    image: stack-example/worker
    command: ["sleep", "600"]
YAML
cat >"$STACK_TEST_TMP/b/compose.yaml" <<'YAML'
name: rmib
services:
  other:
    image: stack-example/worker
    command: ["sleep", "600"]
YAML
trap 'stack -p rmia down -t 0 >/dev/null 2>&1; stack -p rmib down -t 0 >/dev/null 2>&1' EXIT
before=$(images)
like "$before" "stack-example/httpd:latest" "the example images are in the store"

ok "up a" stack -f "$STACK_TEST_TMP/a/compose.yaml" up -d
ok "up b" stack -f "$STACK_TEST_TMP/b/compose.yaml" up -d

out=$(stack -f "$STACK_TEST_TMP/a/compose.yaml" down --rmi all --dry-run 2>&1)
like "$out" "remove image stack-example/httpd" "--dry-run names the images"
is "$(images)" "$before" "and removes none"
is "$(stack -f "$STACK_TEST_TMP/a/compose.yaml" ps -q | wc -l)" 2 "nor any container"

out=$(stack -f "$STACK_TEST_TMP/a/compose.yaml" --progress plain down --rmi all -t 0 2>&1)
is "$?" 0 "down --rmi all succeeds"
like "$out" "Image stack-example/httpd Removed" "it reports the removed image"
like "$out" "stack-example/worker is kept" "an image another project's container uses is kept, with a warning"
after=$(images)
ok "httpd is gone from the store" bash -c "! grep -q 'stack-example/httpd:' <<<'$after'"
like "$after" "stack-example/worker:latest" "worker is still there"
is "$(stack -f "$STACK_TEST_TMP/b/compose.yaml" ps --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"])')" \
        running "the other project's container still runs"

out=$(stack -f "$STACK_TEST_TMP/b/compose.yaml" --progress plain down --rmi local -t 0 2>&1)
is "$?" 0 "down --rmi local succeeds"
like "$(images)" "stack-example/worker:latest" "--rmi local keeps images named by image:"
ok "up b again" stack -f "$STACK_TEST_TMP/b/compose.yaml" up -d
rm "$STACK_TEST_TMP/b/compose.yaml"
ok "down --rmi all from the records alone (-p, the file is gone)" stack -p rmib down --rmi all -t 0
is "$(images | grep -c 'stack-example/worker:')" 0 "and worker is gone now that nothing uses it"
not_ok "a bad --rmi value is refused" stack -p rmib down --rmi some

assert_no_residue rmia
assert_no_residue rmib
done_testing
