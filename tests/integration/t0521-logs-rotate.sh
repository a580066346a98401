#!/bin/bash
# Log rotation (json-file with max-size/max-file): a container printing as fast as its shell can stays
# within max-file x max-size on disk (blocks, as du counts them) plus one max-size of slack and 64 KiB for
# the index, the manifest and partial blocks, sampled while it runs until many rotations have happened;
# the rotated files are docker's json-file lines; logs shows the last lines in order across the rotated
# files; logs -f follows across rotations without a gap or a repeat; -n and -t still work; bad logging
# settings are refused at config naming file, line and key; driver none writes nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/logr/gate" && cd "$STACK_TEST_TMP/logr" || exit 1
max_size=$((1024 * 1024))
max_file=3
cat >compose.yaml <<'YAML'
name: logr
services:
  flood:
    image: stack-example/worker
    volumes: ["./gate:/gate"]
    logging:
      driver: json-file
      options: {max-size: 1m, max-file: "3"}
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        i=0
        while :; do
          i=$$((i + 1))
          echo "line $$i of a container that prints as fast as it can"
          if [ $$((i % 500)) = 0 ]; then
            [ -e /gate/stop ] && break
            [ -e /gate/slow ] && sleep 0.05
          fi
        done
        echo "last line $$((i + 1))"
        while :; do sleep 1 & wait $$!; done
  quiet:
    image: stack-example/worker
    logging: {driver: none}
    command: [sh, -c, 'echo never seen; trap "exit 0" TERM; while :; do sleep 1 & wait $$!; done']
YAML
follower=
trap 'touch gate/stop; stack down -t 0 >/dev/null 2>&1; [ -n "$follower" ] && kill "$follower" 2>/dev/null' EXIT

dir=$STACK_ROOT/containers/logr-flood-1
log=$dir/container.log
consumed() { # the stream offset rotated out so far (0 before the first rotation)
        awk 'NR == 1 { print $2 } END { if (NR == 0) print 0 }' "$log.seg" 2>/dev/null || echo 0
}
limit=$(((max_file + 1) * max_size / 1024 + 64))
# Records the largest footprint seen; succeeds once the log has rotated past $1 bytes.
sample() {
        local kb
        kb=$(du -k -c "$log"* 2>/dev/null | awk 'END { print $1 }')
        [ "${kb:-0}" -gt "$(cat "$STACK_TEST_TMP/max_kb" 2>/dev/null || echo 0)" ] && echo "$kb" >"$STACK_TEST_TMP/max_kb"
        [ "$(consumed)" -ge "$1" ]
}
export -f sample consumed
export log STACK_TEST_TMP

ok "up -d" stack up -d
ok "the flood rotates its log 8 times" wait_until 3000 bash -c "sample $((8 * max_size))"
ok "the rotated files appeared" test -s "$log.1" -a -s "$log.2"
not_ok "no more than max-file - 1 rotated files" test -e "$log.3"

# Follow from here on, across at least three more rotations. The flood slows down to at most 10000 lines
# a second: a follower that falls behind by more than the files keep (about two seconds of the full flood
# here) loses lines, with stack as with docker, and a loaded machine must not make the test fail.
touch gate/slow
stack logs -f -n 0 --no-log-prefix flood >"$STACK_TEST_TMP/follow.log" 2>&1 &
follower=$!
ok "the follower has seen lines" wait_until 600 test -s "$STACK_TEST_TMP/follow.log"
base=$(consumed)
ok "the flood rotates 3 more times while followed" wait_until 3000 bash -c "sample $((base + 3 * max_size))"
touch gate/stop
ok "the flood ends with its last line" wait_until 600 bash -c "grep -q '^last line' '$STACK_TEST_TMP/follow.log'"
kill "$follower"
wait "$follower" 2>/dev/null
follower=
sample 0
max_kb=$(cat "$STACK_TEST_TMP/max_kb")
diag "largest footprint seen: $max_kb KiB (limit $limit KiB)"
ok "the log stayed within max-file x max-size + slack on disk" test "$max_kb" -le "$limit"

# In order, no gap, no repeat: each number is the one before plus one, up to the last line.
consecutive() {
        awk '/^line / { n = $2 } /^last line/ { n = $3 }
             NR > 1 && n != prev + 1 { print "line " NR ": " n " after " prev; bad = 1 }
             { prev = n } END { exit bad }' "$1"
}
ok "logs -f followed across rotations without a gap or a repeat" consecutive "$STACK_TEST_TMP/follow.log"
stack logs --no-log-prefix flood >"$STACK_TEST_TMP/all.log"
ok "logs reads the rotated files and the live log in order" consecutive "$STACK_TEST_TMP/all.log"
is "$(tail -n 1 "$STACK_TEST_TMP/all.log")" "$(tail -n 1 "$STACK_TEST_TMP/follow.log")" "logs ends with the last line"
ok "the oldest lines were rotated away" test "$(head -n 1 "$STACK_TEST_TMP/all.log" | awk '{print $2}')" -gt 1
is "$(stack logs -n 3 --no-log-prefix flood | awk '{print $1}' | tr '\n' ' ')" "line line last " "-n 3: the last three lines"
ok "-t stamps lines from the rotated files and the live log" bash -c \
        "stack logs -t --no-log-prefix flood | awk '\$1 !~ /^[0-9-]{10}T[0-9:]{8}\\.[0-9]{9}Z\$/ { exit 1 }'"
ok "-t times never go back" bash -c "stack logs -t --no-log-prefix flood | awk '\$1 < prev { exit 1 } { prev = \$1 }'"

# The rotated files are docker's json-file lines: any JSON reader gets the text and the time.
ok "rotated files are docker json-file lines" python3 -c '
import json, sys
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        o = json.loads(line)
        assert set(o) == {"log", "stream", "time"}, o
        assert o["stream"] == "stdout" and o["log"].startswith("line ") and o["log"].endswith("\n"), o
        assert o["time"].endswith("Z"), o
' "$log.1" "$log.2"

ok "driver none writes nothing" test ! -s "$STACK_ROOT/containers/logr-quiet-1/container.log"
like "$(stack logs quiet 2>&1)" "service quiet: logging driver none keeps no output to show" "and logs says so"

ok "down" stack down -t 1
ok "the log, its rotated files, index and manifest are gone" bash -c "! ls '$log'* 2>/dev/null | grep -q ."

# Bad settings: refused at config, naming file, line and key.
mkdir -p "$STACK_TEST_TMP/bad" && cd "$STACK_TEST_TMP/bad" || exit 1
printf 'services:\n  a:\n    image: x\n    logging:\n      driver: syslog\n' >compose.yaml
like "$(stack config 2>&1)" "compose.yaml:5:15: services.a.logging.driver: logging driver \"syslog\" is not supported" \
        "an unknown driver is refused"
printf 'services:\n  a:\n    image: x\n    logging:\n      options:\n        max-size: lots\n' >compose.yaml
like "$(stack config 2>&1)" "compose.yaml:6:19: services.a.logging.options.max-size: invalid size" "a bad max-size is refused"
printf 'services:\n  a:\n    image: x\n    logging:\n      options: {max-file: "0"}\n' >compose.yaml
not_ok "max-file 0 is refused" stack config
printf 'services:\n  a:\n    image: x\n    logging:\n      options: {tag: x}\n' >compose.yaml
like "$(stack config 2>&1)" "logging.options.tag: unknown option for the json-file logging driver" "an unknown option is refused"

trap - EXIT
assert_no_residue logr
done_testing
