#!/bin/bash
# Isolation with the FORWARD policy left at ACCEPT (so our rules alone must do it): containers on
# different networks reach each other only through published ports, unpublished ports are closed from
# outside the bridge, and an internal network has no way out at all. On each backend (libiptc and
# nftables), one after the other on the same topology.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0399-fw-lib.inc"

fw_host_setup
fw_bridge stkA 10.88.1.1/24
fw_bridge stkB 10.88.2.1/24
fw_bridge stkC 10.88.3.1/24
fw_container a1 stkA 10.88.1.2/24 10.88.1.1
fw_container b1 stkB 10.88.2.2/24 10.88.2.1
fw_container c1 stkC 10.88.3.2/24 10.88.3.1
fw_container c2 stkC 10.88.3.3/24 10.88.3.1
ip -n client route add 10.88.0.0/16 via $HOST_IP
for ns in a1 b1 c1 c2; do fw_serve_tcp $ns 80; done
fw_serve_tcp client 7000
fw_serve_tcp_host 5353 10.88.3.1
fw_serve_tcp_host 5354 $HOST_IP
fw_wait_listen c2 80
fw_wait_listen client 7000
fw_wait_listen - 5354

for STACK_FIREWALL_BACKEND in $(fw_backends); do
        export STACK_FIREWALL_BACKEND
        # Without our rules everything is routed everywhere: the baseline the rules must change.
        is "$(fw_tcp a1 10.88.2.2 80)" "b1 80 10.88.1.2" "$STACK_FIREWALL_BACKEND: baseline: without rules a1 reaches b1 directly"
        is "$(fw_tcp c1 $CLIENT_IP 7000)" "client 7000 10.88.3.2" "$STACK_FIREWALL_BACKEND: baseline: without rules c1 reaches another host"

        out=$("$FW" apply p1 \
                --net front,stkA,10.88.1.0/24,10.88.1.1 \
                --net back,stkB,10.88.2.0/24,10.88.2.1 \
                --net secret,stkC,10.88.3.0/24,10.88.3.1,internal \
                --port front,8080,10.88.1.2:80 \
                --port back,8081,10.88.2.2:80 2>&1)
        is "$?" 0 "$STACK_FIREWALL_BACKEND: apply with three networks, one internal"
        like "$out" "commits $(fw_full_commits)" "$STACK_FIREWALL_BACKEND: still one commit per table (one transaction in nftables)"

        is "$(fw_tcp a1 10.88.2.2 80)" "" "$STACK_FIREWALL_BACKEND: front cannot reach back directly"
        is "$(fw_tcp b1 10.88.1.2 80)" "" "$STACK_FIREWALL_BACKEND: back cannot reach front directly"
        is "$(fw_tcp b1 $HOST_IP 8080)" "a1 80 10.88.1.1" "$STACK_FIREWALL_BACKEND: back reaches front through its published port"
        is "$(fw_tcp a1 $HOST_IP 8081)" "b1 80 10.88.2.1" "$STACK_FIREWALL_BACKEND: front reaches back through its published port"
        is "$(fw_tcp client 10.88.1.2 80)" "" "$STACK_FIREWALL_BACKEND: another host cannot reach a container address directly"
        is "$(fw_tcp client $HOST_IP 8081)" "b1 80 $CLIENT_IP" "$STACK_FIREWALL_BACKEND: but through the published port"
        is "$(fw_tcp a1 $CLIENT_IP 7000)" "client 7000 $HOST_IP" "$STACK_FIREWALL_BACKEND: front still reaches another host"

        is "$(fw_tcp c1 10.88.3.3 80)" "c2 80 10.88.3.2" "$STACK_FIREWALL_BACKEND: internal: containers of the network reach each other"
        is "$(fw_tcp c1 $CLIENT_IP 7000)" "" "$STACK_FIREWALL_BACKEND: internal: no way to another host"
        is "$(fw_tcp c1 10.88.1.2 80)" "" "$STACK_FIREWALL_BACKEND: internal: no way to another network"
        is "$(fw_tcp c1 $HOST_IP 8080)" "" "$STACK_FIREWALL_BACKEND: internal: not even through a published port"
        is "$(fw_tcp c1 10.88.3.1 5353)" "host 5353 10.88.3.2" "$STACK_FIREWALL_BACKEND: internal: the gateway address answers (for DNS)"
        is "$(fw_tcp c1 $HOST_IP 5354)" "" "$STACK_FIREWALL_BACKEND: internal: other host addresses do not"
        is "$(fw_tcp a1 10.88.3.2 80)" "" "$STACK_FIREWALL_BACKEND: nobody reaches into the internal network"
        is "$(fw_tcp client 10.88.3.2 80)" "" "$STACK_FIREWALL_BACKEND: not another host either"
        is "$(fw_backend_ours | grep -ci 'stkC.*MASQUERADE')" 0 "$STACK_FIREWALL_BACKEND: no MASQUERADE for the internal network"

        ok "remove" "$FW" remove p1
        is "$(fw_backend_ours)" "" "$STACK_FIREWALL_BACKEND: nothing of ours is left"
        is "$(fw_tcp a1 10.88.2.2 80)" "b1 80 10.88.1.2" "$STACK_FIREWALL_BACKEND: after teardown the host routes as before"
done
fw_cleanup
assert_no_residue p1
done_testing
