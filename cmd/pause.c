/* stack pause / unpause: freeze the processes of services' running containers (the cgroup freezer,
 * through the runtime), and thaw them. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/lifecycle.h"

static int pause_verb(struct cmd_global *g, const char *verb, bool pause, int argc, char **argv)
{
        _cleanup_free_ char *usage =
            xasprintf("Usage: stack %s [SERVICE...]\n"
                      "\n"
                      "%s the %s containers of services (all when none is named).\n"
                      "\n"
                      "Options:\n"
                      "  -h, --help   Show this help",
                      verb, pause ? "Pause" : "Unpause", pause ? "running" : "paused");
        int ret = cmd_lifecycle_parse(verb, usage, argc, argv, NULL, NULL);
        if (ret >= 0)
                return ret;
        _cleanup_lifecycle_ struct cmd_lifecycle l = {.lock = -1};
        if ((ret = cmd_lifecycle_begin(g, verb, argc, argv, &l)) != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **names = NULL;
        if (lifecycle_pause(&l.cfg, l.p, l.services, pause, &names, &err) < 0)
                return cmd_fail(&err);
        STRV_FOREACH (n, names)
                if (l.cfg.dry_run)
                        printf("%s container %s\n", verb, *n);
                else
                        progress_line(l.cfg.events, "Container", *n, pause ? "Paused" : "Unpaused");
        return EXIT_OK;
}

int cmd_pause(struct cmd_global *g, int argc, char **argv)
{
        return pause_verb(g, "pause", true, argc, argv);
}

int cmd_unpause(struct cmd_global *g, int argc, char **argv)
{
        return pause_verb(g, "unpause", false, argc, argv);
}
