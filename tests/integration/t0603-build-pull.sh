#!/bin/bash
# FROM an image the store lacks: the builder pulls it from its registry (a real docker-registry on
# 127.0.0.1), builds on it, and `build --pull` asks the registry again; an unreachable registry fails
# the build with the FROM line named.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0549-registry-lib.inc"
command -v crun >/dev/null || [ -n "${STACK_RUNTIME:-}" ] || skip_all "crun not installed"
BUSYBOX=$(command -v busybox) || skip_all "busybox not installed"

base=$T/base
mkdir -p "$base/bin" "$base/etc" "$base/tmp"
cp "$BUSYBOX" "$base/bin/busybox"
chroot "$base" /bin/busybox true 2>/dev/null || skip_all "busybox is not static (install busybox-static)"
chroot "$base" /bin/busybox --install -s /bin
tar -C "$base" -cf "$T/base.tar" .
start_registry reg || exit 1
trap 'stop_registries' EXIT
ok "the base imports" stack image import "$T/base.tar" pullbase:1
ok "is tagged for the registry" stack image tag pullbase:1 "$REG/ex/base:1"
ok "and pushed" stack image push "$REG/ex/base:1"
ok "then removed from the store" stack image rm pullbase:1 "$REG/ex/base:1"
not_ok "so the store lacks it" stack image inspect "$REG/ex/base:1"

mkdir -p "$T/p" && cd "$T/p" || exit 1
printf 'FROM %s/ex/base:1\nRUN echo built-on-pulled >/marker\nCMD ["cat", "/marker"]\n' "$REG" >Dockerfile
printf 'name: pb\nservices:\n  app:\n    build: .\n' >compose.yaml
out=$(stack build 2>&1)
is "$?" 0 "the build pulls the missing base and succeeds"
like "$out" "FROM $REG/ex/base:1: pulling" "saying it pulls"
ok "the base is now in the store" stack image inspect "$REG/ex/base:1"
gets=$(grep -c 'GET /v2/ex/base/manifests/1' "$T/reg/log")
out=$(stack build --pull 2>&1)
is "$?" 0 "build --pull succeeds"
[ "$(grep -c 'GET /v2/ex/base/manifests/1' "$T/reg/log")" -gt "$gets" ]
ok "and asked the registry again" test $? = 0
ok "up runs the built image" stack up -d
ok "to its end" stack wait app
like "$(stack logs --no-log-prefix app 2>&1)" "built-on-pulled" "the RUN on the pulled base wrote its file"
ok "down" stack down

printf 'FROM 127.0.0.1:1/ex/none:1\n' >Dockerfile.gone
printf 'name: pb\nservices:\n  gone:\n    build: {context: ., dockerfile: Dockerfile.gone}\n' >gone.yaml
out=$(stack -f gone.yaml build 2>&1)
is "$?" 1 "an unreachable registry fails the build"
like "$out" "Dockerfile.gone:1: FROM 127.0.0.1:1/ex/none:1: not in the store" "naming the FROM line"
stop_registries
assert_no_residue pb
done_testing
