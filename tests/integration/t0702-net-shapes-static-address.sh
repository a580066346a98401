#!/bin/bash
# A static ipv4_address is never taken by a sibling with a dynamic address: the siblings are made at the
# same time as the service declaring it (and scaled up beside it), yet it gets its address on every up.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/fixed" && cd "$STACK_TEST_TMP/fixed" || exit 1
cat >compose.yaml <<'YAML'
name: fixed
services:
  a:
    image: stack-example/worker
    networks:
      lan:
        ipv4_address: 172.20.0.2
  b:
    image: stack-example/worker
    scale: 4
    networks: [lan]
networks:
  lan:
    ipam:
      config:
        - subnet: 172.20.0.0/24
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

addr_of() { nsenter --net="$(ctr_netns "$1")" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
others() { for n in 1 2 3 4 5 6; do [ -n "$(ctr_pid "fixed-b-$n")" ] && addr_of "fixed-b-$n"; done | sort | tr '\n' ' '; }

ok "up with a static address and four dynamic siblings made at once" stack up -d --wait --wait-timeout 60
is "$(addr_of fixed-a-1)" "172.20.0.2" "a has its declared address"
b_addrs=$(others)
diag "b: $b_addrs"
unlike_2() { case " $1" in *" 172.20.0.2 "*) return 1 ;; esac; }
ok "no sibling took it" unlike_2 "$b_addrs"

ok "up --force-recreate --scale b=6" stack up -d --force-recreate --scale b=6 --wait --wait-timeout 60
is "$(addr_of fixed-a-1)" "172.20.0.2" "a has it again after the recreate"
b_addrs=$(others)
is "$(printf '%s\n' "$b_addrs" | wc -w)" "6" "six siblings run"
ok "none of them took it" unlike_2 "$b_addrs"

ok "down" stack down -t 0
assert_no_residue fixed
done_testing
