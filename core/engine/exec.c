/* stack exec: the container's process object, changed as asked, run through the runtime's exec. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/exec.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "core/runtime/console.h"
#include "core/runtime/container.h"
#include "core/runtime/oci.h"
#include "core/runtime/user.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct container_host *, container_host_free)

static bool record_is_oneoff(const struct container_record *rec)
{
        return rec->spec && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec->spec, "oneoff"));
}

/* The supervisor's record of a running container whose init is still alive (pid and start time) is
 * enough to go on, and saves a runtime call: if it stopped just now, the runtime's exec says so. */
static bool supervisor_says_running(const struct reconcile_config *c, const char *project, const char *name)
{
        _cleanup_json_ cJSON *st = supervisor_read_status(c->run_root, project, name);
        if (!st || container_state_from_string(json_get_str(st, "state")) != CONTAINER_STATE_RUNNING)
                return false;
        pid_t pid = (pid_t) json_get_num(st, "pid", 0);
        uint64_t start = (uint64_t) json_get_num(st, "pid_start", 0);
        return pid > 0 && start > 0 && proc_alive(pid, start);
}

int exec_find_container(const struct reconcile_config *c, const char *project, const char *service,
                        int index, char **ret_name, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(c->root, project, &recs, &n, err);
        if (k < 0)
                return k;
        _cleanup_free_ char *name = NULL;
        for (size_t i = 0; i < n && !name; i++)
                if (streq(recs[i]->service, service) && recs[i]->number == index &&
                    !record_is_oneoff(recs[i]))
                        name = xstrdup(recs[i]->name);
        container_record_list_free(recs, n);
        if (!name)
                return index == 1 ? stack_error_set(err, ENOENT, "service \"%s\" has no container", service)
                                  : stack_error_set(err, ENOENT, "service \"%s\" has no replica %d", service,
                                                    index);
        if (supervisor_says_running(c, project, name)) {
                *ret_name = TAKE_PTR(name);
                return 0;
        }
        _cleanup_(container_host_freep) struct container_host *h = NULL;
        k = container_host_new(c->root, c->run_root, c->runtime, &h, err);
        if (k < 0)
                return k;
        struct container_status st;
        k = container_state(h, name, &st, err);
        if (k < 0)
                return k;
        if (st.state == CONTAINER_STATE_PAUSED)
                return stack_error_set(err, ESRCH, "service \"%s\": container %s is paused", service, name);
        if (st.state != CONTAINER_STATE_RUNNING)
                return stack_error_set(err, ESRCH, "service \"%s\" is not running (container %s is %s)",
                                       service, name, container_state_to_string(st.state));
        *ret_name = TAKE_PTR(name);
        return 0;
}

static void env_put(cJSON *env, const char *kv)
{
        size_t klen = strcspn(kv, "=");
        cJSON *item;
        int i = 0;
        cJSON_ArrayForEach(item, env)
        {
                if (cJSON_IsString(item) && strncmp(item->valuestring, kv, klen) == 0 &&
                    item->valuestring[klen] == '=') {
                        cJSON_ReplaceItemInArray(env, i, cJSON_CreateString(kv));
                        return;
                }
                i++;
        }
        cJSON_AddItemToArray(env, cJSON_CreateString(kv));
}

static bool env_has(const cJSON *env, const char *key)
{
        const cJSON *item;
        size_t klen = strlen(key);
        cJSON_ArrayForEach(item, env) if (cJSON_IsString(item) &&
                                          strncmp(item->valuestring, key, klen) == 0 &&
                                          item->valuestring[klen] == '=') return true;
        return false;
}

static int process_user(cJSON *proc, const char *bundle, const char *spec, struct stack_error *err)
{
        _cleanup_free_ char *rootfs = path_join(bundle, "rootfs");
        struct user_ids ids = {0};
        int k = user_resolve(rootfs, spec, NULL, &ids, err);
        if (k < 0)
                return stack_error_prefix(err, "user \"%s\"", spec);
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "uid", ids.uid);
        cJSON_AddNumberToObject(u, "gid", ids.gid);
        if (ids.n_additional_gids > 0) {
                cJSON *g = cJSON_AddArrayToObject(u, "additionalGids");
                for (size_t i = 0; i < ids.n_additional_gids; i++)
                        cJSON_AddItemToArray(g, cJSON_CreateNumber(ids.additional_gids[i]));
        }
        cJSON_ReplaceItemInObjectCaseSensitive(proc, "user", u);
        /* HOME follows the user, as docker's exec sets it from the user's passwd entry. */
        _cleanup_free_ char *home = xasprintf("HOME=%s", ids.home ? ids.home : "/");
        cJSON *env = cJSON_GetObjectItemCaseSensitive(proc, "env");
        if (env)
                env_put(env, home);
        user_ids_done(&ids);
        return 0;
}

