/* A test-only driver for core/container.c until `stack up` exists: it builds a service from a JSON
 * description of compose keys and runs one lifecycle step per invocation.
 *
 *   ctr-tool create NAME --rootfs DIR [--service JSON] [--image JSON] [--project JSON] [--netns PATH]
 *   ctr-tool run NAME ...        create + start
 *   ctr-tool start|state|pid|remove|log NAME
 *   ctr-tool stop NAME [SIGNAL [TIMEOUT_SECONDS]]
 *   ctr-tool kill NAME SIGNAL
 *   ctr-tool exec NAME CMD...
 *   ctr-tool config NAME ...     prints the config.json that create would write (no runtime call)
 *
 * STACK_ROOT, STACK_RUN_ROOT and STACK_RUNTIME say where and with what. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/cleanup.h"
#include "core/container.h"
#include "core/fileio.h"
#include "core/oci.h"
#include "core/util.h"
#include "core/volume.h"

static char *jstr(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static char **jstrv(const cJSON *o, const char *key, bool *set)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        if (set)
                *set = v != NULL;
        if (!v)
                return NULL;
        char **l = xcalloc(1, sizeof(char *));
        const cJSON *i;
        cJSON_ArrayForEach(i, v) if (cJSON_IsString(i)) strv_push(&l, i->valuestring);
        return l;
}

static double jnum(const cJSON *o, const char *key, double def)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static bool jbool(const cJSON *o, const char *key)
{
        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void jkv(const cJSON *o, const char *key, struct stack_kvlist *l)
{
        const cJSON *i;
        cJSON_ArrayForEach(i, cJSON_GetObjectItemCaseSensitive(o, key))
            stack_kvlist_add(l, i->string, cJSON_IsString(i) ? i->valuestring : NULL);
}

static void parse_refs(const cJSON *o, const char *key, struct stack_file_ref **ret, size_t *n)
{
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
        *n = (size_t) cJSON_GetArraySize(a);
        *ret = *n ? xcalloc(*n, sizeof(**ret)) : NULL;
        size_t k = 0;
        const cJSON *i;
        cJSON_ArrayForEach(i, a)
        {
                struct stack_file_ref *r = &(*ret)[k++];
                r->source = jstr(i, "source");
                r->target = jstr(i, "target");
                r->uid = jstr(i, "uid");
                r->gid = jstr(i, "gid");
                r->mode = (int) jnum(i, "mode", -1);
        }
}

static void parse_service(const cJSON *j, struct stack_service *s)
{
        s->name = jstr(j, "name");
        if (!s->name)
                s->name = xstrdup("svc");
        s->command = jstrv(j, "command", &s->command_set);
        s->entrypoint = jstrv(j, "entrypoint", &s->entrypoint_set);
        jkv(j, "environment", &s->environment);
        jkv(j, "labels", &s->labels);
        s->working_dir = jstr(j, "working_dir");
        s->user = jstr(j, "user");
        s->group_add = jstrv(j, "group_add", NULL);
        s->hostname = jstr(j, "hostname");
        s->domainname = jstr(j, "domainname");
        s->read_only = jbool(j, "read_only");
        s->privileged = jbool(j, "privileged");
        s->init = jbool(j, "init");
        s->cap_add = jstrv(j, "cap_add", NULL);
        s->cap_drop = jstrv(j, "cap_drop", NULL);
        s->security_opt = jstrv(j, "security_opt", NULL);
        s->tmpfs = jstrv(j, "tmpfs", NULL);
        s->devices = jstrv(j, "devices", NULL);
        s->dns = jstrv(j, "dns", NULL);
        s->network_mode = jstr(j, "network_mode");
        s->stop_signal = jstr(j, "stop_signal");
        s->stop_grace_period_usec = (int64_t) (jnum(j, "stop_grace_period", -1) * 1e6);
        if (s->stop_grace_period_usec < 0)
                s->stop_grace_period_usec = -1;
        if (cJSON_GetObjectItemCaseSensitive(j, "oom_score_adj")) {
                s->oom_score_adj = (int) jnum(j, "oom_score_adj", 0);
                s->oom_score_adj_set = true;
        }
        jkv(j, "sysctls", &s->sysctls);
        jkv(j, "extra_hosts", &s->extra_hosts);
        s->resources.memory = (int64_t) jnum(j, "mem_limit", 0);
        s->resources.memswap = (int64_t) jnum(j, "memswap_limit", 0);
        s->resources.cpus = jnum(j, "cpus", 0);
        s->resources.cpu_shares = (int64_t) jnum(j, "cpu_shares", 0);
        s->resources.pids = (int64_t) jnum(j, "pids_limit", 0);
        s->resources.shm_size = (int64_t) jnum(j, "shm_size", 0);
        s->scale = 1;
        const cJSON *ul = cJSON_GetObjectItemCaseSensitive(j, "ulimits");
        s->n_ulimits = (size_t) cJSON_GetArraySize(ul);
        s->ulimits = s->n_ulimits ? xcalloc(s->n_ulimits, sizeof(*s->ulimits)) : NULL;
        size_t k = 0;
        const cJSON *i;
        cJSON_ArrayForEach(i, ul)
        {
                struct stack_ulimit *u = &s->ulimits[k++];
                u->name = xstrdup(i->string);
                u->soft = (int64_t) (cJSON_IsNumber(i) ? i->valuedouble : jnum(i, "soft", 0));
                u->hard = (int64_t) (cJSON_IsNumber(i) ? i->valuedouble : jnum(i, "hard", 0));
        }
        const cJSON *vols = cJSON_GetObjectItemCaseSensitive(j, "volumes");
        s->n_volumes = (size_t) cJSON_GetArraySize(vols);
        s->volumes = s->n_volumes ? xcalloc(s->n_volumes, sizeof(*s->volumes)) : NULL;
        k = 0;
        cJSON_ArrayForEach(i, vols)
        {
                struct stack_mount *m = &s->volumes[k++];
                _cleanup_free_ char *type = jstr(i, "type");
                m->type = !type || streq(type, "volume") ? STACK_MOUNT_VOLUME
                          : streq(type, "bind")          ? STACK_MOUNT_BIND
                                                         : STACK_MOUNT_TMPFS;
                m->source = jstr(i, "source");
                m->target = jstr(i, "target");
                m->read_only = jbool(i, "read_only");
                m->bind_create_host_path = jbool(i, "create_host_path");
                m->bind_propagation = jstr(i, "propagation");
                m->volume_nocopy = jbool(i, "nocopy");
                m->volume_subpath = jstr(i, "subpath");
                m->tmpfs_size = (int64_t) jnum(i, "size", -1);
                m->tmpfs_mode = (int) jnum(i, "mode", -1);
        }
        parse_refs(j, "secrets", &s->secrets, &s->n_secrets);
        parse_refs(j, "configs", &s->configs, &s->n_configs);
}

static void parse_defs(const cJSON *j, const char *key, struct stack_file_def **ret, size_t *n)
{
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, key);
        *n = (size_t) cJSON_GetArraySize(o);
        *ret = *n ? xcalloc(*n, sizeof(**ret)) : NULL;
        size_t k = 0;
        const cJSON *i;
        cJSON_ArrayForEach(i, o)
        {
                struct stack_file_def *d = &(*ret)[k++];
                d->key = xstrdup(i->string);
                d->name = xstrdup(i->string);
                d->file = jstr(i, "file");
                d->environment = jstr(i, "environment");
                d->content = jstr(i, "content");
                d->external = jbool(i, "external");
        }
}

static void parse_project(const cJSON *j, struct stack_project *p)
{
        p->name = xstrdup("t");
        char cwd[4096];
        p->working_dir = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "volumes");
        p->n_volumes = (size_t) cJSON_GetArraySize(o);
        p->volumes = p->n_volumes ? xcalloc(p->n_volumes, sizeof(*p->volumes)) : NULL;
        size_t k = 0;
        const cJSON *i;
        cJSON_ArrayForEach(i, o)
        {
                struct stack_volume *v = &p->volumes[k++];
                v->key = xstrdup(i->string);
                v->name = jstr(i, "name");
                if (!v->name)
                        v->name = xstrdup(i->string);
                v->external = jbool(i, "external");
        }
        parse_defs(j, "secrets", &p->secrets, &p->n_secrets);
        parse_defs(j, "configs", &p->configs, &p->n_configs);
        const cJSON *env = cJSON_GetObjectItemCaseSensitive(j, "environment");
        cJSON_ArrayForEach(i, env) stack_kvlist_add(&p->environment, i->string, i->valuestring);
}

static void parse_image(const cJSON *j, struct image_config *c)
{
        c->env = jstrv(j, "Env", NULL);
        c->entrypoint = jstrv(j, "Entrypoint", NULL);
        c->cmd = jstrv(j, "Cmd", NULL);
        c->working_dir = jstr(j, "WorkingDir");
        c->user = jstr(j, "User");
        c->stop_signal = jstr(j, "StopSignal");
}

static cJSON *parse_json_arg(const char *text)
{
        cJSON *j = cJSON_Parse(text);
        if (!j) {
                fprintf(stderr, "ctr-tool: invalid JSON: %s\n", text);
                exit(2);
        }
        return j;
}

static int fail(struct stack_error *e)
{
        fprintf(stderr, "ctr-tool: %s\n", e->msg ? e->msg : "failed");
        stack_error_clear(e);
        return 1;
}

static int do_create(struct container_host *h, const char *name, int argc, char **argv, bool start,
                     bool print_only)
{
        const char *rootfs = NULL, *service = "{}", *image = NULL, *project = "{}", *netns = NULL;
        for (int i = 0; i + 1 < argc; i += 2) {
                if (streq(argv[i], "--rootfs"))
                        rootfs = argv[i + 1];
                else if (streq(argv[i], "--service"))
                        service = argv[i + 1];
                else if (streq(argv[i], "--image"))
                        image = argv[i + 1];
                else if (streq(argv[i], "--project"))
                        project = argv[i + 1];
                else if (streq(argv[i], "--netns"))
                        netns = argv[i + 1];
                else {
                        fprintf(stderr, "ctr-tool: unknown option %s\n", argv[i]);
                        return 2;
                }
        }
        if (!rootfs) {
                fprintf(stderr, "ctr-tool: --rootfs is required\n");
                return 2;
        }
        cJSON *sj = parse_json_arg(service), *pj = parse_json_arg(project);
        cJSON *ij = image ? parse_json_arg(image) : NULL;
        struct stack_project *p = xcalloc(1, sizeof(*p));
        p->services = xcalloc(1, sizeof(*p->services));
        p->n_services = 1;
        parse_service(sj, &p->services[0]);
        parse_project(pj, p);
        struct image_config ic = {0};
        if (ij)
                parse_image(ij, &ic);
        cJSON_Delete(sj);
        cJSON_Delete(pj);
        cJSON_Delete(ij);

        char *layers[] = {(char *) rootfs, NULL};
        struct container_spec spec = {
            .name = name,
            .project = p,
            .service = &p->services[0],
            .image = image ? &ic : NULL,
            .layers = layers,
            .netns_path = netns,
        };
        _cleanup_error_ struct stack_error err = {0};
        int r = 0;
        if (print_only) {
                struct oci_input in = {
                    .name = name, .service = spec.service, .image = spec.image, .rootfs = rootfs};
                cJSON *c = NULL;
                r = oci_config_build(&in, &c, &err);
                if (r >= 0) {
                        char *t = cJSON_Print(c);
                        puts(t);
                        free(t);
                        cJSON_Delete(c);
                }
        } else {
                r = container_create(h, &spec, &err);
                if (r >= 0 && start)
                        r = container_start(h, name, &err);
        }
        image_config_free(&ic);
        stack_project_free(p);
        return r < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: ctr-tool COMMAND NAME [ARGS...]\n");
                return 2;
        }
        const char *cmd = argv[1], *name = argv[2];
        const char *root = getenv("STACK_ROOT"), *run_root = getenv("STACK_RUN_ROOT");
        if (!root || !run_root) {
                fprintf(stderr, "ctr-tool: STACK_ROOT and STACK_RUN_ROOT must be set\n");
                return 2;
        }
        _cleanup_error_ struct stack_error err = {0};
        struct container_host *h = NULL;
        if (container_host_new(root, run_root, NULL, &h, &err) < 0)
                return fail(&err);
        int r = 0, ret = 0;
        if (streq(cmd, "create") || streq(cmd, "run") || streq(cmd, "config"))
                ret = do_create(h, name, argc - 3, argv + 3, streq(cmd, "run"), streq(cmd, "config"));
        else if (streq(cmd, "start"))
                r = container_start(h, name, &err);
        else if (streq(cmd, "state") || streq(cmd, "pid")) {
                struct container_state st;
                r = container_state(h, name, &st, &err);
                if (r >= 0 && streq(cmd, "pid"))
                        printf("%d\n", (int) st.pid);
                else if (r >= 0) {
                        static const char *const names[] = {"absent", "created", "running", "stopped",
                                                            "paused"};
                        printf("%s\n", names[st.status]);
                }
        } else if (streq(cmd, "stop")) {
                int sig = argc > 3 ? oci_signal_parse(argv[3]) : 0;
                int64_t timeout = argc > 4 ? (int64_t) (atof(argv[4]) * 1e6) : -1;
                bool killed;
                r = container_stop(h, name, sig, timeout, &killed, &err);
                if (r >= 0)
                        printf("%s\n", killed ? "killed" : "exited");
        } else if (streq(cmd, "kill"))
                r = container_kill(h, name, argc > 3 ? oci_signal_parse(argv[3]) : 9, &err);
        else if (streq(cmd, "remove"))
                r = container_remove(h, name, &err);
        else if (streq(cmd, "log")) {
                _cleanup_free_ char *p = container_log_path(h, name);
                _cleanup_free_ char *text = NULL;
                r = read_full_file(p, &text, NULL, &err);
                if (r >= 0)
                        fputs(text, stdout);
        } else if (streq(cmd, "exec")) {
                int status = 0;
                r = runtime_exec(h->runtime, name, argv + 3, STDOUT_FILENO, &status, &err);
                if (r >= 0)
                        ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        } else if (streq(cmd, "volume-rm"))
                r = volume_remove(root, name, &err);
        else {
                fprintf(stderr, "ctr-tool: unknown command %s\n", cmd);
                ret = 2;
        }
        container_host_free(h);
        if (r < 0)
                return fail(&err);
        return ret;
}
