#!/bin/bash
# Building images: a multi-stage Dockerfile (global ARG, ARG/ENV/WORKDIR/USER, COPY from the context and
# --from a stage, RUN, a deletion in a later RUN, .dockerignore with an exception) built by `stack up` from
# a store that holds only the base, the container of the result printing what the build wrote; the step
# cache (a second build runs no RUN, one changed file re-runs only the steps after its COPY), --no-cache,
# a failing RUN that names its step and exit code and leaves nothing behind, and located Dockerfile errors.
. "$STACK_SRCDIR/tests/integration/lib.sh"
command -v crun >/dev/null || [ -n "${STACK_RUNTIME:-}" ] || skip_all "crun not installed"
BUSYBOX=$(command -v busybox) || skip_all "busybox not installed"

# The base image: a static busybox with a passwd naming app (1000), imported as a rootfs tarball.
base=$STACK_TEST_TMP/base
mkdir -p "$base/bin" "$base/etc" "$base/tmp" "$base/home/app" "$base/proc" "$base/sys" "$base/dev"
cp "$BUSYBOX" "$base/bin/busybox"
chroot "$base" /bin/busybox true 2>/dev/null || skip_all "busybox is not static (install busybox-static)"
chroot "$base" /bin/busybox --install -s /bin
chmod 1777 "$base/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$base/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' >"$base/etc/group"
tar -C "$base" -cf "$STACK_TEST_TMP/base.tar" .
ok "the base image imports" stack image import "$STACK_TEST_TMP/base.tar" busybox:build-base

proj=$STACK_TEST_TMP/app
mkdir -p "$proj/src" "$proj/logs"
cd "$proj" || exit 1
echo "from the context" >src/hello.txt
echo "left out" >src/notes.tmp
echo "kept by the exception" >src/keep.tmp
echo "debug log" >logs/debug.log
printf '# not for the image\n*/*.tmp\n!src/keep.tmp\nlogs\n' >.dockerignore
cat >Dockerfile <<'D'
ARG BASE=busybox:build-base
FROM ${BASE} AS builder
ARG MSG=default
ENV GREETING=hello
WORKDIR /src
COPY src/ ./
RUN echo RUN-ONE-EXEC""UTED && echo "$GREETING $MSG" >/src/built.txt && cat hello.txt >>/src/built.txt
RUN echo RUN-TWO-EXEC""UTED && ls /src >/src/listing.txt

FROM ${BASE}
COPY --from=builder /src/built.txt /src/listing.txt /app/
RUN chown -R app /app && rm /bin/vi
USER app
WORKDIR /app
ENV X=from-env
CMD ["sh", "-c", "cat /app/built.txt; cat /app/listing.txt; id -u; pwd; echo $X; ls /bin/vi 2>&1 || echo vi-gone"]
D
cat >compose.yaml <<'Y'
name: bt
services:
  web:
    build:
      context: .
      args:
        MSG: world
Y

