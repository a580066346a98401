/* systemd units for a project, pure: the model in, the unit file's text out.
 *
 * A project's unit runs the attached `stack up` as a Type=notify service: READY=1 comes only once every
 * service is running or healthy, so units ordered after it wait for the whole stack and depends_on holds at
 * boot too. The attached `up` stays the main process for the stack's whole life (it is what systemd
 * watches; the supervisor is a sibling it starts), SIGTERM makes it stop the services in reverse
 * dependency order, and ExecStopPost's `down` removes whatever is left, even after a crash.
 *
 * Timeouts come from the file: TimeoutStartSec is the longest chain of health-check budgets through
 * depends_on (start_period + retries x (interval + timeout) per service) plus a margin for images and
 * containers; TimeoutStopSec the longest chain of stop_grace_periods plus a margin. Health checks that only
 * the image declares are not known here; their services count with no budget. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/base/error.h"
#include "spec/model.h"

/* Margins over the budgets: images, networks and containers before the first check; down after stops. */
#define UNIT_START_MARGIN_USEC (120ULL * 1000000ULL)
#define UNIT_STOP_MARGIN_USEC (30ULL * 1000000ULL)

struct unit_options {
        const char *stack_path; /* absolute path of the stack binary for Exec lines */
        const char *root;       /* --root to pass on; NULL: the default */
        const char *run_root;   /* --run-root to pass on; NULL: the default */
        const char *runtime;    /* --runtime to pass on; NULL: the default */
};

/* The longest chain of health-check budgets through depends_on, in microseconds. */
uint64_t unit_start_budget_usec(const struct stack_project *p);
/* The longest chain of stop grace periods through depends_on, in microseconds. */
uint64_t unit_stop_budget_usec(const struct stack_project *p);

/* The unit for project p, run from the files it was loaded from. Fails for a project read from stdin. */
int unit_render_project(const struct stack_project *p, const struct unit_options *o, char **ret,
                        struct stack_error *err);
/* The stack@.service template: the instance is the escaped path of a project directory (`systemd-escape
 * --path`), its compose file found there as `stack up` would. */
char *unit_render_template(const struct unit_options *o);

/* The default unit name of a project: stack-<project>.service. */
char *unit_name(const char *project);

/* One argument of an Exec line or a path list, escaped for systemd: specifiers (%), variables ($),
 * quotes and backslashes, double-quoted when it holds anything but plain characters. */
char *unit_quote(const char *s);
