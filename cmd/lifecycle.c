/* What the lifecycle verbs (start, stop, restart, kill, pause, unpause, rm) share: the project, the
 * services named (each checked), the project's lock, and the parsing of their options. */
#include <stdio.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/state.h"

#define USEC_PER_SEC 1000000ULL

int cmd_lifecycle_begin(struct cmd_global *g, const char *verb, int argc, char **argv,
                        struct cmd_lifecycle *ret)
{
        *ret = (struct cmd_lifecycle){.verb = verb, .lock = -1};
        if (optind < argc)
                ret->services = strv_copy(argv + optind);
        int r = cmd_load_project(g, ret->services, &ret->p);
        if (r == EXIT_OK)
                r = cmd_check_services(verb, ret->p, NULL, ret->services);
        if (r != EXIT_OK)
                return r;
        ret->cfg = cmd_reconcile_config(g);
        _cleanup_error_ struct stack_error err = {0};
        /* One command at a time changes a project: an `up` or `down` running meanwhile is waited for. */
        if (!ret->cfg.dry_run && state_lock_project(g->run_root, ret->p->name, &ret->lock, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

void cmd_lifecycle_end(struct cmd_lifecycle *l)
{
        if (l->lock >= 0)
                close(l->lock);
        strv_free(l->services);
        stack_project_free(l->p);
        *l = (struct cmd_lifecycle){.lock = -1};
}

int cmd_lifecycle_parse(const char *verb, const char *usage, int argc, char **argv, int *timeout,
                        bool *no_deps)
{
        enum { ARG_NO_DEPS = 0x100 };
        static const struct option with_timeout[] = {
            {"timeout", required_argument, NULL, 't'},
            {"no-deps", no_argument, NULL, ARG_NO_DEPS},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        /* Only the options the verb has: no flag accepted and then ignored. */
        const struct option *options = timeout ? with_timeout : with_timeout + 2;
        const char *shortopts = timeout ? "t:h" : "h";
        int c;
        while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
                if (c == 't' && timeout) {
                        if (cmd_parse_int(verb, "--timeout", optarg, timeout) != 0)
                                return EXIT_USAGE;
                } else if (c == ARG_NO_DEPS && no_deps)
                        *no_deps = true;
                else if (c == 'h') {
                        puts(usage);
                        return EXIT_OK;
                } else
                        return cmd_usage_error(verb, "invalid option");
        }
        return -1;
}

void cmd_lifecycle_timeout(struct cmd_lifecycle *l, int timeout)
{
        if (timeout >= 0)
                l->cfg.stop_timeout_usec = (int64_t) timeout * (int64_t) USEC_PER_SEC;
}
