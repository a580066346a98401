#!/bin/bash
# `stack run` with real containers: one-off names and labels, the command's exit code, dependencies
# started and waited on (or not, with --no-deps), ports published only with --service-ports, a pty on a
# terminal, --rm leaving nothing of the container, -d run by the supervisor, a plain `up` leaving one-offs
# alone, `down` removing them, and the flags not supported yet refused.
# shellcheck disable=SC2016 # single-quoted $-expressions are the container shell's to expand
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
"$STACK_SRCDIR/examples/build-images.sh" "$STACK_TEST_TMP/images" >/dev/null 2>&1 || skip_all "cannot build images"
ptyrun=$STACK_SRCDIR/tests/integration/pty-run.py

mkdir -p "$STACK_TEST_TMP/rn" && cd "$STACK_TEST_TMP/rn" || exit 1
cat >compose.yaml <<'YAML'
name: rn
services:
  db:
    image: stack-example/worker
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      start_period: 0s
  app:
    image: stack-example/worker
    depends_on:
      db:
        condition: service_healthy
    environment:
      FROM_FILE: file
  web:
    image: stack-example/httpd
    ports: ["127.0.0.1:18096:80"]
YAML
trap 'stack down -t 0 >/dev/null 2>&1' EXIT

names() { # the project's containers, sorted, on one line
        stack ps -a --format json | python3 -c 'import json, sys; print(" ".join(sorted(c["Name"] for c in json.load(sys.stdin))))'
}
oneoff_left() { # anything of a one-off container on the host: records, bundles, layers, runtime state
        find "$STACK_ROOT/projects/rn/containers" "$STACK_RUN_ROOT/containers" "$STACK_ROOT/containers" \
                "$STACK_RUN_ROOT/runtime" "$STACK_RUN_ROOT/netns" -name '*-run-*' 2>/dev/null
        grep -- '-run-' /proc/self/mountinfo | awk '{print "mount " $5}'
}
annotation() { # annotation CONTAINER KEY: the value the container's OCI config carries for KEY
        python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["annotations"].get(sys.argv[2], ""))' \
                "$STACK_RUN_ROOT/containers/$1/config.json" "$2"
}
answers() { # answers PORT: something accepts connections on 127.0.0.1:PORT
        bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# --no-deps: nothing else starts.
out=$(stack run --rm --no-deps -T app sh -c 'echo one-off; exit 4' 2>/dev/null)
is "$?" "4" "run returns the command's exit code"
is "$out" "one-off" "its output on our stdout"
is "$(names)" "" "--no-deps started nothing else, and --rm left no container"
is "$(oneoff_left)" "" "--rm left no record, bundle, layer, runtime state, netns or mount"

# Dependencies started and waited on.
out=$(stack run --rm -T app sh -c 'echo ran' 2>/dev/null)
is "$out" "ran" "run with dependencies"
is "$(ps_field rn-db-1 State)" "running" "the dependency was started"
is "$(ps_field rn-db-1 Health)" "healthy" "and waited on until healthy (condition: service_healthy)"
is "$(names)" "rn-db-1" "the service itself was not started, and the one-off is gone"
is "$(oneoff_left)" "" "nothing of the one-off is left"
links_after_db=$(ip -o link show | wc -l)

# Options.
is "$(stack run --rm -T -e X=1 -e FROM_FILE=over -u app -w /tmp app sh -c 'echo $X $FROM_FILE $(id -u) $(pwd)' 2>/dev/null)" \
        "1 over 1000 /tmp" "-e, -u and -w"
is "$(stack run --rm -T --entrypoint /bin/echo app hello 2>/dev/null)" "hello" "--entrypoint"
is "$(printf 'piped\n' | stack run --rm app cat 2>/dev/null)" "piped" "stdin from a pipe reaches the container"
is "$(stack run --rm -T --cap-drop ALL app sh -c 'grep CapEff /proc/self/status' 2>/dev/null | tr -d '\t ')" \
        "CapEff:0000000000000000" "--cap-drop"
stack run --rm -T app no-such-command >/dev/null 2>&1
is "$?" "127" "a command that does not exist: 127"

# Signals: the first is passed on (a sleeping init ignores it), a second one ends the one-off.
"$STACK_BIN" run --rm -T --no-deps app sh -c 'echo started; exec sleep 1000' >"$STACK_TEST_TMP/sig.out" 2>&1 &
runner=$!
ok "a one-off runs in the foreground" wait_until 300 grep -q started "$STACK_TEST_TMP/sig.out"
kill -TERM "$runner"
kill -INT "$runner"
wait "$runner"
is "$?" "137" "two signals end it: the runtime killed, 128+9"
is "$(oneoff_left)" "" "and --rm removed it all the same"

# A terminal when stdin is one.
out=$(python3 "$ptyrun" --rows 27 --cols 91 -- "$STACK_BIN" run --rm app sh -c 'tty; stty size; exit 6' 2>"$STACK_TEST_TMP/pty.err")
like "$out" "/dev/pts/" "on a terminal the one-off gets a pty"
like "$out" "27 91" "of our window size"
is "$(cat "$STACK_TEST_TMP/pty.err")" "exit=6 termios=same" "its exit code, our terminal restored"
is "$(oneoff_left)" "" "--rm after a pty run leaves nothing either"
is "$(ip -o link show | wc -l)" "$links_after_db" "no link left by the one-offs"

# Ports: not published unless --service-ports.
name=$(stack run -d --no-deps web 2>/dev/null)
like "$name" "rn-web-run-" "-d prints the one-off's name"
ok "name is <project>-<service>-run-<12 hex>" bash -c "[[ '$name' =~ ^rn-web-run-[0-9a-f]{12}$ ]]"
ok "it runs" wait_until 300 bash -c "'$STACK_BIN' ps --format json | grep -q '\"Name\":\"$name\".*\"State\":\"running\"'"
not_ok "its service's port is not published" answers 18096
is "$(annotation "$name" com.docker.compose.oneoff)" "True" "it is labelled as a one-off"
sp=$(stack run -d --no-deps --service-ports --name rn-web-ports web 2>/dev/null)
is "$sp" "rn-web-ports" "--name names it"
ok "--service-ports publishes the service's port" wait_until 300 answers 18096

ok "run -d -p" stack run -d --no-deps -p 127.0.0.1:18097:80 web
ok "-p publishes the port given" wait_until 300 answers 18097
stack run --rm -p 80:99999 web true >/dev/null 2>&1
is "$?" "2" "-p with a bad port is a usage error"

# Detached one-offs are the supervisor's: exit code recorded, never restarted.
job=$(stack run -d --no-deps -l purpose=test app sh -c 'exit 3' 2>/dev/null)
ok "a detached one-off exits" wait_until 300 bash -c "[ \"\$(cd '$PWD' && '$STACK_BIN' ps -a --format json | python3 -c 'import json,sys; print([c[\"State\"] for c in json.load(sys.stdin) if c[\"Name\"]==\"$job\"][0])')\" = exited ]"
is "$(ps_field "$job" ExitCode)" "3" "with its exit code recorded"
is "$(annotation "$job" purpose)" "test" "-l adds a label"

# Names: a one-off answers to its own name, not to its service's (compose's run without --use-aliases).
dns_names() { # dns_names CONTAINER: the names the project's DNS table gives the container
        python3 -c 'import json, sys
for n in json.load(open(sys.argv[1]))["networks"]:
    for e in n["entries"]:
        if e["id"] == sys.argv[2]:
            print(" ".join(e["names"]))' "$STACK_RUN_ROOT/projects/rn/dns.json" "$1" | sort -u
}
is "$(dns_names "$name")" "$name" "the one-off's DNS names: its own only"
is "$(dns_names rn-db-1)" "rn-db-1 db" "a replica's: its name and its service's"

# A plain up leaves the one-offs alone: not orphans, not removed.
up_out=$(stack up -d 2>&1)
is "$?" "0" "up"
ok "the one-offs are still there after up" bash -c "'$STACK_BIN' ps -a -q | grep -qx '$name' && '$STACK_BIN' ps -a -q | grep -qx '$job'"
is "$(printf '%s\n' "$up_out" | grep -c 'orphan')" "0" "and not called orphans"
is "$(ps_field "$name" State)" "running" "the running one still runs"

# Refused flags and errors.
for flag in "-v /tmp:/x" "--build" "--pull always" "--use-aliases"; do
        # shellcheck disable=SC2086 # the flag and its value are two words
        stack run --rm $flag app true >/dev/null 2>&1
        is "$?" "2" "run $flag is refused as not supported yet"
done
stack run --rm -d app true >/dev/null 2>&1
is "$?" "2" "--rm with -d is refused"
kept=$(oneoff_left) # the detached one-offs above
err=$(stack run --rm -T -u nosuchuser app true 2>&1)
is "$?" "1" "a one-off that cannot be created: exit 1"
like "$err" "nosuchuser" "naming the cause"
is "$(oneoff_left)" "$kept" "and --rm removed what was made of it"
err=$(stack run nosuch true 2>&1)
is "$?" "1" "unknown service: exit 1"
like "$err" "no such service: nosuch" "naming it"

# down removes everything, one-offs included.
ok "down" stack down -t 0
is "$(oneoff_left)" "" "down removed the one-offs"
is "$(names)" "" "no container left"
assert_no_residue rn
done_testing
