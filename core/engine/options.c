#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/options.h"

static bool env_true(const char *name)
{
        const char *v = getenv(name);
        return v && (streq(v, "1") || streq(v, "true") || streq(v, "True") || streq(v, "yes"));
}

static int max_orphans_default(const struct stack_project *p, int flag)
{
        if (flag >= 0)
                return flag;
        const char *env = getenv("STACK_MAX_ORPHANS");
        if (!isempty(env))
                return atoi(env);
        if (p && p->settings.max_orphans >= 0)
                return p->settings.max_orphans;
        return 3;
}

void options_orphans(const struct stack_project *p, bool remove_orphans, int flag_max,
                     struct plan_options *o)
{
        o->remove_orphans = remove_orphans || env_true("COMPOSE_REMOVE_ORPHANS");
        o->max_orphans = max_orphans_default(p, flag_max);
        if (env_true("COMPOSE_IGNORE_ORPHANS") && !o->remove_orphans && flag_max < 0)
                o->max_orphans = -1;
}

int options_scale(struct stack_project *p, const char *assignment, struct stack_error *err)
{
        const char *eq = strchr(assignment, '=');
        if (!eq)
                return stack_error_set(err, EINVAL, "--scale: expected SERVICE=NUM, got \"%s\"", assignment);
        _cleanup_free_ char *name = xstrndup(assignment, (size_t) (eq - assignment));
        char *end;
        long n = strtol(eq + 1, &end, 10);
        if (isempty(eq + 1) || *end || n < 0 || n > 1000000)
                return stack_error_set(err, EINVAL, "--scale: invalid number \"%s\"", eq + 1);
        for (size_t i = 0; i < p->n_services; i++)
                if (streq(p->services[i].name, name)) {
                        p->services[i].scale = (int) n;
                        return 0;
                }
        return stack_error_set(err, ENOENT, "--scale: no such service: %s", name);
}
