#include <stdio.h>

#include "cmd/cmd.h"
#include "core/util.h"

int cmd_up(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack up: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_down(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack down: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_ps(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack ps: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_logs(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack logs: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_ls(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack ls: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_wait(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack wait: not implemented yet\n");
        return EXIT_ERROR;
}

int cmd_supervise(struct cmd_global *g, int argc, char **argv)
{
        fprintf(stderr, "stack supervise: not implemented yet\n");
        return EXIT_ERROR;
}
