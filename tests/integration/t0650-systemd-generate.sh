#!/bin/bash
# stack systemd generate|install: units systemd accepts (systemd-analyze verify), run from the project's own
# files with its root, timeouts from its health checks and stop grace periods; bad input changes nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze not installed"

mkdir -p "$STACK_TEST_TMP/my app" "$STACK_TEST_TMP/units" && cd "$STACK_TEST_TMP/my app" || exit 1
cat >compose.yaml <<'YAML'
name: unitdemo
services:
  db:
    image: db
    stop_grace_period: 15s
    healthcheck:
      test: [CMD, "true"]
      interval: 2s
      timeout: 3s
      retries: 4
  web:
    image: web
    depends_on: {db: {condition: service_healthy}}
    volumes: ["./static:/srv/static:ro"]
YAML

# verify DIR UNIT: systemd's own parser accepts the unit without a word (it warns and still exits 0).
verify() {
        (cd "$1" && systemd-analyze verify "$2" 2>&1)
}

unit=$(stack systemd generate)
is "$?" 0 "generate prints the unit"
printf '%s\n' "$unit" >"$STACK_TEST_TMP/units/stack-unitdemo.service"
is "$(verify "$STACK_TEST_TMP/units" stack-unitdemo.service)" "" "systemd-analyze verify accepts it"
like "$unit" "WorkingDirectory=$STACK_TEST_TMP/my app
" "it runs in the project directory"
like "$unit" "ExecStart=$STACK_BIN -f \"$STACK_TEST_TMP/my app/compose.yaml\"" "from the project's own file"
like "$unit" "--root $STACK_ROOT --run-root $STACK_RUN_ROOT up --no-log-prefix" "with the roots it was made with"
like "$unit" "RequiresMountsFor=\"$STACK_TEST_TMP/my app/static\"" "a bind mount's source must be mounted first"
# db: 4 x (2 + 3) = 20 s to healthy, + 120 s margin; stop: 15 s (db) + 10 s (web) + 30 s margin.
like "$unit" "TimeoutStartSec=140" "the start timeout follows the health checks"
like "$unit" "TimeoutStopSec=55" "the stop timeout follows the stop grace periods"

ok "generate --output writes the unit file" stack systemd generate --output "$STACK_TEST_TMP/units" --name demo.service
is "$(cat "$STACK_TEST_TMP/units/demo.service")" "$unit" "the same unit under the name given"

stack systemd generate --template >"$STACK_TEST_TMP/units/stack@.service"
# The template is verified through an instance, as systemd would load it.
cp "$STACK_TEST_TMP/units/stack@.service" "$STACK_TEST_TMP/units/stack@srv-app.service"
is "$(verify "$STACK_TEST_TMP/units" stack@srv-app.service)" "" "the template's instance passes verify"

# install without systemd as PID 1 (as here): the file is written and the message says it is not enabled.
if [ ! -e /run/systemd/system ]; then
        out=$(stack systemd install --output "$STACK_TEST_TMP/units" 2>&1)
        is "$?" 0 "install writes the unit"
        like "$out" "systemd is not running here" "and says it could not be enabled"
        ok "the file is there" test -s "$STACK_TEST_TMP/units/stack-unitdemo.service"
        stack systemd install --enable --output "$STACK_TEST_TMP/units" >/dev/null 2>&1
        is "$?" 1 "install --enable without systemd fails instead of pretending"
fi

before=$(ls "$STACK_TEST_TMP/units")
stack systemd frobnicate >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" 2 "an unknown subcommand is a usage error"
stack systemd generate --enable >/dev/null 2>&1
is "$?" 2 "--enable belongs to install only"
stack systemd generate --output "$STACK_TEST_TMP/nowhere" >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" 1 "a missing output directory is an error"
like "$(cat "$STACK_TEST_TMP/err")" "nowhere is not a directory" "naming it"
stack systemd generate --name 'a/b' >/dev/null 2>&1
is "$?" 2 "a unit name with a slash is refused"
printf 'services:\n  x:\n    image: x\n    ports: ["80-81:90-92"]\n' >"$STACK_TEST_TMP/bad.yaml"
stack -f "$STACK_TEST_TMP/bad.yaml" systemd generate --output "$STACK_TEST_TMP/units" >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" 1 "a bad compose file fails"
like "$(cat "$STACK_TEST_TMP/err")" "bad.yaml:4:" "with the file and line"
is "$(ls "$STACK_TEST_TMP/units")" "$before" "and no unit was written"
stack -f - systemd generate >/dev/null 2>"$STACK_TEST_TMP/err" <<<'services: {x: {image: x}}'
is "$?" 1 "a project read from stdin cannot become a unit"

assert_no_residue unitdemo
done_testing
