#!/bin/bash
# Service discovery, the edges: malformed packets get FORMERR/NOTIMP or nothing and never stop the
# responder; a large replica set is truncated (TC) over plain UDP and comes whole over TCP or with EDNS;
# an IPv6 gateway answers AAAA; several queries on one TCP connection.
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
        ip link del vc1 2>/dev/null
        ip netns del c1 2>/dev/null
        ip link del stkdns0 2>/dev/null
}
trap cleanup EXIT

ip link add stkdns0 type bridge
ip addr add 10.79.0.1/16 dev stkdns0
ip -6 addr add fd79::1/64 dev stkdns0 nodad
ip link set stkdns0 up
ip netns add c1
ip link add vc1 type veth peer name eth0 netns c1
ip link set vc1 master stkdns0 up
ip -n c1 link set lo up
ip -n c1 addr add 10.79.0.2/16 dev eth0
ip -n c1 -6 addr add fd79::2/64 dev eth0 nodad
ip -n c1 link set eth0 up
ip -n c1 route add default via 10.79.0.1

# "app" has 60 replicas: about 1 kB of A records, more than 512 bytes.
{
        echo '{"version": 1, "networks": [{"name": "rob_default", "gateways": ["10.79.0.1", "fd79::1"],'
        echo ' "subnets": ["10.79.0.0/16", "fd79::/64"], "entries": ['
        echo '  {"id": "rob-web-1", "names": ["rob-web-1", "web"], "addresses": ["10.79.0.2", "fd79::2"]}'
        for i in $(seq 1 60); do
                echo "  ,{\"id\": \"rob-app-$i\", \"names\": [\"rob-app-$i\", \"app\"], \"addresses\": [\"10.79.1.$i\"]}"
        done
        echo ']}]}'
} >"$records"
: >"$T/resolv.conf"
"$tool" serve --records "$records" --resolv-conf "$T/resolv.conf" --ready "$T/ready" 2>"$T/server.log" &
server_pid=$!
ok "responder started" wait_until 50 test -e "$T/ready"

dig1() {
        ip netns exec c1 dig +time=2 +tries=1 "$@"
}

# Malformed input, sent raw from a container.
raw() {
        ip netns exec c1 "$tool" raw 10.79.0.1 53 "$1"
}
# header: id 0x1234, RD, qdcount 1, and then no question at all
is "$(raw 123401000001000000000000)" "rcode=1 id=4660 flags=0x8181 len=12 an=0" "missing question: FORMERR, id kept"
# question name is a pointer to itself (offset 12)
is "$(raw 12340100000100000000000cc00c00010001 | cut -d' ' -f1)" "rcode=1" "compression loop: FORMERR"
# a label running past the end
is "$(raw 1234010000010000000000000877656200010001 | cut -d' ' -f1)" "rcode=1" "truncated label: FORMERR"
# an OPT record cut short
is "$(raw 12340100000100000000000103776562000001000100002910 | cut -d' ' -f1)" "rcode=1" \
        "truncated EDNS OPT: FORMERR"
is "$(raw 1234010000 | cut -d' ' -f1)" "no" "five bytes: no reply"
is "$(raw 1234818000010000000000000377656200000100 | cut -d' ' -f1)" "no" "a response is never answered"
is "$(raw 123411000001000000000000037765620000010001 | cut -d' ' -f1)" "rcode=4" "opcode STATUS: NOTIMP"
# a query with an OPT of version 1: BADVERS lives in the OPT, the header rcode stays 0
is "$(raw 1234010000010000000000010377656200000100010000291000000100000000 | cut -d' ' -f1)" "rcode=0" \
        "EDNS version 1 answered (BADVERS in OPT)"
ok "responder still running after all that" kill -0 "$server_pid"
is "$(dig1 +short @10.79.0.1 web)" "10.79.0.2" "and still answering"

# Truncation and TCP.
out=$(dig1 +ignore +noedns @10.79.0.1 app)
like "$out" "flags: qr aa tc" "60 replicas over UDP without EDNS: TC set"
like "$out" "ANSWER: 0" "... and no partial answer"
is "$(dig1 +noedns +short @10.79.0.1 app | wc -l)" 60 "dig retries over TCP and gets all 60"
is "$(dig1 +bufsize=1232 +short @10.79.0.1 app | wc -l)" 60 "with EDNS they fit in one datagram"
out=$(dig1 +bufsize=1232 @10.79.0.1 app)
like "$out" "OPT PSEUDOSECTION" "the reply carries an OPT record"
out=$(ip netns exec c1 "$tool" raw --tcp 10.79.0.1 53 123401000001000000000000037765620000010001)
is "${out%% len=*}" "rcode=0 id=4660 flags=0x8580" "a TCP client that shuts its sending side still gets its answer"
like "$out" "an=1" "... with the record"
is "$(dig1 +tcp +keepopen +short @10.79.0.1 web rob-app-7 rob-app-9 | tr '\n' ' ')" \
        "10.79.0.2 10.79.1.7 10.79.1.9 " "three queries on one TCP connection"

# IPv6.
is "$(dig1 +short @fd79::1 web AAAA)" "fd79::2" "AAAA over the IPv6 gateway"
is "$(dig1 +short @fd79::1 web A)" "10.79.0.2" "A over the IPv6 gateway"
is "$(dig1 +short @fd79::1 -x fd79::2)" "rob-web-1." "PTR of an IPv6 address"
is "$(dig1 +short +tcp @fd79::1 web AAAA)" "fd79::2" "TCP over IPv6"

kill "$server_pid"
wait "$server_pid"
is "$?" 0 "responder exits cleanly"
server_pid=
cleanup
assert_no_residue rob
done_testing