out=$(stack up -d 2>&1)
is "$?" 0 "up builds the missing image and starts the service"
like "$out" "RUN-ONE-EXECUTED" "the RUN steps ran"
ok "the image is named <project>-<service>" stack image inspect bt-web
ok "the service's container ran to its end" stack wait web
logs=$(stack logs --no-log-prefix web 2>&1)
like "$logs" "hello world" "ENV and the build arg reached the RUN"
like "$logs" "from the context" "COPY from the context, then COPY --from the stage"
like "$logs" "keep.tmp" "the .dockerignore exception was copied"
[[ "$logs" != *notes.tmp* ]]
ok "a file excluded by .dockerignore was not" test $? = 0
[[ "$logs" != *debug.log* ]]
ok "an excluded directory was not" test $? = 0
like "$logs" "1000" "USER app resolved against the image's passwd"
like "$logs" "/app" "WORKDIR"
like "$logs" "from-env" "ENV in the final stage"
like "$logs" "vi-gone" "a file deleted by a later RUN is gone from the container's root"
ok "down" stack down
id1=$(stack image inspect bt-web | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')

# An unchanged rebuild runs nothing and gives the same image.
out=$(stack build 2>&1)
is "$?" 0 "a second build succeeds"
[[ "$out" != *EXECUTED* ]]
ok "and runs no RUN step" test $? = 0
like "$out" "CACHED" "every step is a cache hit"
id2=$(stack image inspect bt-web | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
is "$id2" "$id1" "same image ID, so up would recreate nothing"

# One changed file: the steps from its COPY on run again, nothing before.
echo "changed" >>src/hello.txt
out=$(stack build 2>&1)
is "$?" 0 "a build after a change succeeds"
like "$out" "RUN-ONE-EXECUTED" "the RUN after the changed COPY re-runs"
echo "changed again" >src/notes.tmp
out=$(stack build 2>&1)
[[ "$out" != *EXECUTED* ]]
ok "a change to an ignored file invalidates nothing" test $? = 0

# --no-cache runs everything again.
out=$(stack build --no-cache 2>&1)
like "$out" "RUN-TWO-EXECUTED" "--no-cache re-runs every RUN"
out=$(stack build -q --build-arg MSG=other 2>/dev/null)
like "$out" "sha256:" "-q prints only the image ID"

# A failing RUN: its step, exit code and last output; no container, mount or staging left.
cat >Dockerfile.fail <<'D'
FROM busybox:build-base
RUN echo about to fail && exit 3
D
printf 'name: bt\nservices:\n  bad:\n    build: {context: ., dockerfile: Dockerfile.fail}\n' >fail.yaml
out=$(stack -f fail.yaml build 2>&1)
is "$?" 1 "a failing RUN fails the build"
like "$out" "Dockerfile.fail:2: RUN:" "naming the Dockerfile line"
like "$out" "exit code 3" "and the exit code"
like "$out" "about to fail" "and the last output"
not_ok "no image is named for a failed build" stack image inspect bt-bad
is "$(ls "$STACK_ROOT/containers" 2>/dev/null)" "" "no step container is left"
is "$(ls "$STACK_ROOT/build-tmp" 2>/dev/null)" "" "no staging directory is left"

# Dockerfile errors are located and change nothing.
printf 'FROM busybox:build-base\n\nRUNN make\n' >Dockerfile.typo
printf 'name: bt\nservices:\n  typo:\n    build: {context: ., dockerfile: Dockerfile.typo}\n' >typo.yaml
out=$(stack -f typo.yaml build 2>&1)
is "$?" 1 "an unknown instruction fails"
like "$out" "Dockerfile.typo:3:1: unknown instruction \"RUNN\"" "located"
out=$(stack -f typo.yaml build --check 2>&1)
like "$out" "unknown instruction" "build --check reports it without building"
printf 'FROM 127.0.0.1:1/busybox:nope\n' >Dockerfile.nobase
printf 'name: bt\nservices:\n  nobase:\n    build: {context: ., dockerfile: Dockerfile.nobase}\n' >nobase.yaml
out=$(stack -f nobase.yaml build 2>&1)
like "$out" "FROM 127.0.0.1:1/busybox:nope: not in the store (import it with \`stack image import\`) and pulling it failed" "a missing base says how to get it"

# kill -9 in the middle of a RUN: the next build removes the step container, its mount and staging.
printf 'FROM busybox:build-base\nRUN echo slow-step-started && sleep 1000\n' >Dockerfile.slow
printf 'name: bt\nservices:\n  slow:\n    build: {context: ., dockerfile: Dockerfile.slow}\n' >slow.yaml
"$STACK_BIN" -f slow.yaml build >/dev/null 2>&1 &
bpid=$!
# shellcheck disable=SC2016 # expanded by the inner shell, where the glob is wanted
ok "the slow RUN step is running" wait_until 600 sh -c 'grep -qs slow-step-started "$STACK_ROOT"/containers/stack-build-*/container.log'
kill -9 "$bpid"
wait "$bpid" 2>/dev/null
ok "the killed build left its step container" test -n "$(ls "$STACK_ROOT/containers")"
ok "the next build succeeds" stack build web
is "$(ls "$STACK_ROOT/containers")" "" "and removed the killed build's step container"
is "$(ls "$STACK_ROOT/build-tmp")" "" "and its staging directory"
is "$(find "$STACK_RUN_ROOT/runtime" -mindepth 1 -maxdepth 1 -name '*stack-build*' 2>/dev/null)" "" "and its runtime state"

assert_no_residue bt
done_testing
