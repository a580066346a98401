/* stack supervise PROJECT: the project's supervisor, started by stack itself (core/engine/supervisor.h). */
#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/supervisor.h"

int cmd_supervise(struct cmd_global *g, int argc, char **argv)
{
        if (argc != 2 || streq(argv[1], "--help"))
                return cmd_usage_error("supervise",
                                       "usage: stack supervise PROJECT (started by stack itself)");
        struct supervisor_config c = {
            .root = g->root,
            .run_root = g->run_root,
            .project = argv[1],
            .runtime = g->runtime,
        };
        _cleanup_error_ struct stack_error err = {0};
        if (supervisor_run(&c, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
