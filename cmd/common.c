/* Helpers every verb uses: loading the project, reporting errors, the shared listing options, Ctrl-C. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"
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

static struct spec_options spec_options_from(const struct cmd_global *g, char **services)
{
        return (struct spec_options){
            .files = g->files,
            .project_name = g->project_name,
            .project_dir = g->project_dir,
            .env_files = g->env_files,
            .profiles = g->profiles,
            .services = services,
        };
}

int cmd_load_project(const struct cmd_global *g, char **services, struct stack_project **ret)
{
        struct spec_options o = spec_options_from(g, services);
        _cleanup_error_ struct stack_error err = {0};
        if (spec_load(&o, ret, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

void cmd_load_project_quiet(const struct cmd_global *g, const char *name, struct stack_project **ret)
{
        struct spec_options o = spec_options_from(g, NULL);
        struct stack_error err = {0};
        struct stack_project *p = NULL;
        /* The loader only warns through the log: below the error level it says nothing. */
        enum log_level lvl = log_get_level();
        log_set_level(LOG_LEVEL_ERROR);
        int k = spec_load(&o, &p, &err);
        log_set_level(lvl);
        stack_error_clear(&err);
        if (k >= 0 && streq(p->name, name))
                *ret = p;
        else if (k >= 0)
                stack_project_free(p);
}

int cmd_project_name(const struct cmd_global *g, char **ret)
{
        if (g->project_name && !g->files) {
                *ret = xstrdup(g->project_name);
                return EXIT_OK;
        }
        _cleanup_project_ struct stack_project *p = NULL;
        int r = cmd_load_project(g, NULL, &p);
        if (r != EXIT_OK)
                return r;
        *ret = xstrdup(p->name);
        return EXIT_OK;
}

int cmd_project_for(const struct cmd_global *g, char **services, char **ret_name,
                    struct stack_project **ret_p)
{
        if (g->project_name && !g->files) {
                *ret_name = xstrdup(g->project_name);
                if (services)
                        cmd_load_project_quiet(g, g->project_name, ret_p);
                return EXIT_OK;
        }
        int r = cmd_load_project(g, services, ret_p);
        if (r != EXIT_OK)
                return r;
        *ret_name = xstrdup((*ret_p)->name);
        return EXIT_OK;
}

static bool service_known(const struct stack_project *p, const struct project_status *st, const char *name)
{
        if (p)
                return stack_project_service(p, name) || strv_contains(p->disabled_services, name);
        for (size_t i = 0; st && i < st->n; i++)
                if (streq(st->containers[i].service, name))
                        return true;
        return false;
}

int cmd_check_services(const char *cmd, const struct stack_project *p, const struct project_status *st,
                       char *const *services)
{
        STRV_FOREACH (s, services)
                if (!service_known(p, st, *s)) {
                        fprintf(stderr, "stack %s: no such service: %s\n", cmd, *s);
                        return EXIT_ERROR;
                }
        return EXIT_OK;
}

int cmd_parse_int(const char *cmd, const char *opt, const char *s, int *ret)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (isempty(s) || *end || v < -1 || v > 1000000)
                return cmd_usage_error(cmd, "%s: invalid number \"%s\"", opt, s);
        *ret = (int) v;
        return 0;
}

bool cmd_color(const struct cmd_global *g, int fd)
{
        if (g->ansi && streq(g->ansi, "always"))
                return true;
        if (g->ansi && streq(g->ansi, "never"))
                return false;
        return isatty(fd) && isempty(getenv("NO_COLOR"));
}

struct reconcile_config cmd_reconcile_config(const struct cmd_global *g)
{
        return (struct reconcile_config){
            .root = g->root,
            .run_root = g->run_root,
            .runtime = g->runtime,
            .parallel = g->parallel,
            .dry_run = g->dry_run,
            .events = progress_events(progress_mode_from(g->progress)),
            .stop_timeout_usec = -1,
        };
}

struct status_config cmd_status_config(const struct cmd_global *g)
{
        return (struct status_config){.root = g->root, .run_root = g->run_root, .runtime = g->runtime};
}

int cmd_project_status(const struct cmd_global *g, const char *project, struct project_status *ret)
{
        struct status_config c = cmd_status_config(g);
        _cleanup_error_ struct stack_error err = {0};
        if (status_project(&c, project, ret, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

int cmd_list_option(const char *cmd, int c, const char *arg, struct cmd_list_options *o)
{
        switch (c) {
        case 'a':
                o->all = true;
                return 1;
        case 'q':
                o->quiet = true;
                return 1;
        case CMD_OPT_FORMAT:
                if (!streq(arg, "table") && !streq(arg, "json")) {
                        cmd_usage_error(cmd, "--format: unknown format \"%s\" (table or json)", arg);
                        return -1;
                }
                o->json = streq(arg, "json");
                return 1;
        default:
                return 0;
        }
}

volatile sig_atomic_t cmd_interrupted;
int cmd_kill_fd = -1;

static void on_interrupt(int sig)
{
        int saved = errno;
        uint64_t one = 1;
        if (++cmd_interrupted > 1 && cmd_kill_fd >= 0 && write(cmd_kill_fd, &one, sizeof(one)) < 0)
                errno = saved; /* already readable: nothing more to say */
        errno = saved;
}

void cmd_catch_interrupt(bool term)
{
        if (cmd_kill_fd < 0)
                cmd_kill_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        struct sigaction sa = {.sa_handler = on_interrupt};
        sigaction(SIGINT, &sa, NULL);
        if (term)
                sigaction(SIGTERM, &sa, NULL);
}
