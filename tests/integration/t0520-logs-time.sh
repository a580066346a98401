#!/bin/bash
# stack logs -t/--since/--until: lines carry the time they were written (the supervisor's index beside the
# log), filters cut at a time between two lines in every accepted form, --tail applies after them, bad
# values are usage errors; a killed supervisor loses no times and its successor stamps the output written
# meanwhile with the last write's time; down removes the index with the log.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"

mkdir -p "$STACK_TEST_TMP/logt" && cd "$STACK_TEST_TMP/logt" || exit 1
# one, two, three 2 s apart; four and five a second apart once the test opens the gate (after it has killed
# the supervisor and checked the filters, however long that takes on a busy machine); then a tick a second
# from when the test opens the second gate, after the next supervisor has adopted the container.
mkdir -p gate
cat >compose.yaml <<'YAML'
name: logt
services:
  talker:
    image: stack-example/worker
    volumes: ["./gate:/gate"]
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        echo one; sleep 2; echo two; sleep 2; echo three
        while [ ! -e /gate/open ]; do sleep 0.1; done
        echo four; sleep 1; echo five
        while [ ! -e /gate/tick ]; do sleep 0.1; done
        while :; do sleep 1 & wait $$!; echo tick; done
YAML
follower=
trap 'stack down -t 0 >/dev/null 2>&1; [ -n "$follower" ] && kill "$follower" 2>/dev/null' EXIT

# The times printed by -t, as integer nanoseconds; and back to the forms --since/--until take.
cat >"$STACK_TEST_TMP/ts.py" <<'PY'
import calendar, re, sys, time
def ns(stamp):
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{9})Z", stamp)
    if not m:
        sys.exit("not an RFC 3339 nano UTC time: %r" % stamp)
    y, mo, d, h, mi, s, frac = (int(x) for x in m.groups())
    return calendar.timegm((y, mo, d, h, mi, s)) * 10**9 + frac
cmd = sys.argv[1]
if cmd == "stamps":  # lines "TIME TEXT" -> "TEXT NS" (checks the time's form)
    for line in sys.stdin.read().splitlines():
        stamp, _, text = line.partition(" ")
        print(text, ns(stamp))
elif cmd in ("utc", "offset", "unix"):  # NS -> that form
    v = int(sys.argv[2]); s, f = divmod(v, 10**9)
    if cmd == "utc":
        print(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%09dZ" % f)
    elif cmd == "offset":
        print(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s + 3600)) + ".%09d+01:00" % f)
    else:
        print("%d.%09d" % (s, f))
PY
stamps() { python3 "$STACK_TEST_TMP/ts.py" stamps; }
ts_of() { # ts_of TEXT < "TEXT NS" lines
        awk -v t="$1" '$1 == t { print $2; exit }'
}
form() { python3 "$STACK_TEST_TMP/ts.py" "$@"; }
now_ns() { date +%s%N; }
between() { # between LOW VALUE HIGH
        [ "$1" -le "$2" ] && [ "$2" -le "$3" ]
}
lines() { stack logs --no-log-prefix "$@" talker | tr '\n' ' '; }

t_before=$(now_ns)
ok "up -d" stack up -d
ok "talker printed three lines" wait_until 150 bash -c "'$STACK_BIN' logs talker | grep -q three"
# The supervisor dies now: what it indexed stays, and the next lines are written while none runs.
pidfile=$STACK_RUN_ROOT/projects/logt/supervisor.pid
ok "the supervisor is killed" kill -KILL "$(cut -d' ' -f1 "$pidfile")"
t_after=$(now_ns)

is "$(stack logs -t talker | grep -Ec '^talker-1 +\| [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (one|two|three)$')" \
        "3" "-t puts the time between the prefix and the line, as compose"
st=$(stack logs -t --no-log-prefix talker | stamps)
t1=$(ts_of one <<<"$st") t2=$(ts_of two <<<"$st") t3=$(ts_of three <<<"$st")
diag "one $t1, two $t2, three $t3 (up at $t_before, checked at $t_after)"
ok "the times are those of the writes: one at up, two 2 s later, three 2 s after two" \
        bash -c "[ -n '$t3' ] && [ $t_before -le $t1 ] && [ $((t1 + 1500000000)) -le $t2 ] &&
                 [ $t2 -le $((t1 + 3500000000)) ] && [ $((t2 + 1500000000)) -le $t3 ] &&
                 [ $t3 -le $((t2 + 3500000000)) ] && [ $t3 -le $t_after ]"
ok "and close to the wall clock: one within 3 s of up" between "$t_before" "$t1" "$((t_before + 3000000000))"
ok "the log's time index sits beside it" test -s "$STACK_ROOT/containers/logt-talker-1/container.log.idx"

