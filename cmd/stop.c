/* stack stop: stop the running containers of services without removing them, dependents first. A
 * stopped container stays stopped (its restart policy does not revive it) until start, restart or up. */
#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/engine/lifecycle.h"

static const char stop_usage[] = "Usage: stack stop [OPTIONS] [SERVICE...]\n"
                                 "\n"
                                 "Stop the running containers of services (all when none is named).\n"
                                 "\n"
                                 "Options:\n"
                                 "  -t, --timeout SECONDS  Wait this long before killing a container\n"
                                 "                         (default: its stop_grace_period)\n"
                                 "  -h, --help             Show this help";

int cmd_stop(struct cmd_global *g, int argc, char **argv)
{
        int timeout = -1;
        int ret = cmd_lifecycle_parse("stop", stop_usage, argc, argv, &timeout, NULL);
        if (ret >= 0)
                return ret;
        _cleanup_lifecycle_ struct cmd_lifecycle l = {.lock = -1};
        if ((ret = cmd_lifecycle_begin(g, "stop", argc, argv, &l)) != EXIT_OK)
                return ret;
        cmd_lifecycle_timeout(&l, timeout);
        _cleanup_error_ struct stack_error err = {0};
        if (lifecycle_stop(&l.cfg, l.p, l.services, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
