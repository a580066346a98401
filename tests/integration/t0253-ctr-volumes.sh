#!/bin/bash
# Volumes: named volumes outlive containers and are filled from the image on first use; binds are visible
# both ways; anonymous volumes; external volumes must exist; secrets and configs with their mode.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"

proj='{"volumes":{"data":{"name":"t-vol_data"},"ext":{"name":"t-vol_missing","external":true}}}'
# The image's /data: a hard-linked pair and an extended attribute, kept by the first-use copy.
echo linked >"$LAYER/data/hard1"
ln "$LAYER/data/hard1" "$LAYER/data/hard2"
xattr_ok=$(python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.stack", b"kept"); print("yes")' "$LAYER/data/seed.txt" 2>/dev/null || echo no)

out=$(ct_run_log t-vol-1 '{"volumes":[{"type":"volume","source":"data","target":"/data"}],"command":["sh","-c","cat /data/seed.txt; stat -c %u /data; echo persisted >/data/new.txt"]}' --project "$proj")
like "$out" "from the image" "a new named volume is filled from the image's content at the mount point"
like "$out" $'\n1000' "and takes the owner of the directory it covers"
vol=$STACK_ROOT/volumes/t-vol_data/_data
ok "the volume lives under the root" test -f "$vol/new.txt"
is "$(stat -c %i "$vol/hard1")" "$(stat -c %i "$vol/hard2")" "hard links stay hard links in the copy"
if [ "$xattr_ok" = yes ]; then
        is "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.stack").decode())' "$vol/seed.txt")" kept "extended attributes are copied"
fi
ok "remove the container" ct remove t-vol-1
ok "the volume survives container removal" test -f "$vol/new.txt"
out=$(ct_run_log t-vol-1 '{"volumes":[{"type":"volume","source":"data","target":"/data"}],"command":["cat","/data/new.txt"]}' --project "$proj")
is "$out" "persisted" "a recreated container sees the volume's data"
ct remove t-vol-1

out=$(ct_run_log t-vol-2 '{"volumes":[{"type":"volume","source":"data","target":"/data","read_only":true}],"command":["sh","-c","touch /data/x 2>&1 || echo ro-refused"]}' --project "$proj")
like "$out" "ro-refused" "read-only volume"

err=$(ct create t-vol-3 --rootfs "$LAYER" --project "$proj" --service '{"volumes":[{"type":"volume","source":"ext","target":"/x"}],"command":["true"]}' 2>&1)
like "$err" "volume 't-vol_missing' is declared external, but could not be found" "a missing external volume is an error"
ok "no volume was created for it" test ! -e "$STACK_ROOT/volumes/t-vol_missing"

mkdir -p "$STACK_TEST_TMP/host"
echo "from the host" >"$STACK_TEST_TMP/host/h.txt"
ct_run t-vol-4 "{\"volumes\":[{\"type\":\"bind\",\"source\":\"$STACK_TEST_TMP/host\",\"target\":\"/mnt\"}],\"command\":[\"sh\",\"-c\",\"cat /mnt/h.txt; echo from-the-container >/mnt/c.txt; sleep 100\"]}" >/dev/null
wait_until 50 test -f "$STACK_TEST_TMP/host/c.txt"
is "$(cat "$STACK_TEST_TMP/host/c.txt" 2>/dev/null)" "from-the-container" "bind: a container write is visible on the host"
like "$(ct log t-vol-4)" "from the host" "bind: a host file is visible in the container"
ct stop t-vol-4 KILL 1 >/dev/null

err=$(ct create t-vol-5 --rootfs "$LAYER" --service "{\"volumes\":[{\"type\":\"bind\",\"source\":\"$STACK_TEST_TMP/nope\",\"target\":\"/mnt\"}],\"command\":[\"true\"]}" 2>&1)
like "$err" "bind source path does not exist" "a missing bind source is an error without create_host_path"
ok "create_host_path creates it" ct create t-vol-5 --rootfs "$LAYER" --service "{\"volumes\":[{\"type\":\"bind\",\"source\":\"$STACK_TEST_TMP/made\",\"target\":\"/mnt\",\"create_host_path\":true}],\"command\":[\"true\"]}"
ok "host path exists" test -d "$STACK_TEST_TMP/made"

