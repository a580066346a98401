#include <stdio.h>

#include "cmd/cmd.h"
#include "core/util.h"

int cmd_config(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack config: not implemented yet\n");
        return EXIT_ERROR;
}
