#!/bin/bash
# Service discovery, other names: the responder forwards them to the host's resolvers (here a small
# upstream of our own on a loopback address, which a container could not reach itself) and relays the
# answer; hidden project names are never forwarded; a silent upstream gives SERVFAIL; a dead one is
# skipped; a resolv.conf that names our own gateway does not loop.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v dig >/dev/null || skip_all "dig not installed (Debian package dnsutils)"
tool=$STACK_BUILDDIR/tests/integration/dns-tool
[ -x "$tool" ] || skip_all "dns-tool not built"

T=$STACK_TEST_TMP
records=$T/dns.json
server_pid=
upstream_pid=
own_pid=
cleanup() {
        [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
        [ -n "$upstream_pid" ] && kill "$upstream_pid" 2>/dev/null && wait "$upstream_pid" 2>/dev/null
        [ -n "$own_pid" ] && kill "$own_pid" 2>/dev/null && wait "$own_pid" 2>/dev/null
        # The host ends first: a deleted netns takes its peers along only asynchronously.
        for l in vc1 vc2; do ip link del "$l" 2>/dev/null; done
        ip link del vc3 2>/dev/null
        ip netns del c1 2>/dev/null
        ip netns del c2 2>/dev/null
        ip netns del c3 2>/dev/null
        ip link del stkdns0 2>/dev/null
        ip link del stkdns1 2>/dev/null
}
trap cleanup EXIT

ip link add stkdns0 type bridge
ip addr add 10.78.1.1/24 dev stkdns0
ip link set stkdns0 up
for i in 1 2; do
        ip netns add "c$i"
        ip link add "vc$i" type veth peer name eth0 netns "c$i"
        ip link set "vc$i" master stkdns0 up
        ip -n "c$i" link set lo up
        ip -n "c$i" addr add "10.78.1.$((i + 1))/24" dev eth0
        ip -n "c$i" link set eth0 up
        ip -n "c$i" route add default via 10.78.1.1
done

# c3 is alone on an internal network: no way out, so nothing is forwarded for it.
ip link add stkdns1 type bridge
ip addr add 10.78.3.1/24 dev stkdns1
ip link set stkdns1 up
ip netns add c3
ip link add vc3 type veth peer name eth0 netns c3
ip link set vc3 master stkdns1 up
ip -n c3 link set lo up
ip -n c3 addr add 10.78.3.2/24 dev eth0
ip -n c3 link set eth0 up
ip -n c3 route add default via 10.78.3.1

cat >"$records" <<EOF
{"version": 1, "networks": [
 {"name": "fwd_front", "gateways": ["10.78.1.1"], "subnets": ["10.78.1.0/24"], "entries": [
  {"id": "fwd-web-1", "names": ["fwd-web-1", "web"], "addresses": ["10.78.1.2"]},
  {"id": "fwd-own-1", "names": ["fwd-own-1", "own"], "addresses": ["10.78.1.3"], "dns": ["127.0.0.60"]}]},
 {"name": "fwd_back", "gateways": ["10.78.2.1"], "subnets": ["10.78.2.0/24"], "entries": [
  {"id": "fwd-db-1", "names": ["fwd-db-1", "db"], "addresses": ["10.78.2.2"]}]},
 {"name": "fwd_priv", "internal": true, "gateways": ["10.78.3.1"], "subnets": ["10.78.3.0/24"], "entries": [
  {"id": "fwd-vault-1", "names": ["fwd-vault-1", "vault"], "addresses": ["10.78.3.2"]}]}]}
EOF

# The upstream knows "db" too: if a hidden name were forwarded, it would resolve. Its log is opened
# for appending so that the test can empty it in between.
"$tool" upstream --listen 127.0.0.53 example.test=192.0.2.10 db=192.0.2.99 slow.test=drop \
        many.test=big:50 >>"$T/upstream.log" &
upstream_pid=$!
# The servers of c2's own `dns:` know example.test differently.
"$tool" upstream --listen 127.0.0.60 example.test=192.0.2.60 >/dev/null &
own_pid=$!
echo "nameserver 127.0.0.53" >"$T/resolv.conf"
"$tool" serve --records "$records" --resolv-conf "$T/resolv.conf" --upstream-timeout-ms 400 \
        --ready "$T/ready" 2>"$T/server.log" &
server_pid=$!
ok "responder started" wait_until 50 test -e "$T/ready"
ok "upstreams started" wait_until 50 bash -c "ss -lnu | grep -q 127.0.0.53:53 && ss -lnu | grep -q 127.0.0.60:53"

DIG_TIMING="+time=3 +tries=1"

not_ok "the container cannot reach the loopback upstream itself" \
        ip netns exec c1 dig +time=1 +tries=1 @127.0.0.53 example.test
is "$(dns_answer c1 10.78.1.1 example.test)" "192.0.2.10 " "another name is forwarded and the answer relayed"
like "$(cat "$T/upstream.log")" "example.test" "the upstream saw the query"
is "$(dns_answer c1 10.78.1.1 example.test +tcp)" "192.0.2.10 " "forwarded for a TCP client too"
out=$(ip netns exec c1 "$tool" raw --tcp 10.78.1.1 53 432101000001000000000000076578616d706c6504746573740000010001)
like "$out" "rcode=0 id=17185" "a TCP client that shuts its sending side still gets a forwarded answer"
like "$out" "an=1" "... with the upstream's record"
out=$(ip netns exec c1 dig +ignore +noedns +time=3 +tries=1 @10.78.1.1 many.test)
like "$out" "flags: qr aa tc" "an upstream answer cut with TC over UDP is relayed with TC"
: >"$T/upstream.log"
is "$(dns_answer c1 10.78.1.1 many.test +noedns | wc -w)" 50 "the client's TCP retry is forwarded over TCP: all 50 addresses"
like "$(cat "$T/upstream.log")" "many.test (tcp)" "the upstream was asked over TCP"
is "$(dns_status c1 10.78.1.1 nothing.test)" NXDOMAIN "the upstream's NXDOMAIN is relayed"
is "$(dns_answer c1 10.78.1.1 web)" "10.78.1.2 " "our own names are still answered locally"
: >"$T/upstream.log"
is "$(dns_status c1 10.78.1.1 db)" NXDOMAIN "a name of the project on another network: NXDOMAIN"
is "$(grep -c '^db$' "$T/upstream.log")" 0 "... and it was never forwarded"

is "$(ip netns exec c2 dig +short +time=3 +tries=1 @10.78.1.1 example.test)" 192.0.2.60 \
        "a container with its own dns: servers is forwarded there"
is "$(ip netns exec c2 dig +short +time=3 +tries=1 @10.78.1.1 web)" 10.78.1.2 "... and still sees the services"

: >"$T/upstream.log"
is "$(ip netns exec c3 dig +time=3 +tries=1 @10.78.3.1 example.test | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')" \
        REFUSED "a container only on an internal network: other names are refused"
is "$(grep -c example.test "$T/upstream.log")" 0 "... and never reach the upstream"
is "$(ip netns exec c3 dig +short +time=3 +tries=1 @10.78.3.1 vault)" 10.78.3.2 "its own names still resolve"

start=$(date +%s%N)
is "$(dns_status c1 10.78.1.1 slow.test)" SERVFAIL "a silent upstream gives SERVFAIL"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
ok "... after the upstream timeout, not the client's ($elapsed_ms ms)" test "$elapsed_ms" -lt 2500

# A dead server first: skipped (its port is closed, so no timeout is needed). The file is read anew.
printf 'nameserver 127.0.0.54\nnameserver 127.0.0.53\n' >"$T/resolv.conf"
is "$(dns_answer c1 10.78.1.1 example.test)" "192.0.2.10 " "a dead first server is skipped"
is "$(dns_answer c1 10.78.1.1 example.test +tcp)" "192.0.2.10 " "... over TCP too"
is "$(ip netns exec c1 dig +tcp +keepopen +short +time=3 +tries=1 @10.78.1.1 example.test web example.test | tr '\n' ' ')" \
        "192.0.2.10 10.78.1.2 192.0.2.10 " "pipelined on one TCP connection: forwarded and local answers in order"

# Only ourselves as upstream: must not loop.
echo "nameserver 10.78.1.1" >"$T/resolv.conf"
is "$(dns_status c1 10.78.1.1 example.test)" SERVFAIL "resolv.conf naming our own gateway: SERVFAIL, no loop"
is "$(dns_status c1 10.78.1.1 example.test +tcp)" SERVFAIL "... over TCP too (the forward fails at once)"
is "$(ip netns exec c1 dig +tcp +keepopen +short +time=3 +tries=1 @10.78.1.1 example.test web example.test web | tr '\n' ' ')" \
        "10.78.1.2 10.78.1.2 " "pipelined on one TCP connection: failed forwards and local answers in order"
ok "responder still running" kill -0 "$server_pid"

kill "$server_pid" "$upstream_pid" "$own_pid"
wait "$server_pid"
is "$?" 0 "responder exits cleanly"
wait "$upstream_pid" "$own_pid" 2>/dev/null
server_pid=
upstream_pid=
own_pid=
cleanup
assert_no_residue fwd
done_testing
