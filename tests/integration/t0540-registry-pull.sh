#!/bin/bash
# Pulling from a real registry (docker-registry on 127.0.0.1): by tag and digest, OCI and Docker schema2,
# a multi-platform index, shared layers fetched once by concurrent pulls, a transfer cut mid-blob and
# resumed with Range, corruption refused with nothing committed, clear errors, and a push round trip
# that skopeo reads back.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0549-registry-lib.inc"

build_test_images
start_registry reg || {
        echo "not ok 1 - the registry starts"
        exit 1
}
trap 'stop_proxy; stop_registries' EXIT
skopeo_push "oci:$IMG/httpd" "$REG/ex/httpd:1"
skopeo_push "oci:$IMG/redis" "$REG/ex/redis:1"
skopeo_push "oci-archive:$IMG/worker.oci.tar" "$REG/ex/worker:v2s2" --format v2s2
httpd_manifest=$(skopeo inspect --tls-verify=false "docker://$REG/ex/httpd:1" | sed -n 's/^    "Digest": "\(.*\)",/\1/p')
base=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1] + "/index.json"))["manifests"][0]["digest"].split(":")[1]
print(json.load(open(sys.argv[1] + "/blobs/sha256/" + d))["layers"][0]["digest"])' "$IMG/httpd")

# --- by tag, from an empty store ---
out=$(stack image pull "$REG/ex/httpd:1" 2>&1)
is "$?" 0 "image pull by tag succeeds"
like "$out" "Pull complete" "progress shows each layer's Pull complete"
like "$out" "Digest: $httpd_manifest" "the digest printed is the manifest skopeo pushed"
like "$(stack image ls)" "$REG/ex/httpd" "image ls lists the pulled image"
insp=$(stack image inspect "$REG/ex/httpd:1")
like "$insp" "\"$REG/ex/httpd@$httpd_manifest\"" "inspect shows the repo digest"
like "$insp" '"Cmd":	["httpd"' "the config came along"
gets=$(blob_gets reg "$base")
out=$(stack image pull "$REG/ex/httpd:1" 2>&1)
like "$out" "Already exists" "a second pull finds every layer in the store"
is "$(blob_gets reg "$base")" "$gets" "and fetches no blob"
is "$(stack image pull -q "$REG/ex/httpd:1")" "$REG/ex/httpd:1" "pull -q prints only the reference, as docker"

# --- Docker schema2 manifest, by digest, and a digest the registry does not have ---
ok "a Docker schema2 image pulls" stack image pull -q "$REG/ex/worker:v2s2"
w_digest=$(skopeo inspect --tls-verify=false "docker://$REG/ex/worker:v2s2" | sed -n 's/^    "Digest": "\(.*\)",/\1/p')
ok "pull by digest" stack image pull -q "$REG/ex/worker@$w_digest"
ok "the digest reference finds the image" stack image inspect "$REG/ex/worker@$w_digest"
other=sha256:$(printf x | sha256sum | cut -d' ' -f1)
out=$(stack image pull "$REG/ex/worker@$other" 2>&1)
like "$out" "not found in registry $REG" "an unknown digest is reported as not found"

# --- a registry serving other bytes than the digest names: refused, nothing recorded ---
start_proxy tamper
rm -rf "$T/root2"
out=$("$STACK_BIN" --root "$T/root2" image pull "$PROXY/ex/httpd@$httpd_manifest" 2>&1)
like "$out" "served content with digest" "a manifest whose content does not match its digest is refused"
is "$(ls "$T/root2/images/images" 2>/dev/null)" "" "and nothing is recorded"
stop_proxy

# --- a corrupted layer blob: error naming it, no image, no half layer ---
skopeo_push "oci:$IMG/redis" "$REG/ex/corrupt:1"
rl=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1] + "/index.json"))["manifests"][0]["digest"].split(":")[1]
print(json.load(open(sys.argv[1] + "/blobs/sha256/" + d))["layers"][-1]["digest"])' "$IMG/redis")
ldata=$T/reg/data/docker/registry/v2/blobs/sha256/${rl:7:2}/${rl:7}/data
cp "$ldata" "$T/layer.orig"
printf 'garbage!' | dd of="$ldata" bs=1 seek=100 conv=notrunc status=none
rm -rf "$T/root3"
out=$("$STACK_BIN" --root "$T/root3" image pull "$REG/ex/corrupt:1" 2>&1)
rc=$?
ok "a corrupt layer fails the pull" test "$rc" -ne 0
like "$out" "$rl" "the error names the corrupt blob"
is "$("$STACK_BIN" --root "$T/root3" image ls -q)" "" "no image is recorded"
is "$(ls "$T/root3/images/layers")" "" "no layer is committed"
is "$(find "$T/root3/images/pulls" -mindepth 1 -maxdepth 1 -name "*${rl:7}*" ! -name '*.lock')" "" "no download of the corrupt blob is kept to resume from"
cp "$T/layer.orig" "$ldata"
ok "once repaired, the same pull succeeds" "$STACK_BIN" --root "$T/root3" image pull -q "$REG/ex/corrupt:1"

