#!/bin/bash
# The image store from the command line: the example images, each import format, ls, inspect, layer
# sharing, whiteouts seen through a real overlay mount, name@digest, tag and rm (refused while in use).
. "$STACK_SRCDIR/tests/integration/lib.sh"

T=$STACK_TEST_TMP
store=$STACK_ROOT/images
mnt=$T/mnt

# Mounts the image's layers as an overlay at $mnt (read-only: no upper dir).
mount_image() {
        local lower
        lower=$(stack image inspect "$1" | grep -o '"/[^"]*/layers/[0-9a-f]*"' | tr -d '"' | tac | paste -sd: -)
        mkdir -p "$mnt"
        # A single layer cannot be an overlay without an upper dir: bind it instead.
        case $lower in
        *:*) mount -t overlay overlay -o "lowerdir=$lower" "$mnt" ;;
        *) mount --bind -o ro "$lower" "$mnt" ;;
        esac
}

# --- the example images (OCI layout directories and an OCI archive) ---
ok "example images build offline" "$STACK_SRCDIR/examples/build-images.sh" --no-import "$T/ex"
out=$(stack image import "$T/ex/httpd" 2>&1)
is "$out" "Loaded image: docker.io/stack-example/httpd:latest" "OCI layout directory imports under its annotated name"
out=$(stack image import "$T/ex/worker.oci.tar" 2>&1)
is "$out" "Loaded image: docker.io/stack-example/worker:latest" "OCI archive imports"
ok "redis layout imports (zstd layer)" stack image import "$T/ex/redis"

ls_out=$(stack image ls)
like "$ls_out" "stack-example/httpd " "image ls lists httpd"
like "$ls_out" "stack-example/worker " "image ls lists worker"
like "$ls_out" "stack-example/redis " "image ls lists redis"
is "$(stack image ls -q | wc -l)" 3 "image ls -q prints one id per image"
is "$(find "$store/layers" -mindepth 1 -maxdepth 1 | wc -l)" 4 \
        "the base layer the three images share is stored once (4 layer directories)"

