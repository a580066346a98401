#include <stdio.h>

#include "cmd/cmd.h"
#include "core/util.h"

int cmd_network(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack network: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_port(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack port: not implemented yet\n");
        return EXIT_ERROR;
}
