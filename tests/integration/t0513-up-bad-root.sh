#!/bin/bash
# A root that cannot hold state is an error that names it, not a crash, and up changes nothing on the host.
. "$STACK_SRCDIR/tests/integration/lib.sh"

mkdir -p "$STACK_TEST_TMP/badroot" && cd "$STACK_TEST_TMP/badroot" || exit 1
printf 'name: badroot\nservices:\n  x:\n    image: x\n' >compose.yaml
links_before=$(ip -o link | wc -l)
"$STACK_BIN" --root /dev/null --run-root "$STACK_RUN_ROOT" up -d >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" 1 "up with --root /dev/null fails with exit 1 (not a signal)"
like "$(cat "$STACK_TEST_TMP/err")" "/dev/null/images: Not a directory" "naming the path it could not use"
is "$(ip -o link | wc -l)" "$links_before" "no link was made"
assert_no_residue badroot
done_testing
