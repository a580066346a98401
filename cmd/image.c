#include <stdio.h>

#include "cmd/cmd.h"
#include "core/util.h"

int cmd_image(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack image: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_images(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack images: not implemented yet\n");
        return EXIT_ERROR;
}