static int process_capabilities(cJSON *proc, const struct container_host *h, struct stack_error *err)
{
        struct stack_service all = {.privileged = true};
        _cleanup_strv_free_ char **caps = NULL;
        int k = oci_capabilities(&all, h->cap_bounding, &caps, err);
        if (k < 0)
                return k;
        cJSON *c = cJSON_CreateObject();
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                cJSON_AddItemToObject(c, sets[i], json_from_strv(caps));
        cJSON_ReplaceItemInObjectCaseSensitive(proc, "capabilities", c);
        return 0;
}

/* The container's process object with the request's changes. */
static int build_process(const struct container_host *h, const char *bundle, const struct exec_request *rq,
                         cJSON **ret, struct stack_error *err)
{
        _cleanup_free_ char *cfgp = path_join(bundle, "config.json");
        _cleanup_json_ cJSON *cfg = NULL;
        int k = json_read_file(cfgp, &cfg, err);
        if (k < 0)
                return k;
        _cleanup_json_ cJSON *proc = cJSON_DetachItemFromObjectCaseSensitive(cfg, "process");
        if (!cJSON_IsObject(proc))
                return stack_error_set(err, EINVAL, "%s: no process object", cfgp);
        cJSON_ReplaceItemInObjectCaseSensitive(proc, "args", json_from_strv(rq->argv));
        cJSON_ReplaceItemInObjectCaseSensitive(proc, "terminal", cJSON_CreateBool(rq->tty));
        cJSON_DeleteItemFromObjectCaseSensitive(proc, "consoleSize");
        if (rq->tty) {
                unsigned rows, cols;
                console_size(rq->stdio.in, &rows, &cols);
                if (rows && cols) {
                        cJSON *cs = cJSON_AddObjectToObject(proc, "consoleSize");
                        cJSON_AddNumberToObject(cs, "height", rows);
                        cJSON_AddNumberToObject(cs, "width", cols);
                }
        }
        cJSON *env = cJSON_GetObjectItemCaseSensitive(proc, "env");
        if (!env)
                env = cJSON_AddArrayToObject(proc, "env");
        if (rq->user && (k = process_user(proc, bundle, rq->user, err)) < 0)
                return k;
        STRV_FOREACH (e, rq->env) {
                if (strchr(*e, '=')) {
                        env_put(env, *e);
                        continue;
                }
                /* KEY alone passes our value on, and nothing when we have none (docker's rule). */
                const char *v = getenv(*e);
                if (v) {
                        _cleanup_free_ char *kv = xasprintf("%s=%s", *e, v);
                        env_put(env, kv);
                }
        }
        if (rq->tty && !env_has(env, "TERM"))
                env_put(env, "TERM=xterm");
        if (rq->workdir) {
                if (rq->workdir[0] != '/')
                        return stack_error_set(err, EINVAL, "workdir \"%s\": must be an absolute path",
                                               rq->workdir);
                cJSON_ReplaceItemInObjectCaseSensitive(proc, "cwd", cJSON_CreateString(rq->workdir));
        }
        if (rq->privileged && (k = process_capabilities(proc, h, err)) < 0)
                return k;
        *ret = TAKE_PTR(proc);
        return 0;
}

int exec_exit_code(int status, const char *runtime_error)
{
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        /* The runtime exits non-zero when it could not start the command (255 for exec, 1 for run), and
         * logs why; a command's own exit leaves the log empty. */
        if (code == 0 || isempty(runtime_error))
                return code;
        if (strstr(runtime_error, "not found") || strstr(runtime_error, "No such file"))
                return strstr(runtime_error, "chdir") ? 126 : 127;
        return 126;
}

