/* Following the containers' output: the log files the containers write themselves, read from where the
 * reader left off, cut into lines, each with the time its first byte was written (from the log's time
 * index), filtered by --since/--until. The CLI decides how a line looks (prefix, colour, timestamp); this
 * module decides which lines there are.
 *
 * A log set follows the containers of a project: new ones are added as they appear (scale up, recreate),
 * a recreated container's log is read again from its start. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine/status.h"

/* -t, --since and --until. */
struct logs_filter {
        bool timestamps; /* the lines' times are wanted */
        bool since_set, until_set;
        int64_t since, until; /* ns since the epoch, both inclusive */
};

struct logs_line {
        const char *label; /* "web-1", or the container_name */
        size_t index;      /* the container's position in the set: stable, for colours */
        int64_t time;      /* ns since the epoch; 0 unless the filter asked for times */
        const char *data;  /* the line with its newline */
        size_t len;
};

typedef void (*logs_line_fn)(void *userdata, const struct logs_line *line);

struct logs;

struct logs *logs_new(const struct logs_filter *filter);
void logs_free(struct logs *set);
static inline void logs_freep(struct logs **set)
{
        if (*set)
                logs_free(*set);
}
#define _cleanup_logs_ __attribute__((cleanup(logs_freep)))

/* Notes where each container's log ends now: attached `up` shows only what is written afterwards, as
 * compose attaches without the past output. */
void logs_mark(struct logs *set, const struct project_status *st);
/* Adds the containers of the services (NULL: all) not followed yet. The first round starts each `tail`
 * lines from the end (-1: all; after the filters), later rounds at the start of a new container's log (or
 * where a mark says its output began). */
void logs_update(struct logs *set, const struct project_status *st, char *const *services, int tail,
                 bool first);
/* Hands every complete line written since the last call to fn, container by container. */
void logs_read(struct logs *set, logs_line_fn fn, void *userdata);
/* Hands over what is left of unfinished last lines, ended with a newline as compose shows them. */
void logs_flush(struct logs *set, logs_line_fn fn, void *userdata);
/* The longest label: the width of the prefix column. */
int logs_label_width(const struct logs *set);
/* Whether --until has passed: what was written by then has been read, following can end. */
bool logs_filter_expired(const struct logs_filter *flt);
