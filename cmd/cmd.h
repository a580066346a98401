/* The CLI's shared pieces: global options, the helpers every verb uses and the verbs' entry points (one
 * file each). No engine logic lives in cmd/: a verb parses its options, calls the library and presents
 * what it gets back (tables, JSON for --format json, progress lines). */
#pragma once

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#include "core/base/error.h"
#include "core/engine/logs.h"
#include "core/engine/reconcile.h"
#include "core/engine/status.h"
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
        bool root; /* changes the host: refused up front for other users (no rootless mode yet) */
};

/* Loads the project from the global options; services named on the command line activate their profiles.
 * Prints a located error and returns EXIT_ERROR on failure. */
int cmd_load_project(const struct cmd_global *g, char **services, struct stack_project **ret);
/* Prints "stack: <message>" for an error and returns EXIT_ERROR. */
int cmd_fail(const struct stack_error *err);
/* Prints a usage error with a hint and returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads the project for `down -p NAME`, whose file may be gone or broken: nothing is printed, and *ret
 * stays NULL unless a file of that very project loads. */
void cmd_load_project_quiet(const struct cmd_global *g, const char *name, struct stack_project **ret);
/* The project a command acts on: -p, else the compose file's. */
int cmd_project_name(const struct cmd_global *g, char **ret);
/* The project a command about existing containers (ps, logs) acts on, in *ret_name. With -p and no -f the
 * compose file is optional: *ret_p gets it only when services are named and a file of that project loads.
 * Otherwise the file is loaded (an unknown name in services is an error there). */
int cmd_project_for(const struct cmd_global *g, char **services, char **ret_name,
                    struct stack_project **ret_p);
/* Every name in services must be a service: of p when there is a file (profiles may disable it), else of
 * one of the project's containers in st. Prints "stack CMD: no such service: NAME" and returns EXIT_ERROR
 * for the first that is not. */
int cmd_check_services(const char *cmd, const struct stack_project *p, const struct project_status *st,
                       char *const *services);
/* Parses a number option (-1 .. 1000000); prints a usage error and returns EXIT_USAGE when it is not. */
int cmd_parse_int(const char *cmd, const char *opt, const char *s, int *ret);

/* Whether output on fd gets ANSI colour: --ansi always, or auto on a terminal without $NO_COLOR. */
bool cmd_color(const struct cmd_global *g, int fd);

struct reconcile_config cmd_reconcile_config(const struct cmd_global *g);
struct status_config cmd_status_config(const struct cmd_global *g);
/* The project's containers; prints the error and returns EXIT_ERROR on failure. */
int cmd_project_status(const struct cmd_global *g, const char *project, struct project_status *ret);

/* The options the listing commands share (ls, ps, network ls, image ls): -a/--all where it applies,
 * -q/--quiet and --format table|json. */
struct cmd_list_options {
        bool all;
        bool quiet;
        bool json;
};
enum { CMD_OPT_FORMAT = 0x200 };
#define CMD_LIST_OPTION_QUIET                   \
        {                                       \
                "quiet", no_argument, NULL, 'q' \
        }
#define CMD_LIST_OPTION_ALL                   \
        {                                     \
                "all", no_argument, NULL, 'a' \
        }
#define CMD_LIST_OPTION_FORMAT                                    \
        {                                                         \
                "format", required_argument, NULL, CMD_OPT_FORMAT \
        }
/* Handles getopt's c when it is one of the shared options: 1 handled, 0 not one of them, -1 a usage error
 * (printed; the command exits with EXIT_USAGE). */
int cmd_list_option(const char *cmd, int c, const char *arg, struct cmd_list_options *o);

/* SIGINT (and with term, SIGTERM) counted in cmd_interrupted instead of ending the process. From the
 * second one on, cmd_kill_fd (an eventfd; -1 until installed) becomes readable: what still stops is
 * killed. */
