#!/bin/bash
# stack config: the normalized model of every example, JSON that parses, the list options, the config
# hash, and located errors with exit code 1 for malformed files, without touching the host.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v python3 >/dev/null || skip_all "needs python3 to check the JSON output"

# Every example prints its normalized model (long-syntax ports, resolved names) and validates quietly.
for f in "$STACK_SRCDIR"/examples/*/compose.yaml; do
        ex=$(basename "$(dirname "$f")")
        out=$(stack -f "$f" config 2>&1)
        is "$?" 0 "examples/$ex: stack config exits 0"
        like "$out" "services:" "examples/$ex: prints the services"
        like "$out" "name: " "examples/$ex: prints the project name"
        ok "examples/$ex: --format json parses" sh -c "'$STACK_BIN' -f '$f' config --format json | python3 -m json.tool"
        ok "examples/$ex: -q validates" stack -f "$f" config -q
        is "$(stack -f "$f" config -q 2>&1)" "" "examples/$ex: -q prints nothing"
done

# A project of our own exercises the output shape and the list options.
dir=$STACK_TEST_TMP/proj
mkdir -p "$dir/conf"
cat >"$dir/compose.yaml" <<'EOF'
name: cfgtest
services:
  web:
    image: nginx:1.25
    ports:
      - "8080:80"
      - "127.0.0.1:9000-9001:9000-9001/udp"
    volumes:
      - ./conf:/etc/nginx/conf.d:ro
      - data:/data
    environment:
      GREETING: ${GREETING:-hello}
    depends_on: [db]
  db:
    image: postgres:16
    profiles: [backend]
    healthcheck:
      test: pg_isready
      interval: 90s
volumes:
  data:
x-stack:
  max_orphans: 1
EOF
cd "$dir" || exit 1

out=$(stack --profile backend config)
is "$?" 0 "config in the project directory"
like "$out" "name: cfgtest" "project name from name:"
like "$out" "      - mode: ingress
        target: 80
        published: \"8080\"
        protocol: tcp" "short port printed in long syntax"
like "$out" "        host_ip: 127.0.0.1
        target: 9001
        published: \"9001\"
        protocol: udp" "port range expanded, one entry per port"
like "$out" "        source: $dir/conf" "relative bind resolved against the project directory"
like "$out" "      GREETING: hello" "interpolated default"
like "$out" "      interval: 1m30s" "durations printed as compose prints them"
like "$out" "    name: cfgtest_data" "volume named <project>_<key>"
like "$out" "    name: cfgtest_default" "implicit default network"
like "$out" "x-stack:
  max_orphans: 1" "x-stack settings"

out=$(GREETING=hi stack --profile backend config)
like "$out" "      GREETING: hi" "the shell environment wins"
out=$(stack --profile backend config --no-interpolate)
# shellcheck disable=SC2016 # the expression is meant literally
like "$out" 'GREETING: ${GREETING:-hello}' "--no-interpolate keeps the expression"

is "$(stack --profile backend config --services | tr '\n' ' ')" "db web " "--services, sorted"
is "$(stack --profile backend config --volumes | tr '\n' ' ')" "data " "--volumes"
is "$(stack --profile backend config --networks | tr '\n' ' ')" "default " "--networks"
stack config --volumes >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" 1 "web's dependency db left out by the profiles is an error"
like "$(cat "$STACK_TEST_TMP/err")" 'compose.yaml:13:18: services.web.depends_on: service "db" is disabled by the active profiles' \
        "located at the dependency"
is "$(stack --profile backend config --images | tr '\n' ' ')" "postgres:16 nginx:1.25 " "--images"
like "$(stack config --profiles)" "backend" "--profiles lists the profiles the file defines"
is "$(stack --profile backend config --services db | tr '\n' ' ')" "db " "a named service alone"
is "$(stack --profile backend config --services web | tr '\n' ' ')" "db web " "a named service with its dependencies"

h1=$(stack --profile backend config --hash web)
like "$h1" "web " "--hash SERVICE prints SERVICE HASH"
is "$(echo "$h1" | awk '{print length($2)}')" 64 "a sha256"
is "$(stack --profile backend config --hash "*" | wc -l)" 2 "--hash '*' covers every service"
sed -i 's/depends_on: \[db\]/depends_on: {db: {condition: service_healthy}}/' compose.yaml
is "$(stack --profile backend config --hash web)" "$h1" "changing depends_on does not change the hash"
out=$(GREETING=other stack --profile backend config --hash web)
[ "$out" != "$h1" ]
is "$?" 0 "changing the environment changes the hash"

stack --profile backend config --format json -o "$dir/out.json"
is "$?" 0 "-o writes a file"
ok "the file is JSON" python3 -m json.tool "$dir/out.json"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["services"]["web"]["ports"][0]["target"])' "$dir/out.json")" \
        80 "JSON has the normalized ports"

# Malformed files: a located error on stderr, exit 1, nothing printed on stdout.
cat >"$dir/bad.yaml" <<'EOF'
services:
  web:
    image: nginx
    ports:
      - "80:80"
      - "8000-8002:80-81"
EOF
out=$(stack -f "$dir/bad.yaml" config 2>&1 >/dev/null)
is "$?" 1 "a malformed file exits 1"
like "$out" "bad.yaml:6:9: services.web.ports[1]: invalid port range \"8000-8002:80-81\"" "error names file:line:col and the key"
is "$(stack -f "$dir/bad.yaml" config 2>/dev/null)" "" "nothing on stdout"

printf 'services:\n  web:\n    image: x\n    imagee: y\n' >"$dir/typo.yaml"
out=$(stack -f "$dir/typo.yaml" config 2>&1)
is "$?" 1 "an unknown key exits 1"
like "$out" "typo.yaml:4:5: services.web: additional property \"imagee\" is not allowed" "unknown key located"

printf 'services:\n  web:\n    image: x\n    cpu_quota: 5000\n' >"$dir/tierc.yaml"
out=$(stack -f "$dir/tierc.yaml" config 2>&1 >/dev/null)
is "$?" 0 "a tier C key is accepted"
like "$out" "services.web.cpu_quota: not supported by stack yet, ignored" "with a warning"

printf 'services:\n  web:\n    build:\n      context: .\n      args: [V=1]\n      network: none\n' >"$dir/build.yaml"
out=$(stack -f "$dir/build.yaml" config 2>&1)
is "$?" 0 "build without image is accepted"
like "$out" "context: $dir" "the context is printed absolute"
like "$out" "dockerfile: Dockerfile" "with compose's default Dockerfile"
like "$out" "network: none" "and the build network"
printf 'services:\n  web:\n    build: {context: ., network: bridge0}\n' >"$dir/build-bad.yaml"
out=$(stack -f "$dir/build-bad.yaml" config 2>&1)
is "$?" 1 "a bad build network exits 1"
like "$out" "build-bad.yaml:3:34: services.web.build.network: unsupported build network" "located"

stack config --format xml >/dev/null 2>&1
is "$?" 2 "an unknown format is a usage error"
stack config --services --volumes >/dev/null 2>&1
is "$?" 2 "two list options are a usage error"
ok "config --help" stack config --help

is "$(find "$STACK_ROOT" "$STACK_RUN_ROOT" -mindepth 1 | wc -l)" 0 "config touched no state"
assert_no_residue cfgtest
done_testing