mid12=$(((t1 + t2) / 2)) mid23=$(((t2 + t3) / 2))
is "$(lines --since "$(form utc $mid12)")" "two three " "--since a time between one and two (RFC 3339, ns, Z)"
is "$(lines --until "$(form utc $mid12)")" "one " "--until that time"
is "$(lines --since "$(form offset $mid12)")" "two three " "--since with a +01:00 offset"
is "$(lines --since "$(form unix $mid12)")" "two three " "--since as Unix seconds with a fraction"
is "$(lines --since "$(form utc $mid12)" --until "$(form utc $mid23)")" "two " "--since and --until together"
is "$(lines --since "$(form utc "$t2")")" "two three " "--since is inclusive: a line's own time shows it"
is "$(lines --until "$(form utc $mid23)" --tail 1)" "two " "--tail applies after --until: the last line before it"
is "$(lines --since "$(form utc $mid12)" --tail 5)" "two three " "--tail larger than what is left"
is "$(lines --since "$(form utc $mid12)" --tail 0)" "" "--tail 0 with --since"
# A relative time is counted from when logs runs, a moment after rel_ms is taken: aim just after one, so
# that moment may last up to ~1.8 s (one and two are 2 s apart) before the answer changes.
rel_ms=$((($(now_ns) - t1) / 1000000 - 200))
is "$(lines --since "${rel_ms}ms")" "two three " "relative --since ${rel_ms}ms: 0.2 s after one"
is "$(lines --since 1h30m)" "one two three " "relative --since 1h30m: all"
is "$(lines --until 10m)" "" "relative --until 10m: nothing written that long ago"
is "$(lines --since "$(form utc $((t3 + 1)))")" "" "--since after the last line: nothing"

stack logs --since bogus >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" "2" "--since bogus is a usage error (exit 2, as the other commands' bad values)"
like "$(cat "$STACK_TEST_TMP/err")" '--since: invalid value "bogus"' "naming the flag and the value"
stack logs --until 2026-02-30T00:00:00Z >/dev/null 2>"$STACK_TEST_TMP/err"
is "$?" "2" "--until on 30 February is refused"
like "$(cat "$STACK_TEST_TMP/err")" '--until: invalid value "2026-02-30T00:00:00Z"' "naming --until"
like "$(stack logs --help)" "--until TIME" "logs --help documents --until"

# Four and five are written while no supervisor runs; the next command's supervisor adopts talker.
t_gate=$(now_ns)
touch gate/open
ok "five is written without a supervisor" wait_until 150 bash -c "'$STACK_BIN' logs talker | grep -q five"
pre=$(stack logs -t --no-log-prefix talker | stamps)
t_adopt=$(now_ns)
ok "up -d starts a new supervisor" stack up -d
st=$(stack logs -t --no-log-prefix talker | stamps)
t4=$(ts_of four <<<"$st") t5=$(ts_of five <<<"$st")
diag "four $t4, five $t5 (before adoption $(ts_of five <<<"$pre")), adopted at $t_adopt"
is "$(ts_of three <<<"$st")" "$t3" "the times indexed before the supervisor died are kept"
ok "five gets the time of the last write before the adoption, not the adoption's" \
        bash -c "[ -n '$t5' ] && [ $((t_gate + 900000000)) -le $t5 ] && [ $t5 -le $t_adopt ]"
is "$t4" "$t5" "four, written in the same gap, gets that time too (an upper bound)"
touch gate/tick
ok "after adoption, new lines are indexed again: two ticks about a second apart" wait_until 300 bash -c \
        "'$STACK_BIN' logs -t --no-log-prefix --since $(form utc $((t_adopt + 1))) talker | grep -c tick | grep -qx '[2-9]'"
ticks=$(stack logs -t --no-log-prefix --since "$(form utc $((t_adopt + 1)))" talker | stamps | awk '$1 == "tick" { print $2 }')
k1=$(sed -n 1p <<<"$ticks") k2=$(sed -n 2p <<<"$ticks")
ok "ticks 0.7-1.3 s apart" between 700000000 "$((k2 - k1))" 1300000000

# -f -t prints the time of what it follows.
"$STACK_BIN" logs -f -t talker >"$STACK_TEST_TMP/follow.log" 2>&1 &
follower=$!
t_f=$(now_ns)
ok "-f -t follows with times" wait_until 50 bash -c \
        "[ \$(grep -Ec '^talker-1 +\| [0-9-]{10}T[0-9:]{8}\.[0-9]{9}Z tick$' '$STACK_TEST_TMP/follow.log') -gt \
          $(stack logs talker | grep -c tick) ]"
last=$(grep tick "$STACK_TEST_TMP/follow.log" | tail -n 1 | sed 's/.*| //' | stamps | awk '{print $2}')
ok "the followed line's time is fresh" between "$((t_f - 1500000000))" "$last" "$(now_ns)"
kill "$follower"
wait "$follower" 2>/dev/null
follower=

ok "down" stack down -t 1
ok "the log and its index are gone" test ! -e "$STACK_ROOT/containers/logt-talker-1/container.log.idx"
trap - EXIT
assert_no_residue logt
done_testing
