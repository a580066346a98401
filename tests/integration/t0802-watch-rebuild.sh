#!/bin/bash
# `stack up --watch`: logs attached and the watcher beside them; a rebuild rule on a single file rebuilds
# the service's image with stack's builder and recreates only that service (the other container keeps its
# init); Ctrl-C stops the containers and the watcher; `watch --prune` removes the image a rebuild
# replaced; nothing left after down. (The attached logs do not yet follow a container recreated under
# them: logs.c keeps following the old file's offset.)
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0809-watch-lib.inc"
watch_image busybox:rb || exit 1

proj=$STACK_TEST_TMP/proj
mkdir -p "$proj"
cd "$proj" || exit 1
echo v1 >msg
printf 'FROM busybox:rb\nCOPY msg /msg\n' >Dockerfile
cat >compose.yaml <<'Y'
name: wr
services:
  web:
    build: .
    command: ["sh", "-c", "cat /msg; exec sleep 100000"]
    stop_signal: SIGKILL
    develop:
      watch:
        - {action: rebuild, path: ./msg}
  other:
    image: busybox:rb
    command: ["sleep", "100000"]
    stop_signal: SIGKILL
Y
out=$STACK_TEST_TMP/up.out
"$STACK_BIN" up --watch >"$out" 2>&1 &
upid=$!
ok "up --watch builds, starts and watches" wait_until 1800 grep -q "Watch enabled" "$out"
ok "the logs are attached" wait_until 600 grep -q "web-1.*| v1" "$out"
other_pid=$(ctr_pid wr-other-1)
watcher=$(pgrep -P "$upid")
ok "the watcher runs beside the attached logs" test -n "$watcher"

echo v2 >msg
ok "an edit to the rule's file rebuilds web" wait_until 1800 sh -c "[ \"\$(crun --root '$STACK_RUN_ROOT/runtime' exec wr-web-1 cat /msg 2>/dev/null)\" = v2 ]"
like "$(cat "$out")" "⦿ Rebuilding web" "saying so"
is "$(ctr_pid wr-other-1)" "$other_pid" "the other service was not recreated"

kill -INT "$upid"
wait "$upid"
ok "Ctrl-C stops the project" sh -c "! crun --root '$STACK_RUN_ROOT/runtime' state wr-web-1 2>/dev/null | grep -q running"
ok "and the watcher" sh -c "for p in ${watcher//$'\n'/ }; do ! kill -0 \$p 2>/dev/null || exit 1; done"

# stack watch --prune: the image a rebuild replaced is removed once nothing uses it.
ok "up -d again" stack up -d
old_id=$(stack image inspect wr-web | python3 -c 'import json, sys; d = json.load(sys.stdin); print((d[0] if isinstance(d, list) else d)["Id"])')
ok "the built image has an id" test -n "$old_id"
wout=$STACK_TEST_TMP/watch.out
"$STACK_BIN" watch --no-up --prune --quiet >"$wout" 2>&1 &
wpid=$!
ok "watch --prune starts" wait_until 1800 grep -q "Watch enabled" "$wout"
echo v3 >msg
ok "the next edit rebuilds web" wait_until 1800 sh -c "[ \"\$(crun --root '$STACK_RUN_ROOT/runtime' exec wr-web-1 cat /msg 2>/dev/null)\" = v3 ]"
ok "and removes the image it replaced" wait_until 600 sh -c "! '$STACK_BIN' image ls --format json | grep -q '$old_id'"
kill -INT "$wpid"
wait "$wpid"
is "$?" 0 "the watcher ends on Ctrl-C"

out2=$(stack up -d --watch 2>&1)
is "$?" 2 "up --watch with -d is a usage error"
like "$out2" "cannot be combined with --detach" "saying why"

ok "down" stack down
assert_no_residue wr
done_testing
