#!/bin/bash
# Crash safety: `stack up -d` killed with SIGKILL at several points of a 5-service up (two networks, a
# named volume, a published port); the next `up -d --wait` converges, and `down -v` removes every link,
# netns, mount, cgroup, firewall rule, process and file of the project, also straight after a crash.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

proj=$STACK_TEST_TMP/crashy
mkdir -p "$proj" && cd "$proj" || exit 1
cat >compose.yaml <<'YAML'
name: crashy
services:
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:18081:80"]
    networks: [front, back]
  app:
    image: stack-example/worker
    networks: [back]
    volumes: ["state:/state"]
  w1:
    image: stack-example/worker
    networks: [back]
  w2:
    image: stack-example/worker
    networks: [back]
  w3:
    image: stack-example/worker
networks:
  front: {}
  back: {}
volumes:
  state: {}
YAML
trap 'stack down -v -t 0 >/dev/null 2>&1' EXIT

# Files the project may leave: its records under the root and the run root, and its volume. The empty
# lock file stays by design (unlinking a lock file others may be waiting on would let two commands in).
files_left() {
        find "$STACK_ROOT" "$STACK_RUN_ROOT" -mindepth 1 2>/dev/null | grep -E 'crashy' |
                grep -v -x -e "$STACK_RUN_ROOT/projects/crashy" -e "$STACK_RUN_ROOT/projects/crashy/lock" | head
}
running() { # every service's container runs
        [ "$(stack ps -q --status running | sort | tr '\n' ' ')" = \
                "crashy-app-1 crashy-w1-1 crashy-w2-1 crashy-w3-1 crashy-web-1 " ]
}
# kill_up DELAY: starts `up -d` and kills it with SIGKILL after DELAY seconds; with "web", as soon as
# web's record is written (web is being created: after it, before the firewall and DNS update).
kill_up() {
        rm -f "$STACK_ROOT/projects/crashy/containers/crashy-web-1.json"
        "$STACK_BIN" up -d >"$STACK_TEST_TMP/up.log" 2>&1 &
        local pid=$!
        if [ "$1" = web ]; then
                for _ in $(seq 1000); do
                        [ -e "$STACK_ROOT/projects/crashy/containers/crashy-web-1.json" ] && break
                        sleep 0.01
                done
        else
                sleep "$1"
        fi
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        diag "up killed at $1: $(tail -n 1 "$STACK_TEST_TMP/up.log")"
}

for delay in web 0.2 1; do
        kill_up "$delay"
        if [ "$delay" = web ]; then
                like "$(stack up -d --dry-run 2>&1)" "update firewall of crashy" \
                        "killed before its firewall update, the next up plans it (ports, DNS)"
        fi
        ok "after up was killed at $delay, up -d --wait converges" stack up -d --wait --wait-timeout 40
        ok "every service runs" running
        ok "the published port answers" timeout 5 busybox wget -qO- http://127.0.0.1:18081/
        ok "a second up plans nothing" test -z "$(stack up -d --dry-run 2>&1)"
        ok "down -v" stack down -v -t 1
        is "$(residue crashy)" "" "down -v leaves nothing of the project (killed at $delay)"
        is "$(files_left)" "" "and no file of the project"
done

# down straight after a crash, without a converging up in between.
for delay in web 0.05 0.8; do
        kill_up "$delay"
        ok "down -v right after up was killed at $delay" stack down -v -t 1
        is "$(residue crashy)" "" "leaves nothing of the project"
        is "$(files_left)" "" "and no file of the project"
done

# down itself killed half-way: the next down finishes the job.
for delay in 0.1 0.4; do
        ok "up -d --wait (before a killed down)" stack up -d --wait --wait-timeout 40
        "$STACK_BIN" down -v -t 0 >"$STACK_TEST_TMP/down.log" 2>&1 &
        pid=$!
        sleep "$delay"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        diag "down killed at $delay: $(tail -n 1 "$STACK_TEST_TMP/down.log")"
        ok "down -v again after down was killed at $delay" stack down -v -t 0
        is "$(residue crashy)" "" "leaves nothing of the project"
        is "$(files_left)" "" "and no file of the project"
done

# The state a volume removal killed half-way leaves (its data directory gone, the rest not yet):
# down -v still sees the volume and removes what is left.
ok "up -d --wait (for a half-removed volume)" stack up -d --wait --wait-timeout 40
ok "down keeps the volume" stack down -t 0
ok "the volume is there" test -d "$STACK_ROOT/volumes/crashy_state/_data"
rm -rf "$STACK_ROOT/volumes/crashy_state/_data"
ok "down -v" stack down -v -t 0
is "$(files_left)" "" "removes the rest of the half-removed volume"

trap - EXIT
assert_no_residue crashy
done_testing
