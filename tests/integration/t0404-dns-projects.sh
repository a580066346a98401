#!/bin/bash
# Service discovery, two projects side by side: each project's responder answers its own containers with
# its own "web", refuses the other project's containers (no names, no forwarding), and stopping one
# leaves the other answering.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v dig >/dev/null || skip_all "dig not installed (Debian package dnsutils)"
tool=$STACK_BUILDDIR/tests/integration/dns-tool
[ -x "$tool" ] || skip_all "dns-tool not built"

T=$STACK_TEST_TMP
pid_a=
pid_b=
cleanup() {
        [ -n "$pid_a" ] && kill "$pid_a" 2>/dev/null && wait "$pid_a" 2>/dev/null
        [ -n "$pid_b" ] && kill "$pid_b" 2>/dev/null && wait "$pid_b" 2>/dev/null
        # The host ends first: a deleted netns takes its peers along only asynchronously.
        ip link del vca 2>/dev/null
        ip link del vcb 2>/dev/null
        ip netns del ca 2>/dev/null
        ip netns del cb 2>/dev/null
        ip link del stkdnsa 2>/dev/null
        ip link del stkdnsb 2>/dev/null
}
trap cleanup EXIT

# Projects dnsa (10.81.0.0/24) and dnsb (10.82.0.0/24); one container each, both running "web".
for p in a b; do
        n=$([ "$p" = a ] && echo 81 || echo 82)
        ip link add "stkdns$p" type bridge
        ip addr add "10.$n.0.1/24" dev "stkdns$p"
        ip link set "stkdns$p" up
        ip netns add "c$p"
        ip link add "vc$p" type veth peer name eth0 netns "c$p"
        ip link set "vc$p" master "stkdns$p" up
        ip -n "c$p" link set lo up
        ip -n "c$p" addr add "10.$n.0.2/24" dev eth0
        ip -n "c$p" link set eth0 up
        ip -n "c$p" route add default via "10.$n.0.1"
        cat >"$T/$p.json" <<EOF
{"version": 1, "networks": [{"name": "dns${p}_default", "gateways": ["10.$n.0.1"], "subnets": ["10.$n.0.0/24"],
 "entries": [{"id": "dns$p-web-1", "names": ["dns$p-web-1", "web"], "addresses": ["10.$n.0.2"]}]}]}
EOF
done
# Both would forward to an upstream that answers everything, if they forwarded for strangers.
echo "nameserver 127.0.0.53" >"$T/resolv.conf"
"$tool" upstream --listen 127.0.0.53 example.test=192.0.2.10 >/dev/null &
up_pid=$!
"$tool" serve --records "$T/a.json" --resolv-conf "$T/resolv.conf" --ready "$T/a.ready" 2>"$T/a.log" &
pid_a=$!
"$tool" serve --records "$T/b.json" --resolv-conf "$T/resolv.conf" --ready "$T/b.ready" 2>"$T/b.log" &
pid_b=$!
ok "both responders started" wait_until 50 test -e "$T/a.ready" -a -e "$T/b.ready"

DIG_TIMING="+time=2 +tries=1"

is "$(dns_answer ca 10.81.0.1 web)" "10.81.0.2 " "project a's container gets a's web"
is "$(dns_answer cb 10.82.0.1 web)" "10.82.0.2 " "project b's container gets b's web"
is "$(dns_status ca 10.82.0.1 web)" REFUSED "a's container asking b's gateway is refused"
is "$(dns_status ca 10.82.0.1 example.test)" REFUSED "... for other names too: no forwarding for strangers"
is "$(dns_status cb 10.81.0.1 dnsb-web-1)" REFUSED "and the other way round"
is "$(dns_answer ca 10.81.0.1 example.test)" "192.0.2.10 " "a's own container is forwarded for"

kill "$pid_a"
wait "$pid_a"
is "$?" 0 "project a's responder stops cleanly"
pid_a=
is "$(dns_answer cb 10.82.0.1 web)" "10.82.0.2 " "project b still answers"
ok "a's gateway no longer listens" bash -c "! ss -lnu | grep -q '10.81.0.1:53 '"

kill "$up_pid"
wait "$up_pid" 2>/dev/null
cleanup
pid_b=
assert_no_residue dnsb
done_testing
