#!/bin/bash
# `stack network ls`, `stack network inspect` and `stack port` report what the kernel and the IPAM
# records say about the project's networks.
. "$STACK_SRCDIR/tests/integration/lib.sh"

NT=$STACK_BUILDDIR/tests/integration/net-tool
[ -x "$NT" ] || skip_all "net-tool not built"
[ -x "$STACK_BIN" ] || skip_all "stack not built"

mkdir -p "$STACK_TEST_TMP/p4"
cd "$STACK_TEST_TMP/p4" || exit 1
cat >compose.yaml <<'EOF'
name: p4
services:
  web:
    image: scratch
    networks: [front, back]
networks:
  front: {}
  back:
    internal: true
    ipam:
      config:
        - subnet: 10.44.0.0/24
EOF
stack config >/dev/null 2>&1 || skip_all "stack cannot load compose files yet"

out=$(stack network ls)
like "$out" "p4_front" "ls lists a network not created yet"
like "$out" "NAME" "with a header"

# Set the networks up as the reconciler does.
"$NT" setup p4 p4_front >/dev/null
"$NT" -i -s 10.44.0.0/24 setup p4 p4_back >/dev/null
"$NT" -d attach p4 p4_front p4-web-1 >/dev/null
"$NT" -i -s 10.44.0.0/24 -n eth1 attach p4 p4_back p4-web-1 >/dev/null

out=$(stack network ls)
like "$out" "10.44.0.0/24" "ls shows the subnet"
like "$(printf '%s\n' "$out" | grep p4_front)" "172.30.0.1" "ls shows the gateway"
like "$(printf '%s\n' "$out" | grep p4_front)" "stk" "ls shows the bridge"
is "$(stack network ls -q | sort | tr '\n' ' ')" "p4_back p4_front " "ls -q prints the names"

js=$(stack network inspect back)
ok "inspect by key prints JSON for the full name" sh -c "printf '%s' '$js' | grep -Eq '\"Name\":[[:space:]]*\"p4_back\"'"
like "$js" "10.44.0.2/24" "inspect lists the container's address"
like "$js" "p4-web-1" "inspect names the container"
ok "inspect says internal" sh -c "printf '%s' '$js' | grep -Eq '\"Internal\":[[:space:]]*true'"
js2=$(stack network inspect p4_front)
like "$js2" "172.30.0.0/24" "inspect by full name"
not_ok "inspect of an unknown network fails" stack network inspect nope

out=$(stack port web 80 2>&1)
like "$out" "no public port for p4-web-1:80/tcp" "port: nothing published is a clear error"

# Publish web's port 80 as the reconciler would (through the firewall module's test driver).
FW=$STACK_BUILDDIR/net/stack-fw
if [ -x "$FW" ]; then
        br=$(stack network ls | awk '$1 == "p4_front" {print $3}')
        ok "publish 8080 -> web:80" "$FW" apply p4 --net "p4_front,$br,172.30.0.0/24,172.30.0.1" \
                --port p4_front,8080,172.30.0.2:80 --port p4_front,127.0.0.1:5353,172.30.0.2:53/udp
        is "$(stack port web 80)" "0.0.0.0:8080" "port prints the published address"
        is "$(stack port --protocol udp web 53)" "127.0.0.1:5353" "port --protocol udp"
        not_ok "another replica has no such port" stack port --index 2 web 80
        "$FW" remove p4 >/dev/null
fi

"$NT" down p4
assert_no_residue p4
done_testing
