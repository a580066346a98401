#!/bin/bash
# Failures in the middle of `up` are reported with the runtime's own reason and the container's name,
# not a stale placeholder; a missing image fails before anything is made; down cleans up after both.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/oops" && cd "$STACK_TEST_TMP/oops" || exit 1
cat >compose.yaml <<'YAML'
name: oops
services:
  ok:
    image: stack-example/worker
  bad:
    image: stack-example/worker
    command: ["/no/such/program"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

out=$(stack up -d 2>&1)
ok "up fails" test $? -ne 0
like "$out" "oops-bad-1" "the error names the container"
like "$out" "/no/such/program" "and the runtime's reason: the missing program"
case $out in
*Success*) ok "no 'Success' placeholder in the error" false ;;
*) ok "no 'Success' placeholder in the error" true ;;
esac
ok "down" stack down -t 0
is "$(residue oops)" "" "leaves nothing"

cat >compose.yaml <<'YAML'
name: oops
services:
  ok:
    image: stack-example/worker
  ghost:
    image: stack-example/no-such-image
YAML
out=$(stack up -d 2>&1)
ok "up with an image that is not in the store fails" test $? -ne 0
like "$out" "stack-example/no-such-image" "naming the image"
is "$(residue oops)" "" "before any link, netns, mount, rule or process is made"
is "$(stack ps -a -q)" "" "or any container"
ok "down" stack down -t 0
trap - EXIT
assert_no_residue oops
done_testing
