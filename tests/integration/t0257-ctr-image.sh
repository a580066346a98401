#!/bin/bash
# A container from a stored image, as the reconciler will run it: an OCI layout with two layers (the second
# adds a file and deletes one with a whiteout) and a config whose Env, Cmd, WorkingDir, User and
# StopSignal are the defaults, imported with `stack image import` and found with image_lookup().
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"
[ -x "$STACK_BIN" ] || skip_all "stack not built"

oci=$STACK_TEST_TMP/oci
mkdir -p "$oci/blobs/sha256" "$STACK_TEST_TMP/l2/app" "$STACK_TEST_TMP/l2/data"
echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
blob() { # blob FILE: stores FILE as a blob, prints its digest hex
        local d
        d=$(sha256sum "$1" | cut -d' ' -f1)
        cp "$1" "$oci/blobs/sha256/$d"
        echo "$d"
}
tar -C "$LAYER" -cf "$STACK_TEST_TMP/l1.tar" .
echo "hello from layer 2" >"$STACK_TEST_TMP/l2/app/hello.txt"
: >"$STACK_TEST_TMP/l2/data/.wh.seed.txt"
tar -C "$STACK_TEST_TMP/l2" -cf "$STACK_TEST_TMP/l2.tar" .
l1=$(blob "$STACK_TEST_TMP/l1.tar")
l2=$(blob "$STACK_TEST_TMP/l2.tar")
cat >"$STACK_TEST_TMP/config.json" <<J
{"architecture":"amd64","os":"linux",
 "config":{"Env":["PATH=/bin","GREETING=hi"],"WorkingDir":"/app","User":"app","StopSignal":"SIGUSR1",
           "Cmd":["sh","-c","echo \$GREETING; pwd; id -u; cat hello.txt; ls /data; echo listed"]},
 "rootfs":{"type":"layers","diff_ids":["sha256:$l1","sha256:$l2"]}}
J
cfg=$(blob "$STACK_TEST_TMP/config.json")
cat >"$STACK_TEST_TMP/manifest.json" <<J
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cfg","size":$(stat -c %s "$STACK_TEST_TMP/config.json")},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$l1","size":$(stat -c %s "$STACK_TEST_TMP/l1.tar")},
           {"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$l2","size":$(stat -c %s "$STACK_TEST_TMP/l2.tar")}]}
J
man=$(blob "$STACK_TEST_TMP/manifest.json")
cat >"$oci/index.json" <<J
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$man",
 "size":$(stat -c %s "$STACK_TEST_TMP/manifest.json"),"annotations":{"org.opencontainers.image.ref.name":"1"}}]}
J
ok "import the image" stack image import "$oci" t-img/app:1

ok "run a container from the stored image" ct run t-img-1 --image-ref t-img/app:1
ct_wait_exit t-img-1
out=$(ct log t-img-1)
like "$out" $'hi\n/app\n1000\nhello from layer 2' "Env, WorkingDir, User and Cmd from the image; the upper layer's file"
like "$out" $'\nlisted' "the command ran to the end"
not_ok "the whiteout hides the lower layer's file" grep -q seed.txt <<<"$out"

ok "a running container from the image" ct run t-img-2 --image-ref t-img/app:1 --service '{"command":["sh","-c","trap \"echo got-USR1; exit 0\" USR1; echo ready; while :; do sleep 0.1; done"]}'
wait_until 50 sh -c "$CT log t-img-2 | grep -q ready"
is "$(ct stop t-img-2)" exited "stop uses the image's StopSignal"
like "$(ct log t-img-2)" "got-USR1" "SIGUSR1 received"
ok "the image's layers are untouched by a container's writes" test ! -e "$STACK_ROOT/containers/t-img-2/upper/app/hello.txt"

ct remove t-img-1
ct remove t-img-2
ok "remove the image" stack image rm t-img/app:1
assert_no_residue t-img
done_testing
