/* stack exec: run a command in a service's running container, with a terminal when ours is one. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/exec.h"

static const char exec_usage[] =
    "Usage: stack exec [OPTIONS] SERVICE COMMAND [ARGS...]\n"
    "\n"
    "Execute a command in a running container.\n"
    "\n"
    "Options:\n"
    "  -d, --detach             Run the command in the background\n"
    "  -e, --env KEY[=VALUE]    Set an environment variable (repeatable; KEY alone passes ours)\n"
    "      --index N            The replica to run in, if the service has several (default 1)\n"
    "      --privileged         Give the process every capability\n"
    "  -T, --no-TTY             Do not allocate a pseudo-terminal (the default when stdin is not one)\n"
    "  -u, --user USER          Run as this user (name or uid, with an optional :group)\n"
    "  -w, --workdir DIR        Working directory for the command\n"
    "  -h, --help               Show this help";

enum {
        ARG_INDEX = 0x100,
        ARG_PRIVILEGED,
};

static const struct option exec_options[] = {
    {"detach", no_argument, NULL, 'd'},
    {"env", required_argument, NULL, 'e'},
    {"index", required_argument, NULL, ARG_INDEX},
    {"privileged", no_argument, NULL, ARG_PRIVILEGED},
    {"no-TTY", no_argument, NULL, 'T'},
    {"no-tty", no_argument, NULL, 'T'},
    {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {},
};

/* Returns -1 to go on, else the exit code. */
static int exec_parse(int argc, char **argv, struct exec_request *rq, char ***env, bool *no_tty)
{
        int c;
        /* "+": the options end at SERVICE; what follows is the command's. */
        while ((c = getopt_long(argc, argv, "+de:Tu:w:h", exec_options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        rq->detach = true;
                        break;
                case 'e':
                        if (isempty(optarg) || optarg[0] == '=')
                                return cmd_usage_error("exec", "--env: expected KEY[=VALUE], got \"%s\"",
                                                       optarg);
                        strv_push(env, optarg);
                        break;
                case ARG_INDEX:
                        if (cmd_parse_int("exec", "--index", optarg, &rq->index) != 0)
                                return EXIT_USAGE;
                        if (rq->index < 1)
                                return cmd_usage_error("exec", "--index: must be 1 or more");
                        break;
                case ARG_PRIVILEGED:
                        rq->privileged = true;
                        break;
                case 'T':
                        *no_tty = true;
                        break;
                case 'u':
                        rq->user = optarg;
                        break;
                case 'w':
                        rq->workdir = optarg;
                        break;
                case 'h':
                        puts(exec_usage);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("exec", "invalid option");
                }
        }
        if (argc - optind < 2)
                return cmd_usage_error("exec", "requires a SERVICE and a COMMAND");
        return -1;
}

int cmd_exec(struct cmd_global *g, int argc, char **argv)
{
        struct exec_request rq = {.index = 1, .stdio = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}};
        _cleanup_strv_free_ char **env = NULL;
        bool no_tty = false;
        int ret = exec_parse(argc, argv, &rq, &env, &no_tty);
        if (ret >= 0)
                return ret;
        rq.service = argv[optind];
        rq.argv = argv + optind + 1;
        rq.env = env;
        /* As compose: a terminal unless -T, and only when ours is one (a pipe stays a pipe). */
        rq.tty = !no_tty && isatty(STDIN_FILENO);

        char *services[] = {(char *) rq.service, NULL};
        _cleanup_free_ char *project = NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        if ((ret = cmd_project_for(g, services, &project, &p)) != EXIT_OK)
                return ret;
        _cleanup_project_status_ struct project_status st = {0};
        if (!p && (ret = cmd_project_status(g, project, &st)) != EXIT_OK)
                return ret;
        if ((ret = cmd_check_services("exec", p, &st, services)) != EXIT_OK)
                return ret;
        rq.project = project;
        struct reconcile_config cfg = cmd_reconcile_config(g);
        _cleanup_error_ struct stack_error err = {0};
        int code;
        if (exec_run(&cfg, &rq, &code, &err) < 0) {
                fprintf(stderr, "stack exec: %s\n", err.msg);
                return code ? code : EXIT_ERROR;
        }
        return code;
}
