/* stack: a declarative multi-container orchestrator for one Linux host. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"

static const struct cmd commands[] = {
    {"up", cmd_up, "Create and start containers"},
    {"down", cmd_down, "Stop and remove containers, networks"},
    {"ps", cmd_ps, "List containers"},
    {"logs", cmd_logs, "View output from containers"},
    {"ls", cmd_ls, "List running projects"},
    {"wait", cmd_wait, "Block until containers of all (or specified) services stop"},
    {"build", cmd_build, "Build or rebuild services"},
    {"config", cmd_config, "Parse, resolve and render the compose file in canonical format"},
    {"port", cmd_port, "Print the public port for a port binding"},
    {"network", cmd_network, "List and inspect the project's networks"},
    {"image", cmd_image, "Import, list, inspect and remove stored images"},
    {"images", cmd_images, "List images used by the project's services"},
    {"pull", cmd_pull, "Pull service images"},
    {"push", cmd_push, "Push service images"},
    {"login", cmd_login, "Log in to a registry"},
    {"logout", cmd_logout, "Log out from a registry"},
    {"supervise", cmd_supervise, "Run a project's supervisor (internal)", true},
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
              "      --progress MODE         auto, tty, plain or quiet\n"
              "      --ansi MODE             never, always or auto\n"
              "      --root DIR              Persistent state (default /var/lib/stack, $STACK_ROOT)\n"
              "      --run-root DIR          Runtime state (default /run/stack, $STACK_RUN_ROOT)\n"
              "      --runtime PATH          OCI runtime (default crun, $STACK_RUNTIME)\n"
              "      --log-level LEVEL       error, warning, info or debug\n"
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

int main(int argc, char **argv)
{
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
        };
        static const struct option options[] = {
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
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cmd_global g = {.parallel = -1};
        int c, ret = EXIT_USAGE;

        const char *limit = getenv("COMPOSE_PARALLEL_LIMIT");
        if (!isempty(limit))
                g.parallel = atoi(limit);

        /* "+": options after the command name belong to the command. */
        while ((c = getopt_long(argc, argv, "+f:p:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        strv_push(&g.files, optarg);
                        break;
                case 'p':
                        free(g.project_name);
                        g.project_name = xstrdup(optarg);
                        break;
                case ARG_PROJECT_DIRECTORY:
                        free(g.project_dir);
                        g.project_dir = xstrdup(optarg);
                        break;
                case ARG_ENV_FILE:
                        strv_push(&g.env_files, optarg);
                        break;
                case ARG_PROFILE:
                        strv_push(&g.profiles, optarg);
                        break;
                case ARG_PARALLEL: {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n == 0 || n < -1) {
                                fprintf(stderr, "stack: --parallel: invalid value \"%s\"\n", optarg);
                                goto finish;
                        }
                        g.parallel = (int) n;
                        break;
                }
                case ARG_DRY_RUN:
                        g.dry_run = true;
                        break;
                case ARG_PROGRESS:
                        free(g.progress);
                        g.progress = xstrdup(optarg);
                        break;
                case ARG_ANSI:
                        free(g.ansi);
                        g.ansi = xstrdup(optarg);
                        break;
                case ARG_ROOT:
                        free(g.root);
                        g.root = xstrdup(optarg);
                        break;
                case ARG_RUN_ROOT:
                        free(g.run_root);
                        g.run_root = xstrdup(optarg);
                        break;
                case ARG_RUNTIME:
                        free(g.runtime);
                        g.runtime = xstrdup(optarg);
                        break;
                case ARG_LOG_LEVEL:
                        if (streq(optarg, "error"))
                                log_set_level(LOG_LEVEL_ERROR);
                        else if (streq(optarg, "warning") || streq(optarg, "warn"))
                                log_set_level(LOG_LEVEL_WARNING);
                        else if (streq(optarg, "info"))
                                log_set_level(LOG_LEVEL_INFO);
                        else if (streq(optarg, "debug"))
                                log_set_level(LOG_LEVEL_DEBUG);
                        else {
                                fprintf(stderr, "stack: --log-level: unknown level \"%s\"\n", optarg);
                                goto finish;
                        }
                        break;
                case 'v':
                        printf("stack version %s\n", PACKAGE_VERSION);
                        ret = EXIT_OK;
                        goto finish;
                case 'h':
                        usage(stdout);
                        ret = EXIT_OK;
                        goto finish;
                default:
                        fputs("Run 'stack --help' for usage.\n", stderr);
                        goto finish;
                }
        }
        if (!g.root)
                g.root = env_or("STACK_ROOT", "/var/lib/stack");
        if (!g.run_root)
                g.run_root = env_or("STACK_RUN_ROOT", "/run/stack");
        if (!g.runtime)
                g.runtime = env_or("STACK_RUNTIME", "crun");
        if (!g.progress)
                g.progress = env_or("COMPOSE_PROGRESS", "auto");

        if (optind >= argc) {
                usage(stderr);
                goto finish;
        }
        const char *name = argv[optind];
        if (streq(name, "help")) {
                const struct cmd *sub = optind + 1 < argc ? find_command(argv[optind + 1]) : NULL;
                if (sub) {
                        char *help_argv[] = {(char *) sub->name, (char *) "--help", NULL};
                        optind = 0;
                        ret = sub->run(&g, 2, help_argv);
                } else {
                        usage(stdout);
                        ret = optind + 1 < argc ? EXIT_USAGE : EXIT_OK;
                }
                goto finish;
        }
        if (streq(name, "version")) {
                printf("stack version %s\n", PACKAGE_VERSION);
                ret = EXIT_OK;
                goto finish;
        }
        const struct cmd *cmd = find_command(name);
        if (!cmd) {
                fprintf(stderr, "stack: unknown command \"%s\"\nRun 'stack --help' for usage.\n", name);
                goto finish;
        }
        /* Subcommands parse their own options from a fresh getopt state. */
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        optind = 0;
        ret = cmd->run(&g, sub_argc, sub_argv);
finish:
        global_free(&g);
        return ret;
}
