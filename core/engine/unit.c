/* systemd units for a project; see unit.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/unit.h"

#define USEC_PER_SEC 1000000ULL

static uint64_t or_default(int64_t v, uint64_t fallback)
{
        return v < 0 ? fallback : (uint64_t) v;
}

/* How long a service may take from start to healthy before its checks give up: Docker's defaults for
 * what is unset (interval and timeout 30 s, 3 retries, no start period). */
static uint64_t health_budget(const struct stack_service *s)
{
        const struct stack_healthcheck *h = &s->healthcheck;
        if (!h->present || h->disable)
                return 0;
        uint64_t interval = or_default(h->interval_usec, 30 * USEC_PER_SEC);
        uint64_t timeout = or_default(h->timeout_usec, 30 * USEC_PER_SEC);
        uint64_t retries = h->retries < 0 ? 3 : (uint64_t) h->retries;
        return or_default(h->start_period_usec, 0) + retries * (interval + timeout);
}

static uint64_t stop_budget(const struct stack_service *s)
{
        return or_default(s->stop_grace_period_usec, 10 * USEC_PER_SEC);
}

enum { UNSEEN, ON_PATH, DONE };

/* The longest path through depends_on ending at service i, each service weighing cost(service). The
 * loader refuses cycles; one met here anyway ends that path instead of looping. */
static uint64_t chain(const struct stack_project *p, size_t i,
                      uint64_t (*cost)(const struct stack_service *), uint8_t *seen, uint64_t *memo)
{
        if (seen[i] == DONE)
                return memo[i];
        if (seen[i] == ON_PATH)
                return 0;
        seen[i] = ON_PATH;
        const struct stack_service *s = &p->services[i];
        uint64_t longest = 0;
        for (size_t d = 0; d < s->n_depends_on; d++) {
                const struct stack_service *dep = stack_project_service(p, s->depends_on[d].service);
                if (!dep) /* a dependency disabled by profiles or not required */
                        continue;
                uint64_t c = chain(p, (size_t) (dep - p->services), cost, seen, memo);
                if (c > longest)
                        longest = c;
        }
        memo[i] = longest + cost(s);
        seen[i] = DONE;
        return memo[i];
}

static uint64_t longest_chain(const struct stack_project *p, uint64_t (*cost)(const struct stack_service *))
{
        _cleanup_free_ uint8_t *seen = xcalloc(p->n_services + 1, sizeof(*seen));
        _cleanup_free_ uint64_t *memo = xcalloc(p->n_services + 1, sizeof(*memo));
        uint64_t longest = 0;
        for (size_t i = 0; i < p->n_services; i++) {
                uint64_t c = chain(p, i, cost, seen, memo);
                if (c > longest)
                        longest = c;
        }
        return longest;
}

uint64_t unit_start_budget_usec(const struct stack_project *p)
{
        return longest_chain(p, health_budget);
}

uint64_t unit_stop_budget_usec(const struct stack_project *p)
{
        return longest_chain(p, stop_budget);
}

static bool plain_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("/._-+:=@,", c);
}

char *unit_quote(const char *s)
{
        bool plain = *s != '\0';
        for (const char *c = s; *c; c++)
                plain = plain && plain_char(*c);
        struct strbuf b = {};
        if (!plain)
                strbuf_putc(&b, '"');
        for (const char *c = s; *c; c++) {
                switch (*c) {
                case '%':
                        strbuf_puts(&b, "%%");
                        break;
                case '$':
                        strbuf_puts(&b, "$$");
                        break;
                case '"':
                case '\\':
                        strbuf_putc(&b, '\\');
                        strbuf_putc(&b, *c);
                        break;
                case '\n':
                        strbuf_puts(&b, "\\n");
                        break;
                case '\t':
                        strbuf_puts(&b, "\\t");
                        break;
                default:
                        strbuf_putc(&b, *c);
                }
        }
        if (!plain)
                strbuf_putc(&b, '"');
        return strbuf_take(&b);
}

