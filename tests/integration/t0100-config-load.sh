#!/bin/bash
# Loading a project through the CLI: discovery upwards, the override file, -f merge, stdin, COMPOSE_FILE,
# .env and the shell, project naming, profiles, extends, include, and located errors that exit 1.
. "$STACK_SRCDIR/tests/integration/lib.sh"

work=$STACK_TEST_TMP/load
mkdir -p "$work/My_App/sub/deeper" "$work/files" "$work/lib"
cd "$work/My_App" || exit 1

cat >compose.yaml <<'EOF'
services:
  web:
    image: "nginx:${TAG:-latest}"
    ports: ["8080:80"]
    environment:
      - MODE=base
  db:
    image: postgres
    profiles: [backend]
  debug:
    image: busybox
    profiles: [debug]
    depends_on: [db]
EOF
cat >compose.override.yaml <<'EOF'
services:
  web:
    environment:
      MODE: override
EOF
echo "TAG=1.25" >.env

cd sub/deeper || exit 1
unset COMPOSE_FILE COMPOSE_PROFILES COMPOSE_PROJECT_NAME TAG

out=$(stack config --services 2>&1)
is "$out" "web" "discovered from a subdirectory; profiled services are disabled"
out=$(stack config --images 2>&1)
is "$out" "nginx:1.25" "the project directory's .env is used for interpolation"
out=$(TAG=shell stack config --images 2>&1)
is "$out" "nginx:shell" "the shell environment wins over .env"
out=$(stack config 2>&1)
like "$out" "MODE: override" "the override file is merged over compose.yaml"
like "$out" "name: my_app" "the project is named after its directory, normalized"
out=$(stack config --no-interpolate --images 2>&1)
# shellcheck disable=SC2016 # the expression is meant literally
is "$out" 'nginx:${TAG:-latest}' "--no-interpolate leaves expressions alone"

out=$(stack --profile backend config --services 2>&1 | tr '\n' ' ')
is "$out" "db web " "--profile enables its services"
out=$(COMPOSE_PROFILES=debug,backend stack config --services 2>&1 | tr '\n' ' ')
is "$out" "db debug web " "COMPOSE_PROFILES enables several profiles"
out=$(stack config --services debug 2>&1 | tr '\n' ' ')
is "$out" "db debug " "a named service is enabled with its dependencies, whatever their profiles"

out=$(stack -p explicit config 2>&1)
like "$out" "name: explicit" "-p names the project"
out=$(COMPOSE_PROJECT_NAME=fromenv stack config 2>&1)
like "$out" "name: fromenv" "COMPOSE_PROJECT_NAME names the project"
out=$(stack -p Bad_Name config 2>&1)
rc=$?
is "$rc" 1 "an invalid -p exits 1"
like "$out" 'invalid project name "Bad_Name"' "and says why"

cd "$work/files" || exit 1
cat >a.yaml <<'EOF'
name: files
services:
  app:
    image: app:1
    command: [a, b]
    ports: ["80:80"]
EOF
cat >b.yaml <<'EOF'
services:
  app:
    command: [c]
    ports: ["80:80", "443:443"]
EOF
out=$(stack -f a.yaml -f b.yaml config 2>&1)
like "$out" "name: files" "name: from the file"
like "$out" "443" "ports of both files"
n=$(printf '%s\n' "$out" | grep -c 'target: 80$')
is "$n" 1 "a port given in both files appears once"
out=$(stack -f a.yaml -f b.yaml config --format json 2>&1 | tr -d ' \t\n')
like "$out" '"command":["c"]' "command is replaced by the later file, not appended"
out=$(stack -f - config --services <a.yaml 2>&1)
is "$out" "app" "-f - reads stdin"
out=$(COMPOSE_FILE=a.yaml:b.yaml stack config --services 2>&1)
is "$out" "app" "COMPOSE_FILE selects the files"

cat >base.yaml <<'EOF'
services:
  common:
    image: base:1
    environment: [A=1]
EOF
cat >extends.yaml <<'EOF'
include:
  - ../lib/compose.yaml
services:
  svc:
    extends:
      file: base.yaml
      service: common
    environment: [B=2]
EOF
cat >../lib/compose.yaml <<'EOF'
services:
  cache:
    image: "redis:${REDIS_TAG}"
EOF
echo "REDIS_TAG=7" >../lib/.env
out=$(stack -f extends.yaml config --images 2>&1 | tr '\n' ' ')
is "$out" "redis:7 base:1 " "extends from another file and include with its own .env"

cat >bad.yaml <<'EOF'
services:
  web:
    image: a
    image: b
EOF
out=$(stack -f bad.yaml config 2>&1)
rc=$?
is "$rc" 1 "a malformed file exits 1"
like "$out" "bad.yaml:4:5:" "the error names file, line and column"

cat >cycle.yaml <<'EOF'
services:
  a:
    extends: b
  b:
    extends: a
EOF
out=$(stack -f cycle.yaml config 2>&1)
like "$out" "extends cycle: a (cycle.yaml) -> b (cycle.yaml) -> a (cycle.yaml)" "an extends cycle is named"

assert_no_residue load
done_testing
