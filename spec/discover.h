/* Which files make the project, where it lives, what it is called, and the environment it is read with.
 *
 * As docker compose: `-f` (repeatable, `-` is stdin), else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR,
 * default ':'), else compose.yaml / compose.yml / docker-compose.yml / docker-compose.yaml searched from the
 * working directory upwards, plus the matching override file. The project directory is
 * --project-directory, else the first file's directory. The environment is the shell's, over the values
 * of <project dir>/.env (or the --env-file files), which only fill variables the shell does not set. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "spec/load.h"
#include "spec/model.h"

struct spec_discovery {
        char *cwd;         /* absolute */
        char **files;      /* absolute paths, "-" for stdin, in merge order */
        char **names;      /* how each file is named in marks and errors (relative to cwd when below it) */
        char *project_dir; /* absolute */
        char **env_files;  /* the .env files read, absolute */
        struct stack_kvlist environment;
        char *project_name; /* -p or COMPOSE_PROJECT_NAME (validated); NULL until spec_discover_name() */
        char **profiles;    /* active profiles: --profile, else COMPOSE_PROFILES */
};

void spec_discovery_done(struct spec_discovery *d);
static inline void spec_discovery_donep(struct spec_discovery *d)
{
        spec_discovery_done(d);
}
#define _cleanup_discovery_ __attribute__((cleanup(spec_discovery_donep)))

/* Finds the files, the project directory, the .env files, the environment and the profiles. Reads only. */
int spec_discover(const struct spec_options *o, struct spec_discovery *d, struct stack_error *err);

/* Settles the project name when neither -p nor COMPOSE_PROJECT_NAME did: the files' top-level `name:`
 * (the last one, interpolated; NULL when none) normalized, else the project directory's name normalized.
 * The result is also COMPOSE_PROJECT_NAME in the environment. */
int spec_discover_name(struct spec_discovery *d, const char *name_from_files, struct node_mark mark,
                       struct stack_error *err);

/* compose's NormalizeProjectName: lowercase, keep [a-z0-9_-], drop leading '_' and '-'. */
char *spec_project_name_normalize(const char *s);
/* Non-empty and already normalized: what -p and COMPOSE_PROJECT_NAME must be. */
bool spec_project_name_valid(const char *s);

/* The name a file goes by in marks: relative to cwd when below it, else absolute; "-" is "<stdin>". */
char *spec_display_path(const char *abs, const char *cwd);

/* Reads .env files (in order, later files win among themselves) and adds their values to *env where it
 * has no value yet. Paths read are appended to *read (may be NULL). */
int spec_env_fill_from_files(char *const *files, struct stack_kvlist *env, char ***read,
                             struct stack_error *err);
