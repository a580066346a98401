/* The image builder (see builder.h). */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/build/builder.h"
#include "core/build/dockerfile.h"
#include "core/build/ignore.h"
#include "core/build/layertar.h"
#include "core/image/image.h"
#include "core/image/layer.h"
#include "core/image/reference.h"
#include "core/image/registry.h"
#include "core/runtime/user.h"
#include "spec/units.h"
#include "core/build/builder-internal.h"

void stage_state_done(struct stage_state *st)
{
        free(st->layers);
        cJSON_Delete(st->image);
        stack_kvlist_free(&st->args);
        *st = (struct stage_state){0};
}

void build_progress(const struct build *b, const char *fmt, ...)
{
        if (!b->rq->progress)
                return;
        va_list ap;
        va_start(ap, fmt);
        vfprintf(b->rq->progress, fmt, ap);
        va_end(ap);
        fflush(b->rq->progress);
}

cJSON *build_config_obj(struct stage_state *st)
{
        cJSON *c = cJSON_GetObjectItemCaseSensitive(st->image, "config");
        if (!cJSON_IsObject(c)) {
                cJSON_DeleteItemFromObjectCaseSensitive(st->image, "config");
                c = cJSON_AddObjectToObject(st->image, "config");
        }
        return c;
}

void build_set_item(cJSON *o, const char *key, cJSON *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, key);
        cJSON_AddItemToObject(o, key, v);
}

void build_add_history(struct stage_state *st, const char *created_by, bool empty_layer)
{
        cJSON *h = cJSON_GetObjectItemCaseSensitive(st->image, "history");
        if (!cJSON_IsArray(h)) {
                cJSON_DeleteItemFromObjectCaseSensitive(st->image, "history");
                h = cJSON_AddArrayToObject(st->image, "history");
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "created_by", created_by);
        cJSON_AddStringToObject(e, "comment", "stack build");
        if (empty_layer)
                cJSON_AddTrueToObject(e, "empty_layer");
        cJSON_AddItemToArray(h, e);
}

/* The next key: digest of the previous key and what this step adds. */
void build_chain_key(struct stage_state *st, const char *what)
{
        _cleanup_free_ char *text = xasprintf("%s\n%s", st->key, what);
        digest_data(text, strlen(text), st->key);
}

