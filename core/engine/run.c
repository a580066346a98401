/* stack run: one-off containers (see run.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/exec.h"
#include "core/engine/reconcile-internal.h"
#include "core/engine/run.h"
#include "core/runtime/console.h"
#include "core/runtime/container.h"

struct run_project {
        struct stack_project project;
        struct stack_service *services;
        /* What the overridden service owns; the rest is the original's. */
        struct stack_kvlist environment, labels;
        char **command, **entrypoint, **cap_add, **cap_drop;
        struct stack_port *ports;
        size_t n_ports;
};

void run_project_free(struct run_project *rp)
{
        if (!rp)
                return;
        stack_kvlist_free(&rp->environment);
        stack_kvlist_free(&rp->labels);
        strv_free(rp->command);
        strv_free(rp->entrypoint);
        strv_free(rp->cap_add);
        strv_free(rp->cap_drop);
        for (size_t i = 0; i < rp->n_ports; i++)
                free(rp->ports[i].host_ip);
        free(rp->ports);
        free(rp->services);
        free(rp);
}

const struct stack_project *run_project_get(const struct run_project *rp)
{
        return &rp->project;
}

static void kvlist_copy(struct stack_kvlist *to, const struct stack_kvlist *from)
{
        for (size_t i = 0; i < from->n; i++)
                stack_kvlist_set(to, from->items[i].key, from->items[i].value);
}

static char **strv_concat(char *const *a, char *const *b)
{
        char **v = strv_copy(a);
        if (!v)
                v = xcalloc(1, sizeof(char *));
        STRV_FOREACH (s, b)
                strv_push(&v, *s);
        return v;
}

static int apply_env(struct run_project *rp, char *const *env, struct stack_error *err)
{
        STRV_FOREACH (e, env) {
                const char *eq = strchr(*e, '=');
                if (eq == *e)
                        return stack_error_set(err, EINVAL, "-e %s: no variable name", *e);
                if (eq) {
                        _cleanup_free_ char *k = xstrndup(*e, (size_t) (eq - *e));
                        stack_kvlist_set(&rp->environment, k, eq + 1);
                } else
                        /* KEY alone: our value, or left out when we have none (the model's NULL). */
                        stack_kvlist_set(&rp->environment, *e, getenv(*e));
        }
        return 0;
}

static int apply_labels(struct run_project *rp, char *const *labels, struct stack_error *err)
{
        STRV_FOREACH (l, labels) {
                const char *eq = strchr(*l, '=');
                if (!eq || eq == *l)
                        return stack_error_set(err, EINVAL, "--label %s: expected KEY=VALUE", *l);
                _cleanup_free_ char *k = xstrndup(*l, (size_t) (eq - *l));
                stack_kvlist_set(&rp->labels, k, eq + 1);
        }
        return 0;
}

static int parse_port_number(const char *s, const char *spec, uint16_t *ret, struct stack_error *err)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (isempty(s) || *end || errno || v < 1 || v > 65535)
                return stack_error_set(err, EINVAL, "-p %s: \"%s\" is not a port number (1-65535)", spec, s);
        *ret = (uint16_t) v;
        return 0;
}

/* -p's short syntax for one port: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]. */
static int parse_publish(const char *spec, struct stack_port *ret, struct stack_error *err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        char *proto = strchr(copy, '/');
        struct stack_port p = {.protocol = STACK_PROTO_TCP};
        if (proto) {
                *proto++ = 0;
                if (streq(proto, "udp"))
                        p.protocol = STACK_PROTO_UDP;
                else if (streq(proto, "sctp"))
                        p.protocol = STACK_PROTO_SCTP;
                else if (!streq(proto, "tcp"))
                        return stack_error_set(err, EINVAL, "-p %s: unknown protocol \"%s\"", spec, proto);
        }
        if (strchr(copy, '[') || strchr(copy, '-'))
                return stack_error_set(
                    err, EINVAL, "-p %s: port ranges and IPv6 addresses are not supported by run -p yet",
                    spec);
        _cleanup_strv_free_ char **parts = strv_split(copy, ":");
        size_t n = strv_length(parts);
        if (n < 1 || n > 3)
                return stack_error_set(err, EINVAL, "-p %s: expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT",
                                       spec);
        int k = parse_port_number(parts[n - 1], spec, &p.target, err);
        if (k >= 0 && n >= 2 && !isempty(parts[n - 2]))
                k = parse_port_number(parts[n - 2], spec, &p.published_start, err);
        if (k < 0)
                return k;
        p.published_end = p.published_start;
        if (n == 3 && !isempty(parts[0]))
                p.host_ip = xstrdup(parts[0]);
        *ret = p;
        return 0;
}

