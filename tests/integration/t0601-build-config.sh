#!/bin/bash
# What a Dockerfile puts in the image config (ENTRYPOINT and CMD with their reset rule, HEALTHCHECK, EXPOSE,
# LABEL, STOPSIGNAL, ONBUILD, compose labels) as `image inspect` shows it and as the running container
# sees it; RUN heredocs; COPY --chown/--chmod; a context symlink pointing outside copied as a link; ADD
# unpacking a local archive; FROM scratch; and `up --build` recreating only the service whose image
# changed.
. "$STACK_SRCDIR/tests/integration/lib.sh"
command -v crun >/dev/null || [ -n "${STACK_RUNTIME:-}" ] || skip_all "crun not installed"
BUSYBOX=$(command -v busybox) || skip_all "busybox not installed"

base=$STACK_TEST_TMP/base
mkdir -p "$base/bin" "$base/etc" "$base/tmp" "$base/home/app" "$base/proc" "$base/sys" "$base/dev"
cp "$BUSYBOX" "$base/bin/busybox"
chroot "$base" /bin/busybox true 2>/dev/null || skip_all "busybox is not static (install busybox-static)"
chroot "$base" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$base/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$base/etc/group"
tar -C "$base" -cf "$STACK_TEST_TMP/base.tar" .
ok "the base image imports" stack image import "$STACK_TEST_TMP/base.tar" busybox:cfg-base

proj=$STACK_TEST_TMP/cfg
mkdir -p "$proj/one" "$proj/two" "$proj/archive/inner"
cd "$proj" || exit 1
echo "secret of the host" >"$STACK_TEST_TMP/outside.txt"
ln -s "$STACK_TEST_TMP/outside.txt" one/escape
echo "owned by app" >one/owned.txt
echo "inside the archive" >archive/inner/data.txt
tar -C archive -czf one/bundle.tar.gz inner
cat >one/Dockerfile <<'D'
FROM busybox:cfg-base
COPY --chown=app --chmod=0750 owned.txt /srv/owned.txt
COPY escape /srv/escape
ADD bundle.tar.gz /srv/unpacked/
RUN <<EOF
echo "from a heredoc" >/srv/heredoc.txt
stat -c '%U %a' /srv/owned.txt >>/srv/heredoc.txt
EOF
LABEL org.example.team="build team" org.example.tier=web
EXPOSE 8080 53/udp
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD ["true"]
ONBUILD RUN echo triggered
CMD ["not", "kept"]
ENTRYPOINT ["sh", "-c", "cat /srv/heredoc.txt; readlink /srv/escape; cat /srv/unpacked/inner/data.txt; echo args: \"$0\""]
CMD ["from-cmd"]
D
cat >two/Dockerfile <<'D'
FROM scratch
COPY --from=busybox:cfg-base /bin/busybox /bin/busybox
CMD ["/bin/busybox", "sleep", "1000"]
D
echo "v1" >two/version.txt
cat >compose.yaml <<'Y'
name: cfg
services:
  one:
    build:
      context: one
      labels: {org.example.from-compose: "yes"}
  two:
    build: two
Y

out=$(stack build 2>&1)
is "$?" 0 "both images build"
cfg=$(stack image inspect cfg-one | python3 -c 'import json,sys; c=json.load(sys.stdin)[0]["Config"]
print(json.dumps(c["Entrypoint"]), json.dumps(c.get("Cmd")), sorted(c["ExposedPorts"]), c["StopSignal"],
      c["Healthcheck"]["Test"], c["Healthcheck"]["Interval"], c["Healthcheck"]["Retries"], c["OnBuild"],
      c["Labels"]["org.example.team"], c["Labels"]["org.example.from-compose"],
      c["Labels"]["com.docker.compose.service"])')
like "$cfg" '["sh", "-c",' "ENTRYPOINT in exec form"
like "$cfg" '["from-cmd"]' "a CMD after ENTRYPOINT is kept, the one before it is not"
like "$cfg" "['53/udp', '8080/tcp']" "EXPOSE with protocols"
like "$cfg" "SIGUSR1" "STOPSIGNAL"
like "$cfg" "['CMD', 'true'] 5000000000 2" "HEALTHCHECK test, interval in ns, retries"
like "$cfg" "['RUN echo triggered']" "ONBUILD stored"
like "$cfg" "build team yes one" "Dockerfile labels, compose build labels and the compose service label"

ok "up starts both" stack up -d
ok "one ran to its end" stack wait one
logs=$(stack logs --no-log-prefix one 2>&1)
like "$logs" "from a heredoc" "RUN <<EOF ran its script"
like "$logs" "app 750" "COPY --chown and --chmod"
like "$logs" "$STACK_TEST_TMP/outside.txt" "a symlink out of the context is copied as a link"
[[ "$logs" != *"secret of the host"* ]]
ok "and never followed" test $? = 0
like "$logs" "inside the archive" "ADD unpacks a local archive"
like "$logs" "args: from-cmd" "CMD passed to the ENTRYPOINT"

started() { # started SERVICE: its container's start time
        stack ps --format json | python3 -c "import json,sys; print(next(c['StartedAt'] for c in json.load(sys.stdin) if c['Service']=='$1'))"
}
two_before=$(started two)
ok "two (FROM scratch) is running" test -n "$two_before"
out=$(stack up -d --build 2>&1)
is "$?" 0 "up --build with nothing changed"
is "$(started two)" "$two_before" "an unchanged image recreates nothing"
sed -i 's/sleep", "1000"/sleep", "1001"/' two/Dockerfile
ok "up --build after a change" stack up -d --build
two_after=$(started two)
[ "$two_after" != "$two_before" ]
ok "the service whose image changed is recreated" test $? = 0
ok "down" stack down
assert_no_residue cfg
done_testing
