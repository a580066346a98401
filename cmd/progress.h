/* How `up` and `down` show what the engine does: compose's progress lines on stderr, drawn from the
 * reconciler's typed events (core/engine/reconcile.h), and the plan on stdout for --dry-run. */
#pragma once

#include "core/engine/reconcile.h"

enum progress_mode {
        PROGRESS_PLAIN,
        PROGRESS_TTY, /* colour and check marks */
        PROGRESS_QUIET,
        PROGRESS_JSON, /* compose's JSON lines: {"id":"Container x-web-1","status":"Started"} */
};

/* --progress auto|tty|plain|json|quiet (auto: tty when stderr is a terminal). */
enum progress_mode progress_mode_from(const char *option);
/* Whether option is one of those modes. */
bool progress_mode_valid(const char *option);
/* Whether the tty mode draws in colour (--ansi, NO_COLOR); it does until told otherwise. */
void progress_set_color(bool color);
/* The events drawn in `mode`; static, valid for the whole run. */
const struct reconcile_events *progress_events(enum progress_mode mode);
/* The mode a table from progress_events() draws in (PROGRESS_QUIET for NULL). */
enum progress_mode progress_mode_of(const struct reconcile_events *events);
/* One line in the style of the events: " Image busybox Removed". */
void progress_line(const struct reconcile_events *events, const char *noun, const char *target,
                   const char *word);
