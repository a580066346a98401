#!/bin/bash
# Compose's network options: ipam subnet, ip_range, gateway; driver_opts bridge name and MTU; static
# ipv4_address, mac_address, interface_name; enable_ipv6; internal networks (no default route); a container
# on two networks; network_mode.
. "$STACK_SRCDIR/tests/integration/lib.sh"

NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || skip_all "net-tool not built"
command -v busybox >/dev/null || skip_all "busybox not installed"


opts=(-s 10.20.0.0/16 -r 10.20.5.0/24 -g 10.20.0.254 -b mybr0 -m 1400)
out=$("$NT" "${opts[@]}" setup p3 p3_custom)
like "$out" "bridge=mybr0 subnet=10.20.0.0/16 gateway=10.20.0.254" "subnet, gateway and bridge name honoured"
like "$(ip -o link show dev mybr0)" "mtu 1400" "bridge MTU from driver_opts"
like "$(ip -o -4 addr show dev mybr0)" "10.20.0.254/16" "explicit gateway on the bridge"

s=$("$NT" "${opts[@]}" -d -a 10.20.9.9 -M 02:aa:bb:cc:dd:ee -n net0 attach p3 p3_custom p3-static-1)
like "$s" "ifname=net0" "interface_name honoured"
like "$s" "addr=10.20.9.9/16" "static ipv4_address honoured"
like "$(netns_exec p3 p3-static-1 ip -o link show net0)" "02:aa:bb:cc:dd:ee" "mac_address honoured"
like "$(netns_exec p3 p3-static-1 ip -o link show net0)" "mtu 1400" "the container side has the network's MTU"
like "$(netns_exec p3 p3-static-1 ip route show default)" "default via 10.20.0.254 dev net0" "route via the explicit gateway"
like "$("$NT" "${opts[@]}" -d -l 169.254.10.20 -l fe80::abcd attach p3 p3_custom p3-ll-1)" "addr=" \
        "link_local_ips"
like "$(netns_exec p3 p3-ll-1 ip -o addr show dev eth0)" "169.254.10.20/16" "an IPv4 link-local address is added"
like "$(netns_exec p3 p3-ll-1 ip -o addr show dev eth0)" "fe80::abcd/64" "an IPv6 link-local address is added"
like "$("$NT" "${opts[@]}" -l 10.1.1.1 attach p3 p3_custom p3-ll-2 2>&1)" "is not a link-local address" \
        "a link_local_ips entry outside the link-local ranges is refused"
"$NT" rm p3 p3-ll-1
"$NT" rm p3 p3-ll-2
d=$("$NT" "${opts[@]}" -d attach p3 p3_custom p3-dyn-1)
like "$d" "addr=10.20.5.0/16" "dynamic addresses come from ip_range"
out=$("$NT" "${opts[@]}" -a 10.20.9.9 attach p3 p3_custom p3-clash-1 2>&1)
like "$out" "already used by 'p3-static-1'" "a taken static address is refused, naming the holder"
ok "static and dynamic containers talk" netns_exec p3 p3-dyn-1 busybox ping -c 1 -W 3 10.20.9.9

v6=$("$NT" -6 setup p3 p3_v6)
like "$v6" "subnet6=fd53:7461:636b::/64 gateway6=fd53:7461:636b::1" "enable_ipv6: a ULA /64 from the pool"
m=$("$NT" -6 -d attach p3 p3_v6 p3-multi-1)
like "$m" "addr6=fd53:7461:636b::2/64" "the container gets an IPv6 address"
"$NT" -6 -d attach p3 p3_v6 p3-multi-2 >/dev/null
like "$(netns_exec p3 p3-multi-1 ip -6 route show default)" "via fd53:7461:636b::1" "IPv6 default route"
ok "IPv6 between containers" netns_exec p3 p3-multi-1 busybox ping6 -c 1 -W 3 fd53:7461:636b::3
ok "IPv6 to the gateway" netns_exec p3 p3-multi-1 busybox ping6 -c 1 -W 3 fd53:7461:636b::1
v6br=$(printf '%s\n' "$v6" | sed -n 's/.*bridge=\([^ ]*\).*/\1/p')
like "$(ip -o link show dev "$v6br")" "mtu 65520" "without driver_opts the bridge runs at the host-internal MTU"
like "$(netns_exec p3 p3-multi-1 ip -o link show eth0)" "mtu 65520" "and so does the container's side"

o6=$("$NT" -N -S fd00:77::/64 setup p3 p3_v6only)
like "$o6" "subnet=- gateway=- subnet6=fd00:77::/64 gateway6=fd00:77::1" "enable_ipv4: false gives an IPv6-only network"
is "$(ip -o -4 addr show dev "$(printf '%s\n' "$o6" | sed -n 's/.*bridge=\([^ ]*\).*/\1/p')")" "" \
        "no IPv4 address on its bridge"
m6=$("$NT" -N -S fd00:77::/64 -d attach p3 p3_v6only p3-only6-1)
like "$m6" "addr6=fd00:77::2/64" "the container gets only an IPv6 address"
is "$(netns_exec p3 p3-only6-1 ip -o -4 addr show dev eth0)" "" "and no IPv4 one"
ok "it reaches its IPv6 gateway" netns_exec p3 p3-only6-1 busybox ping6 -c 1 -W 3 fd00:77::1

i=$("$NT" -i setup p3 p3_int)
sub=$(printf '%s\n' "$i" | sed -n 's/.*subnet=\([^ ]*\).*/\1/p')
"$NT" -i -d -n eth1 attach p3 p3_int p3-multi-1 >/dev/null
like "$(netns_exec p3 p3-multi-1 ip -o link show)" "eth1" "a second network is eth1"
is "$(netns_exec p3 p3-multi-1 ip route show default | grep -c eth1)" 0 "an internal network gives no default route"
"$NT" -i -d attach p3 p3_int p3-intonly-1 >/dev/null
is "$(netns_exec p3 p3-intonly-1 ip route show default)" "" "a container only on an internal network has no default route"
like "$(netns_exec p3 p3-intonly-1 ip -o -4 addr show dev eth0)" "${sub%.0/24}" "but has its address"

is "$("$NT" mode p3 p3-x-1 host)" "(host)" "network_mode host: no namespace"
is "$("$NT" mode p3 p3-x-1 none)" "$STACK_RUN_ROOT/netns/p3/p3-x-1" "network_mode none: its own namespace"
is "$("$NT" mode p3 p3-x-1 service:multi)" "$STACK_RUN_ROOT/netns/p3/p3-multi-1" \
        "network_mode service: the service's first replica"
is "$("$NT" mode p9 p9-x-1 container:p3-static-1)" "$STACK_RUN_ROOT/netns/p3/p3-static-1" \
        "network_mode container: any project's container"
like "$("$NT" mode p3 p3-x-1 service:nope 2>&1)" "network_mode service:nope: its container p3-nope-1 has no network namespace" "unknown service"
like "$("$NT" mode p3 p3-x-1 bogus 2>&1)" "expected none, host, service:NAME or container:NAME" "bad mode"

ok "down" "$NT" down p3
not_ok "the named bridge is gone too" ip link show dev mybr0
assert_no_residue p3
done_testing
