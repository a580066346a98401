#!/bin/bash
# stop, start and create: a stopped container stays stopped whatever its restart policy, `ps -a` shows it
# exited, `start` brings it back with its name and static address and its port answers again, `up`
# afterwards repairs as usual, and `create` makes containers that `start` starts.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/life" && cd "$STACK_TEST_TMP/life" || exit 1
cat >compose.yaml <<'YAML'
name: life
services:
  web:
    image: stack-example/httpd
    restart: always
    ports: ["127.0.0.1:18560:80"]
    networks:
      front:
        ipv4_address: 172.20.56.10
    depends_on: [db]
  db:
    image: stack-example/worker
    restart: always
    networks: [front]
    environment:
      WORKER_INTERVAL: "1"
networks:
  front:
    ipam:
      config:
        - subnet: 172.20.56.0/24
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

answers() { timeout 5 busybox wget -qO- http://127.0.0.1:18560/ >/dev/null 2>&1; }
state() { ps_field "$1" State; }
addr_of() { # the IPv4 address of eth0 in the running container's namespace
        nsenter --net="$(ctr_netns "$1")" ip -4 -o addr show eth0 | awk '{print $4}'
}

ok "up -d" stack up -d
ok "web answers" wait_until 200 answers
is "$(addr_of life-web-1)" "172.20.56.10/24" "web has its static address"

# Unknown names are refused before anything changes.
out=$(stack stop nosuch 2>&1)
is "$?" "1" "stop of an unknown service exits 1"
like "$out" "nosuch" "naming the service"
is "$(state life-web-1)" "running" "and web still runs"
out=$(stack start nosuch 2>&1)
is "$?" "1" "start of an unknown service exits 1"
like "$out" "nosuch" "naming it"
not_ok "stop -t with a bad number is a usage error" stack stop -t soon web

# stop: web is exited in ps -a and its restart policy does not bring it back.
out=$(stack stop web 2>&1)
is "$?" "0" "stop web"
like "$out" "life-web-1" "stop reports the container"
is "$(state life-web-1)" "exited" "ps -a shows web exited"
is "$(state life-db-1)" "running" "db, which web depends on, still runs"
not_ok "web's port no longer answers" answers
is "$(stack ps -q --status running)" "life-db-1" "ps lists only db as running"
# The policy is live: db's init killed after web's stop comes back; by then web would have come back too
# if its stop had not been recorded as one asked for.
kill -KILL "$(ctr_pid life-db-1)"
ok "db (restart: always) comes back after its init is killed" \
        wait_until 300 bash -c "[ \"\$('$STACK_BIN' ps -a --format json | python3 -c '
import json, sys
c = [c for c in json.load(sys.stdin) if c[\"Name\"] == \"life-db-1\"][0]
print(c[\"State\"], int(c.get(\"RestartCount\", 0)) > 0 or c[\"State\"] == \"running\")')\" = 'running True' ]"
ok "db is running again" wait_until 300 bash -c "[ \"\$('$STACK_BIN' ps -q --status running db)\" = life-db-1 ]"
is "$(state life-web-1)" "exited" "while web stays stopped"

# start: the same container, its address and its port.
ok "start web" stack start web
is "$(state life-web-1)" "running" "web runs again"
ok "its port answers again" wait_until 200 answers
is "$(addr_of life-web-1)" "172.20.56.10/24" "with the same static address"
is "$(stack ps -a --format json | python3 -c 'import json,sys; print(sorted(c["Name"] for c in json.load(sys.stdin)))')" \
        "['life-db-1', 'life-web-1']" "and the same names, no new container"

# stop of everything (dependents first), then up repairs.
out=$(stack --progress plain stop 2>&1)
is "$?" "0" "stop (all)"
web_line=$(printf '%s\n' "$out" | grep -n 'life-web-1 Stopped' | cut -d: -f1)
db_line=$(printf '%s\n' "$out" | grep -n 'life-db-1 Stopping' | cut -d: -f1)
ok "web (the dependent) stopped before db started stopping" test "${web_line:-99}" -lt "${db_line:-0}"
is "$(stack ps -q)" "" "nothing runs"
ok "up -d after stop" stack up -d
is "$(stack ps -q --status running | sort | tr '\n' ' ')" "life-db-1 life-web-1 " "up starts both again"
ok "the port answers" wait_until 200 answers

# create, then start.
ok "down" stack down -t 1
ok "create" stack create
is "$(state life-web-1)" "created" "create makes web, not started"
is "$(state life-db-1)" "created" "and db"
not_ok "nothing answers on web's port" answers
not_ok "create refuses up's -d" stack create -d
ok "start" stack start
is "$(stack ps -q --status running | sort | tr '\n' ' ')" "life-db-1 life-web-1 " "start starts what create made"
ok "web answers" wait_until 200 answers

ok "down" stack down -t 1
assert_no_residue life
done_testing