/* The variables an instruction can see: the stage's ARGs, then its ENV over them (ENV wins, as docker). */
void build_stage_env(struct stage_state *st, struct stack_kvlist *ret)
{
        for (size_t i = 0; i < st->args.n; i++)
                stack_kvlist_set(ret, st->args.items[i].key, st->args.items[i].value);
        cJSON *env = cJSON_GetObjectItemCaseSensitive(build_config_obj(st), "Env"), *it;
        cJSON_ArrayForEach(it, env)
        {
                if (!cJSON_IsString(it))
                        continue;
                const char *eq = strchr(it->valuestring, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *k = xstrndup(it->valuestring, (size_t) (eq - it->valuestring));
                stack_kvlist_set(ret, k, eq + 1);
        }
}

static int build_located(const struct build *b, const struct df_instruction *in, struct stack_error *err)
{
        return stack_error_prefix(err, "%s:%u: %s", b->df->filename, in->line, df_kind_name(in->kind));
}

/* ---- the step cache ---- */

static char *cache_path(const struct build *b, const char *key)
{
        return xasprintf("%s/%s.json", b->cache, digest_hex(key));
}

/* Loads the state a step left, when its layers are all still in the store. */
bool build_cache_load(struct build *b, const char *key, struct stage_state *st)
{
        if (b->rq->no_cache)
                return false;
        _cleanup_free_ char *p = cache_path(b, key);
        _cleanup_free_ char *text = NULL;
        if (read_full_file(p, &text, NULL, NULL) < 0)
                return false;
        _cleanup_json_ cJSON *j = cJSON_Parse(text);
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers"), *it;
        cJSON *image = cJSON_GetObjectItemCaseSensitive(j, "image");
        if (!cJSON_IsArray(layers) || !cJSON_IsObject(image))
                return false;
        size_t n = (size_t) cJSON_GetArraySize(layers);
        _cleanup_free_ struct image_layer_ref *l = xcalloc(n ? n : 1, sizeof(*l));
        size_t i = 0;
        cJSON_ArrayForEach(it, layers)
        {
                const char *diff = json_get_str(it, "diff_id"), *dg = json_get_str(it, "digest");
                if (!diff || !dg)
                        return false;
                snprintf(l[i].diff_id, sizeof(l[i].diff_id), "%s", diff);
                snprintf(l[i].digest, sizeof(l[i].digest), "%s", dg);
                const cJSON *sz = cJSON_GetObjectItemCaseSensitive(it, "size");
                const cJSON *up = cJSON_GetObjectItemCaseSensitive(it, "unpacked");
                l[i].size = cJSON_IsNumber(sz) ? (uint64_t) sz->valuedouble : 0;
                l[i].unpacked = cJSON_IsNumber(up) ? (uint64_t) up->valuedouble : 0;
                if (!image_layer_present(b->store, &l[i]))
                        return false;
                i++;
        }
        free(st->layers);
        st->layers = TAKE_PTR(l);
        st->n_layers = n;
        cJSON_Delete(st->image);
        st->image = cJSON_DetachItemFromObjectCaseSensitive(j, "image");
        return true;
}

void build_cache_store(struct build *b, const char *key, const struct stage_state *st)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        cJSON *layers = cJSON_AddArrayToObject(j, "layers");
        for (size_t i = 0; i < st->n_layers; i++) {
                cJSON *l = cJSON_CreateObject();
                cJSON_AddStringToObject(l, "diff_id", st->layers[i].diff_id);
                cJSON_AddStringToObject(l, "digest", st->layers[i].digest);
                cJSON_AddNumberToObject(l, "size", (double) st->layers[i].size);
                cJSON_AddNumberToObject(l, "unpacked", (double) st->layers[i].unpacked);
                cJSON_AddItemToArray(layers, l);
        }
        cJSON_AddItemToObject(j, "image", cJSON_Duplicate(st->image, true));
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        _cleanup_free_ char *p = cache_path(b, key);
        _cleanup_error_ struct stack_error e = {0};
        /* A cache that cannot be written costs the next build time, not this one its result. */
        (void) write_file_atomic(p, text, strlen(text), 0644, &e);
}

/* ---- step containers ---- */

static char **layer_dirs(const struct build *b, const struct stage_state *st)
{
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < st->n_layers; i++)
                strv_consume(&l, image_layer_dir(b->store, st->layers[i].diff_id));
        return l;
}

/* A FROM scratch stage has no layer; an overlay needs one lower directory, so it gets an empty one. */
static int ensure_empty_lower(struct build *b, char ***dirs, struct stack_error *err)
{
        if ((*dirs)[0])
                return 0;
        _cleanup_free_ char *empty = path_join(b->tmp, "empty");
        int r = mkdir_p(empty, 0755, err);
        if (r < 0)
                return r;
        strv_push(dirs, empty);
        return 0;
}

void step_container_done(struct step_container *c)
{
        if (c->created) {
                _cleanup_error_ struct stack_error e = {0};
                (void) container_remove(c->b->host, c->name, &e);
        }
        free(c->name);
        stack_service_free_contents(&c->svc);
        strv_free(c->layers);
}

int step_container_prepare(struct build *b, struct stage_state *st, struct step_container *c,
                           struct stack_error *err)
{
        c->b = b;
        c->name = xasprintf("stack-build-%ld-%u", (long) getpid(), b->counter++);
        c->svc = (struct stack_service){.name = xstrdup("build"), .stop_grace_period_usec = -1, .scale = 1};
        c->svc.healthcheck.interval_usec = c->svc.healthcheck.timeout_usec = -1;
        c->svc.healthcheck.start_period_usec = c->svc.healthcheck.start_interval_usec = -1;
        c->svc.healthcheck.retries = -1;
        c->svc.restart.delay_usec = c->svc.restart.window_usec = -1;
        c->svc.entrypoint = xcalloc(1, sizeof(char *));
        c->svc.entrypoint_set = true;
        c->svc.command_set = true;
        c->svc.resources.shm_size = b->rq->shm_size;
        if (b->rq->extra_hosts)
                for (size_t i = 0; i < b->rq->extra_hosts->n; i++)
                        stack_kvlist_add(&c->svc.extra_hosts, b->rq->extra_hosts->items[i].key,
                                         b->rq->extra_hosts->items[i].value);
        const cJSON *cfg = build_config_obj(st);
        const char *wd = json_get_str(cfg, "WorkingDir");
        c->svc.working_dir = xstrdup(isempty(wd) ? "/" : wd);
        const char *user = json_get_str(cfg, "User");
        if (!isempty(user))
                c->svc.user = xstrdup(user);
        c->layers = layer_dirs(b, st);
        return ensure_empty_lower(b, &c->layers, err);
}

