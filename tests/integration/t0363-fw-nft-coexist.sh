#!/bin/bash
# Beside Docker on iptables-nft and a ufw-like firewall. Docker leaves an `ip filter` table whose FORWARD
# chain drops by policy (with DOCKER-USER first); ufw an `inet filter` whose input and forward chains
# drop. A drop in any base chain wins over stack's accepts, so stack adds narrow accepts for its bridges
# there: the published port answers another host, a container reaches another host and the DNS port on
# its gateway, and Docker's `iptables` still reads its table. Removing them is the control that they are
# what lets the traffic through; after remove nothing of stack is left and both foreign tables are as
# they were.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"
command -v iptables-nft >/dev/null || skip_all "iptables-nft not installed"

fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_serve_tcp a1 80
fw_serve_tcp client 7000
fw_serve_tcp_host 53 10.88.1.1
fw_wait_listen a1 80
fw_wait_listen client 7000
fw_wait_listen - 53

# What Docker on iptables-nft leaves, written by iptables-nft itself.
iptables-nft -P FORWARD DROP
iptables-nft -N DOCKER-USER
iptables-nft -A DOCKER-USER -j RETURN
iptables-nft -A FORWARD -j DOCKER-USER
iptables-nft -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
# A ufw-like ruleset: input and forward drop, loopback and replies allowed in.
nft -f - <<'NFT'
table inet filter {
        chain input {
                type filter hook input priority filter; policy drop;
                iifname "lo" accept
                ct state established,related accept
        }
        chain forward {
                type filter hook forward priority filter; policy drop;
        }
        chain output {
                type filter hook output priority filter; policy accept;
        }
}
NFT
foreign_before=$(nft_foreign)
docker_before=$(iptables-nft -S)

spec=(--net "front,stkA,10.88.1.0/24,10.88.1.1" --port "front,8080,10.88.1.2:80")
out=$(fwn apply p1 "${spec[@]}" 2>&1)
is "$?" 0 "apply beside Docker's and ufw's tables"
like "$out" "commits 1" "one transaction, the accepts in other tables included"

is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "the published port answers another host"
is "$(fw_tcp a1 $CLIENT_IP 7000)" "client 7000 $HOST_IP" "a container reaches another host"
is "$(fw_tcp a1 10.88.1.1 53)" "host 53 10.88.1.2" "a container reaches the DNS port on its gateway"
is "$(fw_tcp - 127.0.0.1 8080)" "a1 80 10.88.1.1" "the host reaches the port on 127.0.0.1"

fwd=$(iptables-nft -S FORWARD 2>&1)
is "$?" 0 "iptables-nft still reads Docker's FORWARD chain"
like "$fwd" '-A FORWARD -o stkA -m comment --comment "stack:p1:front" -j ACCEPT' "with stack's accept into the bridge"
like "$fwd" '-A FORWARD -i stkA -m comment --comment "stack:p1:front" -j ACCEPT' "and out of it"
ok "Docker can still check its own rules" iptables-nft -C FORWARD -j DOCKER-USER
like "$(nft list chain inet filter input)" 'iifname "stkA" udp dport 53 accept comment "stack:p1:front"' \
        "ufw's input chain lets DNS to the gateway through"

out=$(fwn apply p1 "${spec[@]}" 2>&1)
like "$out" "commits 0" "re-apply: the accepts are found in place, no transaction"

# The control: without the accepts, Docker's and ufw's drop policies stop stack's traffic.
for h in $(nft -a list chain ip filter FORWARD | sed -n 's/.*comment "stack:p1:[^"]*" # handle \([0-9]*\)$/\1/p'); do
        nft delete rule ip filter FORWARD handle "$h"
done
is "$(fw_tcp client $HOST_IP 8080)" "" "control: without the accept Docker's FORWARD policy drops the port"
is "$(fw_tcp a1 $CLIENT_IP 7000)" "" "control: and the way out"
out=$(fwn apply p1 "${spec[@]}" 2>&1)
like "$out" "commits 1" "re-apply puts the accepts back"
is "$(fw_tcp client $HOST_IP 8080)" "a1 80 $CLIENT_IP" "the port answers again"

ok "remove" fwn remove p1
is "$(nft_ours)" "" "nothing of stack is left: no table, no accept elsewhere"
is "$(nft_foreign)" "$foreign_before" "Docker's and ufw's tables are exactly as they were"
is "$(iptables-nft -S)" "$docker_before" "and iptables-nft shows what Docker wrote"

nft delete table inet filter
iptables-nft -F
iptables-nft -X
iptables-nft -P FORWARD ACCEPT
nft delete table ip filter
fw_cleanup
assert_no_residue p1
done_testing
