#!/bin/bash
# Concurrent commands: two projects attach replicas to one network at the same time, and two more create
# networks from the default pool at the same time. No address or subnet is handed out twice.
. "$STACK_SRCDIR/tests/integration/lib.sh"

NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || skip_all "net-tool not built"
command -v busybox >/dev/null || skip_all "busybox not installed"

"$NT" setup pc pc_default >/dev/null
"$NT" -d attach-many pc pc_default 12 >"$STACK_TEST_TMP/c.out" 2>&1 &
p1=$!
"$NT" -x -d attach-many pd pc_default 12 >"$STACK_TEST_TMP/d.out" 2>&1 &
p2=$!
wait "$p1"
is "$?" 0 "project c attached its replicas"
wait "$p2"
is "$?" 0 "project d attached its replicas at the same time"

st=$("$NT" status pc_default)
is "$(printf '%s\n' "$st" | grep -c '^endpoint')" 24 "24 leases on the network"
is "$(printf '%s\n' "$st" | awk '/^endpoint/ {print $3}' | sort | uniq -d)" "" "no address in two leases"
inside=$(for ns in "$STACK_RUN_ROOT"/netns/p[cd]/*; do
        nsenter --net="$ns" ip -o -4 addr show dev eth0 | awk '{print $4}'
done)
is "$(printf '%s\n' "$inside" | wc -l)" 24 "every namespace has its address"
is "$(printf '%s\n' "$inside" | sort | uniq -d)" "" "no address configured twice"
last=$(printf '%s\n' "$st" | awk '$2 == "pd-c-12" {print $3}')
ok "c's first replica reaches d's last" \
        nsenter --net="$STACK_RUN_ROOT/netns/pc/pc-c-1" busybox ping -c 1 -W 3 "$last"

# Two networks from the pool at once.
"$NT" setup pe pe_default >"$STACK_TEST_TMP/e.out" 2>&1 &
p1=$!
"$NT" setup pf pf_default >"$STACK_TEST_TMP/f.out" 2>&1 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
is "$r1$r2" 00 "two networks set up concurrently"
se=$(sed -n 's/.*subnet=\([^ ]*\).*/\1/p' "$STACK_TEST_TMP/e.out")
sf=$(sed -n 's/.*subnet=\([^ ]*\).*/\1/p' "$STACK_TEST_TMP/f.out")
ok "they got different subnets ($se, $sf)" test -n "$se" -a -n "$sf" -a "$se" != "$sf"

ok "d down" "$NT" down pd
ok "c down" "$NT" down pc
ok "e down" "$NT" down pe
ok "f down" "$NT" down pf
for p in pc pd pe pf; do
        assert_no_residue $p
done
done_testing
