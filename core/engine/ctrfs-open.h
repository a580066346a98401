/* Opening a project container's file system (core/runtime/ctrfs.h) after checking that it runs: the init
 * pid comes from the OCI runtime, agrees with the supervisor's when one answers, and is checked again
 * once /proc/<pid>/root is open, so a pid reused meanwhile by another process is never taken for the
 * container. Used by `stack cp` and by the watcher for each batch (a restarted container has a new pid). */
#pragma once

#include "core/base/error.h"
#include "core/engine/status.h"
#include "core/runtime/ctrfs.h"

/* -ESRCH with "container NAME is not running" when it is not. */
int ctrfs_open_container(const struct status_config *c, const char *project, const char *name,
                         struct ctrfs **ret, struct stack_error *err);