insp=$(stack image inspect stack-example/httpd)
like "$insp" '"Cmd":	["httpd", "-f", "-v", "-p", "80", "-h", "/www"]' "inspect shows the config's Cmd"
like "$insp" '"80/tcp"' "inspect shows ExposedPorts"
like "$insp" '"Interval":	2000000000' "inspect shows the healthcheck (nanoseconds)"
like "$insp" '"RepoDigests":	["docker.io/stack-example/httpd@sha256:' "inspect shows the repo digest"
manifest=$(printf '%s' "$insp" | sed -n 's/.*"Manifest":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
id=$(printf '%s' "$insp" | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
ok "name@digest finds the image" stack image inspect "stack-example/httpd@$manifest"
ok "tag+digest finds the image" stack image inspect "docker.io/stack-example/httpd:latest@$manifest"
ok "the id finds the image" stack image inspect "$id"
ok "a unique id prefix finds the image" stack image inspect "${id:7:12}"
not_ok "another name with that digest does not" stack image inspect "stack-example/worker@$manifest"
out=$(stack image inspect no-such-image 2>&1)
like "$out" "no such image: no-such-image" "a missing image is named in the error"

# The unpacked redis really runs: its libraries came along.
if mount_image stack-example/redis; then
        out=$(chroot "$mnt" /usr/bin/redis-server --version 2>&1)
        like "$out" "Redis server v=" "redis-server runs from the image's layers"
        out=$(chroot "$mnt" /bin/sh -c 'id app; stat -c %U:%G /data' 2>&1)
        like "$out" "uid=1000(app) gid=1000(app)" "the image's /etc/passwd and /etc/group resolve app"
        like "$out" "app:app" "ownership from the layer is applied"
        umount "$mnt"
else
        ok "overlay mount of the redis image" false
fi

# --- a docker save archive with whiteouts and an opaque directory ---
d=$T/dsave
mkdir -p "$d/l1/etc" "$d/l1/cache" "$d/l2/cache" "$d/out/aaa" "$d/out/bbb"
echo gone >"$d/l1/etc/old"
echo keep >"$d/l1/etc/kept"
echo stale >"$d/l1/cache/stale"
: >"$d/l2/etc.wh" # placeholder so l2 has content besides whiteouts
mkdir -p "$d/l2/etc"
: >"$d/l2/etc/.wh.old"
: >"$d/l2/cache/.wh..wh..opq"
echo fresh >"$d/l2/cache/fresh"
rm "$d/l2/etc.wh"
tar --sort=name -C "$d/l1" -cf "$d/out/aaa/layer.tar" .
tar --sort=name -C "$d/l2" -cf "$d/out/bbb/layer.tar" .
diff1=$(sha256sum "$d/out/aaa/layer.tar" | cut -d' ' -f1)
diff2=$(sha256sum "$d/out/bbb/layer.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Env":["A=1"],"Entrypoint":["/bin/true"],"User":"app","StopSignal":"SIGQUIT","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":2}},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' \
        "$diff1" "$diff2" >"$d/cfg.json"
cfg=$(sha256sum "$d/cfg.json" | cut -d' ' -f1)
cp "$d/cfg.json" "$d/out/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["test/dsave:1"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}]' "$cfg" \
        >"$d/out/manifest.json"
tar -C "$d/out" -cf "$d/dsave.tar" .
out=$(stack image import "$d/dsave.tar" 2>&1)
is "$out" "Loaded image: docker.io/test/dsave:1" "docker save archive imports under its RepoTags"
insp=$(stack image inspect test/dsave:1)
like "$insp" "\"Id\":	\"sha256:$cfg\"" "the image id is the config's digest"
like "$insp" '"StopSignal":	"SIGQUIT"' "docker save config kept"
if mount_image test/dsave:1; then
        is "$(cat "$mnt/etc/kept" 2>&1)" keep "a file of the lower layer shows through"
        not_ok "a whiteout hides the lower layer's file" test -e "$mnt/etc/old"
        is "$(find "$mnt/cache" -mindepth 1 -printf '%f\n' | sort | paste -sd' ')" fresh "an opaque directory hides every lower entry"
        umount "$mnt"
else
        ok "overlay mount of the docker save image" false
fi
wh=$store/layers/$diff2/etc/old
is "$(stat -c '%F %t:%T' "$wh" 2>&1)" "character special file 0:0" "the whiteout is stored as a 0:0 char device"
ok "the docker save directory (unpacked) imports too" stack image import "$d/out" test/dsave:dir

# --- archives written by another tool (skopeo), when it is installed ---
if command -v skopeo >/dev/null; then
        httpd_id=$(stack image inspect stack-example/httpd | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
        skopeo copy -q "oci:$T/ex/httpd" "docker-archive:$T/skopeo-docker.tar:skopeo/httpd:docker" 2>/dev/null
        out=$(stack image import "$T/skopeo-docker.tar" 2>&1)
        is "$out" "Loaded image: docker.io/skopeo/httpd:docker" "skopeo's docker-archive (layer symlinks) imports"
        skopeo copy -q "oci:$T/ex/httpd" "oci-archive:$T/skopeo-oci.tar:v1" 2>/dev/null
        ok "skopeo's oci-archive imports with a reference" stack image import "$T/skopeo-oci.tar" skopeo/httpd:oci
        for ref in skopeo/httpd:docker skopeo/httpd:oci; do
                got=$(stack image inspect "$ref" | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
                is "$got" "$httpd_id" "$ref is the same image as the OCI layout import"
        done
        ok "rm the skopeo names" stack image rm skopeo/httpd:docker skopeo/httpd:oci
fi

# --- plain rootfs tarballs: uncompressed, gzip and zstd ---
r=$T/rootfs
mkdir -p "$r/tree/bin" "$r/tree/etc"
cp "$T/ex/httpd/oci-layout" "$r/tree/etc/marker"
echo 'root:x:0:0:root:/root:/bin/sh' >"$r/tree/etc/passwd"
tar -C "$r/tree" -cf "$r/rootfs.tar" .
gzip -k -n "$r/rootfs.tar"
zstd -q -k "$r/rootfs.tar" -o "$r/rootfs.tar.zst"
out=$(stack image import "$r/rootfs.tar" 2>&1)
like "$out" "give a reference" "a rootfs tarball without a reference is refused"
ok "rootfs tarball imports" stack image import "$r/rootfs.tar" rootfs:plain
ok "gzip rootfs tarball imports" stack image import "$r/rootfs.tar.gz" rootfs:gzip
ok "zstd rootfs tarball imports" stack image import "$r/rootfs.tar.zst" localhost:5000/rootfs:zstd
plain=$(stack image inspect rootfs:plain | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
gz=$(stack image inspect rootfs:gzip | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
zst=$(stack image inspect localhost:5000/rootfs:zstd | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
is "$gz:$zst" "$plain:$plain" "the same tree in another compression is the same image (same diff_id)"
like "$(stack image ls)" "localhost:5000/rootfs" "a registry with a port stays in the name"
ok "re-importing the same archive is harmless" stack image import "$r/rootfs.tar" rootfs:plain

# --- tag and rm ---
ok "image tag" stack image tag stack-example/worker mine/worker:v1
out=$(stack image rm stack-example/worker 2>&1)
is "$out" "Untagged: docker.io/stack-example/worker:latest" "rm of one of two names only untags"
worker_id=$(stack image inspect mine/worker:v1 | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
mkdir -p "$STACK_RUN_ROOT/containers/demo-worker-1"
echo "$worker_id" >"$STACK_RUN_ROOT/containers/demo-worker-1/image-id"
out=$(stack image rm mine/worker:v1 2>&1)
like "$out" "in use by container demo-worker-1" "rm refuses while a container uses the image"
ok "the refused image is still there" stack image inspect mine/worker:v1
rm -r "$STACK_RUN_ROOT/containers/demo-worker-1"
out=$(stack image rm mine/worker:v1 2>&1)
like "$out" "Deleted: $worker_id" "rm of the last name deletes the image"
not_ok "the image is gone" stack image inspect "$worker_id"
is "$(find "$store/layers" -mindepth 1 -maxdepth 1 | wc -l)" 6 \
        "the worker's own layer is gone, the shared base layer stays"
ok "httpd still resolves after worker's removal" mount_image stack-example/httpd
ok "httpd's files are all there" test -s "$mnt/www/index.html" -a -x "$mnt/bin/busybox"
umount "$mnt" 2>/dev/null
out=$(stack image rm "$plain" 2>&1)
like "$out" "referenced by 3 names" "rm by id of an image with several names needs --force"
out=$(stack image rm --force "$plain" 2>&1)
like "$out" "Deleted: $plain" "rm --force by id deletes it"

# --- concurrent imports serialize on the store lock ---
stack image import "$d/dsave.tar" par/one:1 >"$T/p1" 2>&1 &
p1=$!
stack image import "$r/rootfs.tar.zst" par/two:1 >"$T/p2" 2>&1 &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
is "$rc1:$rc2" "0:0" "two concurrent imports both succeed"
ls_out=$(stack image ls)
like "$ls_out" "par/one" "the first concurrent import is listed"
like "$ls_out" "par/two" "the second concurrent import is listed"
is "$(find "$store/tmp" -mindepth 1 | wc -l)" 0 "no staging debris is left"

# --- stack images: the images a project's services use ---
mkdir -p "$T/proj"
cat >"$T/proj/compose.yaml" <<'YAML'
services:
  web:
    image: stack-example/httpd
  cache:
    image: not/there:1
YAML
out=$(cd "$T/proj" && stack images 2>&1)
like "$out" "web              stack-example/httpd" "stack images shows the service's image"
like "$out" "$(printf '%.12s' "${id#sha256:}")" "  with its id"
like "$out" "<missing>" "an image not in the store is shown as missing"
is "$(cd "$T/proj" && stack images -q web)" "$id" "stack images -q SERVICE prints the id"

assert_no_residue image
done_testing
