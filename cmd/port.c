/* stack port: where a service's container port is published on the host. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/port.h"
#include "core/runtime/container-id.h"

int cmd_port(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"protocol", required_argument, NULL, 'P'},
            {"index", required_argument, NULL, 'i'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *proto = "tcp";
        long index = 1;
        int c;
        char *end;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'P':
                        if (!streq(optarg, "tcp") && !streq(optarg, "udp"))
                                return cmd_usage_error("port", "--protocol: tcp or udp");
                        proto = optarg;
                        break;
                case 'i':
                        index = strtol(optarg, &end, 10);
                        if (*end || index < 1)
                                return cmd_usage_error("port", "--index: a replica number from 1");
                        break;
                case 'h':
                        printf("Usage: stack port [--protocol tcp|udp] [--index N] SERVICE PRIVATE_PORT\n\n"
                               "Print the public address of a container port.\n");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("port", "unknown option");
                }
        }
        if (argc - optind != 2)
                return cmd_usage_error("port", "expected SERVICE PRIVATE_PORT");
        const char *service = argv[optind];
        long private_port = strtol(argv[optind + 1], &end, 10);
        if (*end || private_port < 1 || private_port > 65535)
                return cmd_usage_error("port", "PRIVATE_PORT: a port number");

        _cleanup_project_ struct stack_project *p = NULL;
        int rc = cmd_load_project(g, NULL, &p);
        if (rc != EXIT_OK)
                return rc;
        const struct stack_service *s = stack_project_service(p, service);
        if (!s) {
                fprintf(stderr, "stack: no such service: %s\n", service);
                return EXIT_ERROR;
        }
        /* A fixed container_name names the one replica; --index beyond it finds nothing. */
        _cleanup_free_ char *container =
            container_name(p->name, service, index == 1 ? s->container_name : NULL, (int) index);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **addrs = NULL;
        if (port_published(g->root, p->name, container, proto, (int) private_port, &addrs, &err) < 0)
                return cmd_fail(&err);
        STRV_FOREACH (a, addrs)
                puts(*a);
        return EXIT_OK;
}
