#include <stdarg.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/base/util.h"
#include "spec/load.h"

int cmd_fail(const struct stack_error *err)
{
        fprintf(stderr, "stack: %s\n", err && err->msg ? err->msg : "unknown error");
        return EXIT_ERROR;
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "stack %s: ", cmd);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\nRun 'stack %s --help' for usage.\n", cmd);
        va_end(ap);
        return EXIT_USAGE;
}

int cmd_load_project(const struct cmd_global *g, char **services, struct stack_project **ret)
{
        struct spec_options o = {
            .files = g->files,
            .project_name = g->project_name,
            .project_dir = g->project_dir,
            .env_files = g->env_files,
            .profiles = g->profiles,
            .services = services,
        };
        _cleanup_error_ struct stack_error err = {0};
        if (spec_load(&o, ret, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