struct container_spec step_container_spec(const struct step_container *c)
{
        return (struct container_spec){.name = c->name, .service = &c->svc, .layers = c->layers};
}

static char *upper_dir(const struct build *b, const char *name)
{
        return xasprintf("%s/containers/%s/upper", b->host->root, name);
}

/* The end of a step that ran a container (RUN, COPY, ADD): its upper directory becomes a layer on top of
 * st, the instruction goes into the history and the result into the step cache. */
int build_finish_step(struct build *b, struct stage_state *st, const char *name,
                      const struct df_instruction *in, struct stack_error *err)
{
        static const char *const skip_empty[] = {"etc/hosts", "etc/hostname", "etc/resolv.conf", NULL};
        static const char *const skip_dirs[] = {"dev", "proc", "sys", "etc", "run", NULL};
        _cleanup_free_ char *upper = upper_dir(b, name);
        _cleanup_free_ char *tar = xasprintf("%s/layer-%u.tar", b->tmp, b->counter++);
        _cleanup_close_ int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return stack_error_errno(err, errno, "create %s", tar);
        struct layertar_options o = {.skip_empty = skip_empty, .skip_empty_dirs = skip_dirs};
        int r = layertar_write(upper, fd, &o, err);
        if (r < 0)
                return r;
        struct image_layer_ref l;
        r = image_add_layer(b->store, tar, &l, err);
        unlink(tar);
        if (r < 0)
                return r;
        st->layers = xrealloc(st->layers, (st->n_layers + 1) * sizeof(*st->layers));
        st->layers[st->n_layers++] = l;
        build_add_history(st, in->text, false);
        build_cache_store(b, st->key, st);
        return 0;
}

/* ---- RUN ---- */

static char *tail_lines(const char *text, unsigned n)
{
        size_t len = strlen(text);
        while (len && text[len - 1] == '\n')
                len--;
        size_t i = len;
        for (unsigned seen = 0; i > 0; i--)
                if (text[i - 1] == '\n' && ++seen == n)
                        break;
        return xstrndup(text + i, len - i);
}

static int read_pid(const struct build *b, const char *name, pid_t *ret, struct stack_error *err)
{
        _cleanup_free_ char *bundle = container_bundle_path(b->host, name);
        _cleanup_free_ char *p = path_join(bundle, "pid");
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(p, &text, NULL, err);
        if (r < 0)
                return r;
        long pid = strtol(text, NULL, 10);
        if (pid <= 0)
                return stack_error_set(err, EIO, "%s: no pid", p);
        *ret = (pid_t) pid;
        return 0;
}

static int run_argv(const struct build *b, struct stage_state *st, const struct df_instruction *in,
                    char ***ret, struct stack_error *err)
{
        if (in->exec_form) {
                *ret = strv_copy(in->argv);
                return 0;
        }
        const char *script = in->rest;
        if (in->n_heredocs) {
                /* `RUN <<EOF` alone: the heredoc is the script. A heredoc fed to a command's stdin is not
                 * supported yet. */
                _cleanup_free_ char *tok =
                    xasprintf("<<%s%s", in->heredocs[0].chomp ? "-" : "", in->heredocs[0].name);
                if (in->n_heredocs > 1 || !streq(in->rest, tok))
                        return stack_error_set(err, ENOTSUP,
                                               "a heredoc as a command's input is not supported yet; write "
                                               "RUN <<EOF with the script alone");
                script = in->heredocs[0].content;
        }
        const cJSON *shell = cJSON_GetObjectItemCaseSensitive(build_config_obj(st), "Shell");
        char **argv = cJSON_IsArray(shell) && cJSON_GetArraySize(shell) ? json_strv(shell) : NULL;
        if (!argv) {
                argv = xcalloc(1, sizeof(char *));
                strv_push(&argv, "/bin/sh");
                strv_push(&argv, "-c");
        }
        strv_push(&argv, script);
        (void) b;
        *ret = argv;
        return 0;
}

