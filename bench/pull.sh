#!/bin/bash
# `stack image pull` of a five-layer image (about 150 MB of gzip, made here from files of the host's Debian
# packages) from a local docker-registry on 127.0.0.1, cold store, against what the same invocation measures
# for:
#   floor   curl of the five blobs in parallel, each piped into `tar -xz` (download, decompress, unpack;
#           no digest check, no store), after one manifest request
#   skopeo  `skopeo copy` to an OCI layout (download and digest check, no unpack)
#   podman  `podman pull` into a throwaway storage root, where podman is installed
# and a second pull of the same image (nothing to fetch) against one `curl` of its manifest. Also the peak
# memory (max RSS) of the cold pull, which must not grow with layer size.
# Targets (issue 10): cold pull <= 1.2x the floor and <= 0.7x podman; second pull <= 20 ms.
#
# Usage: bench/pull.sh [RUNS]  (default 3; medians are shown); needs root, docker-registry, skopeo, curl and
# a built stack (STACK_BIN, default build/stack). All traffic stays on the loopback of a private netns.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
STACK_BIN=${STACK_BIN:-$here/build/stack}
[ -x "$STACK_BIN" ] || { echo "build stack first (STACK_BIN=$STACK_BIN)" >&2; exit 2; }
runs=${1:-3}
for t in docker-registry skopeo curl; do
        command -v "$t" >/dev/null || { echo "$0: $t is missing (apt-get install $t)" >&2; exit 2; }
done

if [ "${STACK_BENCH_INNER:-}" != 1 ]; then
        export STACK_BENCH_INNER=1 STACK_BIN
        exec unshare --net --mount --propagation private -- "$0" "$runs"
fi
ip link set lo up
tmp=$(mktemp -d /var/tmp/stack-bench-pull.XXXXXX)
reg_pid=
cleanup() {
        [ -z "$reg_pid" ] || { kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null || true; }
        rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# The registry, its storage in the bench's directory.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $tmp/registry}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
done
reg=127.0.0.1:$port

# The image: five layers of host files (shared libraries, documentation, locales, binaries), 60 MB of
# files each at most, written as an OCI layout and pushed with skopeo.
layout=$tmp/layout
mkdir -p "$layout/blobs/sha256"
sha() { sha256sum "$1" | cut -d' ' -f1; }
layers_json='' diffs_json=''
n=0
for src in /usr/lib/x86_64-linux-gnu /usr/share/doc /usr/share/locale /usr/bin /usr/share/perl; do
        [ -d "$src" ] || continue
        n=$((n + 1))
        # Regular files in name order until 60 MB: the same host packages give the same layers.
        find "$src" -type f -size -8M -printf '%s %p\n' 2>/dev/null | sort -k2 |
                awk '{sum += $1} sum <= 62914560 {sub(/^[0-9]+ /, ""); print}' >"$tmp/files$n"
        tar -T "$tmp/files$n" --sort=name --mtime=@1700000000 --numeric-owner -cf "$tmp/l$n.tar" 2>/dev/null
        diff=$(sha "$tmp/l$n.tar")
        gzip -1 -n -c "$tmp/l$n.tar" >"$tmp/l$n.tar.gz"
        d=$(sha "$tmp/l$n.tar.gz")
        mv "$tmp/l$n.tar.gz" "$layout/blobs/sha256/$d"
        rm -f "$tmp/l$n.tar"
        layers_json+="${layers_json:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$layout/blobs/sha256/$d")}"
        diffs_json+="${diffs_json:+,}\"sha256:$diff\""
done
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
        "$diffs_json" >"$tmp/config.json"
cd_=$(sha "$tmp/config.json")
mv "$tmp/config.json" "$layout/blobs/sha256/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
        "$cd_" "$(stat -c %s "$layout/blobs/sha256/$cd_")" "$layers_json" >"$tmp/manifest.json"
md=$(sha "$tmp/manifest.json")
msize=$(stat -c %s "$tmp/manifest.json")
mv "$tmp/manifest.json" "$layout/blobs/sha256/$md"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
        "$md" "$msize" >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
skopeo copy -q --dest-tls-verify=false "oci:$layout" "docker://$reg/bench/big:1"
total=$(du -cb "$layout"/blobs/sha256/* | tail -1 | cut -f1)
blobs=$(grep -o 'sha256:[0-9a-f]*' <<<"$layers_json")

floor() {
        local out=$tmp/floor
        rm -rf "$out"
        mkdir -p "$out"
        curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/bench/big/manifests/1" >/dev/null
        local pids=() i=0
        for b in $blobs; do
                i=$((i + 1))
                mkdir -p "$out/$i"
                (curl -sf "http://$reg/v2/bench/big/blobs/$b" | tar -xzf - -C "$out/$i") &
                pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p"; done
        rm -rf "$out"
}

stack_cold() {
        rm -rf "$tmp/root"
        /usr/bin/time -f %M -o "$tmp/rss" "$STACK_BIN" --root "$tmp/root" --run-root "$tmp/run" image pull -q \
                "$reg/bench/big:1" >/dev/null 2>&1
}
stack_warm() { "$STACK_BIN" --root "$tmp/root" --run-root "$tmp/run" image pull -q "$reg/bench/big:1" >/dev/null 2>&1; }
manifest_only() {
        curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/bench/big/manifests/1" >/dev/null
}
skopeo_copy() {
        rm -rf "$tmp/skopeo"
        skopeo copy -q --src-tls-verify=false "docker://$reg/bench/big:1" "oci:$tmp/skopeo" >/dev/null
}
podman_pull() {
        rm -rf "$tmp/podman"
        podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" --storage-driver overlay pull -q \
                --tls-verify=false "$reg/bench/big:1" >/dev/null 2>&1
        podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" --storage-driver overlay system reset -f \
                >/dev/null 2>&1 || true
}

timed() { # FUNCTION: milliseconds
        local t0
        t0=$(date +%s%N)
        "$1"
        echo $((($(date +%s%N) - t0) / 1000000))
}

declare -A res
tools=(floor stack_cold skopeo_copy)
command -v podman >/dev/null && tools+=(podman_pull)
rss=()
for _ in $(seq "$runs"); do
        for t in "${tools[@]}"; do
                res[$t]+="$(timed "$t") "
                [ "$t" != stack_cold ] || rss+=("$(cat "$tmp/rss")")
        done
        res[stack_warm]+="$(timed stack_warm) "
        res[manifest_only]+="$(timed manifest_only) "
done
med() { tr ' ' '\n' <<<"${res[$1]}" | grep . | median; }
f=$(med floor) s=$(med stack_cold) k=$(med skopeo_copy) w=$(med stack_warm) m=$(med manifest_only)
echo "image: $n layers, $((total / 1000000)) MB compressed; medians of $runs runs; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
awk -v s="$s" -v f="$f" -v k="$k" 'BEGIN {
        printf "cold pull: stack %d ms, floor %d ms (ratio %.2f, target <= 1.2), skopeo copy %d ms (ratio %.2f)\n", s, f, s / f, k, s / k
}'
if [ -n "${res[podman_pull]:-}" ]; then
        p=$(med podman_pull)
        awk -v s="$s" -v p="$p" 'BEGIN { printf "cold pull vs podman pull %d ms: ratio %.2f (target <= 0.7)\n", p, s / p }'
else
        echo "podman not installed: no podman comparison (apt-get install podman)"
fi
echo "second pull: stack $w ms, one manifest request with curl $m ms (target <= 20 ms)"
echo "peak memory of the cold pull (max RSS, KiB): ${rss[*]}"
