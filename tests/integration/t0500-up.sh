#!/bin/bash
# `stack up` / `stack down` end to end with real containers, networks and traffic: health-gated order,
# no-op second up, recreate on change with restart:true dependents, orphans beyond max_orphans, scale,
# restart policy, supervisor re-adoption, and a teardown that leaves nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"

command -v crun >/dev/null || skip_all "crun not installed"
[ -x /usr/bin/redis-server ] || skip_all "redis-server not installed"

img=$STACK_TEST_TMP/images
"$STACK_SRCDIR/examples/build-images.sh" "$img" >/dev/null 2>&1 || skip_all "cannot build the example images"

proj=$STACK_TEST_TMP/shop
mkdir -p "$proj"
cat >"$proj/compose.yaml" <<'YAML'
name: shop
x-stack:
  max_orphans: 0
services:
  web:
    image: stack-example/httpd
    ports:
      - "127.0.0.1:18080:80"
    depends_on:
      app:
        condition: service_started
        restart: true
  app:
    image: stack-example/worker
    environment:
      MODE: ${APP_MODE:-one}
    depends_on:
      data:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
  data:
    image: stack-example/redis
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      start_interval: 200ms
      start_period: 10s
      retries: 30
  migrate:
    image: stack-example/worker
    command: ["sh", "-c", "echo migrated"]
    depends_on:
      data:
        condition: service_healthy
  extra:
    image: stack-example/worker
    restart: always
YAML
cd "$proj" || exit 1

ok "up -d --wait brings the example up" stack up -d --wait --wait-timeout 60
page=$(busybox wget -qO- http://127.0.0.1:18080/ 2>&1)
like "$page" "Hello from stack-example/httpd" "the web front end answers on its published 127.0.0.1 port"
is "$(ps_field shop-migrate-1 State)" "exited" "the one-shot migration ran"
is "$(ps_field shop-migrate-1 ExitCode)" "0" "and completed successfully"
# HealthLog holds the last 5 probes (HEALTH_LOG_MAX in core/engine/health.h). The moment data became
# healthy is its first successful probe, known while the log still shows what came before it (a failed
# probe, or fewer than 5 probes in all). On a busy machine the log may have moved on by now: then that
# moment lies before the oldest probe kept, and only data's start bounds it.
read -r healthy_at known < <(stack ps -a --format json | python3 -c '
import json, sys
c = next(c for c in json.load(sys.stdin) if c["Name"] == "shop-data-1")
log = c["HealthLog"]
first = min(h["end"] for h in log if h["exit_code"] == 0)
known = len(log) < 5 or any(h["exit_code"] != 0 and h["end"] < first for h in log)
print(int(first), "yes" if known else "no")')
app_at=$(ps_field shop-app-1 StartedAt)
if [ "$known" = yes ]; then
        ok "app started only after data was healthy ($app_at > $healthy_at)" test "$app_at" -gt "$healthy_at"
else
        data_at=$(ps_field shop-data-1 StartedAt)
        diag "data's health log no longer shows its first healthy probe"
        ok "app started after data ($app_at > $data_at)" test "$app_at" -gt "$data_at"
fi
migrate_done=$(ps_field shop-migrate-1 FinishedAt)
ok "app started only after migrate completed" test "$app_at" -ge "${migrate_done%.*}"

plan=$(stack up -d --dry-run 2>&1)
is "$plan" "" "a second up plans nothing"
web_before=$(ps_field shop-web-1 StartedAt)
data_before=$(ps_field shop-data-1 StartedAt)
ok "a second up succeeds" stack up -d
is "$(ps_field shop-web-1 StartedAt)" "$web_before" "and touches no container"

APP_MODE=two stack up -d >/dev/null 2>&1
ok "changing app's environment recreates app" test "$(ps_field shop-app-1 StartedAt)" -gt "$app_at"
ok "and restarts web (restart: true)" test "$(ps_field shop-web-1 StartedAt)" -gt "$web_before"
is "$(ps_field shop-data-1 StartedAt)" "$data_before" "and leaves data alone"

# scale up and down
APP_MODE=two stack up -d --scale extra=3 >/dev/null 2>&1
is "$(stack ps -q extra | sort | tr '\n' ' ')" "shop-extra-1 shop-extra-2 shop-extra-3 " "scale up adds replicas 2 and 3"
APP_MODE=two stack up -d --scale extra=1 >/dev/null 2>&1
is "$(stack ps -a -q extra | tr '\n' ' ')" "shop-extra-1 " "scale down removes the highest numbers"

# restart policy: a killed container comes back
pid=$(ctr_pid shop-extra-1)
kill -KILL "$pid"
restarted() { [ "$(ps_field shop-extra-1 RestartCount)" -ge 1 ] && [ "$(ps_field shop-extra-1 State)" = running ]; }
ok "restart: always brings a killed container back" wait_until 100 restarted

# a killed supervisor is replaced and its containers re-adopted
sup=$(cut -d' ' -f1 "$STACK_RUN_ROOT/projects/shop/supervisor.pid")
kill -KILL "$sup"
ok "containers keep running without the supervisor" busybox wget -qO- http://127.0.0.1:18080/
ok "the next up starts a new supervisor" env APP_MODE=two "$STACK_BIN" up -d
new_sup=$(cut -d' ' -f1 "$STACK_RUN_ROOT/projects/shop/supervisor.pid")
ok "a different supervisor process" test "$new_sup" != "$sup"
is "$(ps_field shop-web-1 State)" "running" "which re-adopted the running containers"

# orphans: a service removed from the file is torn down beyond max_orphans (0 here)
sed -i '/^  extra:/,$d' compose.yaml
ok "up without the extra service" env APP_MODE=two "$STACK_BIN" up -d
is "$(stack ps -a -q extra)" "" "the orphan beyond max_orphans is removed"

ok "down -v succeeds" stack down -v
is "$(stack ps -a -q)" "" "no container is left"
assert_no_residue shop
done_testing
