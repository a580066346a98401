/* stack restart: stop and start again the containers of services, in dependency order, with the services
 * that depend on them through `depends_on: {restart: true}` (unless --no-deps). */
#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/engine/lifecycle.h"

static const char restart_usage[] =
    "Usage: stack restart [OPTIONS] [SERVICE...]\n"
    "\n"
    "Restart the containers of services (all when none is named); a stopped one is started.\n"
    "Services whose depends_on entry for one of them says restart: true are restarted too.\n"
    "\n"
    "Options:\n"
    "  -t, --timeout SECONDS  Wait this long before killing a container\n"
    "                         (default: its stop_grace_period)\n"
    "      --no-deps          Don't restart dependent services\n"
    "  -h, --help             Show this help";

int cmd_restart(struct cmd_global *g, int argc, char **argv)
{
        int timeout = -1;
        bool no_deps = false;
        int ret = cmd_lifecycle_parse("restart", restart_usage, argc, argv, &timeout, &no_deps);
        if (ret >= 0)
                return ret;
        _cleanup_lifecycle_ struct cmd_lifecycle l = {.lock = -1};
        if ((ret = cmd_lifecycle_begin(g, "restart", argc, argv, &l)) != EXIT_OK)
                return ret;
        cmd_lifecycle_timeout(&l, timeout);
        _cleanup_error_ struct stack_error err = {0};
        if (lifecycle_restart(&l.cfg, l.p, l.services, no_deps, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
