#!/bin/bash
# A container sees the environment, command, user and working directory it was given; its output is kept
# in its log; removal leaves nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"

img='{"Env":["FROM_IMAGE=1","OVERRIDE=image"],"Cmd":["echo","image-cmd"],"WorkingDir":"/data"}'
# shellcheck disable=SC2016 # $FROM_IMAGE and the rest are expanded by the container's shell
svc='{"environment":{"OVERRIDE":"service","EXTRA":"x y"},"user":"app","working_dir":"/home/app/work",
      "command":["sh","-c","echo env=$FROM_IMAGE,$OVERRIDE,$EXTRA; id; pwd; echo home=$HOME; hostname"]}'
ok "create and start" ct_run t-basic-1 "$svc" --image "$img"
ok "the container exits" ct_wait_exit t-basic-1
log=$(ct log t-basic-1)
like "$log" "env=1,service,x y" "image Env with the service environment merged over it"
like "$log" "uid=1000(app) gid=1000(app) groups=44(video),50(staff)" "user resolved in the image, supplementary groups"
like "$log" "/home/app/work" "working_dir created and used"
like "$log" "home=/home/app" "HOME from the image's passwd"
like "$log" "t-basic-1" "hostname is the container name"

# The image's command runs when the service sets none; entrypoint in compose drops the image Cmd.
ok "image default command" ct_run t-basic-2 '{}' --image "$img"
ct_wait_exit t-basic-2
is "$(ct log t-basic-2)" "image-cmd" "image Cmd used"
ok "entrypoint set" ct_run t-basic-3 '{"entrypoint":["echo","ep"]}' --image "$img"
ct_wait_exit t-basic-3
is "$(ct log t-basic-3)" "ep" "a compose entrypoint resets the image Cmd"

# The image's USER applies unless the service sets user:.
ok "image user" ct_run t-basic-5 '{"command":["id","-u"]}' --image '{"User":"daemon"}'
ct_wait_exit t-basic-5
is "$(ct log t-basic-5)" "1" "the image's USER is the default user"
ok "service user over image user" ct_run t-basic-6 '{"user":"1000:50","command":["id"]}' --image '{"User":"daemon"}'
ct_wait_exit t-basic-6
is "$(ct log t-basic-6)" "uid=1000(app) gid=50(staff)" "user: uid:gid wins over the image's USER"

# Idempotence: creating an existing container succeeds; removing twice succeeds.
ok "run a long-lived container" ct_run t-basic-4 '{"command":["sleep","1000"]}'
is "$(ct state t-basic-4)" running "state: running"
ok "create again is success" ct create t-basic-4 --rootfs "$LAYER" --service '{"command":["sleep","1000"]}'
ok "start again is success" ct start t-basic-4
is "$(ct exec t-basic-4 cat /etc/hostname)" "t-basic-4" "exec runs a command in the container"
ct exec t-basic-4 sh -c 'exit 3'
is "$?" 3 "exec reports the command's exit status"
pid=$(ct pid t-basic-4)
ok "the container's init is a real process" test -d "/proc/$pid"
ok "bundle exists" test -f "$STACK_RUN_ROOT/containers/t-basic-4/config.json"
ok "writable layer under the root" test -d "$STACK_ROOT/containers/t-basic-4/upper"

# More layers than fit in one page of overlay mount options (the image store's layer paths are long).
layer_args=()
for i in $(seq -w 1 60); do
        d=$STACK_TEST_TMP/layers/$(printf 'layer-%s-%064d' "$i" 0)
        mkdir -p "$d/stack"
        echo "$i" >"$d/stack/$i"
        layer_args+=(--layer "$d")
done
ok "a container with 61 layers" ct_run t-basic-7 '{"command":["sh","-c","ls /stack | wc -l"]}' "${layer_args[@]}"
ct_wait_exit t-basic-7
is "$(ct log t-basic-7)" 60 "every layer is visible"

for n in 1 2 3 4 5 6 7; do
        ok "remove t-basic-$n" ct remove t-basic-$n
done
ok "remove again is success" ct remove t-basic-4
is "$(ct state t-basic-4)" absent "state: absent after removal"
ok "no bundle left" test ! -e "$STACK_RUN_ROOT/containers/t-basic-4"
ok "no writable layer left" test ! -e "$STACK_ROOT/containers/t-basic-4"
assert_no_residue t-basic
done_testing
