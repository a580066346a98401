/* The health state machine and the restart policy, without containers. */
#include "core/engine/health.h"
#include "core/engine/restart.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

#define SEC 1000000ULL

static struct health_probe_result probe(int code)
{
        return (struct health_probe_result){.exit_code = code, .output = xstrdup(code ? "fail" : "ok")};
}

static const struct stack_healthcheck unset = {
    .interval_usec = -1,
    .timeout_usec = -1,
    .start_period_usec = -1,
    .start_interval_usec = -1,
    .retries = -1,
};

static void test_resolve(void)
{
        struct stack_healthcheck image = unset, file = unset;
        struct health_settings h;
        health_settings_resolve(NULL, NULL, &h);
        ok(!h.enabled, "no health check anywhere: disabled");

        image.present = true;
        image.kind = STACK_HEALTH_CMD;
        image.interval_usec = 5 * SEC;
        file.present = true;
        file.retries = 7;
        health_settings_resolve(&file, &image, &h);
        ok(h.enabled, "the image's test is inherited when the file sets only options");
        is_int(h.interval_usec, 5 * SEC, "the image's interval is kept");
        is_int(h.retries, 7, "the file's retries win");
        is_int(h.timeout_usec, 30 * SEC, "default timeout 30s");
        is_int(h.start_interval_usec, 5 * SEC, "default start interval 5s");

        file.disable = true;
        health_settings_resolve(&file, &image, &h);
        ok(!h.enabled, "disable: true turns the image's check off");
        file.disable = false;
        file.kind = STACK_HEALTH_NONE;
        health_settings_resolve(&file, &image, &h);
        ok(!h.enabled, "test: [NONE] turns it off");
}

static void test_states(void)
{
        struct health_settings h = {
            .enabled = true,
            .interval_usec = 10 * SEC,
            .timeout_usec = SEC,
            .start_period_usec = 30 * SEC,
            .start_interval_usec = 2 * SEC,
            .retries = 3,
        };
        struct health_state s;
        health_state_init(&s, &h);
        is_int(s.status, HEALTH_STARTING, "a new container is starting");
        is_int(health_next_delay(&h, &s, 0), 2 * SEC, "probes every start_interval during the start period");

        struct health_probe_result r;
        for (int i = 0; i < 5; i++) {
                r = probe(1);
                health_record(&h, &s, (uint64_t) (i + 1) * 2 * SEC, &r);
        }
        is_int(s.status, HEALTH_STARTING, "failures inside the start period do not count");
        is_int(s.n_log, HEALTH_LOG_MAX, "the last probes are kept");

        r = probe(0);
        ok(health_record(&h, &s, 12 * SEC, &r), "a success changes the status");
        is_int(s.status, HEALTH_HEALTHY, "healthy");
        is_int(health_next_delay(&h, &s, 13 * SEC), 10 * SEC, "a success ends the start period early");

        for (int i = 0; i < 2; i++) {
                r = probe(1);
                health_record(&h, &s, 40 * SEC, &r);
        }
        is_int(s.status, HEALTH_HEALTHY, "two failures of three retries: still healthy");
        r = probe(-1);
        health_record(&h, &s, 50 * SEC, &r);
        is_int(s.status, HEALTH_UNHEALTHY, "the third consecutive failure (a timeout) makes it unhealthy");
        r = probe(0);
        health_record(&h, &s, 60 * SEC, &r);
        is_int(s.status, HEALTH_HEALTHY, "and a success makes it healthy again");
        health_state_clear(&s);
}

static void test_restart(void)
{
        uint64_t delay = 0;
        struct restart_state st = {0};
        struct stack_restart_policy no = {.policy = STACK_RESTART_NO, .delay_usec = -1, .window_usec = -1};
        ok(!restart_decide(&no, &st, 1, false, 0, 0, &delay), "restart: no never restarts");

        struct stack_restart_policy always = {
            .policy = STACK_RESTART_ALWAYS, .delay_usec = -1, .window_usec = -1};
        ok(restart_decide(&always, &st, 0, false, 0, 0, &delay), "always restarts a clean exit");
        is_int(delay, 100000, "first delay 100ms");
        restart_decide(&always, &st, 0, false, 0, 0, &delay);
        is_int(delay, 200000, "then doubles");
        for (int i = 0; i < 20; i++)
                restart_decide(&always, &st, 0, false, 0, 0, &delay);
        is_int(delay, 60 * SEC, "capped at one minute");
        restart_decide(&always, &st, 0, false, 11 * SEC, 0, &delay);
        is_int(delay, 100000, "a run of 10s or more resets the backoff");
        ok(!restart_decide(&always, &st, 0, true, 0, 0, &delay), "never after stack stopped it");

        struct restart_state of = {0};
        struct stack_restart_policy onf = {
            .policy = STACK_RESTART_ON_FAILURE, .max_retries = 2, .delay_usec = -1, .window_usec = -1};
        ok(!restart_decide(&onf, &of, 0, false, 0, 0, &delay), "on-failure leaves a clean exit alone");
        ok(restart_decide(&onf, &of, 3, false, 0, 0, &delay), "on-failure restarts a failure");
        ok(restart_decide(&onf, &of, 3, false, 0, 0, &delay), "second attempt");
        ok(!restart_decide(&onf, &of, 3, false, 0, 0, &delay), "on-failure:2 gives up after two");

        struct restart_state w = {0};
        struct stack_restart_policy win = {.policy = STACK_RESTART_ALWAYS,
                                           .max_retries = 1,
                                           .delay_usec = 5 * SEC,
                                           .window_usec = 60 * SEC};
        ok(restart_decide(&win, &w, 1, false, 0, 0, &delay), "max_attempts 1 within a window");
        is_int(delay, 5 * SEC, "deploy delay is used as is");
        ok(!restart_decide(&win, &w, 1, false, 0, 30 * SEC, &delay), "no second attempt inside the window");
        ok(restart_decide(&win, &w, 1, false, 0, 61 * SEC, &delay), "a new window allows another");
}

int main(void)
{
        test_resolve();
        test_states();
        test_restart();
        return done_testing();
}
