#!/bin/bash
# stack watch on a real container whose image has no stat, mkdir, rmdir, cp or tar: files created,
# modified, deleted and renamed (directories too) appear in the container; ignore and include patterns,
# .git and editor swap files; an initial sync of a file older than the image; sync+restart restarting once
# for a batch of many files; sync+exec running as the given user; a container restarted behind the watcher's
# back still synced; a container down during a batch given what it missed once it runs again; -d refused;
# nothing left after down.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0809-watch-lib.inc"
watch_image busybox:watch || exit 1

proj=$STACK_TEST_TMP/proj
mkdir -p "$proj/src" "$proj/conf" "$proj/hooks" "$proj/b"
cd "$proj" || exit 1
echo old >src/old.txt
touch -d 2001-01-01 src/old.txt # older than the image: compose's mtime filter would skip it
cat >compose.yaml <<'Y'
name: wt
services:
  app:
    image: busybox:watch
    command: ["sh", "-c", "echo start >>/starts; exec sleep 100000"]
    restart: always
    stop_signal: SIGKILL
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
          ignore: ["*.log", "skip/"]
          initial_sync: true
        - action: sync+restart
          path: ./conf
          target: /etc/app
        - action: sync+exec
          path: ./hooks
          target: /hooks
          include: ["*.sh"]
          exec:
            command: ["sh", "-c", "id -u >/tmp/hook-user; cat /hooks/run.sh >>/tmp/hook-ran"]
            user: app
  b:
    image: busybox:watch
    command: ["sleep", "100000"]
    stop_signal: SIGKILL
    develop:
      watch:
        - {action: sync, path: ./b, target: /b}
Y
C=wt-app-1
out=$STACK_TEST_TMP/watch.out
"$STACK_BIN" watch >"$out" 2>&1 &
wpid=$!
ok "watch brings the service up and starts watching" wait_until 1800 grep -q "Watch enabled" "$out"
ok "initial sync: a file older than the image is in the container" wait_until 600 sh -c "[ \"\$(crun --root '$STACK_RUN_ROOT/runtime' exec $C cat /app/old.txt)\" = old ]"

has() { [ "$(ctr_cat "$C" "$1")" = "$2" ]; }
gone() { ! in_ctr "$C" ls "$1" >/dev/null 2>&1; }

echo one >src/a.txt
ok "a created file appears" wait_until 600 has /app/a.txt one
echo two >src/a.txt
ok "a modified file follows" wait_until 600 has /app/a.txt two
chmod 0750 src/a.txt
ok "its mode follows" wait_until 600 sh -c "crun --root '$STACK_RUN_ROOT/runtime' exec $C ls -l /app/a.txt | grep -q '^-rwxr-x---'"
mkdir -p src/d/e
echo deep >src/d/e/f.txt
ok "a new directory tree appears (no mkdir in the image)" wait_until 600 has /app/d/e/f.txt deep
mv src/a.txt src/b.txt
ok "a renamed file appears under its new name" wait_until 600 has /app/b.txt two
ok "and is gone under the old one" wait_until 600 gone /app/a.txt
mv src/d src/d2
ok "a renamed directory appears under its new name" wait_until 600 has /app/d2/e/f.txt deep
ok "and is gone under the old one" wait_until 600 gone /app/d
echo later >src/d2/e/g.txt
ok "a file in the renamed directory is still watched" wait_until 600 has /app/d2/e/g.txt later
rm src/b.txt
ok "a deleted file is removed" wait_until 600 gone /app/b.txt
rm -r src/d2
ok "a deleted directory is removed" wait_until 600 gone /app/d2

# Ignored paths: written before a sentinel, so once the sentinel is there they have been judged.
echo x >src/debug.log
mkdir -p src/skip src/.git
echo x >src/skip/a
echo x >src/.git/HEAD
echo x >src/.old.txt.swp
echo x >src/old.txt~
echo s1 >src/sentinel1
ok "sentinel after ignored files" wait_until 600 has /app/sentinel1 s1
ok "an ignore pattern keeps *.log out" gone /app/debug.log
ok "an ignored directory stays out" gone /app/skip
ok ".git stays out without configuration" gone /app/.git
ok "an editor swap file stays out" gone /app/.old.txt.swp
ok "a backup file stays out" gone /app/old.txt~

# sync+exec with include: the hook runs as app (1000), after its file is synced; other files are not.
echo "readme" >hooks/readme.txt
echo "echo v1" >hooks/run.sh
ok "sync+exec runs the command" wait_until 600 sh -c "crun --root '$STACK_RUN_ROOT/runtime' exec $C cat /tmp/hook-ran | grep -q 'echo v1'"
is "$(ctr_cat $C /tmp/hook-user)" 1000 "as the rule's user"
ok "a file include leaves out is not synced" gone /hooks/readme.txt

# sync+restart: many files in one batch (a directory moved in at once), one restart.
is "$(ctr_cat $C /starts | wc -l)" 1 "the container started once so far"
mkdir -p "$STACK_TEST_TMP/newconf"
for i in 1 2 3 4 5 6 7 8; do echo "c$i" >"$STACK_TEST_TMP/newconf/$i.conf"; done
mv "$STACK_TEST_TMP/newconf" conf/sub
ok "the batch's files are synced" wait_until 600 has /etc/app/sub/8.conf c8
ok "and the container restarted" wait_until 600 sh -c "[ \"\$(crun --root '$STACK_RUN_ROOT/runtime' exec $C cat /starts | wc -l)\" -ge 2 ]"
echo s2 >src/sentinel2
ok "the watcher syncs into the restarted container" wait_until 600 has /app/sentinel2 s2
is "$(ctr_cat $C /starts | wc -l)" 2 "exactly one restart for the batch"
is "$(grep -c 'Restarting app' "$out")" 1 "one restart line"

# A restart behind the watcher's back (the init killed, restart: always): the new container is synced.
pid=$(ctr_pid $C)
kill -9 "$pid"
ok "the container is restarted by its policy" wait_until 600 sh -c "p=\$(crun --root '$STACK_RUN_ROOT/runtime' state $C | grep '\"pid\"' | tr -dc 0-9); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && [ \"\$p\" != 0 ]"
echo after >src/after.txt
ok "a file written after the restart appears" wait_until 600 has /app/after.txt after
like "$(cat "$out")" "⦿ Syncing 1 change to app" "one line per batch and action"

# A container that is down when a batch comes (restart: no, its init killed) gets what it missed with the
# next batch after it runs again.
kill -9 "$(ctr_pid wt-b-1)"
ok "b is down" wait_until 600 sh -c "! crun --root '$STACK_RUN_ROOT/runtime' state wt-b-1 | grep -q running"
echo missed >b/m.txt
ok "the watcher says it could not sync b" wait_until 600 grep -q "✘ b: .*not running" "$out"
ok "b runs again" stack up -d b
echo s >b/sentinel
ok "the next batch reaches b" wait_until 600 sh -c "[ \"\$(crun --root '$STACK_RUN_ROOT/runtime' exec wt-b-1 cat /b/sentinel)\" = s ]"
is "$(ctr_cat wt-b-1 /b/m.txt)" missed "with the change it missed while down"

kill -INT "$wpid"
wait "$wpid"
is "$?" 0 "Ctrl-C ends the watcher"

out2=$(stack watch -d 2>&1)
is "$?" 2 "watch -d is refused"
like "$out2" "detached watcher is not supported yet" "saying why"
out2=$(stack watch --no-up nosuch 2>&1)
is "$?" 1 "an unknown service is an error"

ok "down" stack down
assert_no_residue wt
done_testing
