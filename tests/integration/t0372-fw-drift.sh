#!/bin/bash
# Firewall drift, on both backends with one setup: rules flushed or deleted behind stack's back (the whole
# ruleset, one table, only the hook jumps, the accepts stack put into another tool's drop-policy chain)
# leave the published port dead until the next `up`, which plans "repair firewall" with a count, puts
# everything back (the port answers, the loopback guard is there again) and is a no-op afterwards; `down`
# after a drift still removes everything of stack's.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

command -v crun >/dev/null || skip_all "crun not installed"
command -v iptables-nft >/dev/null || skip_all "iptables-nft not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

fw_host_setup
fw_serve_tcp client 7000
fw_wait_listen client 7000
proj=$STACK_TEST_TMP/drift
mkdir -p "$proj" && cd "$proj" || exit 1
cat >compose.yaml <<'YAML'
name: drift
services:
  web:
    image: stack-example/httpd
    ports:
      - "18080:80"
  worker:
    image: stack-example/worker
YAML
trap 'stack down -t 0 >/dev/null 2>&1; fw_cleanup' EXIT
http_get() {
        printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$1" socat -T5 - "TCP:$2:$3,connect-timeout=5" 2>/dev/null
}
page() { http_get client "$HOST_IP" 18080; }
worker_out() {
        nsenter --net="$STACK_RUN_ROOT/netns/drift/drift-worker-1" socat -T5 - "TCP:$CLIENT_IP:7000,connect-timeout=5" </dev/null 2>/dev/null
}

# repaired WHAT: the next up plans the repair, makes it, and the port and the way out work again
repaired() {
        local what=$1 plan
        is "$(page)" "" "$STACK_FIREWALL_BACKEND: after $what the published port is dead"
        plan=$(stack up -d --dry-run 2>&1)
        like "$plan" "repair firewall:" "$STACK_FIREWALL_BACKEND: up --dry-run plans the repair"
        like "$plan" "of project drift missing or changed" "with the count of rules"
        ok "$STACK_FIREWALL_BACKEND: up" stack up -d
        like "$(page)" "<!doctype html>" "$STACK_FIREWALL_BACKEND: after $what, up brings the published port back"
        is "$(worker_out)" "client 7000 $HOST_IP" "and the way out"
        is "$(stack up -d --dry-run 2>&1)" "" "$STACK_FIREWALL_BACKEND: then up has nothing left to do"
}

for backend in iptables nftables; do
        export STACK_FIREWALL_BACKEND=$backend
        # Docker's or ufw's drop policy in nftables, on the nftables pass: stack's accepts go there.
        [ $backend = iptables ] || iptables-nft -P FORWARD DROP
        ok "$backend: up" stack up -d --wait --wait-timeout 120
        like "$(page)" "<!doctype html>" "$backend: the published port answers another host"
        is "$(stack up -d --dry-run 2>&1)" "" "$backend: a second up plans nothing"

        if [ $backend = iptables ]; then
                for t in raw filter nat; do iptables-legacy -t $t -F; done
                repaired "iptables -F of raw, filter and nat"
                like "$(iptables-legacy -t raw -S PREROUTING)" "-j STACK-PRE" "the loopback guard's jump is back"
                like "$(fw_ours)" "-d 127.0.0.0/8 -i stk" "and its rule"
                iptables-legacy -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j STACK-DNAT
                iptables-legacy -D FORWARD -j STACK-FORWARD
                repaired "deleting the hook jumps only"
        else
                nft delete table inet stack
                repaired "deleting table inet stack"
                ok "the loopback guard is back" sh -c "nft list table inet stack | grep -q 'iifname \"stk[^\"]*\" ip daddr 127.0.0.0/8 drop'"
                nft flush ruleset
                iptables-nft -P FORWARD DROP
                repaired "nft flush ruleset and a new drop policy in ip filter"
                like "$(nft list chain ip filter FORWARD 2>/dev/null)" 'comment "stack:drift:' \
                        "stack's accepts are back in the drop-policy chain"
                handle=$(nft -a list chain ip filter FORWARD 2>/dev/null | sed -n 's/.*comment "stack:drift:.*# handle \([0-9]*\)$/\1/p' | head -n 1)
                nft delete rule ip filter FORWARD handle "$handle"
                repaired "deleting one accept from another table's chain"
                chain=$(nft_chain drift dnat)
                nft flush chain inet stack "$chain"
                repaired "flushing the DNAT base chain"
        fi

        # A drift right before down: down still removes all of stack's rules.
        if [ $backend = iptables ]; then
                iptables-legacy -t nat -F
        else
                nft flush chain inet stack "$(nft_chain drift forward)"
        fi
        ok "$backend: down after another drift" stack down -t 0
        is "$(fw_ours)" "" "$backend: nothing of stack's in the legacy tables"
        is "$(nft_ours)" "" "$backend: nothing of stack's in nftables"
        iptables-nft -P FORWARD ACCEPT 2>/dev/null
done

cd "$STACK_TEST_TMP" || exit 1
trap - EXIT
fw_cleanup
nft flush ruleset
assert_no_residue drift
done_testing
