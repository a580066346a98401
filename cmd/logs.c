/* stack logs, and the printing of log lines attached `up` shares. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/runtime/logindex.h"

static const char *const colors[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

void cmd_log_line(void *userdata, const struct logs_line *l)
{
        const struct cmd_log_printer *lp = userdata;
        if (lp->prefix && lp->color)
                printf("\033[%sm%-*s |\033[0m ", colors[l->index % ELEMENTSOF(colors)], lp->width, l->label);
        else if (lp->prefix)
                printf("%-*s | ", lp->width, l->label);
        if (lp->timestamps) {
                char buf[LOGINDEX_TIME_MAX];
                printf("%s ", logindex_format_time(l->time, buf));
        }
        fwrite(l->data, 1, l->len, stdout);
}

void cmd_log_read(struct cmd_log_printer *lp, struct logs *set)
{
        lp->width = logs_label_width(set);
        logs_read(set, cmd_log_line, lp);
        fflush(stdout);
}

static const char logs_usage[] =
    "Usage: stack logs [OPTIONS] [SERVICE...]\n"
    "\n"
    "View output from containers.\n"
    "\n"
    "Options:\n"
    "  -f, --follow         Follow log output, also of restarted and new containers\n"
    "      --since TIME     Show lines written since TIME: RFC 3339 (2026-11-23T21:00:00Z,\n"
    "                       2026-11-23T22:00:00.5+01:00), Unix seconds, or a duration before\n"
    "                       now (42m, 1h30m, 10s)\n"
    "      --until TIME     Show lines written before TIME (same forms)\n"
    "  -n, --tail N         Number of lines to show from the end of each log, after --since\n"
    "                       and --until (or all)\n"
    "  -t, --timestamps     Show when each line was written\n"
    "      --no-log-prefix  Don't print the container name in front of each line\n"
    "  -h, --help           Show this help\n"
    "\n"
    "A line's time is when the supervisor saw it in the log (normally within milliseconds);\n"
    "lines written while no supervisor ran share the time of the last of them.";

struct logs_args {
        bool follow;
        int tail;
        struct cmd_log_printer printer;
        struct logs_filter filter;
};

static int parse_time(bool since, int64_t now, struct logs_filter *flt)
{
        if (logindex_parse_time(optarg, now, since ? &flt->since : &flt->until) < 0)
                return cmd_usage_error("logs",
                                       "%s: invalid value \"%s\": expected a time (RFC 3339 as "
                                       "2026-11-23T21:00:00Z, or Unix seconds) or a duration before now "
                                       "(42m, 1h30m, 10s)",
                                       since ? "--since" : "--until", optarg);
        *(since ? &flt->since_set : &flt->until_set) = true;
        return 0;
}

/* Returns -1 to go on, else the exit code. */
static int logs_parse(int argc, char **argv, struct logs_args *a)
{
        enum { ARG_TAIL = 0x100, ARG_NO_LOG_PREFIX, ARG_SINCE, ARG_UNTIL, ARG_NO_COLOR };
        static const struct option options[] = {
            {"follow", no_argument, NULL, 'f'},
            {"tail", required_argument, NULL, ARG_TAIL},
            {"n", required_argument, NULL, 'n'},
            {"no-log-prefix", no_argument, NULL, ARG_NO_LOG_PREFIX},
            {"since", required_argument, NULL, ARG_SINCE},
            {"until", required_argument, NULL, ARG_UNTIL},
            {"timestamps", no_argument, NULL, 't'},
            {"no-color", no_argument, NULL, ARG_NO_COLOR},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        /* Relative times count back from one instant, whatever the order of the flags. */
        int64_t now = logindex_now_ns();
        int c;
        while ((c = getopt_long(argc, argv, "fn:th", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        a->follow = true;
                        break;
                case 'n':
                case ARG_TAIL:
                        if (streq(optarg, "all"))
                                a->tail = -1;
                        else if (cmd_parse_int("logs", "--tail", optarg, &a->tail) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_NO_LOG_PREFIX:
                        a->printer.prefix = false;
                        break;
                case ARG_SINCE:
                case ARG_UNTIL:
                        if (parse_time(c == ARG_SINCE, now, &a->filter) != 0)
                                return EXIT_USAGE;
                        break;
                case 't':
                        a->filter.timestamps = a->printer.timestamps = true;
                        break;
                case ARG_NO_COLOR:
                        a->printer.color = false;
                        break;
                case 'h':
                        puts(logs_usage);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("logs", "invalid option");
                }
        }
        return -1;
}

/* Prints the logs; with follow, keeps following new and restarted containers until Ctrl-C or --until. */
static int show_logs(const struct cmd_global *g, const char *project, char **services, struct logs_args *a)
{
        _cleanup_logs_ struct logs *set = logs_new(&a->filter);
        for (unsigned round = 0;; round++) {
                bool past_until = logs_filter_expired(&a->filter);
                _cleanup_project_status_ struct project_status st = {0};
                if (cmd_project_status(g, project, &st) != EXIT_OK)
                        break;
                logs_update(set, &st, services, a->tail, round == 0);
                cmd_log_read(&a->printer, set);
                if (!a->follow || cmd_interrupted || past_until)
                        break;
                usleep(100000);
        }
        logs_flush(set, cmd_log_line, &a->printer);
        fflush(stdout);
        return EXIT_OK;
}

/* The none driver keeps nothing to show: said once, rather than showing nothing as if all were quiet. */
static void note_unlogged(const struct stack_project *p, char *const *services)
{
        for (size_t i = 0; p && i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                if (s->logging.driver && streq(s->logging.driver, "none") &&
                    (!services || strv_contains(services, s->name)))
                        fprintf(stderr, "service %s: logging driver none keeps no output to show\n",
                                s->name);
        }
}

int cmd_logs(struct cmd_global *g, int argc, char **argv)
{
        struct logs_args a = {
            .tail = -1,
            .printer = {.prefix = true, .color = cmd_color(g, STDOUT_FILENO)},
        };
        int ret = logs_parse(argc, argv, &a);
        if (ret >= 0)
                return ret;
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_free_ char *name = NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        if ((ret = cmd_project_for(g, services, &name, &p)) != EXIT_OK)
                return ret;
        if (services) {
                _cleanup_project_status_ struct project_status st = {0};
                if ((ret = cmd_project_status(g, name, &st)) != EXIT_OK ||
                    (ret = cmd_check_services("logs", p, &st, services)) != EXIT_OK)
                        return ret;
        }
        note_unlogged(p, services);
        cmd_catch_interrupt(false);
        return show_logs(g, name, services, &a);
}