extern volatile sig_atomic_t cmd_interrupted;
extern int cmd_kill_fd;
void cmd_catch_interrupt(bool term);

/* Log lines as compose prints them: "label | " (padded, coloured on a terminal), an optional timestamp,
 * the line. Used by `logs` and attached `up`. */
struct cmd_log_printer {
        bool prefix;
        bool color;
        bool timestamps;
        int width; /* of the label column */
};
void cmd_log_line(void *userdata, const struct logs_line *line);
/* Prints what is new in every followed log, and flushes stdout. */
void cmd_log_read(struct cmd_log_printer *lp, struct logs *set);

int cmd_config(struct cmd_global *g, int argc, char **argv);
int cmd_up(struct cmd_global *g, int argc, char **argv);
int cmd_down(struct cmd_global *g, int argc, char **argv);
int cmd_ps(struct cmd_global *g, int argc, char **argv);
int cmd_logs(struct cmd_global *g, int argc, char **argv);
int cmd_events(struct cmd_global *g, int argc, char **argv);
int cmd_ls(struct cmd_global *g, int argc, char **argv);
int cmd_wait(struct cmd_global *g, int argc, char **argv);
int cmd_image(struct cmd_global *g, int argc, char **argv);
int cmd_images(struct cmd_global *g, int argc, char **argv);
int cmd_network(struct cmd_global *g, int argc, char **argv);
int cmd_port(struct cmd_global *g, int argc, char **argv);
int cmd_systemd(struct cmd_global *g, int argc, char **argv);
int cmd_supervise(struct cmd_global *g, int argc, char **argv);
int cmd_build(struct cmd_global *g, int argc, char **argv);
int cmd_exec(struct cmd_global *g, int argc, char **argv);
int cmd_run(struct cmd_global *g, int argc, char **argv);
int cmd_start(struct cmd_global *g, int argc, char **argv);
int cmd_stop(struct cmd_global *g, int argc, char **argv);
int cmd_restart(struct cmd_global *g, int argc, char **argv);
int cmd_kill(struct cmd_global *g, int argc, char **argv);
int cmd_pause(struct cmd_global *g, int argc, char **argv);
int cmd_unpause(struct cmd_global *g, int argc, char **argv);
int cmd_rm(struct cmd_global *g, int argc, char **argv);
int cmd_create(struct cmd_global *g, int argc, char **argv);
int cmd_top(struct cmd_global *g, int argc, char **argv);

/* The lifecycle verbs' common ground (cmd/lifecycle.c): the project loaded, the services named on the
 * command line (after optind) checked, the project's lock taken. */
struct cmd_lifecycle {
        const char *verb;
        struct stack_project *p;
        char **services; /* NULL: every service */
        struct reconcile_config cfg;
        int lock;
};
int cmd_lifecycle_begin(struct cmd_global *g, const char *verb, int argc, char **argv,
                        struct cmd_lifecycle *ret);
void cmd_lifecycle_end(struct cmd_lifecycle *l);
#define _cleanup_lifecycle_ __attribute__((cleanup(cmd_lifecycle_end)))
/* Parses -h and, where the verb has them (non-NULL), -t/--timeout and --no-deps. Returns -1 to go on, else
 * the exit code. */
int cmd_lifecycle_parse(const char *verb, const char *usage, int argc, char **argv, int *timeout,
                        bool *no_deps);
/* -t N: N seconds instead of each container's stop_grace_period (-1: keep those). */
void cmd_lifecycle_timeout(struct cmd_lifecycle *l, int timeout);
int cmd_watch(struct cmd_global *g, int argc, char **argv);
int cmd_cp(struct cmd_global *g, int argc, char **argv);
/* `up --watch`: the watcher in a child process (ended with cmd_watch_stop, or when the caller dies). */
int cmd_watch_start(const struct cmd_global *g, char **services, pid_t *ret);
void cmd_watch_stop(pid_t pid);

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
