#!/bin/bash
# Differential check against buildah, a reference builder: the same Dockerfile (ARG, ENV, WORKDIR with a
# variable, COPY of a file and a directory, a RUN that creates, chmods, links, chowns and deletes, USER,
# EXPOSE, LABEL, ENTRYPOINT, CMD) on the same base gives final root file systems with the same paths,
# types, modes, owners, link targets and contents, and configs that agree on Env, Cmd, Entrypoint,
# WorkingDir, User, ExposedPorts and Labels.
. "$STACK_SRCDIR/tests/integration/lib.sh"
command -v crun >/dev/null || [ -n "${STACK_RUNTIME:-}" ] || skip_all "crun not installed"
command -v buildah >/dev/null || skip_all "buildah not installed (apt-get install buildah)"
BUSYBOX=$(command -v busybox) || skip_all "busybox not installed"

base=$STACK_TEST_TMP/base
mkdir -p "$base/bin" "$base/etc" "$base/tmp" "$base/home/app" "$base/proc" "$base/sys" "$base/dev"
cp "$BUSYBOX" "$base/bin/busybox"
chroot "$base" /bin/busybox true 2>/dev/null || skip_all "busybox is not static (install busybox-static)"
chroot "$base" /bin/busybox --install -s /bin
chmod 1777 "$base/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$base/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$base/etc/group"
tar -C "$base" -cf "$STACK_TEST_TMP/base.tar" .
ok "stack imports the base" stack image import "$STACK_TEST_TMP/base.tar" busybox:diff-base

bh=(buildah --storage-driver vfs --root "$STACK_TEST_TMP/bh-root" --runroot "$STACK_TEST_TMP/bh-run")
c=$("${bh[@]}" from scratch) && "${bh[@]}" copy "$c" "$base" / >/dev/null &&
        "${bh[@]}" commit -q "$c" docker.io/library/busybox:diff-base >/dev/null
ok "buildah has the same base" test $? = 0
"${bh[@]}" rm "$c" >/dev/null 2>&1

ctx=$STACK_TEST_TMP/ctx
mkdir -p "$ctx/sub"
echo "data file" >"$ctx/data.txt"
echo "x" >"$ctx/sub/x.txt"
chmod 0640 "$ctx/sub/x.txt"
cat >"$ctx/Dockerfile" <<'D'
FROM docker.io/library/busybox:diff-base
ARG VERSION=1.0
ENV APP_HOME=/opt/app PATH=/bin:/usr/bin
WORKDIR $APP_HOME
COPY data.txt ./
COPY sub /opt/app/sub/
RUN mkdir -p var/cache && echo "$VERSION" >version && chmod 0600 version && ln -s version current && rm /bin/vi && chown 1000:1000 var/cache
USER app
EXPOSE 8080/tcp
LABEL org.example.name="diff test"
ENTRYPOINT ["sh", "-c"]
CMD ["cat version"]
D
printf 'name: diff\nservices:\n  img:\n    build: ctx\n' >"$STACK_TEST_TMP/compose.yaml"
ok "stack builds it" stack -f "$STACK_TEST_TMP/compose.yaml" build -q
ok "buildah builds it" "${bh[@]}" bud --layers --isolation chroot -q -t localhost/diff-img -f "$ctx/Dockerfile" "$ctx"

# Paths, types, modes, owners, link targets and file contents; not times, and not the size a
# directory reports (it depends on the file system underneath).
listing() {
        (cd "$1" && find . -mindepth 1 -printf '%p %M %U %G %l\n' | sort &&
                find . -type f -exec md5sum {} + | sort -k2)
}
bc=$("${bh[@]}" from localhost/diff-img)
bmnt=$("${bh[@]}" mount "$bc")
# buildah's chroot isolation leaves its mount points in the image (empty etc/hostname, etc/hosts,
# etc/resolv.conf and run/); BuildKit and stack do not put mount points in a layer.
listing "$bmnt" | grep -vE '^(\./etc/(hostname|hosts|resolv\.conf) -rw.r-.r-. 0 0 $|\./run drwxr-xr-x 0 0 $|d41d8cd98f00b204e9800998ecf8427e  \./etc/(hostname|hosts|resolv\.conf)$)' \
        >"$STACK_TEST_TMP/buildah.list"
"${bh[@]}" umount "$bc" >/dev/null
"${bh[@]}" rm "$bc" >/dev/null

# stack's result: its layer directories as one overlay, read-only.
dirs=$(stack image inspect diff-img | python3 -c 'import json,sys; print(":".join(reversed(json.load(sys.stdin)[0]["LayerDirs"])))')
smnt=$STACK_TEST_TMP/stack-rootfs
mkdir -p "$smnt"
ok "stack's layers mount as one root" mount -t overlay -o "ro,lowerdir=$dirs" overlay "$smnt"
listing "$smnt" >"$STACK_TEST_TMP/stack.list"
umount "$smnt"
difference=$(diff "$STACK_TEST_TMP/buildah.list" "$STACK_TEST_TMP/stack.list")
is "$difference" "" "the same root file system as buildah's"
like "$(cat "$STACK_TEST_TMP/stack.list")" "./opt/app/current lrwxrwxrwx 0 0 version" "(which has what the RUN made)"

fields='import json,sys
d = json.load(sys.stdin)
c = d[0]["Config"] if isinstance(d, list) else d["OCIv1"]["config"]
c["Env"] = sorted(c.get("Env") or [])  # buildah keeps its default PATH first; order carries no meaning
print(json.dumps({k: c.get(k) for k in ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts"]}, sort_keys=True))
print(json.dumps({k: v for k, v in (c.get("Labels") or {}).items() if k.startswith("org.example")}, sort_keys=True))'
sconf=$(stack image inspect diff-img | python3 -c "$fields")
bconf=$("${bh[@]}" inspect --type image localhost/diff-img | python3 -c "$fields")
is "$sconf" "$bconf" "the same Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts and labels as buildah's"

"${bh[@]}" rmi -a -f >/dev/null 2>&1
assert_no_residue diff
done_testing
