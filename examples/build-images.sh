#!/bin/bash
# Builds the example images offline from packages installed on this Debian host and imports them:
#   stack-example/httpd   busybox httpd serving a page on port 80      (OCI image layout directory)
#   stack-example/worker  a busybox shell loop that reports heartbeats (OCI archive, tar of a layout)
#   stack-example/redis   redis-server and redis-cli with their libraries (OCI image layout directory)
# All three share one base layer (busybox, /etc/passwd, /etc/group with root, nobody and app:1000), so
# the store keeps it once. The output is byte-for-byte reproducible: same host packages, same digests.
#
# Usage: examples/build-images.sh [--no-import] OUTDIR
# Imports with $STACK_BIN, else `stack` from PATH, else build/stack next to this script; --no-import only
# writes the layouts. Needs busybox-static, redis-server and redis-tools (see .ci/packages).
set -euo pipefail
umask 022

import=1
if [ "${1:-}" = --no-import ]; then
        import=0
        shift
fi
[ $# -eq 1 ] || {
        echo "usage: $0 [--no-import] OUTDIR" >&2
        exit 2
}
out=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=/bin/busybox
for need in "$busybox" /usr/bin/redis-server /usr/bin/redis-cli; do
        [ -x "$need" ] || {
                echo "$0: $need is missing: apt-get install busybox-static redis-server redis-tools" >&2
                exit 1
        }
done

# Everything gets this mtime, owner root, and a sorted tar: the digests only change with the packages.
epoch=${SOURCE_DATE_EPOCH:-1700000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/stack-images.XXXXXX")
trap 'rm -rf "$work"' EXIT
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

# As root, owners are taken from the tree (root everywhere, app's directories 1000); otherwise all root.
owner_opts=(--numeric-owner)
[ "$(id -u)" = 0 ] || owner_opts+=(--owner=0 --group=0)

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# make_layer DIR OUT COMPRESSION: a reproducible tar of DIR, compressed with none, gzip or zstd.
# Prints "<blob digest hex> <diff_id hex> <media type>".
make_layer() {
        local dir=$1 outfile=$2 comp=$3 tarfile=$2.tar
        tar --sort=name --mtime="@$epoch" "${owner_opts[@]}" --format=posix \
                --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
                -C "$dir" -cf "$tarfile" .
        local diff mt
        diff=$(sha "$tarfile")
        case $comp in
        none)
                mv "$tarfile" "$outfile"
                mt=application/vnd.oci.image.layer.v1.tar
                ;;
        gzip)
                gzip -n -6 <"$tarfile" >"$outfile"
                rm "$tarfile"
                mt=application/vnd.oci.image.layer.v1.tar+gzip
                ;;
        zstd)
                zstd -q -3 --no-progress -T1 <"$tarfile" >"$outfile"
                rm "$tarfile"
                mt=application/vnd.oci.image.layer.v1.tar+zstd
                ;;
        esac
        echo "$(sha "$outfile") $diff $mt"
}

# The base: busybox with its applets, the accounts, and the usual empty directories.
base=$work/base
mkdir -p "$base"/{bin,etc,tmp,root,home/app,var/run,proc,sys,dev,run}
cp "$busybox" "$base/bin/busybox"
# One symlink per applet; python3 makes the 270 of them without 270 forks of ln (a second saved).
if command -v python3 >/dev/null; then
        "$busybox" --list | python3 -c 'import os, sys
for a in sys.stdin.read().split():
    if a != "busybox":
        os.symlink("busybox", os.path.join(sys.argv[1], a))' "$base/bin"
else
        for applet in $("$busybox" --list); do
                [ "$applet" = busybox ] || ln -sf busybox "$base/bin/$applet"
        done
fi
mkdir -p "$base/usr/bin" "$base/sbin" "$base/usr/sbin"
cat >"$base/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$base/etc/group" <<'GROUP'
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
echo "hosts: files dns" >"$base/etc/nsswitch.conf"
chmod 1777 "$base/tmp"
chmod 700 "$base/root"
chown 1000:1000 "$base/home/app" 2>/dev/null || true
read -r base_blob base_diff base_mt < <(make_layer "$base" "$work/base.layer" gzip)

# httpd: a page and a tiny CGI-free site.
httpd=$work/httpd
mkdir -p "$httpd/www"
cat >"$httpd/www/index.html" <<'HTML'
<!doctype html>
<title>stack example</title>
<h1>Hello from stack-example/httpd</h1>
HTML
echo ok >"$httpd/www/healthz"
read -r httpd_blob httpd_diff httpd_mt < <(make_layer "$httpd" "$work/httpd.layer" none)

# worker: a loop that logs a heartbeat and, when DATA_HOST is set, whether it resolves.
worker=$work/worker
mkdir -p "$worker/usr/local/bin"
cat >"$worker/usr/local/bin/worker" <<'SH'
#!/bin/sh
# Prints a heartbeat every WORKER_INTERVAL seconds until stopped.
trap 'echo "worker: stopping"; exit 0' TERM INT
n=0
echo "worker: started as $(id -u):$(id -g) in $(pwd)"
while :; do
        n=$((n + 1))
        echo "worker: heartbeat $n${DATA_HOST:+ (data: $DATA_HOST)}"
        sleep "${WORKER_INTERVAL:-5}" &
        wait $!
