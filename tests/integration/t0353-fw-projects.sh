#!/bin/bash
# Two projects side by side, and other tools' rules: each project's rules are replaced and removed
# precisely; a port already taken (by another project's DNAT or by a host process) is refused before
# anything changes; teardown of the last project removes our chains and hook jumps, nothing else.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"

fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_bridge stkB 10.88.2.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_container b1 stkB 10.88.2.2/24 10.88.2.1
fw_serve_tcp a1 80
fw_serve_tcp b1 80
fw_serve_udp b1 53
fw_wait_listen b1 80
fw_wait_listen b1 53

# Another tool's rules, in built-in chains and in a chain of its own.
iptables-legacy -A FORWARD -s 203.0.113.0/24 -j DROP
iptables-legacy -N OTHER-TOOL
iptables-legacy -A OTHER-TOOL -p tcp --dport 9 -j REJECT
iptables-legacy -I INPUT -j OTHER-TOOL
iptables-legacy -t nat -A POSTROUTING -s 203.0.113.0/24 -j MASQUERADE
iptables-legacy -t raw -A PREROUTING -s 198.51.100.7 -j DROP
others() {
        fw_all_rules | grep -v -e STACK -e '^\*' -e '^COMMIT'
}
before_others=$(others)

net1=front,stkA,10.88.1.0/24,10.88.1.1
net2=web,stkB,10.88.2.0/24,10.88.2.1
ok "p1 applies" "$FW" apply p1 --net $net1 --port front,8080,10.88.1.2:80
ok "p2 applies" "$FW" apply p2 --net $net2 --port web,8081,10.88.2.2:80 --port web,5353,10.88.2.2:53/udp
is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "p1's port works"
is "$(fw_tcp client $HOST_IP 8081)" "b1 80 $CLIENT_IP" "p2's port works"
is "$(fw_udp client $HOST_IP 5353)" "b1 53 $CLIENT_IP" "p2's udp port works"
is "$(fw_tcp a1 10.88.2.2 80)" "" "p1's containers cannot reach p2's directly"
is "$(fw_tcp b1 10.88.1.2 80)" "" "nor the other way round"
is "$(fw_tcp b1 $HOST_IP 8080)" "a1 80 10.88.1.1" "but through p1's published port"
is "$(iptables-legacy -S FORWARD | grep -c STACK)" 1 "two projects, still one jump from FORWARD"
is "$(iptables-legacy -t nat -S PREROUTING | grep -c STACK)" 1 "one jump from nat PREROUTING"
is "$(iptables-legacy -t nat -S OUTPUT | grep -c STACK)" 1 "one jump from nat OUTPUT"

# Clashes: refused, and the firewall is byte for byte what it was.
state=$(fw_all_rules)
out=$("$FW" apply p2 --net $net2 --port web,8081,10.88.2.2:80 --port web,8080,10.88.2.2:80 2>&1)
is "$?" 1 "p2 cannot take p1's port 8080"
like "$out" "port 0.0.0.0:8080/tcp is already published by project 'p1' (network 'front')" "the error names port and owner"
is "$(fw_all_rules)" "$state" "nothing changed"

fw_serve_tcp_host 9999
fw_wait_listen - 9999
server_pid=${_fw_pids##* }
out=$("$FW" apply p2 --net $net2 --port web,8081,10.88.2.2:80 --port web,9999,10.88.2.2:80 2>&1)
is "$?" 1 "a port a host process listens on is refused"
like "$out" "port 0.0.0.0:9999/tcp is already in use by process socat (pid $server_pid)" "the error names the process"
is "$(fw_all_rules)" "$state" "nothing changed"

out=$("$FW" apply p2 --net $net2 --port web,$HOST_IP:8080,10.88.2.2:80 2>&1)
is "$?" 1 "one address of a port published on all addresses is taken too"
is "$(fw_all_rules)" "$state" "nothing changed"

# A clash that slipped past the check (another command published the port in between): the backend
# checks again under the xtables lock, before its first change.
out=$("$FW" apply p2 --no-port-check --net $net2 --port web,8081,10.88.2.2:80 --port web,8080,10.88.2.2:80 2>&1)
is "$?" 1 "the backend refuses a clash on its own"
like "$out" "project 'p2': port 0.0.0.0:8080/tcp is already published by project 'p1'" "and names it"
is "$(fw_all_rules)" "$state" "nothing changed"

# The xtables lock is honoured: while another holder (as `iptables -w` would) has it, we wait.
flock /run/xtables.lock sleep 1.5 &
holder=$!
wait_until 20 sh -c '! flock -n /run/xtables.lock true'
t0=$(date +%s%N)
ok "apply while the xtables lock is held by another process" "$FW" apply p1 --net $net1 --port front,8080,10.88.1.2:80
t1=$(date +%s%N)
wait "$holder"
ok "it waited for the lock ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -ge 1000

# Re-applying the same project changes nothing, not even the counters: no commit at all.
out=$("$FW" apply p1 --net $net1 --port front,8080,10.88.1.2:80)
like "$out" "commits 0" "re-apply without changes: no commit"
is "$(fw_all_rules)" "$state" "and the same rules"
# A changed host port rewrites the tables it appears in (raw: loopback guard, nat: DNAT), not filter,
# whose accept is on the container port.
out=$("$FW" apply p1 --net $net1 --port front,8090,10.88.1.2:80)
like "$out" "commits 2" "a changed host port: raw and nat committed, filter untouched"
is "$(fw_tcp client $HOST_IP 8090)" "a1 80 $CLIENT_IP" "the new port works"
is "$(fw_tcp client $HOST_IP 8080)" "" "the old one is closed"
out=$("$FW" apply p1 --net $net1 --port front,8080,10.88.1.2:80)
is "$(fw_all_rules)" "$state" "changing it back gives the very same rule set"

# Removing p1 leaves p2 exactly as it was.
p2_before=$(fw_ours | grep 'stack:p2' | sort)
ok "remove p1" "$FW" remove p1
is "$(fw_ours | grep -c 'stack:p1')" 0 "p1's rules are gone"
is "$(fw_ours | grep 'stack:p2' | sort)" "$p2_before" "p2's rules are untouched"
is "$(fw_tcp client $HOST_IP 8080)" "" "p1's port is closed"
is "$(fw_tcp client $HOST_IP 8081)" "b1 80 $CLIENT_IP" "p2's port still works"
is "$("$FW" list)" "p2 web 0.0.0.0:8081/tcp -> 10.88.2.2:80
p2 web 0.0.0.0:5353/udp -> 10.88.2.2:53" "only p2's ports are listed"
ok "now p1's old port can be taken by p2" "$FW" apply p2 --net $net2 --port web,8081,10.88.2.2:80 --port web,8080,10.88.2.2:80
is "$(fw_tcp client $HOST_IP 8080)" "b1 80 $CLIENT_IP" "8080 now leads to p2"

ok "remove p2" "$FW" remove p2
is "$(fw_ours)" "" "after the last project iptables-legacy-save shows nothing of ours"
is "$(others)" "$before_others" "the other tool's rules survived every commit"
fw_cleanup
iptables-legacy -D INPUT -j OTHER-TOOL
iptables-legacy -F OTHER-TOOL
iptables-legacy -X OTHER-TOOL
assert_no_residue p1
assert_no_residue p2
done_testing
