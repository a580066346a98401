/* The health state machine, as Docker defines it, kept pure so it can be tested without containers.
 *
 * A container with a health check starts "starting". A passing probe makes it "healthy". A failing probe
 * counts towards `retries` consecutive failures, except during start_period, when failures do not count
 * (but a success still ends the start period). `retries` consecutive failures make it "unhealthy". While
 * in the start period, probes run every start_interval; afterwards every interval. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "spec/model.h"

enum health_status {
        HEALTH_NONE, /* no health check */
        HEALTH_STARTING,
        HEALTH_HEALTHY,
        HEALTH_UNHEALTHY,
};

#define HEALTH_LOG_MAX 5

struct health_probe_result {
        uint64_t start_usec, end_usec; /* realtime */
        int exit_code;                 /* -1: timed out or could not run */
        char *output;
};

struct health_state {
        enum health_status status;
        int failing_streak;
        bool start_period_over;
        struct health_probe_result log[HEALTH_LOG_MAX]; /* most recent last */
        int n_log;
};

/* The effective settings: the file's values over the image's over Docker's defaults. */
struct health_settings {
        bool enabled;
        uint64_t interval_usec, timeout_usec, start_period_usec, start_interval_usec;
        int retries;
};

void health_settings_resolve(const struct stack_healthcheck *file, const struct stack_healthcheck *image,
                             struct health_settings *ret);
void health_state_init(struct health_state *s, const struct health_settings *h);
/* Delay until the next probe, counted from the previous probe's end (or from the container's start). */
uint64_t health_next_delay(const struct health_settings *h, const struct health_state *s,
                           uint64_t since_start_usec);
/* Records a probe's result; since_start_usec is the time from the container's start to the probe's end.
 * Returns true when the status changed. Takes ownership of result->output. */
bool health_record(const struct health_settings *h, struct health_state *s, uint64_t since_start_usec,
                   struct health_probe_result *result);
void health_state_clear(struct health_state *s);
const char *health_status_name(enum health_status st);
/* The inverse; "" and unknown words are HEALTH_NONE. */
enum health_status health_status_from_string(const char *s);