/* The ports published: the service's with --service-ports, then -p's. */
static int apply_ports(struct run_project *rp, struct stack_service *s, const struct run_overrides *o,
                       struct stack_error *err)
{
        size_t own = o->service_ports ? s->n_ports : 0;
        size_t n = own + strv_length(o->publish);
        if (n == own) {
                s->n_ports = own;
                return 0;
        }
        rp->ports = xcalloc(n, sizeof(*rp->ports));
        for (size_t i = 0; i < own; i++) {
                rp->ports[i] = s->ports[i];
                rp->ports[i].host_ip = s->ports[i].host_ip ? xstrdup(s->ports[i].host_ip) : NULL;
        }
        rp->n_ports = own;
        STRV_FOREACH (spec, o->publish) {
                int k = parse_publish(*spec, &rp->ports[rp->n_ports], err);
                if (k < 0)
                        return k;
                rp->n_ports++;
        }
        s->ports = rp->ports;
        s->n_ports = rp->n_ports;
        return 0;
}

static int override_service(struct run_project *rp, struct stack_service *s, const struct run_overrides *o,
                            struct stack_error *err)
{
        kvlist_copy(&rp->environment, &s->environment);
        kvlist_copy(&rp->labels, &s->labels);
        int k = apply_env(rp, o->env, err);
        if (k >= 0)
                k = apply_labels(rp, o->labels, err);
        if (k < 0)
                return k;
        s->environment = rp->environment;
        s->labels = rp->labels;
        if (o->entrypoint) {
                rp->entrypoint = strv_split(o->entrypoint, " \t");
                s->entrypoint = rp->entrypoint;
                s->entrypoint_set = true;
                /* A new entrypoint drops the image's command, as docker's --entrypoint does; the service's
                 * own command: stays unless one is given. */
                if (!s->command_set && !o->command) {
                        rp->command = xcalloc(1, sizeof(char *));
                        s->command = rp->command;
                        s->command_set = true;
                }
        }
        if (o->command) {
                rp->command = strv_copy(o->command);
                s->command = rp->command;
                s->command_set = true;
        }
        if (o->user)
                s->user = (char *) o->user;
        if (o->workdir)
                s->working_dir = (char *) o->workdir;
        if (o->cap_add) {
                rp->cap_add = strv_concat(s->cap_add, o->cap_add);
                s->cap_add = rp->cap_add;
        }
        if (o->cap_drop) {
                rp->cap_drop = strv_concat(s->cap_drop, o->cap_drop);
                s->cap_drop = rp->cap_drop;
        }
        k = apply_ports(rp, s, o, err);
        if (k < 0)
                return k;
        /* Never restarted by policy: a one-off ends when its command does. */
        s->restart = (struct stack_restart_policy){.policy = STACK_RESTART_NO};
        s->restart_set = true;
        s->container_name = NULL;
        s->scale = 1;
        return 0;
}

int run_project_new(const struct stack_project *p, const char *service, const struct run_overrides *o,
                    struct run_project **ret, struct stack_error *err)
{
        const struct stack_service *orig = stack_project_service(p, service);
        if (!orig)
                return stack_error_set(err, ENOENT, "no such service: %s", service);
        struct run_project *rp = xcalloc(1, sizeof(*rp));
        rp->project = *p;
        rp->services = xcalloc(p->n_services + 1, sizeof(*rp->services));
        memcpy(rp->services, p->services, p->n_services * sizeof(*rp->services));
        rp->project.services = rp->services;
        struct stack_service *s = &rp->services[orig - p->services];
        int k = override_service(rp, s, o, err);
        if (k < 0) {
                run_project_free(rp);
                return k;
        }
        *ret = rp;
        return 0;
}

char *run_container_name(const char *project, const char *service)
{
        unsigned char b[6] = {0};
        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b)) {
                /* Not reached on any kernel stack runs on; the time keeps names apart anyway. */
                uint64_t t = now_usec() ^ ((uint64_t) getpid() << 32);
                memcpy(b, &t, sizeof(b));
        }
        return xasprintf("%s-%s-run-%02x%02x%02x%02x%02x%02x", project, service, b[0], b[1], b[2], b[3],
                         b[4], b[5]);
}

int run_create(const struct reconcile_config *c, const struct run_request *rq, struct stack_error *err)
{
        const struct stack_project *p = rq->project;
        _cleanup_close_ int lock = -1;
        int k = state_lock_project(c->run_root, p->name, &lock, err);
        if (k < 0)
                return k;
        k = state_project_write(c->root, p->name, p->working_dir, p->config_files, err);
        if (k < 0)
                return k;
        struct reconciler r;
        k = reconciler_init(&r, c, p->name, p, err);
        r.oneoff = true;
        r.oneoff_foreground = !rq->detach;
        struct plan_action a = {
            .kind = PLAN_CREATE_CONTAINER,
            .target = (char *) rq->name,
            .service = (char *) rq->service,
            .number = 1,
        };
        if (k >= 0)
                k = reconcile_create_container(&r, &a, err);
        /* Its name in the project's DNS, its ports when --service-ports asked for them. */
        if (k >= 0)
                k = reconcile_publish(&r, err);
        if (k >= 0 && rq->detach)
                k = supervisor_op(c->run_root, p->name, "start", rq->name, NULL, err);
        reconciler_done(&r);
        return k;
}

/* The bundle's process asks for a terminal of our size: the runtime then makes a pty and sends its
 * master over the console socket. */
