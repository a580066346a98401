/* stack create: what `up --no-start` does (images made ready, networks, volumes and containers created),
 * with create's options. */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"

static const char create_usage[] =
    "Usage: stack create [OPTIONS] [SERVICE...]\n"
    "\n"
    "Create the containers of services (all when none is named) without starting them.\n"
    "\n"
    "Options:\n"
    "      --build              Build images before creating containers\n"
    "      --no-build           Do not build images, even when missing\n"
    "      --force-recreate     Recreate containers even if nothing changed\n"
    "      --no-recreate        Don't recreate containers that exist\n"
    "      --remove-orphans     Remove containers for services not defined in the file\n"
    "      --scale SERVICE=NUM  Scale SERVICE to NUM instances (overrides scale:)\n"
    "      --pull always|missing|never  Pull images before creating (default: each pull_policy)\n"
    "      --quiet-pull         Pull without printing progress\n"
    "  -y, --yes                Assume yes to prompts (there are none)\n"
    "  -h, --help               Show this help";

int cmd_create(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"build", no_argument, NULL, 'B'},
            {"no-build", no_argument, NULL, 'B'},
            {"force-recreate", no_argument, NULL, 'B'},
            {"no-recreate", no_argument, NULL, 'B'},
            {"remove-orphans", no_argument, NULL, 'B'},
            {"quiet-pull", no_argument, NULL, 'B'},
            {"scale", required_argument, NULL, 'V'},
            {"pull", required_argument, NULL, 'V'},
            {"yes", no_argument, NULL, 'y'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        /* Checked here so that up's other options (-d, --wait, ...) are refused; up parses them again and
         * checks their values. */
        char **up_argv = NULL;
        strv_push(&up_argv, "create");
        strv_push(&up_argv, "--no-start");
        _cleanup_strv_free_ char **owned = NULL;
        int c, idx;
        while ((c = getopt_long(argc, argv, "yh", options, &idx)) >= 0) {
                if (c == 'B' || c == 'V') {
                        _cleanup_free_ char *opt = c == 'V' ? xasprintf("--%s=%s", options[idx].name, optarg)
                                                            : xasprintf("--%s", options[idx].name);
                        strv_push(&up_argv, opt);
                } else if (c == 'y') {
                        continue; /* create asks nothing */
                } else if (c == 'h') {
                        puts(create_usage);
                        strv_free(up_argv);
                        return EXIT_OK;
                } else {
                        strv_free(up_argv);
                        return cmd_usage_error("create", "invalid option");
                }
        }
        for (int i = optind; i < argc; i++)
                strv_push(&up_argv, argv[i]);
        owned = up_argv;
        optind = 0;
        return cmd_up(g, (int) strv_length(owned), owned);
}
