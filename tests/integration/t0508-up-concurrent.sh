#!/bin/bash
# The per-project lock: two `stack up` of one project at once never interleave (one container per
# replica, one supervisor, both succeed), an `up` and a `down` at once end in one of the two states,
# and two projects come up side by side at the same time.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

# compose_file NAME PORT
compose_file() {
        mkdir -p "$STACK_TEST_TMP/$1"
        cat >"$STACK_TEST_TMP/$1/compose.yaml" <<YAML
name: $1
services:
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:$2:80"]
  w:
    image: stack-example/worker
    scale: 2
YAML
}
compose_file conca 18091
compose_file concb 18092
trap 'stack -p conca down -t 0 >/dev/null 2>&1; stack -p concb down -t 0 >/dev/null 2>&1' EXIT
cd "$STACK_TEST_TMP/conca" || exit 1

"$STACK_BIN" up -d >"$STACK_TEST_TMP/a1.log" 2>&1 &
a1=$!
"$STACK_BIN" up -d >"$STACK_TEST_TMP/a2.log" 2>&1 &
a2=$!
wait "$a1"
is "$?" "0" "the first of two concurrent ups succeeds"
wait "$a2"
is "$?" "0" "the second too"
is "$(stack ps -q | sort | tr '\n' ' ')" "conca-w-1 conca-w-2 conca-web-1 " "one container per replica"
is "$(pgrep -f -- "$STACK_TEST_TMP.* [s]upervise conca" | wc -l)" "1" "one supervisor"
ok "the port answers" timeout 5 busybox wget -qO- http://127.0.0.1:18091/
ok "nothing left to do" test -z "$(stack up -d --dry-run 2>&1)"

# up and down at once: whichever goes second wins, and the state is whole either way.
"$STACK_BIN" down -t 0 >/dev/null 2>&1 &
d=$!
"$STACK_BIN" up -d >/dev/null 2>&1 &
u=$!
wait "$d"
is "$?" "0" "a concurrent down succeeds"
wait "$u"
is "$?" "0" "and so does the up"
running=$(stack ps -q | sort | tr '\n' ' ')
case $running in
"" | "conca-w-1 conca-w-2 conca-web-1 ") ok "the project is either down or fully up ('$running')" true ;;
*) ok "the project is either down or fully up ('$running')" false ;;
esac
ok "down" stack down -t 0
is "$(residue conca)" "" "nothing of conca is left"

# Two projects at the same time.
(cd "$STACK_TEST_TMP/concb" && "$STACK_BIN" up -d --wait --wait-timeout 40 >"$STACK_TEST_TMP/b.log" 2>&1) &
b=$!
"$STACK_BIN" up -d --wait --wait-timeout 40 >"$STACK_TEST_TMP/a.log" 2>&1
is "$?" "0" "project conca comes up"
wait "$b"
is "$?" "0" "while concb comes up beside it"
ok "conca answers" timeout 5 busybox wget -qO- http://127.0.0.1:18091/
ok "concb answers" timeout 5 busybox wget -qO- http://127.0.0.1:18092/
is "$(stack ls -q | sort | tr '\n' ' ')" "conca concb " "ls lists both"
ok "down conca" stack down -t 0
ok "concb still answers" timeout 5 busybox wget -qO- http://127.0.0.1:18092/
ok "down concb" stack -p concb down -t 0
trap - EXIT
assert_no_residue conca
assert_no_residue concb
done_testing
