/* stack rm: remove the stopped containers of services (with -s, stop the running ones first), asking
 * first unless -f. Networks and named volumes stay; -v removes the containers' anonymous volumes. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/lifecycle.h"

static const char rm_usage[] = "Usage: stack rm [OPTIONS] [SERVICE...]\n"
                               "\n"
                               "Remove the stopped containers of services (all when none is named).\n"
                               "\n"
                               "Options:\n"
                               "  -f, --force    Don't ask to confirm the removal\n"
                               "  -s, --stop     Stop the containers first, if needed\n"
                               "  -v, --volumes  Remove the anonymous volumes attached to the containers\n"
                               "  -h, --help     Show this help";

/* compose's question; anything but y or yes (or no answer at all) is a no. */
static bool confirm(const char *msg)
{
        fprintf(stderr, "%s\nAre you sure? [yN] ", msg);
        fflush(stderr);
        char line[64];
        if (!fgets(line, sizeof(line), stdin))
                return false;
        line[strcspn(line, "\r\n")] = 0;
        return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

int cmd_rm(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"force", no_argument, NULL, 'f'},
            {"stop", no_argument, NULL, 's'},
            {"volumes", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool force = false, stop = false, volumes = false;
        int c;
        while ((c = getopt_long(argc, argv, "fsvh", options, NULL)) >= 0) {
                if (c == 'f')
                        force = true;
                else if (c == 's')
                        stop = true;
                else if (c == 'v')
                        volumes = true;
                else if (c == 'h') {
                        puts(rm_usage);
                        return EXIT_OK;
                } else
                        return cmd_usage_error("rm", "invalid option");
        }
        _cleanup_lifecycle_ struct cmd_lifecycle l = {.lock = -1};
        int ret = cmd_lifecycle_begin(g, "rm", argc, argv, &l);
        if (ret != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **names = NULL;
        if (lifecycle_removable(&l.cfg, l.p, l.services, stop, &names, &err) < 0)
                return cmd_fail(&err);
        if (!names[0]) {
                fputs("No stopped containers\n", stderr);
                return EXIT_OK;
        }
        _cleanup_free_ char *list = strv_join(names, ", ");
        _cleanup_free_ char *msg = xasprintf("Going to remove %s", list);
        if (force)
                puts(msg);
        else if (!confirm(msg))
                return EXIT_OK;
        fflush(stdout);
        if (lifecycle_remove(&l.cfg, l.p, names, stop, volumes, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
