/* stack: a declarative multi-container orchestrator for one Linux host. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/helpdoc.h"
#include "cmd/progress.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"

static const struct cmd commands[] = {
    {"up", cmd_up, "Create and start containers", .root = true},
    {"down", cmd_down, "Stop and remove containers, networks", .root = true},
    {"create", cmd_create, "Create containers for services without starting them", .root = true},
    {"start", cmd_start, "Start the existing containers of services", .root = true},
    {"stop", cmd_stop, "Stop the containers of services without removing them", .root = true},
    {"restart", cmd_restart, "Restart the containers of services", .root = true},
    {"kill", cmd_kill, "Send a signal to the containers of services", .root = true},
    {"pause", cmd_pause, "Pause the containers of services", .root = true},
    {"unpause", cmd_unpause, "Unpause the containers of services", .root = true},
    {"rm", cmd_rm, "Remove stopped containers", .root = true},
    {"top", cmd_top, "Display the running processes of the containers"},
    {"ps", cmd_ps, "List containers"},
    {"logs", cmd_logs, "View output from containers"},
    {"exec", cmd_exec, "Execute a command in a running container", .root = true},
    {"run", cmd_run, "Run a one-off command on a service", .root = true},
    {"events", cmd_events, "Receive real time events from containers"},
    {"ls", cmd_ls, "List running projects"},
    {"wait", cmd_wait, "Block until containers of all (or specified) services stop"},
    {"build", cmd_build, "Build or rebuild services", .root = true},
    {"watch", cmd_watch, "Watch the services' files and sync, restart or rebuild them", .root = true},
    {"cp", cmd_cp, "Copy files between a service container and the host", .root = true},
    {"config", cmd_config, "Parse, resolve and render the compose file in canonical format"},
    {"port", cmd_port, "Print the public port for a port binding"},
    {"network", cmd_network, "List and inspect the project's networks"},
    {"image", cmd_image, "Import, list, inspect and remove stored images", .root = true},
    {"images", cmd_images, "List images used by the project's services"},
    {"pull", cmd_pull, "Pull service images", .root = true},
    {"push", cmd_push, "Push service images", .root = true},
    {"login", cmd_login, "Log in to a registry"},
    {"logout", cmd_logout, "Log out from a registry"},
    {"systemd", cmd_systemd, "Generate or install a systemd unit that runs the project at boot"},
    {"completion", cmd_completion, "Print a shell completion script (bash, zsh or fish)"},
    {"manpage", cmd_manpage, "Print a man page (internal: the build makes them)", true},
    {"supervise", cmd_supervise, "Run a project's supervisor (internal)", true, .root = true},
};

static void usage(FILE *f)
{
        fputs("Usage: stack [OPTIONS] COMMAND [ARGS...]\n"
              "\n"
              "A declarative multi-container orchestrator for one Linux host.\n"
              "\n"
              "Options:\n"
              "  -f, --file FILE             Compose file (repeatable; - for stdin)\n"
              "  -p, --project-name NAME     Project name\n"
              "      --project-directory DIR Alternate working directory (default: first file's)\n"
              "      --env-file FILE         Alternate environment file (repeatable)\n"
              "      --profile NAME          Enable a profile (repeatable)\n"
              "      --parallel N            Limit parallel operations (-1: unlimited)\n"
              "      --dry-run               Show what would change without changing it\n"
              "      --progress MODE         auto, tty, plain, json or quiet\n"
              "      --ansi MODE             never, always or auto (auto: colour on a terminal\n"
              "                              unless $NO_COLOR is set)\n"
              "      --root DIR              Persistent state (default /var/lib/stack, $STACK_ROOT)\n"
              "      --run-root DIR          Runtime state (default /run/stack, $STACK_RUN_ROOT)\n"
              "      --runtime PATH          OCI runtime (default crun, $STACK_RUNTIME)\n"
              "      --log-level LEVEL       error, warning, info or debug\n"
              "      --firewall-backend NAME iptables, nftables or auto (default, $STACK_FIREWALL_BACKEND)\n"
              "  -v, --version               Show the version\n"
              "  -h, --help                  Show this help\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (!commands[i].hidden)
                        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fputs("\nRun 'stack COMMAND --help' for more information on a command.\n", f);
}

/* The table and the usage text are also what the man pages and completions are written from. */
const struct cmd *cmd_table(size_t *ret_n)
{
        *ret_n = ELEMENTSOF(commands);
        return commands;
}

void cmd_print_usage(FILE *f)
{
        usage(f);
}