out=$(ct_run_log t-vol-6 '{"volumes":[{"type":"volume","target":"/home/app"},{"type":"tmpfs","target":"/scratch","size":1048576,"mode":448}],"command":["sh","-c","ls /home/app; stat -c %a /scratch; grep \" /scratch \" /proc/mounts"]}')
like "$out" "size=1024k" "tmpfs volume with size"
ok "tmpfs volume with mode" grep -qx 700 <<<"$out"
anon=$(cd "$STACK_ROOT/volumes" && echo t-vol-6-anon-*)
ok "an anonymous volume was created for the container" test -d "$STACK_ROOT/volumes/$anon/_data"

# Bind propagation: with rshared, a mount made on the host under the bind source after the container
# started shows up inside it.
mkdir -p "$STACK_TEST_TMP/prop/sub"
mount --bind "$STACK_TEST_TMP/prop" "$STACK_TEST_TMP/prop"
mount --make-rshared "$STACK_TEST_TMP/prop"
ct_run t-vol-8 "{\"volumes\":[{\"type\":\"bind\",\"source\":\"$STACK_TEST_TMP/prop\",\"target\":\"/prop\",\"propagation\":\"rshared\"}],\"command\":[\"sh\",\"-c\",\"while [ ! -f /prop/sub/late.txt ]; do sleep 0.1; done; cat /prop/sub/late.txt\"]}" >/dev/null
mkdir -p "$STACK_TEST_TMP/late"
echo "mounted later" >"$STACK_TEST_TMP/late/late.txt"
mount --bind "$STACK_TEST_TMP/late" "$STACK_TEST_TMP/prop/sub"
wait_until 50 sh -c "$CT log t-vol-8 | grep -q 'mounted later'"
like "$(ct log t-vol-8)" "mounted later" "rshared bind: a later host mount propagates into the container"
ct stop t-vol-8 KILL 1 >/dev/null
ct remove t-vol-8
umount "$STACK_TEST_TMP/prop/sub"
umount "$STACK_TEST_TMP/prop"

echo "s3cret" >"$STACK_TEST_TMP/secret.txt"
proj2="{\"secrets\":{\"db\":{\"file\":\"$STACK_TEST_TMP/secret.txt\"},\"tok\":{\"content\":\"abc\"},\"env\":{\"environment\":\"T_SECRET\"}},\"configs\":{\"cfg\":{\"content\":\"k=v\"}},\"environment\":{\"T_SECRET\":\"from-env\"}}"
out=$(ct_run_log t-vol-7 '{"user":"app","secrets":[{"source":"db"},{"source":"tok","target":"/etc/tok","uid":"1000","mode":256},{"source":"env"}],"configs":[{"source":"cfg","target":"/etc/app.conf"}],"command":["sh","-c","cat /run/secrets/db; stat -c \"%a %u\" /run/secrets/db /etc/tok; cat /etc/tok; echo; cat /etc/app.conf; echo; cat /run/secrets/env; echo; echo x >/run/secrets/db 2>&1 || echo secret-ro"]}' --project "$proj2")
like "$out" "s3cret" "a file secret is readable at /run/secrets/<name>"
like "$out" "444 0" "with the default mode 0444, owned by root"
like "$out" "400 1000" "a secret with uid and mode 0400"
like "$out" $'abc\n' "a content secret at its target"
like "$out" "k=v" "a config at its target"
like "$out" "from-env" "a secret from an environment variable"
like "$out" "secret-ro" "secrets are read-only"

for n in 1 2 3 4 5 6 7; do
        ct remove t-vol-$n
done
ok "volumes are kept after removal" test -d "$vol"
ok "volume-rm removes a volume" ct volume-rm t-vol_data
ok "volume-rm of a missing volume is success" ct volume-rm t-vol_data
ct volume-rm "$anon"
ok "no volume left" test -z "$(ls "$STACK_ROOT/volumes")"
assert_no_residue t-vol
done_testing
