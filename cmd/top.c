/* stack top: the processes of each running container of services, in ps -ef's columns, as compose's top
 * prints them: the container's name, then its table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/lifecycle.h"

static const char top_usage[] = "Usage: stack top [SERVICE...]\n"
                                "\n"
                                "Display the running processes of the containers of services (all when\n"
                                "none is named).\n"
                                "\n"
                                "Options:\n"
                                "  -h, --help   Show this help";

#define TOP_COLUMNS 8

static size_t max_size(size_t a, size_t b)
{
        return a > b ? a : b;
}

static void top_row(const struct top_process *pr, uint64_t now, char *row[TOP_COLUMNS])
{
        char buf[32];
        row[0] = top_user_name(pr->uid);
        row[1] = xasprintf("%d", (int) pr->pid);
        row[2] = xasprintf("%d", (int) pr->ppid);
        row[3] = xasprintf("%d", pr->cpu_percent);
        row[4] = xstrdup(top_format_stime(pr->start_epoch, now, buf, sizeof(buf)));
        row[5] = xstrdup(pr->tty);
        row[6] = xstrdup(top_format_time(pr->cpu_seconds, buf, sizeof(buf)));
        row[7] = xstrdup(pr->cmd);
}

/* A table as compose's tabwriter lays it out: columns at least 5 wide, 3 spaces between them. */
static void print_table(const struct lifecycle_top *t, uint64_t now)
{
        static const char *const head[TOP_COLUMNS] = {"UID",   "PID", "PPID", "C",
                                                      "STIME", "TTY", "TIME", "CMD"};
        size_t rows = t->n + 1;
        char *(*cells)[TOP_COLUMNS] = xcalloc(rows, sizeof(*cells));
        for (int c = 0; c < TOP_COLUMNS; c++)
                cells[0][c] = xstrdup(head[c]);
        for (size_t i = 0; i < t->n; i++)
                top_row(&t->procs[i], now, cells[i + 1]);
        size_t width[TOP_COLUMNS] = {0};
        for (size_t r = 0; r < rows; r++)
                for (int c = 0; c < TOP_COLUMNS; c++)
                        width[c] = max_size(width[c], max_size(strlen(cells[r][c]), 5));
        for (size_t r = 0; r < rows; r++) {
                for (int c = 0; c < TOP_COLUMNS; c++) {
                        if (c == TOP_COLUMNS - 1)
                                printf("%s\n", cells[r][c]);
                        else
                                printf("%-*s   ", (int) width[c], cells[r][c]);
                        free(cells[r][c]);
                }
        }
        free(cells);
}

int cmd_top(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        puts(top_usage);
                        return EXIT_OK;
                }
                return cmd_usage_error("top", "invalid option");
        }
        _cleanup_strv_free_ char **services = optind < argc ? strv_copy(argv + optind) : NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, services, &p);
        if (ret != EXIT_OK || (ret = cmd_check_services("top", p, NULL, services)) != EXIT_OK)
                return ret;
        struct reconcile_config cfg = cmd_reconcile_config(g);
        _cleanup_error_ struct stack_error err = {0};
        struct lifecycle_top *l = NULL;
        size_t n = 0;
        if (lifecycle_top(&cfg, p, services, &l, &n, &err) < 0)
                return cmd_fail(&err);
        uint64_t now = (uint64_t) time(NULL);
        for (size_t i = 0; i < n; i++) {
                printf("%s\n", l[i].name);
                print_table(&l[i], now);
                putchar('\n');
        }
        lifecycle_top_free(l, n);
        return EXIT_OK;
}