# --- a multi-platform index: the host's platform by default, --platform to choose, an error listing ---
host_arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
other_arch=s390x
[ "$host_arch" = s390x ] && other_arch=amd64
python3 - "$IMG" "$T/multi" "$host_arch" "$other_arch" <<'PY'
import hashlib, json, os, shutil, subprocess, sys
img, out, host, other = sys.argv[1:]
os.makedirs(out + "/blobs/sha256", exist_ok=True)
os.makedirs(out + "/w", exist_ok=True)
subprocess.run(["tar", "-xf", img + "/worker.oci.tar", "-C", out + "/w"], check=True)
entries = []
for src, arch in ((img + "/httpd", host), (out + "/w", other)):
    for b in os.listdir(src + "/blobs/sha256"):
        shutil.copy(src + "/blobs/sha256/" + b, out + "/blobs/sha256/" + b)
    m = json.load(open(src + "/index.json"))["manifests"][0]
    entries.append({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
                    "platform": {"os": "linux", "architecture": arch}})
shutil.rmtree(out + "/w")
# skopeo copies a multi-platform image from a layout when index.json names one inner index.
inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": entries}).encode()
digest = hashlib.sha256(inner).hexdigest()
open(out + "/blobs/sha256/" + digest, "wb").write(inner)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                              "digest": "sha256:" + digest, "size": len(inner)}]},
          open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
PY
skopeo_push "oci:$T/multi" "$REG/ex/multi:1" --all
rm -rf "$T/root4"
ok "an index pulls for the host's platform" "$STACK_BIN" --root "$T/root4" image pull -q "$REG/ex/multi:1"
like "$("$STACK_BIN" --root "$T/root4" image inspect "$REG/ex/multi:1")" '"Cmd":	["httpd"' \
        "the host's entry was chosen (httpd)"
ok "--platform chooses another entry" "$STACK_BIN" --root "$T/root4" image pull -q --platform "linux/$other_arch" \
        "$REG/ex/multi:1"
insp=$("$STACK_BIN" --root "$T/root4" image inspect "$REG/ex/multi:1")
ok "which is the worker image" test "$(printf '%s' "$insp" | grep -c '"Cmd":	\["httpd"')" = 0
out=$("$STACK_BIN" --root "$T/root4" image pull --platform linux/mips64le "$REG/ex/multi:1" 2>&1)
like "$out" "no image for platform linux/mips64le (available: linux/$host_arch, linux/$other_arch)" \
        "no match: the error lists the available platforms"

# --- concurrent pulls of images sharing the base layer download it once ---
rm -rf "$T/root5"
gets=$(blob_gets reg "$base")
"$STACK_BIN" --root "$T/root5" image pull -q "$REG/ex/httpd:1" >"$T/p1.out" 2>&1 &
p1=$!
"$STACK_BIN" --root "$T/root5" image pull -q "$REG/ex/redis:1" >"$T/p2.out" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
ok "two concurrent pulls succeed" test "$r1$r2" = 00
is "$(($(blob_gets reg "$base") - gets))" 1 "the shared base layer was fetched once"
is "$(find "$T/root5/images/layers" -mindepth 1 -maxdepth 1 | wc -l)" 3 "and is stored once (3 layer directories)"

# --- `stack pull` of a project: services in parallel, images de-duplicated ---
mkdir -p "$T/proj"
cat >"$T/proj/compose.yaml" <<YAML
services:
  a: {image: "$REG/ex/httpd:1"}
  b: {image: "$REG/ex/redis:1"}
  c: {image: "$REG/ex/httpd:1"}
YAML
rm -rf "$T/root6"
gets=$(blob_gets reg "$base")
ok "stack pull pulls the project's images" "$STACK_BIN" --root "$T/root6" -f "$T/proj/compose.yaml" pull -q
is "$(($(blob_gets reg "$base") - gets))" 1 "the layer two images share is fetched once"
is "$("$STACK_BIN" --root "$T/root6" image ls -q | wc -l)" 2 "two images for three services"

# --- a connection cut in the middle of a blob is resumed with Range ---
start_proxy cut
rm -rf "$T/root7"
ok "a pull through a proxy that cuts each blob halfway succeeds" \
        "$STACK_BIN" --root "$T/root7" image pull -q "$PROXY/ex/redis:1"
like "$(cat "$T/proxy.log")" "range=bytes=" "the retry asked for the rest with Range"
is "$("$STACK_BIN" --root "$T/root7" image inspect "$PROXY/ex/redis:1" | grep -c '"Id"')" 1 \
        "the resumed image is in the store"
stop_proxy

