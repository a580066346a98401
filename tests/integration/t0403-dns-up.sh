#!/bin/bash
# Service discovery end to end through `stack up`: from inside the containers' network namespaces, the
# gateway named in their resolv.conf answers service names, aliases and container names with the
# addresses the containers really have, hides the other network's services, follows scale up and down,
# and sees a container on two networks resolve names of both.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
command -v dig >/dev/null || skip_all "dig not installed (Debian package dnsutils)"
img=$STACK_TEST_TMP/images
"$STACK_SRCDIR/examples/build-images.sh" "$img" >/dev/null 2>&1 || skip_all "cannot build the example images"

proj=$STACK_TEST_TMP/dnsup
mkdir -p "$proj"
cat >"$proj/compose.yaml" <<'YAML'
name: dnsup
services:
  web:
    image: stack-example/httpd
    scale: 2
    environment:
      GENERATION: ${GENERATION:-1}
    networks:
      front:
        aliases: [www]
  app:
    image: stack-example/worker
    networks: [front, back]
  db:
    image: stack-example/worker
    container_name: dnsup-database
    networks:
      back:
        aliases: [storage]
networks:
  front: {}
  back: {}
YAML
cd "$proj" || exit 1
trap 'stack down -t 1 >/dev/null 2>&1' EXIT

ok "up -d --wait" stack up -d --wait --wait-timeout 60

addr_of() { # CONTAINER: its IPv4 address on eth0 (the first network)
        nsenter --net="$(ctr_netns "$1")" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1
}
gw_of() { # CONTAINER: its default gateway, the first network's (resolv.conf must name it, see below)
        nsenter --net="$(ctr_netns "$1")" ip route show default | awk '{print $3; exit}'
}
DIG_TIMING="+time=2 +tries=2"
# answer_from / status_from CONTAINER NAME: asked from the container's netns to its gateway.
answer_from() { dns_answer "$(ctr_netns "$1")" "$(gw_of "$1")" "$2"; }
status_from() { dns_status "$(ctr_netns "$1")" "$(gw_of "$1")" "$2"; }

ok "the records file is written under the run root" test -s "$STACK_RUN_ROOT/projects/dnsup/dns.json"
web1=$(addr_of dnsup-web-1)
web2=$(addr_of dnsup-web-2)
ok "both web replicas have an address ($web1, $web2)" test -n "$web1" -a -n "$web2"
want_web=$(printf '%s\n' "$web1" "$web2" | sort | tr '\n' ' ')
gw=$(gw_of dnsup-app-1)
# The file the runtime bind-mounts on the container's /etc/resolv.conf, kept in its bundle.
like "$(cat "$STACK_RUN_ROOT/containers/dnsup-app-1/resolv.conf" 2>&1)" "nameserver $gw" \
        "the container's resolv.conf names its gateway"
ok "the DNS responder listens on the front gateway $gw" wait_until 50 bash -c "ss -lnu | grep -q '$gw:53 '"
is "$(answer_from dnsup-app-1 web)" "$want_web" "from app: the service name gives both replicas' real addresses"
is "$(answer_from dnsup-app-1 www)" "$want_web" "the alias too"
# The container's own resolver (busybox nslookup reading /etc/resolv.conf inside the container).
out=$(crun --root "$STACK_RUN_ROOT/runtime" exec dnsup-app-1 nslookup web 2>&1)
like "$out" "$web1" "inside the container, nslookup web finds replica 1"
like "$out" "$web2" "... and replica 2"
is "$(answer_from dnsup-web-1 dnsup-web-2)" "$web2 " "a container name"
db_addr=$(nsenter --net="$(ctr_netns dnsup-database)" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
is "$(answer_from dnsup-app-1 db)" "$db_addr " "app is on back too: db resolves for it"
is "$(answer_from dnsup-app-1 storage)" "$db_addr " "and db's alias"
is "$(answer_from dnsup-app-1 dnsup-database)" "$db_addr " "and its container_name"
is "$(status_from dnsup-web-1 db)" NXDOMAIN "web is not on back: db does not resolve for it"
is "$(status_from dnsup-web-1 storage)" NXDOMAIN "nor its alias"
is "$(status_from dnsup-database web)" NXDOMAIN "and from db, web does not resolve"

# Recreate (a changed environment): the names point at the new containers' addresses.
like "$(GENERATION=2 stack up -d --dry-run 2>&1)" "create container dnsup-web-1: configuration changed" \
        "the changed environment recreates web"
ok "recreate web" env GENERATION=2 "$STACK_BIN" up -d --wait --wait-timeout 60
web1=$(addr_of dnsup-web-1)
web2=$(addr_of dnsup-web-2)
want_web=$(printf '%s\n' "$web1" "$web2" | sort | tr '\n' ' ')
is "$(answer_from dnsup-app-1 web)" "$want_web" "after recreate, web gives the recreated replicas' addresses"
is "$(answer_from dnsup-app-1 dnsup-web-2)" "$web2 " "and their container names too"

# Scale up and down: the answers follow.
export GENERATION=2
ok "scale web to 3" stack up -d --wait --wait-timeout 60 --scale web=3
web3=$(addr_of dnsup-web-3)
want3=$(printf '%s\n' "$web1" "$web2" "$web3" | sort | tr '\n' ' ')
ok "web answers three addresses after scale up" wait_until 50 bash -c "[ \"\$(nsenter --net='$(ctr_netns dnsup-app-1)' dig +short +time=1 +tries=1 @$gw web | sort | tr '\n' ' ')\" = '$want3' ]"
ok "scale web to 1" stack up -d --wait --wait-timeout 60 --scale web=1
ok "web answers one address after scale down" wait_until 50 bash -c "[ \"\$(nsenter --net='$(ctr_netns dnsup-app-1)' dig +short +time=1 +tries=1 @$gw web)\" = '$web1' ]"

ok "down" stack down -t 1
trap - EXIT
# The supervisor (which holds the responder) may still be on its way out when down returns; under the
# sanitizers its exit takes a moment. It must be gone soon, not necessarily at once.
ok "the supervisor and its responder are gone" wait_until 100 bash -c "! pgrep -f -- '$STACK_TEST_TMP.* [s]upervise dnsup'"
ok "nothing listens on the gateway any more" bash -c "! ss -lnu | grep -q '$gw:53 '"
assert_no_residue dnsup
done_testing
