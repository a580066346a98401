/* The CLI's shared pieces: global options and the subcommands' entry points. No logic lives in cmd/:
 * commands parse their options, call the library and print. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "spec/model.h"

/* Exit codes, as docker compose. */
enum {
        EXIT_OK = 0,
        EXIT_ERROR = 1,
        EXIT_USAGE = 2,
};

struct cmd_global {
        char **files;
        char *project_name;
        char *project_dir;
        char **env_files;
        char **profiles;
        int parallel; /* -1: unlimited */
        bool dry_run;
        char *progress;
        char *ansi;
        char *root;
        char *run_root;
        char *runtime;
};

struct cmd {
        const char *name;
        int (*run)(struct cmd_global *g, int argc, char **argv);
        const char *summary;
        bool hidden;
};

/* Loads the project from the global options; services named on the command line activate their profiles.
 * Prints a located error and returns EXIT_ERROR on failure. */
int cmd_load_project(const struct cmd_global *g, char **services, struct stack_project **ret);
/* Prints "stack: <message>" for an error and returns EXIT_ERROR. */
int cmd_fail(const struct stack_error *err);
/* Prints a usage error with a hint and returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_config(struct cmd_global *g, int argc, char **argv);
int cmd_up(struct cmd_global *g, int argc, char **argv);
int cmd_down(struct cmd_global *g, int argc, char **argv);
int cmd_ps(struct cmd_global *g, int argc, char **argv);
int cmd_logs(struct cmd_global *g, int argc, char **argv);
int cmd_ls(struct cmd_global *g, int argc, char **argv);
int cmd_wait(struct cmd_global *g, int argc, char **argv);
int cmd_image(struct cmd_global *g, int argc, char **argv);
int cmd_images(struct cmd_global *g, int argc, char **argv);
int cmd_network(struct cmd_global *g, int argc, char **argv);
int cmd_port(struct cmd_global *g, int argc, char **argv);
int cmd_supervise(struct cmd_global *g, int argc, char **argv);
int cmd_build(struct cmd_global *g, int argc, char **argv);

/* Building the images of services with build: (cmd/build.c), for `stack build` and `up`. */
struct cmd_build_options {
        bool no_cache, pull, quiet;
        bool only_missing; /* build only images the store lacks (and pull_policy: build ones) */
        const struct stack_kvlist *build_args;
};
/* services NULL: every service with build:. */
int cmd_build_services(const struct cmd_global *g, const struct stack_project *p, char *const *services,
                       const struct cmd_build_options *o);
/* The build callback of images_ensure() (an images_build_fn): builds one service's image. */
struct cmd_build_context {
        const struct cmd_global *g;
        const struct stack_project *p;
};
int cmd_build_image(void *userdata, const struct stack_service *svc, struct stack_error *err);
int cmd_pull(struct cmd_global *g, int argc, char **argv);
int cmd_push(struct cmd_global *g, int argc, char **argv);
int cmd_login(struct cmd_global *g, int argc, char **argv);
int cmd_logout(struct cmd_global *g, int argc, char **argv);
int cmd_image_pull(struct cmd_global *g, int argc, char **argv);
int cmd_image_push(struct cmd_global *g, int argc, char **argv);
/* Registry progress as plain lines on stderr (a registry_progress_fn). */
void cmd_pull_progress(void *userdata, const char *id, const char *status);