# --- a pull killed with SIGKILL mid-blob is resumed by the next one ---
start_proxy slow
rm -rf "$T/root9"
"$STACK_BIN" --root "$T/root9" image pull -q "$PROXY/ex/redis:1" >/dev/null 2>&1 &
victim=$!
partial_grown() {
        local biggest
        biggest=$(stat -c %s "$T"/root9/images/pulls/*.partial 2>/dev/null | sort -n | tail -1)
        [ "${biggest:-0}" -gt 100000 ]
}
ok "the download is under way" wait_until 600 partial_grown
kill -KILL "$victim"
{ wait "$victim"; } 2>/dev/null
stop_proxy
ok "the killed pull left its partial download" partial_grown
is "$("$STACK_BIN" --root "$T/root9" image ls -q)" "" "and no image"
start_proxy pass
: >"$T/proxy.log"
ok "the next pull completes" "$STACK_BIN" --root "$T/root9" image pull -q "$PROXY/ex/redis:1"
like "$(cat "$T/proxy.log")" "range=bytes=" "asking only for the rest (Range)"
is "$(ls "$T/root9/images/tmp")" "" "the store's staging area is clean"
is "$(find "$T/root9/images/pulls" -mindepth 1 -maxdepth 1 ! -name '*.lock')" "" "no partial download is left"
stop_proxy

# --- errors: nothing changes ---
before=$(stack image ls -q | sort)
out=$(stack image pull "$REG/ex/nosuch:1" 2>&1)
rc=$?
is "$rc" 1 "an unknown image fails"
like "$out" "image $REG/ex/nosuch:1 not found in registry $REG" "and says which and where"
dead=$(free_port)
out=$(stack image pull "127.0.0.1:$dead/ex/httpd:1" 2>&1)
like "$out" "registry 127.0.0.1:$dead unreachable" "an unreachable registry is named"
like "$out" "127.0.0.1:$dead/v2/" "with the address tried"
is "$(stack image ls -q | sort)" "$before" "failed pulls change nothing in the store"
out=$(stack image pull "$REG/ex/httpd:1" --platform bad/ 2>&1)
ok "a malformed platform is refused" test $? -ne 0

# --- push (chunked, no mount source) and pull back; skopeo reads what stack pushed ---
# A store of its own: the worker pulled above would give the registry a repository to mount from.
ok "an OCI layout imports under a registry name" "$STACK_BIN" --root "$T/rootp" image import "$IMG/worker.oci.tar" \
        "$REG/ex/pushed:1"
ok "push in chunks" env STACK_PUSH_CHUNK_SIZE=65536 "$STACK_BIN" --root "$T/rootp" image push "$REG/ex/pushed:1"
ok "the upload went in PATCH chunks" grep -q '"PATCH /v2/ex/pushed/blobs/uploads/' "$T/reg/log"
ok "skopeo copies what stack pushed" skopeo copy -q --src-tls-verify=false "docker://$REG/ex/pushed:1" "oci:$T/back:x"
rm -rf "$T/root8"
ok "stack pulls it back into an empty store" "$STACK_BIN" --root "$T/root8" image pull -q "$REG/ex/pushed:1"
image_id() {
        "$STACK_BIN" "$@" | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p'
}
is "$(image_id --root "$T/root8" image inspect "$REG/ex/pushed:1")" \
        "$(image_id --root "$T/rootp" image inspect "$REG/ex/pushed:1")" \
        "with the same image id"
ok "a tag of a pulled image pushes by mounting" stack image tag "$REG/ex/httpd:1" "$REG/other/httpd:2"
out=$(stack image push "$REG/other/httpd:2" 2>&1)
like "$out" "Mounted from ex/httpd" "blobs are mounted from the repository they came from"
out=$(stack image push "$REG/ex/none:1" 2>&1)
like "$out" "no such image" "pushing an image not in the store says so"

# docker.io's mirrors: a mirror that is down is skipped (saying so), the next one serves the image, and the
# image is stored under its docker.io name. (The origin itself is never reached from this namespace.)
skopeo_push "oci:$IMG/httpd" "$REG/library/mirrored:1"
dead=$(free_port)
out=$(STACK_REGISTRY_MIRRORS="http://127.0.0.1:$dead,http://$REG/" stack --root "$T/rootm" image pull mirrored:1 2>&1)
like "$out" "mirror 127.0.0.1:$dead failed" "a mirror that is down is skipped, saying so"
like "$out" "Pulled" "the next mirror serves the image"
ok "stored under its docker.io name" stack --root "$T/rootm" image inspect docker.io/library/mirrored:1
ok "the mirror was asked for it" grep -q "GET /v2/library/mirrored/manifests/1" "$T/reg/log"

stop_registries
trap - EXIT
is "$(pgrep -f -- "$T/reg" || true)" "" "the registry is gone"
done_testing
