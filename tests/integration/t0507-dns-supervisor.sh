#!/bin/bash
# Service discovery through the supervisor's DNS responder, asked with busybox nslookup from inside the
# containers' network namespaces: service name, alias and container name; both replicas after a scale
# up; the new address after a recreate; nothing from another network; and answers again after the
# supervisor was killed and replaced.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/disco" && cd "$STACK_TEST_TMP/disco" || exit 1
cat >compose.yaml <<'YAML'
name: disco
services:
  api:
    image: stack-example/worker
    environment:
      GEN: ${GEN:-1}
    networks:
      inner:
        aliases: [backend]
  client:
    image: stack-example/worker
    networks: [inner]
  lonely:
    image: stack-example/worker
    container_name: disco-alone
    networks: [outer]
networks:
  inner: {}
  outer: {}
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

addr() { nsenter --net="$(ctr_netns "$1")" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
nameserver() { awk '/^nameserver/ {print $2; exit}' "$STACK_RUN_ROOT/containers/$1/resolv.conf"; }
# lookup FROM NAME: the sorted addresses busybox nslookup gets for NAME from FROM's nameserver.
lookup() {
        nsenter --net="$(ctr_netns "$1")" timeout 10 busybox nslookup "$2" "$(nameserver "$1")" 2>/dev/null |
                awk '/^Name:/ {n=1} n && /^Address/ {print $NF}' | sort | tr '\n' ' '
}

ok "up -d --wait" stack up -d --wait --wait-timeout 40
api1=$(addr disco-api-1)
ns=$(nameserver disco-client-1)
ok "client's resolv.conf names a nameserver ($ns) on its own network" test -n "$ns"
is "$(lookup disco-client-1 api)" "$api1 " "the service name resolves to api's address"
is "$(lookup disco-client-1 backend)" "$api1 " "the alias too"
is "$(lookup disco-client-1 disco-api-1)" "$api1 " "and the container name"
is "$(lookup disco-api-1 client)" "$(addr disco-client-1) " "and the other way round"
is "$(lookup disco-client-1 lonely)" "" "a service on another network does not resolve"
is "$(lookup disco-client-1 disco-alone)" "" "nor its container_name"
is "$(lookup disco-alone api)" "" "and from the other network, api does not resolve"
is "$(lookup disco-alone lonely)" "$(addr disco-alone) " "while lonely resolves itself on its own network"

ok "scale api to 2" stack up -d --wait --wait-timeout 40 --scale api=2
api2=$(addr disco-api-2)
want=$(printf '%s\n' "$api1" "$api2" | sort | tr '\n' ' ')
is "$(lookup disco-client-1 api)" "$want" "both replicas answer after the scale up"
is "$(lookup disco-client-1 backend)" "$want" "through the alias as well"

# Recreate api (its environment changes): a recreated container may get another address; the names
# follow the container, not the old lease.
ok "recreate api" env GEN=2 "$STACK_BIN" up -d --wait --wait-timeout 40 --scale api=2
new1=$(addr disco-api-1)
new2=$(addr disco-api-2)
want=$(printf '%s\n' "$new1" "$new2" | sort | tr '\n' ' ')
is "$(lookup disco-client-1 api)" "$want" "after recreate, the replicas' current addresses answer"
is "$(lookup disco-client-1 disco-api-2)" "$new2 " "and the container name follows"

# The responder lives in the supervisor: killed, the names go with it; the next command's supervisor
# answers again, for the containers it re-adopted.
sup=$(cut -d' ' -f1 "$STACK_RUN_ROOT/projects/disco/supervisor.pid")
kill -KILL "$sup"
ok "the supervisor is gone" wait_until 50 bash -c "! kill -0 $sup"
ok "up -d starts a new one" env GEN=2 "$STACK_BIN" up -d --scale api=2
ok "names resolve again" wait_until 50 bash -c "[ \"\$(nsenter --net='$(ctr_netns disco-client-1)' timeout 5 busybox nslookup api $ns 2>/dev/null | grep -c '^Address.*$new1')\" -ge 1 ]"
is "$(lookup disco-client-1 api)" "$want" "with both re-adopted replicas"

ok "down" stack down -t 1
trap - EXIT
ok "the supervisor has left" wait_until 100 bash -c "! pgrep -f -- '$STACK_TEST_TMP.* [s]upervise disco'"
assert_no_residue disco
done_testing
