/* stack start: start the existing containers of services (and of what they depend on) that are not
 * running, in dependency order. */
#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/engine/lifecycle.h"

static const char start_usage[] = "Usage: stack start [SERVICE...]\n"
                                  "\n"
                                  "Start the existing containers of services (all when none is named) and\n"
                                  "of the services they depend on. Containers are not created: see up.\n"
                                  "\n"
                                  "Options:\n"
                                  "  -h, --help   Show this help";

int cmd_start(struct cmd_global *g, int argc, char **argv)
{
        int ret = cmd_lifecycle_parse("start", start_usage, argc, argv, NULL, NULL);
        if (ret >= 0)
                return ret;
        _cleanup_lifecycle_ struct cmd_lifecycle l = {.lock = -1};
        if ((ret = cmd_lifecycle_begin(g, "start", argc, argv, &l)) != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        if (lifecycle_start(&l.cfg, l.p, l.services, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