static int run_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                    struct stack_error *err)
{
        _cleanup_strv_free_ char **argv = NULL;
        int r = run_argv(b, st, in, &argv, err);
        if (r < 0)
                return r;
        const struct stack_kv *mount = stack_kvlist_get(&in->flags, "mount");
        if (mount)
                return stack_error_set(err, ENOTSUP, "RUN --mount is not supported by stack's builder yet");
        if (stack_kvlist_get(&in->flags, "security"))
                return stack_error_set(err, ENOTSUP, "RUN --security is not supported");
        const struct stack_kv *netflag = stack_kvlist_get(&in->flags, "network");
        const char *network = netflag ? netflag->value : b->rq->network;
        if (network && !streq(network, "default") && !streq(network, "none") && !streq(network, "host"))
                return stack_error_set(err, EINVAL, "unsupported network \"%s\" (default, none or host)",
                                       network);

        struct stack_kvlist env = {0};
        build_stage_env(st, &env);
        /* The key: the command, what it sees (variables, user, directory, network) and the parent. */
        _cleanup_json_ cJSON *k = cJSON_CreateObject();
        cJSON_AddItemToObject(k, "run", json_from_strv(argv));
        cJSON *ke = cJSON_AddObjectToObject(k, "env");
        for (size_t i = 0; i < env.n; i++)
                if (env.items[i].value)
                        cJSON_AddStringToObject(ke, env.items[i].key, env.items[i].value);
        const cJSON *cfg = build_config_obj(st);
        cJSON_AddStringToObject(k, "user", json_get_str(cfg, "User") ? json_get_str(cfg, "User") : "");
        cJSON_AddStringToObject(k, "workdir",
                                json_get_str(cfg, "WorkingDir") ? json_get_str(cfg, "WorkingDir") : "");
        cJSON_AddStringToObject(k, "network", network ? network : "default");
        _cleanup_free_ char *ktext = cJSON_PrintUnformatted(k);
        build_chain_key(st, ktext);
        if (build_cache_load(b, st->key, st)) {
                stack_kvlist_free(&env);
                build_progress(b, "#%u CACHED\n", b->step);
                return 0;
        }

        _cleanup_(step_container_done) struct step_container c = {0};
        r = step_container_prepare(b, st, &c, err);
        if (r < 0) {
                stack_kvlist_free(&env);
                return r;
        }
        c.svc.environment = env;
        c.svc.command = TAKE_PTR(argv);
        if (network && streq(network, "host"))
                c.svc.network_mode = xstrdup("host");
        struct container_spec spec = step_container_spec(&c);
        /* The step's init is reparented to us once the runtime's create exits, so we can wait for it and
         * get its exit status. */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        c.created = true;
        r = container_create(b->host, &spec, err);
        if (r < 0)
                return r;
        pid_t pid = 0;
        r = read_pid(b, c.name, &pid, err);
        if (r < 0)
                return r;
        uint64_t t0 = now_usec();
        r = container_start(b->host, c.name, err);
        if (r < 0)
                return r;
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "wait for the RUN step");
        _cleanup_free_ char *logp = container_log_path(b->host, c.name);
        _cleanup_free_ char *output = NULL;
        if (read_full_file(logp, &output, NULL, NULL) < 0)
                output = xstrdup("");
        if (*output)
                build_progress(b, "%s%s", output, output[strlen(output) - 1] == '\n' ? "" : "\n");
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0) {
                _cleanup_free_ char *tail = tail_lines(output, 5);
                return stack_error_set(err, EIO, "\"%s\" failed with exit code %d%s%s", in->text, code,
                                       *tail ? "; last output:\n" : "", tail);
        }
        build_progress(b, "#%u DONE %.1fs\n", b->step, (double) (now_usec() - t0) / 1e6);
        return build_finish_step(b, st, c.name, in, err);
}

/* ---- COPY and ADD ---- */

/* ---- metadata instructions ---- */

/* ---- stages ---- */