/* The files of one exec in a private directory: the process object, the runtime's log, the console
 * socket (a short path: a unix socket's is limited to 107 bytes). */
struct exec_files {
        char *dir, *process, *log, *socket;
};

static void exec_files_done(struct exec_files *f)
{
        if (!f->dir)
                return;
        _cleanup_error_ struct stack_error e = {0};
        (void) rm_rf(f->dir, &e);
        free(f->dir);
        free(f->process);
        free(f->log);
        free(f->socket);
}

static int exec_files_make(struct exec_files *f, struct stack_error *err)
{
        char tmpl[] = "/tmp/stack-exec-XXXXXX";
        if (!mkdtemp(tmpl))
                return stack_error_errno(err, errno, "mkdtemp %s", tmpl);
        f->dir = xstrdup(tmpl);
        f->process = path_join(tmpl, "process.json");
        f->log = path_join(tmpl, "runtime.log");
        return 0;
}

/* Starts the runtime's exec; with a terminal, relays it until the command ends. */
static int exec_spawn_wait(struct runtime *rt, const char *name, const struct exec_request *rq,
                           struct exec_files *f, int *ret_status, struct stack_error *err)
{
        _cleanup_close_ int listen_fd = -1;
        if (rq->tty) {
                int k = console_listen(f->dir, &listen_fd, &f->socket, err);
                if (k < 0)
                        return k;
        }
        struct runtime_exec_options o = {
            .process = f->process,
            .console_socket = f->socket,
            .log = f->log,
            .detach = rq->detach,
            .stdio = rq->detach ? (struct runtime_stdio){-1, -1, -1} : rq->stdio,
        };
        if (rq->tty)
                o.stdio = (struct runtime_stdio){-1, -1, rq->stdio.err};
        pid_t pid;
        int k = runtime_exec_spawn(rt, name, &o, &pid, err);
        if (k < 0)
                return k;
        if (!rq->tty)
                return console_wait(pid, ret_status, err);
        _cleanup_close_ int master = -1;
        k = console_receive(listen_fd, pid, &master, err);
        if (k < 0 || master < 0) {
                /* No terminal came: the runtime failed (its status and log tell), or we did. */
                int st;
                (void) console_wait(pid, &st, NULL);
                *ret_status = st;
                return k;
        }
        if (rq->detach)
                return console_wait(pid, ret_status, err);
        return console_relay(master, rq->stdio.in, rq->stdio.out, pid, ret_status, err);
}

int exec_run(const struct reconcile_config *c, const struct exec_request *rq, int *ret_exit_code,
             struct stack_error *err)
{
        *ret_exit_code = 1;
        _cleanup_free_ char *name = NULL;
        int k = exec_find_container(c, rq->project, rq->service, rq->index, &name, err);
        if (k < 0)
                return k;
        _cleanup_(container_host_freep) struct container_host *h = NULL;
        k = container_host_new(c->root, c->run_root, c->runtime, &h, err);
        if (k < 0)
                return k;
        _cleanup_free_ char *bundle = container_bundle_path(h, name);
        _cleanup_json_ cJSON *proc = NULL;
        k = build_process(h, bundle, rq, &proc, err);
        if (k < 0)
                return stack_error_prefix(err, "exec in %s", name);
        _cleanup_(exec_files_done) struct exec_files f = {0};
        k = exec_files_make(&f, err);
        if (k >= 0)
                k = json_write_file(f.process, proc, err);
        int status = 0;
        if (k >= 0)
                k = exec_spawn_wait(h->runtime, name, rq, &f, &status, err);
        if (k < 0)
                return k;
        _cleanup_free_ char *log = runtime_read_log(f.log);
        *ret_exit_code = exec_exit_code(status, log);
        if (!isempty(log) && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
                size_t l = strlen(log);
                while (l > 0 && log[l - 1] == '\n')
                        log[--l] = 0;
                const char *last = strrchr(log, '\n');
                return stack_error_set(err, EIO, "exec in %s: %s", name, last ? last + 1 : log);
        }
        if (rq->detach && *ret_exit_code != 0)
                return stack_error_set(err, EIO, "exec in %s: the runtime failed (exit status %d)", name,
                                       *ret_exit_code);
        return 0;
}
