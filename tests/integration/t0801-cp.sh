#!/bin/bash
# stack cp both ways on a running container with no cp or tar in its image: a file, a directory, "dir/."
# contents, into an existing directory, -a keeping owners, a tmpfs mount inside the container, errors
# docker cp gives; and symlinks planted in the container (to /, climbing with .., to a host path) that
# never lead the copy out of the container.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0809-watch-lib.inc"
watch_image busybox:cp || exit 1

proj=$STACK_TEST_TMP/proj
mkdir -p "$proj"
cd "$proj" || exit 1
cat >compose.yaml <<'Y'
name: ct
services:
  app:
    image: busybox:cp
    command: ["sh", "-c", "echo inside >/tmp/in.txt; ln -s / /escape; ln -s ../../../../etc /up; exec sleep 100000"]
    stop_signal: SIGKILL
    tmpfs: [/scratch]
Y
ok "up" stack up -d
C=ct-app-1
ok "the container made its files" wait_until 600 sh -c "crun --root '$STACK_RUN_ROOT/runtime' exec $C cat /tmp/in.txt"

# container -> host
ok "cp a file out" stack cp app:/tmp/in.txt "$STACK_TEST_TMP/out.txt"
is "$(cat "$STACK_TEST_TMP/out.txt")" inside "with its content"
mkdir -p "$STACK_TEST_TMP/into"
ok "cp a file into an existing directory" stack cp app:/etc/passwd "$STACK_TEST_TMP/into"
like "$(cat "$STACK_TEST_TMP/into/passwd")" "app:x:1000" "under its own name"
ok "cp a directory out" stack cp app:/etc "$STACK_TEST_TMP/etc-copy"
is "$(cat "$STACK_TEST_TMP/etc-copy/marker")" "image passwd marker" "its files come along"
ok "cp a directory into an existing directory" stack cp app:/etc "$STACK_TEST_TMP/into"
ok "lands as a subdirectory" test -f "$STACK_TEST_TMP/into/etc/marker"
mkdir -p "$STACK_TEST_TMP/contents"
ok "cp dir/. copies the contents" stack cp app:/etc/. "$STACK_TEST_TMP/contents"
ok "without the directory itself" test -f "$STACK_TEST_TMP/contents/marker"
not_ok "a directory onto a file is refused" stack cp app:/etc "$STACK_TEST_TMP/out.txt"
out=$(stack cp app:/tmp/in.txt "$STACK_TEST_TMP/nodir/" 2>&1)
is "$?" 1 "a file to a missing directory/ is refused"
like "$out" "destination directory does not exist" "saying so"
out=$(stack cp app:/nonexistent "$STACK_TEST_TMP/x" 2>&1)
is "$?" 1 "a missing source is an error"

# host -> container
mkdir -p "$STACK_TEST_TMP/tree/sub"
echo "from host" >"$STACK_TEST_TMP/tree/sub/h.txt"
chown 1234:2345 "$STACK_TEST_TMP/tree/sub/h.txt"
chmod 0640 "$STACK_TEST_TMP/tree/sub/h.txt"
ok "cp a tree in (no mkdir or tar in the image)" stack cp "$STACK_TEST_TMP/tree" app:/data
is "$(ctr_cat $C /data/sub/h.txt)" "from host" "the file is in the container"
like "$(in_ctr $C ls -ln /data/sub/h.txt | tr -s ' ')" "-rw-r----- 1 0 0 " "mode kept, owned by root without -a"
ok "cp -a" stack cp -a "$STACK_TEST_TMP/tree" app:/archived
like "$(in_ctr $C ls -ln /archived/sub/h.txt | tr -s ' ')" " 1234 2345 " "keeps uid and gid"
ok "cp into a tmpfs mount of the container" stack cp "$STACK_TEST_TMP/out.txt" app:/scratch/o.txt
is "$(ctr_cat $C /scratch/o.txt)" inside "the container sees it on its tmpfs"
ok "and it is not in the container's writable layer" sh -c "! find '$STACK_ROOT/containers' -name o.txt | grep -q ."

# Escapes: writes and reads through links planted in the container stay in it.
rm -f /tmp/stack-cp-escape-$$
ok "cp through a link to /" stack cp "$STACK_TEST_TMP/out.txt" "app:/escape/tmp/stack-cp-escape-$$"
ok "lands in the container's /tmp" sh -c "crun --root '$STACK_RUN_ROOT/runtime' exec $C cat /tmp/stack-cp-escape-$$"
ok "not in the host's" test ! -e "/tmp/stack-cp-escape-$$"
ok "cp out through a link climbing with .." stack cp app:/up/marker "$STACK_TEST_TMP/m.txt"
is "$(cat "$STACK_TEST_TMP/m.txt")" "image passwd marker" "reads the container's /etc, not the host's"
ok "cp without -L copies a link as a link" stack cp app:/up "$STACK_TEST_TMP/up-link"
is "$(readlink "$STACK_TEST_TMP/up-link")" "../../../../etc" "with its target as written"
ok "cp -L follows it, inside the container" stack cp -L app:/up "$STACK_TEST_TMP/up-copy"
is "$(cat "$STACK_TEST_TMP/up-copy/marker")" "image passwd marker" "to the container's /etc"
hostpw_before=$(sha256sum /etc/passwd)
stack cp "$STACK_TEST_TMP/out.txt" app:/up/passwd >/dev/null 2>&1
is "$(sha256sum /etc/passwd)" "$hostpw_before" "a write to ../../etc/passwd never touches the host's"
like "$(ctr_cat $C /etc/passwd)" "inside" "it replaced the container's"

not_ok "a stopped service is refused" stack cp app:/x "$STACK_TEST_TMP/y" --index 2
out=$(stack cp a b 2>&1)
is "$?" 2 "no SERVICE: is a usage error"

ok "down" stack down
assert_no_residue ct
done_testing
