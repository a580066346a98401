/* How a container is named, and the words for its state: shared by the runtime layer, the supervisor, the
 * planner, the graph and the CLI, without container.h's weight. */
#pragma once

#include <stdbool.h>

/* The name of replica `number` of a service: its fixed container_name when it has one (NULL: none), else
 * <project>-<service>-<number>, as compose names them. The one place this rule is written. */
char *container_name(const char *project, const char *service, const char *fixed_name, int number);
/* The label compose prints for a container (log prefixes): the default name without its project
 * ("web-1"), a fixed container_name as it is. Points into name. */
const char *container_label(const char *project, const char *service, int number, const char *name);

/* A container's state: one vocabulary for the runtime layer, the supervisor, the planner and the CLI. The
 * words (container_state_to_string) are docker's, as `ps` and `--format json` show them. */
enum container_state {
        CONTAINER_STATE_UNKNOWN,    /* nothing is known of it */
        CONTAINER_STATE_CREATED,    /* created (or being created), not started */
        CONTAINER_STATE_RUNNING,    /* its init runs */
        CONTAINER_STATE_RESTARTING, /* exited; the supervisor starts it again after a delay */
        CONTAINER_STATE_PAUSED,     /* frozen */
        CONTAINER_STATE_EXITED,     /* its init has exited */
        CONTAINER_STATE_DEAD,       /* the runtime has no such container (stack's records may remain) */
        _CONTAINER_STATE_MAX,
};

const char *container_state_to_string(enum container_state s);
/* The inverse; an unknown word (or NULL) is CONTAINER_STATE_UNKNOWN. */
enum container_state container_state_from_string(const char *s);
/* Running, or about to run again: what `ps` shows without -a. */
bool container_state_is_up(enum container_state s);
/* Anything but exited or dead: a container a stop has still to reach. */
bool container_state_is_live(enum container_state s);
