#!/bin/bash
# Commands that only read (up --dry-run, config, ps, logs, ls, images) create nothing under roots that do
# not exist yet: no image store, no runtime state, no project records. They still answer as they would
# on an empty host.
. "$STACK_SRCDIR/tests/integration/lib.sh"

mkdir -p "$STACK_TEST_TMP/ro" && cd "$STACK_TEST_TMP/ro" || exit 1
cat >compose.yaml <<'YAML'
name: ro
services:
  web:
    image: ro-web
    ports: ["8080:80"]
    depends_on: [db]
  db:
    image: ro-db
YAML
root=$STACK_TEST_TMP/fresh/root
run_root=$STACK_TEST_TMP/fresh/run

# fresh CMD...: runs stack on the fresh roots; output in $out, exit code in $rc.
fresh() {
        out=$("$STACK_BIN" --root "$root" --run-root "$run_root" "$@" 2>&1)
        rc=$?
}
untouched() { # untouched WHAT
        ok "$1 created nothing under the roots" test ! -e "$STACK_TEST_TMP/fresh"
}

fresh config
is "$rc" 0 "config succeeds"
like "$out" "ro-web" "config prints the model"
untouched config

fresh config --services
is "$(sort <<<"$out" | tr '\n' ' ')" "db web " "config --services lists the services"
untouched "config --services"

fresh ps
is "$rc" 0 "ps succeeds"
like "$out" "NAME" "ps prints its header"
is "$(sed 1d <<<"$out")" "" "ps lists no container"
untouched ps

fresh ps web
is "$rc" 0 "ps SERVICE succeeds"
fresh ps nosuch
is "$rc" 1 "ps of an unknown service fails"
like "$out" "no such service: nosuch" "naming it"
untouched "ps SERVICE"

fresh logs
is "$rc" 0 "logs succeeds"
is "$out" "" "logs prints nothing without containers"
fresh logs nosuch
is "$rc" 1 "logs of an unknown service fails"
untouched logs

fresh ls -a
is "$rc" 0 "ls succeeds"
is "$(sed 1d <<<"$out")" "" "ls lists no project"
untouched ls

fresh images
is "$rc" 0 "images succeeds"
like "$out" "<missing>" "images shows the images as missing"
is "$(grep -c '<missing>' <<<"$out")" 2 "  both of them"
untouched images

fresh up --dry-run
is "$rc" 1 "up --dry-run fails on an image the store lacks"
like "$out" "ro-db" "naming the image"
untouched "up --dry-run"

# With the images in a store (made by import under another root, then copied), the dry run prints its
# plan and still creates nothing under the run root.
mkdir -p "$STACK_TEST_TMP/rootfs" && tar -C "$STACK_TEST_TMP/rootfs" -cf "$STACK_TEST_TMP/rootfs.tar" .
stack image import "$STACK_TEST_TMP/rootfs.tar" ro-web >/dev/null &&
        stack image import "$STACK_TEST_TMP/rootfs.tar" ro-db >/dev/null
is "$?" 0 "images imported into the test's own root"
mkdir -p "$STACK_TEST_TMP/fresh" && cp -a "$STACK_ROOT" "$root"
fresh up --dry-run
is "$rc" 0 "up --dry-run succeeds with the images present"
like "$out" "ro-web-1" "the plan names the containers"
ok "up --dry-run created no run root" test ! -e "$run_root"
is "$(find "$root" -newer "$STACK_TEST_TMP/rootfs.tar" -path '*/projects/*' | wc -l)" 0 \
        "up --dry-run wrote no project record"
is "$(ip -o link | grep -vc ': lo:')" 0 "no link was made"

assert_no_residue ro
done_testing