/* For settings that take the rest of the line as it is (WorkingDirectory=, Description=): only specifiers.
 */
static char *escape_specifiers(const char *s)
{
        struct strbuf b = {};
        for (const char *c = s; *c; c++)
                strbuf_puts(&b, *c == '%' ? "%%" : (char[]){*c, '\0'});
        return strbuf_take(&b);
}

static void put_arg(struct strbuf *b, const char *arg)
{
        _cleanup_free_ char *q = unit_quote(arg);
        strbuf_putc(b, ' ');
        strbuf_puts(b, q);
}

static void put_opt(struct strbuf *b, const char *opt, const char *value)
{
        put_arg(b, opt);
        put_arg(b, value);
}

/* `stack` with the options that pick the project and the state: the same on every Exec line. */
static char *stack_prefix(const struct stack_project *p, const struct unit_options *o)
{
        struct strbuf b = {};
        _cleanup_free_ char *bin = unit_quote(o->stack_path);
        strbuf_puts(&b, bin);
        for (char **f = p ? p->config_files : NULL; f && *f; f++)
                put_opt(&b, "-f", *f);
        if (p) {
                put_opt(&b, "--project-directory", p->working_dir);
                put_opt(&b, "-p", p->name);
        }
        for (char **e = p ? p->env_files : NULL; e && *e; e++)
                put_opt(&b, "--env-file", *e);
        for (char **pr = p ? p->profiles : NULL; pr && *pr; pr++)
                put_opt(&b, "--profile", *pr);
        if (o->root)
                put_opt(&b, "--root", o->root);
        if (o->run_root)
                put_opt(&b, "--run-root", o->run_root);
        if (o->runtime)
                put_opt(&b, "--runtime", o->runtime);
        return strbuf_take(&b);
}

static void add_path(char ***paths, const char *path)
{
        if (path && path[0] == '/' && !strv_contains(*paths, path))
                strv_push(paths, path);
}

static char *dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash == path ? xstrdup("/") : xstrndup(path, (size_t) (slash - path));
}

/* Every path the stack reads or writes at start: without RequiresMountsFor a unit started early at boot
 * may find a file system that is not mounted yet and bring the stack up on the empty mount point. */
static char **mount_paths(const struct stack_project *p, const struct unit_options *o)
{
        _cleanup_strv_free_ char **paths = NULL;
        add_path(&paths, p->working_dir);
        for (char **f = p->config_files; f && *f; f++) {
                _cleanup_free_ char *d = dir_of(*f);
                add_path(&paths, d);
        }
        for (char **e = p->env_files; e && *e; e++)
                add_path(&paths, *e);
        add_path(&paths, o->root ? o->root : "/var/lib/stack");
        add_path(&paths, o->run_root ? o->run_root : "/run/stack");
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                for (char **e = s->env_files; e && *e; e++)
                        add_path(&paths, *e);
                for (size_t v = 0; v < s->n_volumes; v++)
                        if (s->volumes[v].type == STACK_MOUNT_BIND)
                                add_path(&paths, s->volumes[v].source);
        }
        return TAKE_PTR(paths);
}