static int bundle_want_terminal(const char *bundle, int tty_fd, struct stack_error *err)
{
        _cleanup_free_ char *path = path_join(bundle, "config.json");
        _cleanup_json_ cJSON *cfg = NULL;
        int k = json_read_file(path, &cfg, err);
        if (k < 0)
                return k;
        cJSON *proc = cJSON_GetObjectItemCaseSensitive(cfg, "process");
        if (!proc)
                return stack_error_set(err, EINVAL, "%s: no process object", path);
        cJSON_ReplaceItemInObjectCaseSensitive(proc, "terminal", cJSON_CreateBool(true));
        unsigned rows, cols;
        console_size(tty_fd, &rows, &cols);
        cJSON_DeleteItemFromObjectCaseSensitive(proc, "consoleSize");
        if (rows && cols) {
                cJSON *cs = cJSON_AddObjectToObject(proc, "consoleSize");
                cJSON_AddNumberToObject(cs, "height", rows);
                cJSON_AddNumberToObject(cs, "width", cols);
        }
        cJSON *env = cJSON_GetObjectItemCaseSensitive(proc, "env");
        bool has_term = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, env) if (cJSON_IsString(e) && startswith(e->valuestring, "TERM=")) has_term =
            true;
        if (env && !has_term)
                cJSON_AddItemToArray(env, cJSON_CreateString("TERM=xterm"));
        return json_write_file(path, cfg, err);
}

static int run_spawn_wait(struct runtime *rt, const char *bundle, const struct run_request *rq,
                          int *ret_status, struct stack_error *err)
{
        _cleanup_close_ int listen_fd = -1;
        _cleanup_free_ char *sock = NULL;
        char tmpl[] = "/tmp/stack-run-XXXXXX";
        _cleanup_free_ char *dir = NULL;
        if (rq->tty) {
                /* A short private directory: a unix socket's path is limited to 107 bytes. */
                if (!mkdtemp(tmpl))
                        return stack_error_errno(err, errno, "mkdtemp %s", tmpl);
                dir = xstrdup(tmpl);
        }
        int k = rq->tty ? console_listen(dir, &listen_fd, &sock, err) : 0;
        pid_t pid = 0;
        struct runtime_stdio io = rq->tty ? (struct runtime_stdio){-1, -1, rq->stdio.err} : rq->stdio;
        if (k >= 0)
                k = runtime_run_spawn(rt, rq->name, bundle, sock, &io, &pid, err);
        int master = -1;
        if (k >= 0 && rq->tty)
                k = console_receive(listen_fd, pid, &master, err);
        if (sock)
                (void) unlink(sock);
        if (dir)
                (void) rmdir(dir);
        if (k < 0 && pid > 0) {
                int st;
                (void) console_wait(pid, &st, NULL);
        }
        if (k < 0)
                return k;
        if (master < 0)
                return console_wait(pid, ret_status, err);
        k = console_relay(master, rq->stdio.in, rq->stdio.out, pid, ret_status, err);
        close(master);
        return k;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct container_host *, container_host_free)

int run_foreground(const struct reconcile_config *c, const struct run_request *rq, int *ret_exit_code,
                   struct stack_error *err)
{
        *ret_exit_code = 1;
        _cleanup_(container_host_freep) struct container_host *h = NULL;
        int k = container_host_new(c->root, c->run_root, c->runtime, &h, err);
        if (k < 0)
                return k;
        _cleanup_free_ char *bundle = container_bundle_path(h, rq->name);
        if (rq->tty && (k = bundle_want_terminal(bundle, rq->stdio.in, err)) < 0)
                return k;
        int status = 0;
        k = run_spawn_wait(h->runtime, bundle, rq, &status, err);
        /* The runtime killed (a second Ctrl-C) leaves the container running with nobody to wait for it:
         * it goes too, as the user asked. */
        if (k < 0 || WIFSIGNALED(status)) {
                _cleanup_error_ struct stack_error e = {0};
                (void) runtime_kill(h->runtime, rq->name, SIGKILL, &e);
        }
        if (k < 0)
                return k;
        _cleanup_free_ char *logp = path_join(bundle, "runtime.log");
        _cleanup_free_ char *log = runtime_read_log(logp);
        *ret_exit_code = exec_exit_code(status, log);
        /* The runtime's own failure (it exits 1 or 255 and logs why) rather than the command's exit. */
        if (!isempty(log) && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
                size_t l = strlen(log);
                while (l > 0 && log[l - 1] == '\n')
                        log[--l] = 0;
                const char *last = strrchr(log, '\n');
                return stack_error_set(err, EIO, "run %s: %s", rq->name, last ? last + 1 : log);
        }
        return 0;
}

int run_remove(const struct reconcile_config *c, const struct stack_project *p, const char *name,
               struct stack_error *err)
{
        _cleanup_close_ int lock = -1;
        int k = state_lock_project(c->run_root, p->name, &lock, err);
        if (k < 0)
                return k;
        struct reconciler r;
        k = reconciler_init(&r, c, p->name, p, err);
        if (k >= 0)
                k = reconcile_remove_container(&r, name, err);
        if (k >= 0)
                k = reconcile_publish(&r, err);
        reconciler_done(&r);
        return k;
}