static int stage_base(struct build *b, size_t i, struct stage_state *st, struct stack_error *err)
{
        const struct df_stage *ds = &b->df->stages[i];
        _cleanup_free_ char *base = NULL;
        int r = df_word(ds->base, b->df->escape, &b->meta, &base, err);
        if (r < 0)
                return stack_error_prefix(err, "%s:%u: FROM", b->df->filename, ds->line);
        if (ds->platform) {
                _cleanup_free_ char *pl = NULL;
                struct stack_kvlist penv = {0};
                _cleanup_free_ char *native = xasprintf("linux/%s", image_go_arch());
                stack_kvlist_set(&penv, "BUILDPLATFORM", native);
                stack_kvlist_set(&penv, "TARGETPLATFORM", native);
                r = df_word(ds->platform, b->df->escape, &penv, &pl, err);
                stack_kvlist_free(&penv);
                if (r < 0)
                        return r;
                if (!streq(pl, native))
                        return stack_error_set(
                            err, ENOTSUP, "%s:%u: FROM --platform=%s: stack builds only for this host (%s)",
                            b->df->filename, ds->line, pl, native);
        }
        int idx = -1;
        for (size_t j = 0; j < i; j++)
                if (b->df->stages[j].name && strcasecmp(b->df->stages[j].name, base) == 0)
                        idx = (int) j;
        if (idx >= 0) {
                if (!b->stages[idx].built) {
                        r = build_stage(b, (size_t) idx, err);
                        if (r < 0)
                                return r;
                }
                const struct stage_state *from = &b->stages[idx];
                st->layers = xcalloc(from->n_layers ? from->n_layers : 1, sizeof(*st->layers));
                memcpy(st->layers, from->layers, from->n_layers * sizeof(*st->layers));
                st->n_layers = from->n_layers;
                st->image = cJSON_Duplicate(from->image, true);
                memcpy(st->key, from->key, sizeof(st->key));
                build_chain_key(st, "FROM stage");
                return 0;
        }
        if (streq(base, "scratch")) {
                st->image = cJSON_CreateObject();
                digest_data("FROM scratch", strlen("FROM scratch"), st->key);
                cJSON_AddStringToObject(st->image, "architecture", image_go_arch());
                cJSON_AddStringToObject(st->image, "os", "linux");
                cJSON_AddObjectToObject(st->image, "config");
                return 0;
        }
        _cleanup_image_ struct image *img = NULL;
        r = b->rq->pull ? -ENOENT : image_lookup(b->store, base, &img, err);
        if (r == -ENOENT) {
                /* Missing, or --pull: the registry has the say. */
                stack_error_clear(err);
                struct registry_options ro = {0};
                _cleanup_registry_client_ struct registry_client *c = registry_client_new(&ro);
                build_progress(b, "#%u FROM %s: pulling\n", b->step, base);
                r = registry_pull(c, b->store, base, NULL, &img, err);
                if (r < 0)
                        return stack_error_prefix(
                            err,
                            "%s:%u: FROM %s: not in the store (import it with `stack image "
                            "import`) and pulling it failed",
                            b->df->filename, ds->line, base);
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        r = image_config_text(b->store, img->id, &text, err);
        if (r < 0)
                return r;
        st->image = cJSON_Parse(text);
        if (!cJSON_IsObject(st->image))
                return stack_error_set(err, EINVAL, "image %s: config is not a JSON object", base);
        const cJSON *onbuild = cJSON_GetObjectItemCaseSensitive(build_config_obj(st), "OnBuild");
        if (cJSON_GetArraySize(onbuild) > 0)
                return stack_error_set(
                    err, ENOTSUP,
                    "%s:%u: FROM %s: the image has ONBUILD triggers, which stack's builder does not run yet",
                    b->df->filename, ds->line, base);
        cJSON_DeleteItemFromObjectCaseSensitive(st->image, "rootfs");
        cJSON_DeleteItemFromObjectCaseSensitive(st->image, "created");
        r = image_layer_refs(b->store, img->id, &st->layers, &st->n_layers, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *what = xasprintf("FROM %s", img->id);
        digest_data(what, strlen(what), st->key);
        return 0;
}

int build_stage(struct build *b, size_t i, struct stack_error *err)
{
        struct stage_state *st = &b->stages[i];
        const struct df_stage *ds = &b->df->stages[i];
        if (st->built)
                return 0;
        if (st->building)
                return stack_error_set(err, ELOOP, "%s:%u: stage %s depends on itself", b->df->filename,
                                       ds->line, ds->name ? ds->name : "(unnamed)");
        st->building = true;
        /* Stages this one copies from are built first, so their steps do not interleave with ours. */
        for (size_t j = 0; j < ds->n_instructions; j++) {
                const struct stack_kv *from = stack_kvlist_get(&ds->instructions[j].flags, "from");
                int idx = from && from->value && ds->instructions[j].kind == DF_COPY
                              ? dockerfile_find_stage(b->df, from->value)
                              : -1;
                if (idx >= 0 && (size_t) idx != i && !b->stages[idx].built) {
                        int r = build_stage(b, (size_t) idx, err);
                        if (r < 0)
                                return r;
                }
        }
        int r = stage_base(b, i, st, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *label = ds->name ? xstrdup(ds->name) : xasprintf("stage-%zu", i);
        for (size_t j = 0; j < ds->n_instructions; j++) {
                const struct df_instruction *in = &ds->instructions[j];
                b->step++;
                build_progress(b, "#%u [%s %zu/%zu] %s\n", b->step, label, j + 1, ds->n_instructions,
                               in->text);
                switch (in->kind) {
                case DF_RUN:
                        r = run_step(b, st, in, err);
                        break;
                case DF_COPY:
                case DF_ADD:
                        r = build_copy_step(b, st, in, err);
                        break;
                case DF_ARG:
                        r = build_arg_step(b, st, in, err);
                        break;
                default:
                        r = build_metadata_step(b, st, in, err);
                }
                if (r < 0)
                        return build_located(b, in, err);
        }
        st->built = true;
        return 0;
}

static int eval_meta_args(struct build *b, struct stack_error *err)
{
        for (size_t i = 0; i < b->df->n_meta_args; i++) {
                struct stack_kvlist kv = {0};
                int r = df_key_values(&b->df->meta_args[i], b->df->escape, &b->meta, &kv, err);
                for (size_t j = 0; r >= 0 && j < kv.n; j++) {
                        const struct stack_kv *given =
                            b->rq->args ? stack_kvlist_get(b->rq->args, kv.items[j].key) : NULL;
                        stack_kvlist_set(&b->meta, kv.items[j].key,
                                         given && given->value ? given->value : kv.items[j].value);
                }
                stack_kvlist_free(&kv);
                if (r < 0)
                        return stack_error_prefix(err, "%s:%u: ARG", b->df->filename,
                                                  b->df->meta_args[i].line);
        }
        return 0;
}

static int read_dockerfile(const struct builder_request *rq, char **ret_text, char **ret_name,
                           char **ret_path, struct stack_error *err)
{
        if (rq->dockerfile_text) {
                *ret_text = xstrdup(rq->dockerfile_text);
                *ret_name = xstrdup("Dockerfile");
                *ret_path = NULL;
                return 0;
        }
        _cleanup_free_ char *p = rq->dockerfile
                                     ? (rq->dockerfile[0] == '/' ? xstrdup(rq->dockerfile)
                                                                 : path_join(rq->context, rq->dockerfile))
                                     : path_join(rq->context, "Dockerfile");
        int r = read_full_file(p, ret_text, NULL, err);
        if (r < 0)
                return stack_error_prefix(err, "read the Dockerfile");
        *ret_name = xstrdup(path_basename(p));
        *ret_path = TAKE_PTR(p);
        return 0;
}

static void build_done(struct build *b)
{
        if (b->df)
                for (size_t i = 0; i < b->df->n_stages; i++)
                        stage_state_done(&b->stages[i]);
        free(b->stages);
        if (b->df)
                dockerfile_free(b->df);
        stack_kvlist_free(&b->meta);
        if (b->tmp) {
                _cleanup_error_ struct stack_error e = {0};
                (void) rm_rf(b->tmp, &e);
                free(b->tmp);
        }
        free(b->cache);
        free(b->ctx_real);
        ignore_free(b->ignore);
}

static void add_final_labels(struct stage_state *st, const struct stack_kvlist *labels)
{
        if (!labels || !labels->n)
                return;
        cJSON *l = build_object_item(build_config_obj(st), "Labels");
        for (size_t i = 0; i < labels->n; i++)
                build_set_item(l, labels->items[i].key,
                               cJSON_CreateString(labels->items[i].value ? labels->items[i].value : ""));
}

/* Whether the build that named something after its pid is gone (killed, or the host rebooted). */
static bool build_owner_gone(const char *name_after_prefix)
{
        char *end;
        long pid = strtol(name_after_prefix, &end, 10);
        if (pid <= 0 || *end != '-')
                return false;
        return kill((pid_t) pid, 0) < 0 && errno == ESRCH;
}

/* A build killed mid-step (Ctrl-C, kill -9) leaves its step container, overlay mount and staging
 * directory; the next build removes them. */
static void sweep_dead_builds(struct container_host *h, const char *tmproot)
{
        _cleanup_error_ struct stack_error e = {0};
        _cleanup_strv_free_ char **names = NULL;
        if (container_list(h, &names, &e) >= 0)
                STRV_FOREACH (n, names) {
                        const char *rest = startswith(*n, "stack-build-");
                        if (rest && build_owner_gone(rest) && container_remove(h, *n, &e) < 0) {
                                fprintf(stderr, "stack: warning: %s\n", e.msg);
                                stack_error_clear(&e);
                        }
                }
        stack_error_clear(&e);
        _cleanup_closedir_ DIR *d = opendir(tmproot);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (de->d_name[0] == '.' || !build_owner_gone(de->d_name))
                        continue;
                _cleanup_free_ char *p = path_join(tmproot, de->d_name);
                (void) rm_rf(p, &e);
                stack_error_clear(&e);
        }
}

int builder_build(struct image_store *s, struct container_host *h, const struct builder_request *rq,
                  char **ret_id, struct stack_error *err)
{
        _cleanup_(build_done) struct build b = {.store = s, .host = h, .rq = rq};
        b.ctx_real = realpath(rq->context, NULL);
        if (!b.ctx_real)
                return stack_error_errno(err, errno, "build context %s", rq->context);
        if (!path_is_dir(b.ctx_real))
                return stack_error_set(err, ENOTDIR, "build context %s is not a directory", rq->context);
        _cleanup_free_ char *text = NULL, *name = NULL, *path = NULL;
        int r = read_dockerfile(rq, &text, &name, &path, err);
        if (r < 0)
                return r;
        r = dockerfile_parse(text, name, &b.df, err);
        if (r < 0)
                return r;
        r = ignore_load(b.ctx_real, path, &b.ignore, err);
        if (r < 0)
                return r;
        b.stages = xcalloc(b.df->n_stages, sizeof(*b.stages));
        b.cache = xasprintf("%s/build-cache", h->root);
        r = mkdir_p(b.cache, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmproot = xasprintf("%s/build-tmp", h->root);
        r = mkdir_p(tmproot, 0700, err);
        if (r < 0)
                return r;
        sweep_dead_builds(h, tmproot);
        b.tmp = xasprintf("%s/%ld-XXXXXX", tmproot, (long) getpid());
        if (!mkdtemp(b.tmp)) {
                free(b.tmp);
                b.tmp = NULL;
                return stack_error_errno(err, errno, "create a build directory under %s", tmproot);
        }
        r = eval_meta_args(&b, err);
        if (r < 0)
                return r;
        int target = (int) b.df->n_stages - 1;
        if (rq->target) {
                target = -1;
                for (size_t i = 0; i < b.df->n_stages; i++)
                        if (b.df->stages[i].name && strcasecmp(b.df->stages[i].name, rq->target) == 0)
                                target = (int) i;
                if (target < 0)
                        return stack_error_set(err, ENOENT, "%s: target stage \"%s\" could not be found",
                                               name, rq->target);
        }
        /* Stages are built when the target needs them (FROM or COPY --from), so others cost nothing. */
        r = build_stage(&b, (size_t) target, err);
        if (r < 0)
                return r;
        struct stage_state *st = &b.stages[target];
        add_final_labels(st, rq->labels);
        cJSON_DeleteItemFromObjectCaseSensitive(st->image, "created");
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        if (!isempty(sde)) {
                time_t t = (time_t) strtoll(sde, NULL, 10);
                struct tm tm;
                char buf[64];
                gmtime_r(&t, &tm);
                strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
                cJSON_AddStringToObject(st->image, "created", buf);
        }
        _cleanup_free_ char *cfg = cJSON_PrintUnformatted(st->image);
        _cleanup_free_ char *id = NULL;
        r = image_commit_built(s, st->layers, st->n_layers, cfg, rq->refs, &id, err);
        if (r < 0)
                return r;
        build_progress(&b, "#%u naming to %s done: %s\n", b.step + 1,
                       rq->refs && rq->refs[0] ? rq->refs[0] : "(untagged)", id);
        *ret_id = TAKE_PTR(id);
        return 0;
}

/* ---- compose services ---- */

static bool native_platform(const char *p)
{
        _cleanup_free_ char *native = xasprintf("linux/%s", image_go_arch());
        return streq(p, native) || startswith(p, native);
}

int builder_build_service(struct image_store *store, struct container_host *h, const struct stack_project *p,
                          const struct stack_service *s, const struct builder_options *o, char **ret_id,
                          struct stack_error *err)
{
        const struct stack_build *bd = &s->build;
        if (!bd->present)
                return stack_error_set(err, EINVAL, "service '%s' has no build: section", s->name);
        const char *ctx = bd->context;
        if (strstr(ctx, "://") || startswith(ctx, "git@") || startswith(ctx, "github.com/"))
                return stack_error_set(err, ENOTSUP,
                                       "service '%s': build context %s: remote contexts are not supported "
                                       "yet; clone it and give a directory",
                                       s->name, ctx);
        STRV_FOREACH (pl, bd->platforms)
                if (!native_platform(*pl))
                        return stack_error_set(err, ENOTSUP,
                                               "service '%s': build.platforms: %s is not this host's "
                                               "platform (linux/%s); stack builds only for the host",
                                               s->name, *pl, image_go_arch());
        if (bd->cache_from || bd->cache_to)
                return stack_error_set(err, ENOTSUP,
                                       "service '%s': build.cache_from/cache_to: no cache exporters; stack "
                                       "keeps its step cache under its root",
                                       s->name);
        if (bd->n_secrets || bd->ssh.n)
                return stack_error_set(err, ENOTSUP,
                                       "service '%s': build secrets and ssh need RUN --mount, which stack's "
                                       "builder does not support yet",
                                       s->name);
        if (bd->additional_contexts.n)
                return stack_error_set(
                    err, ENOTSUP, "service '%s': build.additional_contexts is not supported yet", s->name);
        struct stack_kvlist args = {0};
        for (size_t i = 0; i < bd->args.n; i++)
                stack_kvlist_set(&args, bd->args.items[i].key, bd->args.items[i].value);
        if (o->build_args)
                for (size_t i = 0; i < o->build_args->n; i++)
                        stack_kvlist_set(&args, o->build_args->items[i].key, o->build_args->items[i].value);
        struct stack_kvlist labels = {0};
        for (size_t i = 0; i < bd->labels.n; i++)
                stack_kvlist_set(&labels, bd->labels.items[i].key, bd->labels.items[i].value);
        stack_kvlist_set(&labels, "com.docker.compose.project", p->name);
        stack_kvlist_set(&labels, "com.docker.compose.service", s->name);
        _cleanup_strv_free_ char **refs = xcalloc(1, sizeof(char *));
        strv_push(&refs, s->image);
        STRV_FOREACH (t, bd->tags)
                strv_push(&refs, *t);
        _cleanup_free_ char *what = xasprintf("service '%s'", s->name);
        struct builder_request rq = {
            .context = ctx,
            .dockerfile = bd->dockerfile,
            .dockerfile_text = bd->dockerfile_inline,
            .args = &args,
            .target = bd->target,
            .refs = refs,
            .labels = &labels,
            .no_cache = o->no_cache || bd->no_cache,
            .pull = o->pull || bd->pull,
            .network = bd->network,
            .extra_hosts = &bd->extra_hosts,
            .shm_size = bd->shm_size,
            .progress = o->progress,
            .what = what,
        };
        int r = builder_build(store, h, &rq, ret_id, err);
        stack_kvlist_free(&args);
        stack_kvlist_free(&labels);
        if (r < 0)
                return stack_error_prefix(err, "service '%s': build", s->name);
        return 0;
}
