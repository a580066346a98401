#!/bin/bash
# `up` of a compose file naming registry images, from an empty store: the images are pulled (in
# parallel, each once) before anything is created and the services run and answer; pull_policy and
# `up --pull` behave as compose's when the tag moves; failures name every missing image and create
# nothing; down leaves nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0549-registry-lib.inc"
command -v crun >/dev/null || skip_all "crun not installed"

build_test_images
start_registry reg || exit 1
skopeo_push "oci:$IMG/httpd" "$REG/ex/httpd:1"
skopeo_push "oci-archive:$IMG/worker.oci.tar" "$REG/ex/worker:1"

mkdir -p "$T/web" && cd "$T/web" || exit 1
cat >compose.yaml <<YAML
name: regweb
services:
  web:
    image: $REG/ex/httpd:1
    ports: ["127.0.0.1:18090:80"]
  worker:
    image: $REG/ex/worker:1
  again:
    image: $REG/ex/httpd:1
    profiles: [extra]
YAML
trap 'stack down -t 0 >/dev/null 2>&1; stop_registries' EXIT

out=$(stack up --pull sometimes -d 2>&1)
ok "up --pull with an unknown value is a usage error" test $? -eq 2
like "$out" "--pull: expected always, missing or never" "naming the accepted values"
out=$(stack up --pull never -d 2>&1)
ok "up --pull never with an empty store fails" test $? -ne 0
like "$out" "not found in the store" "saying the image is missing"
is "$(stack ps -a -q)" "" "and creates nothing"

out=$(stack up -d 2>&1)
is "$?" 0 "up from an empty store succeeds"
like "$out" "Pull complete" "it pulled, showing per-layer progress"
ok "the web service answers on its published port" wait_until 100 busybox wget -qO- http://127.0.0.1:18090/
is "$(stack image ls -q | wc -l)" 2 "both images are in the store"
gets=$(grep -c '"GET /v2/[^ ]*/blobs/' "$T/reg/log")

out=$(stack up -d 2>&1)
case $out in
*Pulling*) ok "a second up pulls nothing (pull_policy missing)" false ;;
*) ok "a second up pulls nothing (pull_policy missing)" true ;;
esac
is "$(grep -c '"GET /v2/[^ ]*/blobs/' "$T/reg/log")" "$gets" "no blob was fetched"

# The tag moves: the worker image is pushed under web's tag. missing keeps the old, always takes the new.
old_id=$(stack image inspect "$REG/ex/httpd:1" | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
skopeo_push "oci-archive:$IMG/worker.oci.tar" "$REG/ex/httpd:1"
stack up -d >/dev/null 2>&1
now_id=$(stack image inspect "$REG/ex/httpd:1" | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
is "$now_id" "$old_id" "pull_policy missing keeps the image it has"
out=$(stack up --pull always -d --no-start 2>&1)
now_id=$(stack image inspect "$REG/ex/httpd:1" | sed -n 's/.*"Id":[[:space:]]*"\(sha256:[0-9a-f]*\)".*/\1/p')
ok "up --pull always fetched the moved tag" test "$now_id" != "$old_id"
skopeo_push "oci:$IMG/httpd" "$REG/ex/httpd:1"
sed -i "s|    image: $REG/ex/worker:1|    image: $REG/ex/worker:1\n    pull_policy: always|" compose.yaml
out=$(stack up -d 2>&1)
like "$out" "$REG/ex/worker:1 Pulling" "pull_policy: always pulls on every up"
case $out in
*"ex/httpd:1 Pulling"*) ok "while the missing-policy service does not" false ;;
*) ok "while the missing-policy service does not" true ;;
esac

# Several missing images: all named in one error, nothing created for them.
cat >"$T/web/broken.yaml" <<YAML
name: regbroken
services:
  a: {image: "$REG/ex/nosuch-a:1"}
  b: {image: "$REG/ex/nosuch-b:1"}
YAML
out=$(stack -f "$T/web/broken.yaml" up -d 2>&1)
ok "up with two unknown images fails" test $? -ne 0
like "$out" "image $REG/ex/nosuch-a:1 not found in registry $REG" "the first is named"
like "$out" "image $REG/ex/nosuch-b:1 not found in registry $REG" "and the second, in the same error"
is "$(stack -f "$T/web/broken.yaml" ps -a -q)" "" "nothing was created"

ok "down" stack down -t 0
stop_registries
trap - EXIT
assert_no_residue regweb
done_testing