static uint64_t seconds_up(uint64_t usec)
{
        return (usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
}

int unit_render_project(const struct stack_project *p, const struct unit_options *o, char **ret,
                        struct stack_error *err)
{
        for (char **f = p->config_files; f && *f; f++)
                if (streq(*f, "-"))
                        return stack_error_set(
                            err, -EINVAL, "a project read from stdin cannot run as a unit; name its files");
        _cleanup_free_ char *stack = stack_prefix(p, o);
        _cleanup_strv_free_ char **paths = mount_paths(p, o);
        struct strbuf b = {};

        strbuf_printf(&b, "# The stack of project %s, made by `stack systemd generate`.\n", p->name);
        strbuf_puts(&b, "[Unit]\n");
        _cleanup_free_ char *desc = escape_specifiers(p->name);
        strbuf_printf(&b, "Description=stack project %s\n", desc);
        strbuf_puts(&b, "Wants=network-online.target\nAfter=network-online.target\n");
        for (char **path = paths; path && *path; path++) {
                _cleanup_free_ char *q = unit_quote(*path);
                strbuf_printf(&b, "RequiresMountsFor=%s\n", q);
        }
        strbuf_puts(&b, "\n[Service]\nType=notify\nNotifyAccess=main\n");
        _cleanup_free_ char *wd = escape_specifiers(p->working_dir);
        strbuf_printf(&b, "WorkingDirectory=%s\n", wd);
        strbuf_puts(
            &b,
            "# The attached `up` is the main process: READY=1 once every service is running or healthy;\n"
            "# SIGTERM stops the services in reverse dependency order.\n");
        strbuf_printf(&b, "ExecStart=%s up --no-log-prefix\n", stack);
        strbuf_puts(&b, "# A changed file: recreate what changed, as `up` would.\n");
        strbuf_printf(&b, "ExecReload=%s up -d\n", stack);
        strbuf_printf(&b, "ExecStopPost=%s down\n", stack);
        strbuf_puts(&b, "KillMode=mixed\n");
        strbuf_printf(
            &b, "# The longest chain of health checks through depends_on (%" PRIu64 " s) and a margin.\n",
            seconds_up(unit_start_budget_usec(p)));
        strbuf_printf(&b, "TimeoutStartSec=%" PRIu64 "\n",
                      seconds_up(unit_start_budget_usec(p) + UNIT_START_MARGIN_USEC));
        strbuf_printf(&b,
                      "# The longest chain of stop grace periods through depends_on (%" PRIu64
                      " s) and a margin.\n",
                      seconds_up(unit_stop_budget_usec(p)));
        strbuf_printf(&b, "TimeoutStopSec=%" PRIu64 "\n",
                      seconds_up(unit_stop_budget_usec(p) + UNIT_STOP_MARGIN_USEC));
        strbuf_puts(&b, "Restart=on-failure\nRestartSec=5\n\n[Install]\nWantedBy=multi-user.target\n");
        *ret = strbuf_take(&b);
        return 0;
}

char *unit_render_template(const struct unit_options *o)
{
        _cleanup_free_ char *stack = stack_prefix(NULL, o);
        struct strbuf b = {};
        strbuf_puts(&b, "# The stack of the project in the directory %f (the instance is its escaped path:\n"
                        "#   systemctl enable --now \"stack@$(systemd-escape --path /srv/app).service\"),\n"
                        "# made by `stack systemd generate --template`.\n"
                        "[Unit]\n"
                        "Description=stack project in %f\n"
                        "Wants=network-online.target\n"
                        "After=network-online.target\n"
                        "RequiresMountsFor=%f\n");
        _cleanup_free_ char *root = unit_quote(o->root ? o->root : "/var/lib/stack");
        _cleanup_free_ char *run_root = unit_quote(o->run_root ? o->run_root : "/run/stack");
        strbuf_printf(&b, "RequiresMountsFor=%s %s\n", root, run_root);
        strbuf_puts(&b, "\n[Service]\nType=notify\nNotifyAccess=main\nWorkingDirectory=%f\n");
        strbuf_printf(&b, "ExecStart=%s up --no-log-prefix\n", stack);
        strbuf_printf(&b, "ExecReload=%s up -d\n", stack);
        strbuf_printf(&b, "ExecStopPost=%s down\n", stack);
        strbuf_puts(
            &b,
            "KillMode=mixed\n"
            "# Not known for every project: `stack systemd generate` in a project directory derives both.\n"
            "TimeoutStartSec=300\nTimeoutStopSec=120\n"
            "Restart=on-failure\nRestartSec=5\n\n[Install]\nWantedBy=multi-user.target\n");
        return strbuf_take(&b);
}

char *unit_name(const char *project)
{
        return xasprintf("stack-%s.service", project);
}
