#include <stdlib.h>
#include <string.h>

#include "core/engine/health.h"
#include "core/base/util.h"

#define USEC_PER_SEC 1000000ULL

static uint64_t pick(int64_t file, int64_t image, uint64_t fallback)
{
        /* Docker treats 0 as "use the default" for every duration of a health check. */
        if (file > 0)
                return file;
        if (image > 0)
                return image;
        return fallback;
}

void health_settings_resolve(const struct stack_healthcheck *file, const struct stack_healthcheck *image,
                             struct health_settings *ret)
{
        static const struct stack_healthcheck none = {
            .interval_usec = -1,
            .timeout_usec = -1,
            .start_period_usec = -1,
            .start_interval_usec = -1,
            .retries = -1,
        };
        const struct stack_healthcheck *f = file && file->present ? file : &none;
        const struct stack_healthcheck *i = image && image->present ? image : &none;
        *ret = (struct health_settings){0};

        enum stack_health_kind kind = f->kind != STACK_HEALTH_UNSET ? f->kind : i->kind;
        if (f->disable || kind == STACK_HEALTH_NONE || kind == STACK_HEALTH_UNSET)
                return;
        ret->enabled = true;
        ret->interval_usec = pick(f->interval_usec, i->interval_usec, 30 * USEC_PER_SEC);
        ret->timeout_usec = pick(f->timeout_usec, i->timeout_usec, 30 * USEC_PER_SEC);
        ret->start_period_usec = pick(f->start_period_usec, i->start_period_usec, 0);
        ret->start_interval_usec = pick(f->start_interval_usec, i->start_interval_usec, 5 * USEC_PER_SEC);
        ret->retries = f->retries > 0 ? f->retries : i->retries > 0 ? i->retries : 3;
}

void health_state_init(struct health_state *s, const struct health_settings *h)
{
        *s = (struct health_state){.status = h->enabled ? HEALTH_STARTING : HEALTH_NONE};
}

static bool in_start_period(const struct health_settings *h, const struct health_state *s, uint64_t since)
{
        return !s->start_period_over && since < h->start_period_usec;
}

uint64_t health_next_delay(const struct health_settings *h, const struct health_state *s,
                           uint64_t since_start_usec)
{
        if (in_start_period(h, s, since_start_usec))
                return h->start_interval_usec;
        return h->interval_usec;
}

bool health_record(const struct health_settings *h, struct health_state *s, uint64_t since_start_usec,
                   struct health_probe_result *result)
{
        enum health_status before = s->status;
        if (s->n_log == HEALTH_LOG_MAX) {
                free(s->log[0].output);
                memmove(&s->log[0], &s->log[1], (HEALTH_LOG_MAX - 1) * sizeof(s->log[0]));
                s->n_log--;
        }
        s->log[s->n_log++] = *result;
        result->output = NULL;

        if (result->exit_code == 0) {
                s->failing_streak = 0;
                s->start_period_over = true;
                s->status = HEALTH_HEALTHY;
        } else if (!in_start_period(h, s, since_start_usec)) {
                s->failing_streak++;
                if (s->failing_streak >= h->retries)
                        s->status = HEALTH_UNHEALTHY;
        }
        return s->status != before;
}

void health_state_clear(struct health_state *s)
{
        for (int i = 0; i < s->n_log; i++)
                free(s->log[i].output);
        s->n_log = 0;
}

const char *health_status_name(enum health_status st)
{
        switch (st) {
        case HEALTH_NONE:
                return "";
        case HEALTH_STARTING:
                return "starting";
        case HEALTH_HEALTHY:
                return "healthy";
        case HEALTH_UNHEALTHY:
                return "unhealthy";
        }
        return "?";
}

enum health_status health_status_from_string(const char *s)
{
        for (enum health_status st = HEALTH_STARTING; st <= HEALTH_UNHEALTHY; st++)
                if (streq_ptr(s, health_status_name(st)))
                        return st;
        return HEALTH_NONE;
}
