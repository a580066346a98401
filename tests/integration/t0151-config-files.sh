#!/bin/bash
# stack config across files: stdin, an override file whose error is located in that file, env_file merged
# into environment, and a bare KEY taken from the shell.
. "$STACK_SRCDIR/tests/integration/lib.sh"

dir=$STACK_TEST_TMP/files
mkdir -p "$dir"
cd "$dir" || exit 1

cat >compose.yaml <<'EOF'
name: files
services:
  app:
    image: busybox
    env_file: app.env
    environment:
      - FROM_FILE_OVERRIDDEN=by-environment
      - PASSED_THROUGH
EOF
printf 'FROM_FILE=1\nFROM_FILE_OVERRIDDEN=by-file\n' >app.env

out=$(PASSED_THROUGH=shell stack config)
is "$?" 0 "env_file project loads"
like "$out" "      FROM_FILE: \"1\"" "env_file entries land in environment"
like "$out" "      FROM_FILE_OVERRIDDEN: by-environment" "environment wins over env_file"
like "$out" "      PASSED_THROUGH: shell" "a bare KEY takes the shell's value"
out=$(stack config)
like "$out" "      PASSED_THROUGH: null" "a bare KEY the shell lacks stays unset"

printf 'services:\n  app:\n    ports:\n      - "70000:80"\n' >compose.override.yaml
out=$(stack config 2>&1)
is "$?" 1 "a bad override file fails"
like "$out" "compose.override.yaml:4:9: services.app.ports[0]: invalid host port \"70000\"" \
        "the error names the override file"
rm compose.override.yaml

out=$(printf 'services:\n  s:\n    image: x\n    healthcheck:\n      interval: 5\n' | stack -p piped -f - config 2>&1)
is "$?" 1 "stdin with an error fails"
like "$out" "services.s.healthcheck.interval: invalid duration \"5\": missing unit" "plain numbers are not durations"

out=$(printf 'services:\n  s:\n    image: x\n    stop_grace_period: 1m30s\n' | stack -p piped -f - config)
like "$out" "    stop_grace_period: 1m30s" "stdin works"

assert_no_residue files
done_testing
