#!/bin/bash
# `stack down` without help: when the supervisor was killed (its containers still run), and with
# `-p NAME down` once the compose file is gone (from what stack recorded only). Both leave nothing behind.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

proj=$STACK_TEST_TMP/orphaned
mkdir -p "$proj" && cd "$proj" || exit 1
cat >compose.yaml <<'YAML'
name: downrec
services:
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:18082:80"]
    volumes: ["pages:/srv"]
  app:
    image: stack-example/worker
    networks: [back]
    restart: always
networks:
  back: {}
volumes:
  pages: {}
YAML
trap 'stack -p downrec down -v -t 0 >/dev/null 2>&1' EXIT
supervisor() { cut -d' ' -f1 "$STACK_RUN_ROOT/projects/downrec/supervisor.pid" 2>/dev/null; }

# 1. The supervisor is killed; down alone must stop the containers it no longer watches.
ok "up -d --wait" stack up -d --wait --wait-timeout 40
sup=$(supervisor)
ok "a supervisor runs ($sup)" kill -0 "$sup"
app_pid=$(ctr_pid downrec-app-1)
kill -KILL "$sup"
ok "the supervisor is gone" wait_until 50 bash -c "! kill -0 $sup"
ok "its containers keep running" kill -0 "$app_pid"
ok "down -v without a supervisor" stack down -v -t 1
ok "the container's process is gone" wait_until 50 bash -c "! kill -0 $app_pid"
is "$(stack ps -a -q)" "" "no container is left"
is "$(residue downrec)" "" "nothing of the project is left"
sleep 1
is "$(pgrep -f -- "$STACK_TEST_TMP.* [s]upervise downrec")" "" "and no supervisor was started again"

# 2. The compose file is deleted: down -p NAME works from the records alone, from anywhere.
ok "up -d --wait again" stack up -d --wait --wait-timeout 40
ok "the named volume exists" test -d "$STACK_ROOT/volumes/downrec_pages"
app_pid=$(ctr_pid downrec-app-1)
rm compose.yaml
cd / || exit 1
like "$(stack ls 2>&1)" "downrec" "ls still lists the project"
is "$(stack -p downrec ps -q | sort | tr '\n' ' ')" "downrec-app-1 downrec-web-1 " "ps -p NAME shows its containers"
out=$(stack -p downrec down -v -t 1 2>&1)
is "$?" "0" "-p NAME down -v without the compose file"
like "$out" "Removed" "and it says what it removed"
ok "the containers' processes are gone" wait_until 50 bash -c "! kill -0 $app_pid"
ok "the named volume is removed" test ! -e "$STACK_ROOT/volumes/downrec_pages"
ok "the port no longer answers" bash -c "! timeout 5 busybox wget -qO- http://127.0.0.1:18082/"
is "$(stack ls -q 2>&1 | grep -x downrec)" "" "ls forgets the project"
is "$(find "$STACK_ROOT" -path '*downrec*')" "" "no record of the project is left under the root"
ok "a second down -p NAME is a no-op" stack -p downrec down

trap - EXIT
ok "the supervisor has left" wait_until 100 bash -c "! pgrep -f -- '$STACK_TEST_TMP.* [s]upervise downrec'"
assert_no_residue downrec
done_testing
