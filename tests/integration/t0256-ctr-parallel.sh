#!/bin/bash
# Containers created, started, stopped and removed in parallel, sharing one new named volume: every one
# works, the volume is filled once, and nothing is left.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"

proj='{"volumes":{"shared":{"name":"t-par_shared"}}}'
svc='{"volumes":[{"type":"volume","source":"shared","target":"/data"}],"command":["sh","-c","cat /data/seed.txt; sleep 100"]}'
pids=()
for n in 1 2 3 4 5 6; do
        ct_run "t-par-$n" "$svc" --project "$proj" >"$STACK_TEST_TMP/out-$n" 2>&1 &
        pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
        wait "$p" || failed=$((failed + 1))
done
is "$failed" 0 "six containers created and started in parallel"
for n in 1 2 3 4 5 6; do
        [ -s "$STACK_TEST_TMP/out-$n" ] && diag "t-par-$n: $(cat "$STACK_TEST_TMP/out-$n")"
done
running=0
for n in 1 2 3 4 5 6; do
        [ "$(ct state "t-par-$n")" = running ] && running=$((running + 1))
done
is "$running" 6 "all six are running"
wait_until 50 sh -c "$CT log t-par-6 | grep -q 'from the image'"
like "$(ct log t-par-6)" "from the image" "the shared volume was filled from the image"
is "$(find "$STACK_ROOT/volumes/t-par_shared/_data" -type f | wc -l)" 1 "filled exactly once"

is "$(ct list - | tr '\n' ' ')" "t-par-1 t-par-2 t-par-3 t-par-4 t-par-5 t-par-6 " "list: the six containers"
pids=()
for n in 1 2 3 4 5 6; do
        (ct stop "t-par-$n" KILL 2 >/dev/null && ct remove "t-par-$n") &
        pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
        wait "$p" || failed=$((failed + 1))
done
is "$failed" 0 "stopped and removed in parallel"
ct volume-rm t-par_shared
is "$(ct list -)" "" "list: nothing after removal"
assert_no_residue t-par
done_testing
