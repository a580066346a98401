#!/bin/bash
# The automatic choice of backend: on a host whose iptables is the nf_tables variant and whose legacy
# tables are empty, stack's rules go to nftables; once the legacy tables hold another tool's rule they go
# there instead; a bad backend name is an error that names the choices and changes nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"
. "$STACK_SRCDIR/tests/integration/t0369-fw-nft-lib.inc"

case $(readlink -f "$(command -v iptables)") in
*nft*) ;;
*) skip_all "this host's iptables is not the nf_tables variant" ;;
esac
unset STACK_FIREWALL_BACKEND

fw_host_setup
fw_bridge stkA 10.88.1.1/24
net=(--net "front,stkA,10.88.1.0/24,10.88.1.1" --port "front,8080,10.88.1.2:80")

ok "apply with the backend left to the host" "$FW" apply p1 "${net[@]}"
ok "the rules are in nftables" nft list table inet stack
is "$(fw_ours)" "" "and not in the legacy tables"
ok "remove" "$FW" remove p1
is "$(nft_ours)" "" "nothing is left in nftables"

# Another tool's rule in the legacy tables: stack follows it there (one host, one place for its rules).
iptables-legacy -A INPUT -s 192.0.2.1/32 -j DROP
ok "apply with legacy rules in use" "$FW" apply p1 "${net[@]}"
like "$(fw_ours)" "-A FORWARD -j STACK-FORWARD" "the rules are in the legacy tables"
is "$(nft_ours)" "" "and not in nftables"
ok "remove" "$FW" remove p1
is "$(fw_ours)" "" "nothing is left in the legacy tables"
iptables-legacy -D INPUT -s 192.0.2.1/32 -j DROP

out=$(STACK_FIREWALL_BACKEND=pf "$FW" apply p1 "${net[@]}" 2>&1)
is "$?" 1 "an unknown backend in STACK_FIREWALL_BACKEND fails"
like "$out" "unknown backend 'pf' (choose one of: iptables, nftables, auto)" "naming the choices"
is "$(nft_ours)$(fw_ours)" "" "and changes nothing"
out=$("$STACK_BIN" --firewall-backend pf ps 2>&1)
is "$?" 2 "stack --firewall-backend with an unknown name fails"
like "$out" 'unknown backend "pf"' "with a message"

fw_cleanup
assert_no_residue p1
done_testing
