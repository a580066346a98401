/* What `up`'s options mean once the environment and the file have had their say: the orphan policy and
 * --scale. Kept out of the CLI so that every caller of the engine gets the same answer. */
#pragma once

#include "core/base/error.h"
#include "core/engine/plan.h"
#include "spec/model.h"

/* Fills o's orphan fields: --remove-orphans (or $COMPOSE_REMOVE_ORPHANS), and how many orphans to keep:
 * --max-orphans (flag_max >= 0), else $STACK_MAX_ORPHANS, else x-stack.max_orphans, else 3;
 * $COMPOSE_IGNORE_ORPHANS keeps them all unless a flag said otherwise. */
void options_orphans(const struct stack_project *p, bool remove_orphans, int flag_max,
                     struct plan_options *o);

/* Applies "SERVICE=NUM" (--scale) to the loaded project, overriding its scale:. A bad form or an unknown
 * service is an error naming it. */
int options_scale(struct stack_project *p, const char *assignment, struct stack_error *err);
