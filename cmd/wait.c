/* stack wait: block until the containers of the given services (all: none given) have stopped. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"

/* Whether a container of the services still runs (or is about to); *code gets the first non-zero exit
 * code among the stopped ones. */
static bool any_running(const struct project_status *st, char **services, int *code)
{
        bool running = false;
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (!container_info_in(c, services))
                        continue;
                if (container_state_is_up(c->state) || c->state == CONTAINER_STATE_CREATED)
                        running = true;
                else if (!*code)
                        *code = c->exit_code;
        }
        return running;
}

int cmd_wait(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"down-project", no_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool down_project = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'D')
                        down_project = true;
                else if (c == 'h') {
                        puts("Usage: stack wait [OPTIONS] SERVICE...\n\n"
                             "Block until containers of all (or the given) services stop; exits with the "
                             "first\n"
                             "non-zero exit code.\n\n"
                             "      --down-project   Take the project down once they have stopped");
                        return EXIT_OK;
                } else
                        return cmd_usage_error("wait", "invalid option");
        }
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, NULL, &p);
        if (ret != EXIT_OK || (ret = cmd_check_services("wait", p, NULL, services)) != EXIT_OK)
                return ret;
        cmd_catch_interrupt(false);
        int code = 0;
        while (!cmd_interrupted) {
                _cleanup_project_status_ struct project_status st = {0};
                if ((ret = cmd_project_status(g, p->name, &st)) != EXIT_OK)
                        return ret;
                if (!any_running(&st, services, &code))
                        break;
                usleep(200000);
        }
        if (down_project) {
                struct reconcile_config cfg = cmd_reconcile_config(g);
                struct plan_options o = {.down = true, .max_orphans = -1};
                _cleanup_error_ struct stack_error err = {0};
                if (reconcile_down(&cfg, p->name, p, &o, &err) < 0)
                        return cmd_fail(&err);
        }
        return code;
}
