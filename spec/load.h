/* Loading a project: discovery, .env, interpolation, merge, extends, include, profiles, the model. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "spec/model.h"

struct spec_options {
        char **files;             /* -f, in order; "-" is stdin. NULL: COMPOSE_FILE, then discovery */
        const char *project_name; /* -p */
        const char *project_dir;  /* --project-directory */
        char **env_files;         /* --env-file; NULL: <project dir>/.env */
        char **profiles;          /* --profile; NULL: COMPOSE_PROFILES */
        char **services;          /* services named on the command line: enabled with their dependencies */
        bool no_interpolate;
        char **environ;  /* the shell environment; NULL: the process's */
        const char *cwd; /* NULL: the process's working directory */
};

/* Loads and validates the project. Warnings (unset variables, unsupported keys) go to the log; the first
 * error is returned as "file:line:col: key.path: message". Nothing on the host is touched. */
int spec_load(const struct spec_options *o, struct stack_project **ret, struct stack_error *err);
