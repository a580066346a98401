#!/bin/bash
# Service discovery: the embedded DNS responder on two bridges' gateways answers containers by their
# network (service names, aliases, container names, replicas, PTR, TCP), hides the other network's
# names, and follows a rewritten records file (recreate, scale) on SIGHUP.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v dig >/dev/null || skip_all "dig not installed (Debian package dnsutils)"
tool=$STACK_BUILDDIR/tests/integration/dns-tool
[ -x "$tool" ] || skip_all "dns-tool not built"

T=$STACK_TEST_TMP
records=$T/dns.json
server_pid=
cleanup() {
        [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
        # The host ends first: a deleted netns takes its peers along only asynchronously.
        for l in vc1 vc2 vc3; do ip link del "$l" 2>/dev/null; done
        for ns in c1 c2 c3; do ip netns del "$ns" 2>/dev/null; done
        ip link del stkdns0 2>/dev/null
        ip link del stkdns1 2>/dev/null
}
trap cleanup EXIT

# Two bridges with their gateways, and "containers": c1, c2 on the first, c3 on the second.
for i in 0 1; do
        ip link add "stkdns$i" type bridge
        ip addr add "10.77.$((i + 1)).1/24" dev "stkdns$i"
        ip link set "stkdns$i" up
done
container() { # NAME BRIDGE ADDRESS GATEWAY
        ip netns add "$1"
        ip link add "v$1" type veth peer name eth0 netns "$1"
        ip link set "v$1" master "$2" up
        ip -n "$1" link set lo up
        ip -n "$1" addr add "$3/24" dev eth0
        ip -n "$1" link set eth0 up
        ip -n "$1" route add default via "$4"
}
container c1 stkdns0 10.77.1.2 10.77.1.1
container c2 stkdns0 10.77.1.3 10.77.1.1
container c3 stkdns1 10.77.2.2 10.77.2.1

# WEB2 and WEB3 let the test recreate and scale web.
write_records() {
        cat >"$records.new" <<EOF
{"version": 1, "networks": [
 {"name": "demo_front", "gateways": ["10.77.1.1"], "subnets": ["10.77.1.0/24"], "entries": [
  {"id": "demo-web-1", "names": ["demo-web-1", "web", "www", "webhost"], "addresses": ["10.77.1.2"]},
  {"id": "demo-web-2", "names": ["demo-web-2", "web", "www"], "addresses": ["$1"]}
  $2,
  {"id": "mycache", "names": ["mycache", "cache"], "addresses": ["10.77.1.4"]}]},
 {"name": "demo_back", "gateways": ["10.77.2.1"], "subnets": ["10.77.2.0/24"], "entries": [
  {"id": "demo-db-1", "names": ["demo-db-1", "db", "database"], "addresses": ["10.77.2.2"]}]}]}
EOF
        mv "$records.new" "$records"
}
write_records 10.77.1.3 ""

# No upstream at all here: forwarding is t0401's business.
: >"$T/resolv.conf"
"$tool" serve --records "$records" --resolv-conf "$T/resolv.conf" --upstream-timeout-ms 300 \
        --ready "$T/ready" 2>"$T/server.log" &
server_pid=$!
ok "responder started" wait_until 50 test -e "$T/ready"
ok "responder listens on both gateways (udp and tcp)" \
        bash -c "ss -lnu | grep -q 10.77.1.1:53 && ss -lnt | grep -q 10.77.2.1:53"

DIG_TIMING="+time=2 +tries=1"
ptr() { # NETNS SERVER ADDRESS: the name the address maps back to
        ip netns exec "$1" dig +short +time=2 +tries=1 "@$2" -x "$3"
}

is "$(dns_answer c1 10.77.1.1 web)" "10.77.1.2 10.77.1.3 " "service name gives both replicas"
is "$(dns_answer c2 10.77.1.1 www)" "10.77.1.2 10.77.1.3 " "alias gives both replicas"
is "$(dns_answer c1 10.77.1.1 demo-web-2)" "10.77.1.3 " "container name gives that container"
is "$(dns_answer c1 10.77.1.1 mycache)" "10.77.1.4 " "container_name resolves"
is "$(dns_answer c1 10.77.1.1 webhost)" "10.77.1.2 " "hostname resolves"
is "$(dns_answer c1 10.77.1.1 WeB.)" "10.77.1.2 10.77.1.3 " "case-insensitive, trailing dot"
is "$(dns_answer c1 10.77.1.1 web +tcp)" "10.77.1.2 10.77.1.3 " "over TCP too"
is "$(dns_answer c1 10.77.1.1 web.demo_front)" "10.77.1.2 10.77.1.3 " "<service>.<network> as docker answers it"
is "$(ptr c1 10.77.1.1 10.77.1.3)" "demo-web-2." "PTR of a container address"
is "$(dns_status c1 10.77.1.1 web)" NOERROR "status NOERROR"
out=$(ip netns exec c2 busybox nslookup web 10.77.1.1 2>&1)
like "$out" "10.77.1.2" "busybox nslookup (a plain stub client) resolves the service"
like "$out" "10.77.1.3" "... with both replicas"

is "$(dns_status c1 10.77.1.1 db)" NXDOMAIN "a service of the other network does not resolve"
is "$(dns_status c1 10.77.1.1 database)" NXDOMAIN "nor its alias"
is "$(dns_status c1 10.77.1.1 demo-db-1)" NXDOMAIN "nor its container name"
is "$(dns_status c1 10.77.1.1 db.demo_back)" NXDOMAIN "nor <service>.<its network>"
is "$(dns_status c1 10.77.1.1 2.2.77.10.in-addr.arpa -t PTR)" NXDOMAIN "nor its address backwards"
is "$(dns_status c1 10.77.2.1 db)" NXDOMAIN "asking the other network's gateway does not help"
is "$(dns_answer c3 10.77.2.1 db)" "10.77.2.2 " "on its own network it resolves"
is "$(dns_answer c3 10.77.2.1 database)" "10.77.2.2 " "alias on its own network"
is "$(dns_status c3 10.77.2.1 web)" NXDOMAIN "and the first network's names do not resolve there"

# Recreate web-2 with a new address and scale web to three: rewrite the file, signal the responder.
write_records 10.77.1.5 ', {"id": "demo-web-3", "names": ["demo-web-3", "web", "www"], "addresses": ["10.77.1.6"]}'
kill -HUP "$server_pid"
ok "reload seen" wait_until 30 bash -c "[ \"\$(ip netns exec c1 dig +short +time=1 +tries=1 @10.77.1.1 demo-web-2)\" = 10.77.1.5 ]"
is "$(dns_answer c1 10.77.1.1 web)" "10.77.1.2 10.77.1.5 10.77.1.6 " "after recreate and scale: the new set of replicas"
is "$(dns_answer c2 10.77.1.1 demo-web-3)" "10.77.1.6 " "the new replica by container name"
is "$(ptr c1 10.77.1.1 10.77.1.3)" "" "the old address no longer maps back"
is "$(ptr c1 10.77.1.1 10.77.1.5)" "demo-web-2." "the new one does"

# Scale down to one replica.
write_records 10.77.1.5 ""
sed -i '/"demo-web-2"/d; s/"addresses": \["10.77.1.2"\]},/"addresses": ["10.77.1.2"]}/' "$records"
kill -HUP "$server_pid"
ok "scale down seen" wait_until 30 bash -c "[ \"\$(ip netns exec c1 dig +short +time=1 +tries=1 @10.77.1.1 web)\" = 10.77.1.2 ]"
# Not ours any more, so it is forwarded, and there is no upstream here: SERVFAIL, no address.
is "$(dns_answer c1 10.77.1.1 demo-web-2)" "" "a removed container's name no longer resolves"
is "$(dns_status c1 10.77.1.1 demo-web-2)" SERVFAIL "... it is forwarded like any unknown name (no upstream here)"

# A broken file is refused and the last good table stays.
echo '{"version": 1, "networks": [' >"$records"
kill -HUP "$server_pid"
ok "the broken file is reported" wait_until 30 grep -q "reload:" "$T/server.log"
is "$(dns_answer c1 10.77.1.1 web)" "10.77.1.2 " "the last good table still answers"
ok "responder still running" kill -0 "$server_pid"

kill "$server_pid"
wait "$server_pid"
is "$?" 0 "responder exits cleanly on SIGTERM"
server_pid=
cleanup
assert_no_residue demo
done_testing
