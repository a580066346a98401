#include <errno.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/ctrfs-open.h"
#include "core/engine/supervisor.h"
#include "core/runtime/runtime.h"

/* The supervisor's pid for the container, 0 when it does not answer or does not know it. */
static pid_t supervisor_pid(const struct status_config *c, const char *project, const char *name)
{
        if (!supervisor_running(c->run_root, project))
                return 0;
        struct supervisor_container *l = NULL;
        size_t n = 0;
        if (supervisor_status(c->run_root, project, &l, &n, NULL) < 0)
                return 0;
        pid_t pid = 0;
        for (size_t i = 0; i < n; i++)
                if (streq(l[i].name, name))
                        pid = l[i].pid;
        supervisor_container_list_free(l, n);
        return pid;
}

static int running_pid(struct runtime *rt, const char *name, pid_t *ret, struct stack_error *err)
{
        struct runtime_state rs = {0};
        int r = runtime_state(rt, name, &rs, err);
        if (r < 0)
                return r;
        if ((rs.status != RUNTIME_RUNNING && rs.status != RUNTIME_PAUSED) || rs.pid <= 0)
                return stack_error_set(err, ESRCH, "container %s is not running", name);
        *ret = rs.pid;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct runtime *, runtime_free)

int ctrfs_open_container(const struct status_config *c, const char *project, const char *name,
                         struct ctrfs **ret, struct stack_error *err)
{
        _cleanup_free_ char *rtroot = path_join(c->run_root, "runtime");
        _cleanup_(runtime_freep) struct runtime *rt = NULL;
        int r = runtime_new(c->runtime, rtroot, &rt, err);
        if (r < 0)
                return r;
        pid_t pid = 0, again = 0;
        if ((r = running_pid(rt, name, &pid, err)) < 0)
                return r;
        pid_t sup = supervisor_pid(c, project, name);
        if (sup > 0 && sup != pid)
                return stack_error_set(err, ESRCH, "container %s is being restarted", name);
        _cleanup_ctrfs_ struct ctrfs *fs = NULL;
        if ((r = ctrfs_open_pid(pid, &fs, err)) < 0)
                return stack_error_prefix(err, "%s", name);
        /* Still the same init after the open: the descriptor is the container's root, not a stranger's. */
        if ((r = running_pid(rt, name, &again, err)) < 0)
                return r;
        if (again != pid)
                return stack_error_set(err, ESRCH, "container %s is being restarted", name);
        *ret = TAKE_PTR(fs);
        return 0;
}