done
SH
chmod 755 "$worker/usr/local/bin/worker"
read -r worker_blob worker_diff worker_mt < <(make_layer "$worker" "$work/worker.layer" gzip)

# redis: the two binaries and every shared library they load, at the paths ldd reports.
redis=$work/redis
mkdir -p "$redis/usr/bin" "$redis/data" "$redis/etc/redis"
cp -L /usr/bin/redis-server "$redis/usr/bin/redis-server"
cp -L /usr/bin/redis-cli "$redis/usr/bin/redis-cli"
mapfile -t libs < <(for bin in /usr/bin/redis-server /usr/bin/redis-cli; do
        ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u)
cp -L --parents "${libs[@]}" "$redis"
cat >"$redis/etc/redis/redis.conf" <<'CONF'
bind 0.0.0.0 ::
protected-mode no
port 6379
dir /data
save ""
appendonly no
CONF
chown 1000:1000 "$redis/data" 2>/dev/null || true
read -r redis_blob redis_diff redis_mt < <(make_layer "$redis" "$work/redis.layer" zstd)

# write_layout DIR NAME CONFIG-JSON LAYER...: an OCI image layout (each LAYER is "file blob diff mt").
write_layout() {
        local dir=$1 name=$2 config=$3
        shift 3
        rm -rf "$dir"
        mkdir -p "$dir/blobs/sha256"
        printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
        local diffs="" descs="" file blob diff mt
        for l in "$@"; do
                read -r file blob diff mt <<<"$l"
                cp "$file" "$dir/blobs/sha256/$blob"
                diffs="$diffs${diffs:+,}\"sha256:$diff\""
                descs="$descs${descs:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$blob\",\"size\":$(size "$file")}"
        done
        local cfgfile=$work/config.json
        printf '{"architecture":"%s","os":"linux","created":"%s","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
                "$arch" "$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)" "$config" "$diffs" >"$cfgfile"
        local cfg
        cfg=$(sha "$cfgfile")
        cp "$cfgfile" "$dir/blobs/sha256/$cfg"
        local manifest=$work/manifest.json
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
                "$cfg" "$(size "$cfgfile")" "$descs" >"$manifest"
        local m
        m=$(sha "$manifest")
        cp "$manifest" "$dir/blobs/sha256/$m"
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
                "$m" "$(size "$manifest")" "$arch" "$name" >"$dir/index.json"
}

base_l="$work/base.layer $base_blob $base_diff $base_mt"
path_env='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

write_layout "$out/httpd" stack-example/httpd:latest \
        '{"Env":['"$path_env"'],"Cmd":["httpd","-f","-v","-p","80","-h","/www"],"WorkingDir":"/www","ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["CMD","wget","-q","-O","/dev/null","http://127.0.0.1/healthz"],"Interval":2000000000,"Timeout":1000000000,"Retries":3},"StopSignal":"SIGTERM","Labels":{"org.opencontainers.image.title":"stack example httpd"}}' \
        "$base_l" "$work/httpd.layer $httpd_blob $httpd_diff $httpd_mt"

write_layout "$work/worker-layout" stack-example/worker:latest \
        '{"Env":['"$path_env"',"WORKER_INTERVAL=5"],"Cmd":["/usr/local/bin/worker"],"WorkingDir":"/home/app","StopSignal":"SIGTERM","Labels":{"org.opencontainers.image.title":"stack example worker"}}' \
        "$base_l" "$work/worker.layer $worker_blob $worker_diff $worker_mt"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$work/worker-layout" \
        -cf "$out/worker.oci.tar" .

write_layout "$out/redis" stack-example/redis:latest \
        '{"Env":['"$path_env"'],"Cmd":["redis-server","/etc/redis/redis.conf"],"WorkingDir":"/data","ExposedPorts":{"6379/tcp":{}},"Healthcheck":{"Test":["CMD","redis-cli","ping"],"Interval":2000000000,"Timeout":2000000000,"Retries":5},"Labels":{"org.opencontainers.image.title":"stack example redis"}}' \
        "$base_l" "$work/redis.layer $redis_blob $redis_diff $redis_mt"

echo "built: $out/httpd (OCI layout), $out/worker.oci.tar (OCI archive), $out/redis (OCI layout)"
[ "$import" = 1 ] || exit 0

stack=${STACK_BIN:-}
if [ -z "$stack" ]; then
        if command -v stack >/dev/null; then
                stack=stack
        elif [ -x "$here/../build/stack" ]; then
                stack=$here/../build/stack
        else
                echo "$0: no stack binary (set STACK_BIN); images left in $out" >&2
                exit 1
        fi
fi
"$stack" image import "$out/httpd"
"$stack" image import "$out/worker.oci.tar"
"$stack" image import "$out/redis"