static const struct cmd *find_command(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

static void global_free(struct cmd_global *g)
{
        strv_free(g->files);
        strv_free(g->env_files);
        strv_free(g->profiles);
        free(g->project_name);
        free(g->project_dir);
        free(g->progress);
        free(g->ansi);
        free(g->root);
        free(g->run_root);
        free(g->runtime);
}

static char *env_or(const char *name, const char *fallback)
{
        const char *v = getenv(name);
        return xstrdup(isempty(v) ? fallback : v);
}

enum {
        ARG_PROJECT_DIRECTORY = 0x100,
        ARG_ENV_FILE,
        ARG_PROFILE,
        ARG_PARALLEL,
        ARG_DRY_RUN,
        ARG_PROGRESS,
        ARG_ANSI,
        ARG_ROOT,
        ARG_RUN_ROOT,
        ARG_RUNTIME,
        ARG_LOG_LEVEL,
        ARG_FIREWALL_BACKEND,
};

static const struct option global_options[] = {
    {"file", required_argument, NULL, 'f'},
    {"project-name", required_argument, NULL, 'p'},
    {"project-directory", required_argument, NULL, ARG_PROJECT_DIRECTORY},
    {"env-file", required_argument, NULL, ARG_ENV_FILE},
    {"profile", required_argument, NULL, ARG_PROFILE},
    {"parallel", required_argument, NULL, ARG_PARALLEL},
    {"dry-run", no_argument, NULL, ARG_DRY_RUN},
    {"progress", required_argument, NULL, ARG_PROGRESS},
    {"ansi", required_argument, NULL, ARG_ANSI},
    {"root", required_argument, NULL, ARG_ROOT},
    {"run-root", required_argument, NULL, ARG_RUN_ROOT},
    {"runtime", required_argument, NULL, ARG_RUNTIME},
    {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
    {"firewall-backend", required_argument, NULL, ARG_FIREWALL_BACKEND},
    {"version", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {},
};

static void set_str(char **field, const char *value)
{
        free(*field);
        *field = xstrdup(value);
}

/* The options that hold a string. Returns false when c is not one of them. */
static bool global_string(int c, struct cmd_global *g)
{
        switch (c) {
        case 'f':
                strv_push(&g->files, optarg);
                return true;
        case 'p':
                set_str(&g->project_name, optarg);
                return true;
        case ARG_PROJECT_DIRECTORY:
                set_str(&g->project_dir, optarg);
                return true;
        case ARG_ENV_FILE:
                strv_push(&g->env_files, optarg);
                return true;
        case ARG_PROFILE:
                strv_push(&g->profiles, optarg);
                return true;
        case ARG_PROGRESS:
                set_str(&g->progress, optarg);
                return true;
        case ARG_ANSI:
                set_str(&g->ansi, optarg);
                return true;
        case ARG_ROOT:
                set_str(&g->root, optarg);
                return true;
        case ARG_RUN_ROOT:
                set_str(&g->run_root, optarg);
                return true;
        case ARG_RUNTIME:
                set_str(&g->runtime, optarg);
                return true;
        }
        return false;
}

static int parse_log_level(const char *s)
{
        if (streq(s, "error"))
                log_set_level(LOG_LEVEL_ERROR);
        else if (streq(s, "warning") || streq(s, "warn"))
                log_set_level(LOG_LEVEL_WARNING);
        else if (streq(s, "info"))
                log_set_level(LOG_LEVEL_INFO);
        else if (streq(s, "debug"))
                log_set_level(LOG_LEVEL_DEBUG);
        else {
                fprintf(stderr, "stack: --log-level: unknown level \"%s\"\n", s);
                return EXIT_USAGE;
        }
        return -1;
}

static int parse_firewall_backend(const char *s)
{
        if (!streq(s, "iptables") && !streq(s, "nftables") && !streq(s, "auto")) {
                fprintf(stderr,
                        "stack: --firewall-backend: unknown backend \"%s\" (iptables, nftables or auto)\n",
                        s);
                return EXIT_USAGE;
        }
        /* Through the environment, so the project's supervisor uses the same backend. */
        setenv("STACK_FIREWALL_BACKEND", s, 1);
        return -1;
}

/* --progress and --ansi (or COMPOSE_PROGRESS and COMPOSE_ANSI) take a known value or nothing runs.
 * Returns -1 to go on, else EXIT_USAGE. */
static int check_display(const struct cmd_global *g)
{
        if (!progress_mode_valid(g->progress)) {
                fprintf(stderr,
                        "stack: --progress: unknown mode \"%s\" (auto, tty, plain, json or quiet)\n"
                        "Run 'stack --help' for usage.\n",
                        g->progress);
                return EXIT_USAGE;
        }
        if (!streq(g->ansi, "never") && !streq(g->ansi, "always") && !streq(g->ansi, "auto")) {
                fprintf(stderr,
                        "stack: --ansi: unknown mode \"%s\" (never, always or auto)\n"
                        "Run 'stack --help' for usage.\n",
                        g->ansi);
                return EXIT_USAGE;
        }
        progress_set_color(cmd_color(g, STDERR_FILENO));
        return -1;
}

/* The options before the command. Returns -1 to go on, else the exit code. */
static int parse_global(int argc, char **argv, struct cmd_global *g)
{
        const char *limit = getenv("COMPOSE_PARALLEL_LIMIT");
        if (!isempty(limit))
                g->parallel = atoi(limit);
        int c, ret = -1;
        char *end;
        /* "+": options after the command name belong to the command. */
        while (ret < 0 && (c = getopt_long(argc, argv, "+f:p:vh", global_options, NULL)) >= 0) {
                if (global_string(c, g))
                        continue;
                switch (c) {
                case ARG_PARALLEL: {
                        long n = strtol(optarg, &end, 10);
                        if (*end || n == 0 || n < -1) {
                                fprintf(stderr, "stack: --parallel: invalid value \"%s\"\n", optarg);
                                return EXIT_USAGE;
                        }
                        g->parallel = (int) n;
                        break;
                }
                case ARG_DRY_RUN:
                        g->dry_run = true;
                        break;
                case ARG_LOG_LEVEL:
                        ret = parse_log_level(optarg);
                        break;
                case ARG_FIREWALL_BACKEND:
                        ret = parse_firewall_backend(optarg);
                        break;
                case 'v':
                        printf("stack version %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                default:
                        fputs("Run 'stack --help' for usage.\n", stderr);
                        return EXIT_USAGE;
                }
        }
        if (!g->root)
                g->root = env_or("STACK_ROOT", "/var/lib/stack");
        if (!g->run_root)
                g->run_root = env_or("STACK_RUN_ROOT", "/run/stack");
        if (!g->runtime)
                g->runtime = env_or("STACK_RUNTIME", "crun");
        if (!g->progress)
                g->progress = env_or("COMPOSE_PROGRESS", "auto");
        if (!g->ansi)
                g->ansi = env_or("COMPOSE_ANSI", "auto");
        if (ret < 0)
                ret = check_display(g);
        return ret;
}

/* Whether the command's arguments ask for its help, which anyone may read. */
static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return true;
        return false;
}

/* Runs the command argv[0] (also `help [COMMAND]` and `version`). */
static int run_command(struct cmd_global *g, int argc, char **argv)
{
        if (argc < 1) {
                usage(stderr);
                return EXIT_USAGE;
        }
        const char *name = argv[0];
        if (streq(name, "help")) {
                const struct cmd *sub = argc > 1 ? find_command(argv[1]) : NULL;
                if (!sub) {
                        usage(stdout);
                        return argc > 1 ? EXIT_USAGE : EXIT_OK;
                }
                char *help_argv[] = {(char *) sub->name, (char *) "--help", NULL};
                optind = 0;
                return sub->run(g, 2, help_argv);
        }
        if (streq(name, "version")) {
                printf("stack version %s\n", PACKAGE_VERSION);
                return EXIT_OK;
        }
        const struct cmd *cmd = find_command(name);
        if (!cmd) {
                fprintf(stderr, "stack: unknown command \"%s\"\nRun 'stack --help' for usage.\n", name);
                return EXIT_USAGE;
        }
        /* Before anything is read or made under the roots: as another user a command that changes the
         * host would fail half-way, on the first file or netlink call it is not allowed. */
        if (cmd->root && geteuid() != 0 && !wants_help(argc, argv)) {
                fprintf(stderr, "stack %s: stack needs root (rootless mode is not supported yet)\n", name);
                return EXIT_ERROR;
        }
        /* Subcommands parse their own options from a fresh getopt state. */
        optind = 0;
        return cmd->run(g, argc, argv);
}

int main(int argc, char **argv)
{
        struct cmd_global g = {.parallel = -1};
        int ret = parse_global(argc, argv, &g);
        if (ret < 0)
                ret = run_command(&g, argc - optind, argv + optind);
        global_free(&g);
        return ret;
}
