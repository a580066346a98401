#!/bin/bash
# Stopping: the stop signal is honoured, SIGKILL after the grace period; init runs as PID 1.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"

cat >"$LAYER/bin/trapper" <<'S'
#!/bin/sh
trap 'echo got-USR1; exit 0' USR1
trap 'echo got-TERM; exit 0' TERM
echo ready
while :; do sleep 0.1; done
S
chmod 755 "$LAYER/bin/trapper"
ok "start a container with stop_signal SIGUSR1" ct_run t-stop-1 '{"stop_signal":"SIGUSR1","command":["trapper"]}'
wait_until 50 sh -c "$CT log t-stop-1 | grep -q ready"
start=$(date +%s%N)
is "$(ct stop t-stop-1)" "exited" "stop: the container exits on its stop signal"
elapsed=$((($(date +%s%N) - start) / 1000000))
ok "well before the grace period (${elapsed} ms)" test "$elapsed" -lt 5000
like "$(ct log t-stop-1)" "got-USR1" "it received SIGUSR1, not SIGTERM"
is "$(ct state t-stop-1)" stopped "state: stopped"
ok "stopping a stopped container is success" ct stop t-stop-1

# busybox sleep as PID 1 has no handler: SIGTERM is ignored, SIGKILL follows the grace period.
ok "start a container that ignores SIGTERM" ct_run t-stop-2 '{"stop_grace_period":1,"command":["sleep","1000"]}'
start=$(date +%s%N)
is "$(ct stop t-stop-2)" "killed" "killed after the grace period"
elapsed=$((($(date +%s%N) - start) / 1000000))
ok "after about a second (${elapsed} ms)" test "$elapsed" -ge 900 -a "$elapsed" -lt 5000

# With init: tini is PID 1 and forwards SIGTERM to the command.
ok "start with init" ct_run t-stop-3 '{"init":true,"command":["sh","-c","tr \"\\0\" \" \" </proc/1/cmdline; echo; exec trapper"]}'
wait_until 50 sh -c "$CT log t-stop-3 | grep -q ready"
like "$(ct log t-stop-3)" "/sbin/docker-init -- sh" "PID 1 is the init"
is "$(ct stop t-stop-3)" "exited" "stop through init"
like "$(ct log t-stop-3)" "got-TERM" "init forwarded SIGTERM"

# The image's StopSignal applies when the service sets none.
ok "start with an image StopSignal" ct_run t-stop-4 '{"command":["trapper"]}' --image '{"StopSignal":"SIGUSR1"}'
wait_until 50 sh -c "$CT log t-stop-4 | grep -q ready"
ct stop t-stop-4 >/dev/null
like "$(ct log t-stop-4)" "got-USR1" "image StopSignal honoured"

# A container that was never started can be stopped and removed; its log outlives a stop.
ok "create only" ct create t-stop-5 --rootfs "$LAYER" --service '{"command":["true"]}'
is "$(ct state t-stop-5)" created "state: created"
start=$(date +%s%N)
is "$(ct stop t-stop-5)" "exited" "stop a created container"
elapsed=$((($(date +%s%N) - start) / 1000000))
ok "at once: nothing there handles signals (${elapsed} ms)" test "$elapsed" -lt 2000
ok "a stopped created container can be created again" ct create t-stop-5 --rootfs "$LAYER" --service '{"command":["true"]}'

# The supervisor's way: the bundle is prepared, the runtime's create and start are run by the process
# that is to be the container's parent; stop and remove work the same on such a container.
ok "prepare a bundle" ct prepare t-stop-6 --rootfs "$LAYER" --service '{"command":["trapper"]}'
ok "prepare again is success" ct prepare t-stop-6 --rootfs "$LAYER" --service '{"command":["trapper"]}'
is "$(ct state t-stop-6)" absent "a prepared container has no runtime state yet"
ok "its config is written" test -f "$STACK_RUN_ROOT/containers/t-stop-6/config.json"
rt_direct create --bundle "$STACK_RUN_ROOT/containers/t-stop-6" t-stop-6 >>"$STACK_TEST_TMP/t-stop-6.log" 2>&1 </dev/null
rt_direct start t-stop-6
wait_until 50 grep -q ready "$STACK_TEST_TMP/t-stop-6.log"
is "$(ct state t-stop-6)" running "created and started by the runtime directly"
is "$(ct stop t-stop-6)" exited "stop a container the runtime was run for directly (no init record)"
like "$(cat "$STACK_TEST_TMP/t-stop-6.log")" "got-TERM" "it got its stop signal, not SIGKILL"

# A caller with every signal blocked and SIGPIPE ignored (an event loop) gives its containers neither.
out=$(CTR_TOOL_BLOCK_SIGNALS=1 "$CT" run t-stop-7 --rootfs "$LAYER" --service '{"command":["grep","-E","^Sig(Blk|Ign)","/proc/self/status"]}' && ct_wait_exit t-stop-7 && ct log t-stop-7)
is "$out" $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' "the container starts with no blocked or ignored signal"

for n in 1 2 3 4 5 6 7; do
        ok "remove t-stop-$n" ct remove t-stop-$n
done
assert_no_residue t-stop
done_testing
