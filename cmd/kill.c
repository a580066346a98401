/* stack kill: send a signal (SIGKILL unless -s says otherwise) to the running containers of services. */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/lifecycle.h"
#include "core/runtime/oci.h"

static const char kill_usage[] =
    "Usage: stack kill [OPTIONS] [SERVICE...]\n"
    "\n"
    "Send a signal to the running containers of services (all when none is named).\n"
    "SIGKILL or a container's stop signal stops it for good (its restart policy does not\n"
    "bring it back); another signal is only delivered.\n"
    "\n"
    "Options:\n"
    "  -s, --signal SIGNAL  The signal, by name or number (default SIGKILL)\n"
    "  -h, --help           Show this help";

int cmd_kill(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"signal", required_argument, NULL, 's'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int sig = SIGKILL, c;
        while ((c = getopt_long(argc, argv, "s:h", options, NULL)) >= 0) {
                if (c == 's') {
                        sig = oci_signal_parse(optarg);
                        if (sig < 0)
                                return cmd_usage_error("kill", "--signal: unknown signal \"%s\"", optarg);
                } else if (c == 'h') {
                        puts(kill_usage);
                        return EXIT_OK;
                } else
                        return cmd_usage_error("kill", "invalid option");
        }
        _cleanup_lifecycle_ struct cmd_lifecycle l = {.lock = -1};
        int ret = cmd_lifecycle_begin(g, "kill", argc, argv, &l);
        if (ret != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **names = NULL;
        if (lifecycle_kill(&l.cfg, l.p, l.services, sig, &names, &err) < 0)
                return cmd_fail(&err);
        if (!names[0])
                fputs("no container to kill\n", stderr);
        STRV_FOREACH (n, names)
                if (l.cfg.dry_run)
                        printf("kill container %s with signal %d\n", *n, sig);
                else
                        progress_line(l.cfg.events, "Container", *n, "Killed");
        return EXIT_OK;
}
