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
#include "core/image/layer.h"
#include "core/image/reference.h"
#include "core/image/registry.h"
#include "core/runtime/user.h"
#include "spec/units.h"

#define _cleanup_json_ _cleanup_(cJSON_Deletep)

/* What a stage has built so far. */
struct stage_state {
        struct image_layer_ref *layers;
        size_t n_layers;
        cJSON *image;                /* the image config object: architecture, os, config, history */
        char key[DIGEST_STRING_MAX]; /* the cache key of everything up to here */
        struct stack_kvlist args;    /* ARGs declared in the stage, with their values */
        bool cmd_set;                /* CMD given in this stage (ENTRYPOINT then keeps it) */
        bool built;
        bool building; /* to refuse stages that copy from each other */
};

struct build {
        struct image_store *store;
        struct container_host *host;
        const struct builder_request *rq;
        struct dockerfile *df;
        struct stack_kvlist meta; /* global ARGs with their values */
        struct stage_state *stages;
        char *tmp;      /* scratch directory for layer tars */
        char *cache;    /* <root>/build-cache */
        char *ctx_real; /* the context, resolved */
        struct ignore *ignore;
        unsigned step;
        unsigned counter;
};

static void stage_state_done(struct stage_state *st)
{
        free(st->layers);
        cJSON_Delete(st->image);
        stack_kvlist_free(&st->args);
        *st = (struct stage_state){0};
}

static void progress(const struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct build *b, const char *fmt, ...)
{
        if (!b->rq->progress)
                return;
        va_list ap;
        va_start(ap, fmt);
        vfprintf(b->rq->progress, fmt, ap);
        va_end(ap);
        fflush(b->rq->progress);
}

static const char *go_arch(void)
{
        struct utsname u;
        if (uname(&u) < 0)
                return "amd64";
        if (streq(u.machine, "x86_64"))
                return "amd64";
        if (streq(u.machine, "aarch64"))
                return "arm64";
        if (startswith(u.machine, "arm"))
                return "arm";
        if (streq(u.machine, "i686") || streq(u.machine, "i386"))
                return "386";
        return "amd64";
}

static cJSON *config_obj(struct stage_state *st)
{
        cJSON *c = cJSON_GetObjectItemCaseSensitive(st->image, "config");
        if (!cJSON_IsObject(c)) {
                cJSON_DeleteItemFromObjectCaseSensitive(st->image, "config");
                c = cJSON_AddObjectToObject(st->image, "config");
        }
        return c;
}

static void set_item(cJSON *o, const char *key, cJSON *v)
{
        cJSON_DeleteItemFromObjectCaseSensitive(o, key);
        cJSON_AddItemToObject(o, key, v);
}

static cJSON *strv_json(char *const *l)
{
        cJSON *a = cJSON_CreateArray();
        STRV_FOREACH (s, l)
                cJSON_AddItemToArray(a, cJSON_CreateString(*s));
        return a;
}

static void add_history(struct stage_state *st, const char *created_by, bool empty_layer)
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
static void chain_key(struct stage_state *st, const char *what)
{
        _cleanup_free_ char *text = xasprintf("%s\n%s", st->key, what);
        digest_data(text, strlen(text), st->key);
}

/* The variables an instruction can see: the stage's ARGs, then its ENV over them (ENV wins, as docker). */
static void stage_env(struct stage_state *st, struct stack_kvlist *ret)
{
        for (size_t i = 0; i < st->args.n; i++)
                stack_kvlist_set(ret, st->args.items[i].key, st->args.items[i].value);
        cJSON *env = cJSON_GetObjectItemCaseSensitive(config_obj(st), "Env"), *it;
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

static int located(const struct build *b, const struct df_instruction *in, struct stack_error *err)
{
        return stack_error_prefix(err, "%s:%u: %s", b->df->filename, in->line, df_kind_name(in->kind));
}

/* ---- the step cache ---- */

static char *cache_path(const struct build *b, const char *key)
{
        return xasprintf("%s/%s.json", b->cache, digest_hex(key));
}

/* Loads the state a step left, when its layers are all still in the store. */
static bool cache_load(struct build *b, const char *key, struct stage_state *st)
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

static void cache_store(struct build *b, const char *key, const struct stage_state *st)
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

struct step_container {
        struct build *b;
        char *name;
        struct stack_service svc;
        char **layers;
        bool created;
};

static void step_container_done(struct step_container *c)
{
        if (c->created) {
                _cleanup_error_ struct stack_error e = {0};
                (void) container_remove(c->b->host, c->name, &e);
        }
        free(c->name);
        stack_service_free_contents(&c->svc);
        strv_free(c->layers);
}

static int step_container_prepare(struct build *b, struct stage_state *st, struct step_container *c,
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
        const cJSON *cfg = config_obj(st);
        const char *wd = json_get_str(cfg, "WorkingDir");
        c->svc.working_dir = xstrdup(isempty(wd) ? "/" : wd);
        const char *user = json_get_str(cfg, "User");
        if (!isempty(user))
                c->svc.user = xstrdup(user);
        c->layers = layer_dirs(b, st);
        return ensure_empty_lower(b, &c->layers, err);
}

static struct container_spec step_spec(const struct step_container *c)
{
        return (struct container_spec){.name = c->name, .service = &c->svc, .layers = c->layers};
}

static char *upper_dir(const struct build *b, const char *name)
{
        return xasprintf("%s/containers/%s/upper", b->host->root, name);
}

/* Turns a step container's upper directory into a layer on top of st. */
static int commit_upper(struct build *b, struct stage_state *st, const char *name, struct stack_error *err)
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
        const cJSON *shell = cJSON_GetObjectItemCaseSensitive(config_obj(st), "Shell");
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
        stage_env(st, &env);
        /* The key: the command, what it sees (variables, user, directory, network) and the parent. */
        _cleanup_json_ cJSON *k = cJSON_CreateObject();
        cJSON_AddItemToObject(k, "run", strv_json(argv));
        cJSON *ke = cJSON_AddObjectToObject(k, "env");
        for (size_t i = 0; i < env.n; i++)
                if (env.items[i].value)
                        cJSON_AddStringToObject(ke, env.items[i].key, env.items[i].value);
        const cJSON *cfg = config_obj(st);
        cJSON_AddStringToObject(k, "user", json_get_str(cfg, "User") ? json_get_str(cfg, "User") : "");
        cJSON_AddStringToObject(k, "workdir",
                                json_get_str(cfg, "WorkingDir") ? json_get_str(cfg, "WorkingDir") : "");
        cJSON_AddStringToObject(k, "network", network ? network : "default");
        _cleanup_free_ char *ktext = cJSON_PrintUnformatted(k);
        chain_key(st, ktext);
        if (cache_load(b, st->key, st)) {
                stack_kvlist_free(&env);
                progress(b, "#%u CACHED\n", b->step);
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
        struct container_spec spec = step_spec(&c);
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
                progress(b, "%s%s", output, output[strlen(output) - 1] == '\n' ? "" : "\n");
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0) {
                _cleanup_free_ char *tail = tail_lines(output, 5);
                return stack_error_set(err, EIO, "\"%s\" failed with exit code %d%s%s", in->text, code,
                                       *tail ? "; last output:\n" : "", tail);
        }
        progress(b, "#%u DONE %.1fs\n", b->step, (double) (now_usec() - t0) / 1e6);
        r = commit_upper(b, st, c.name, err);
        if (r < 0)
                return r;
        add_history(st, in->text, false);
        cache_store(b, st->key, st);
        return 0;
}

/* ---- COPY and ADD ---- */

/* Opens (creating what is missing) the directory path inside root, never leaving it. */
static int mkdir_in_root(int root_fd, const char *path, int *ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **parts = strv_split(path, "/");
        _cleanup_close_ int cur = dup(root_fd);
        if (cur < 0)
                return stack_error_errno(err, errno, "dup");
        struct strbuf sofar = {0};
        int r = 0;
        STRV_FOREACH (p, parts) {
                if (!**p || streq(*p, "."))
                        continue;
                if (sofar.len)
                        strbuf_putc(&sofar, '/');
                strbuf_puts(&sofar, *p);
                int fd = layer_open_in_root(root_fd, sofar.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd == -ENOENT) {
                        if (mkdirat(cur, *p, 0755) < 0 && errno != EEXIST) {
                                r = stack_error_errno(err, errno, "create /%s", sofar.buf);
                                break;
                        }
                        fd = layer_open_in_root(root_fd, sofar.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (fd < 0) {
                        r = stack_error_errno(err, -fd, "/%s", sofar.buf);
                        break;
                }
                close(cur);
                cur = fd;
        }
        strbuf_free(&sofar);
        if (r < 0)
                return r;
        *ret = TAKE_FD(cur);
        return 0;
}

struct copy_opts {
        bool hashing; /* only digest what would be copied */
        struct digest *d;
        bool have_owner;
        uid_t uid;
        gid_t gid;
        int chmod;                   /* -1: keep */
        const struct ignore *ignore; /* context sources only */
        bool extract;                /* ADD: unpack local archives */
};

static void hash_str(struct digest *d, const char *s)
{
        digest_update(d, s, strlen(s) + 1);
}

static int copy_file_data(int in, int out, struct digest *d, const char *what, struct stack_error *err)
{
        char buf[65536];
        for (;;) {
                ssize_t k = read(in, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return stack_error_errno(err, errno, "read %s", what);
                if (k == 0)
                        return 0;
                if (d)
                        digest_update(d, buf, (size_t) k);
                for (ssize_t off = 0; out >= 0 && off < k;) {
                        ssize_t w = write(out, buf + off, (size_t) (k - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return stack_error_errno(err, errno, "write %s", what);
                        off += w;
                }
        }
}

static bool is_archive(int fd)
{
        unsigned char m[512];
        ssize_t n = pread(fd, m, sizeof(m), 0);
        if (n >= 4 && ((m[0] == 0x1f && m[1] == 0x8b) ||
                       (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)))
                return true;
        return n == 512 && memcmp(m + 257, "ustar", 5) == 0;
}

static int copy_entry(int src_dir, const char *name, const char *rel, int dst_dir, const char *dst_name,
                      const struct copy_opts *o, struct stack_error *err);

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int copy_dir_contents(int src_fd, const char *rel, int dst_fd, const struct copy_opts *o,
                             struct stack_error *err)
{
        int dfd = dup(src_fd);
        if (dfd < 0)
                return stack_error_errno(err, errno, "dup");
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return stack_error_errno(err, errno, "open %s", rel);
        }
        rewinddir(d);
        _cleanup_strv_free_ char **names = xcalloc(1, sizeof(char *));
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        closedir(d);
        qsort(names, strv_length(names), sizeof(char *), cmp_names);
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *sub = streq(rel, ".") ? xstrdup(*n) : xasprintf("%s/%s", rel, *n);
                int r = copy_entry(src_fd, *n, sub, dst_fd, *n, o, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_entry(int src_dir, const char *name, const char *rel, int dst_dir, const char *dst_name,
                      const struct copy_opts *o, struct stack_error *err)
{
        struct stat st;
        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return stack_error_errno(err, errno, "%s", rel);
        bool is_dir = S_ISDIR(st.st_mode);
        if (o->ignore && !streq(rel, ".") && ignore_match(o->ignore, rel, is_dir) &&
            !(is_dir && ignore_has_exceptions(o->ignore)))
                return 0;
        uid_t uid = o->have_owner ? o->uid : (o->ignore ? 0 : st.st_uid);
        gid_t gid = o->have_owner ? o->gid : (o->ignore ? 0 : st.st_gid);
        mode_t mode = o->chmod >= 0 ? (mode_t) o->chmod : (st.st_mode & 07777);
        if (o->hashing) {
                _cleanup_free_ char *meta =
                    xasprintf("%s %o %u %u %c", rel, (unsigned) mode, (unsigned) uid, (unsigned) gid,
                              is_dir                ? 'd'
                              : S_ISLNK(st.st_mode) ? 'l'
                                                    : 'f');
                hash_str(o->d, meta);
        }
        if (is_dir) {
                _cleanup_close_ int sfd =
                    openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0)
                        return stack_error_errno(err, errno, "open %s", rel);
                _cleanup_close_ int dfd = -1;
                if (!o->hashing) {
                        if (!streq(dst_name, ".") && mkdirat(dst_dir, dst_name, 0755) < 0 && errno != EEXIST)
                                return stack_error_errno(err, errno, "create %s", dst_name);
                        dfd = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0)
                                return stack_error_errno(err, errno, "open destination %s", dst_name);
                }
                int r = copy_dir_contents(sfd, rel, dfd, o, err);
                if (r < 0)
                        return r;
                if (!o->hashing && !streq(rel, ".") && (fchown(dfd, uid, gid) < 0 || fchmod(dfd, mode) < 0))
                        return stack_error_errno(err, errno, "set owner and mode of %s", dst_name);
                return 0;
        }
        if (S_ISLNK(st.st_mode)) {
                /* Copied as a link, never followed: a link out of the context stays a link. */
                char target[PATH_MAX];
                ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return stack_error_errno(err, errno, "readlink %s", rel);
                target[n] = '\0';
                if (o->hashing) {
                        hash_str(o->d, target);
                        return 0;
                }
                (void) unlinkat(dst_dir, dst_name, 0);
                if (symlinkat(target, dst_dir, dst_name) < 0 ||
                    fchownat(dst_dir, dst_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return stack_error_errno(err, errno, "create link %s", dst_name);
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return 0; /* devices, fifos and sockets are not copied from a context */
        _cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return stack_error_errno(err, errno, "open %s", rel);
        if (o->extract && is_archive(in)) {
                if (o->hashing) {
                        hash_str(o->d, "extract");
                        return copy_file_data(in, -1, o->d, rel, err);
                }
                _cleanup_layer_source_ struct layer_source *src = NULL;
                enum layer_compression comp;
                int r = layer_source_decompress(layer_source_fd(TAKE_FD(in), true, rel), &src, &comp, err);
                if (r < 0)
                        return r;
                /* ADD unpacks into the destination directory, through the unpacker that never writes
                 * outside it. */
                _cleanup_close_ int dfd = -1;
                if (streq(dst_name, "."))
                        dfd = dup(dst_dir);
                else {
                        if (mkdirat(dst_dir, dst_name, 0755) < 0 && errno != EEXIST)
                                return stack_error_errno(err, errno, "create %s", dst_name);
                        dfd = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (dfd < 0)
                        return stack_error_errno(err, errno, "open destination %s", dst_name);
                return layer_unpack(src, dfd, LAYER_UNPACK_OWNERSHIP, NULL, err);
        }
        if (o->hashing)
                return copy_file_data(in, -1, o->d, rel, err);
        (void) unlinkat(dst_dir, dst_name, 0);
        _cleanup_close_ int out =
            openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return stack_error_errno(err, errno, "create %s", dst_name);
        int r = copy_file_data(in, out, NULL, rel, err);
        if (r < 0)
                return r;
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (fchown(out, uid, gid) < 0 || fchmod(out, mode) < 0 || futimens(out, ts) < 0)
                return stack_error_errno(err, errno, "set owner and mode of %s", dst_name);
        return 0;
}

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

/* A source path relative to its root, cleaned; NULL when it leaves the root. */
static char *clean_rel(const char *p)
{
        _cleanup_strv_free_ char **parts = strv_split(p, "/");
        _cleanup_strv_free_ char **out = xcalloc(1, sizeof(char *));
        STRV_FOREACH (x, parts) {
                if (!**x || streq(*x, "."))
                        continue;
                if (streq(*x, "..")) {
                        size_t n = strv_length(out);
                        if (!n)
                                return NULL;
                        free(out[n - 1]);
                        out[n - 1] = NULL;
                        continue;
                }
                strv_push(&out, *x);
        }
        return out[0] ? strv_join(out, "/") : xstrdup(".");
}

struct source {
        char *rel; /* relative to the source root */
};

/* Expands wildcards of context sources; everything else is taken as written. */
static int expand_sources(const char *root, char *const *srcs, bool globbing, char ***ret,
                          struct stack_error *err)
{
        char **l = xcalloc(1, sizeof(char *));
        STRV_FOREACH (s, srcs) {
                _cleanup_free_ char *rel = clean_rel(*s);
                if (!rel) {
                        strv_free(l);
                        return stack_error_set(err, EINVAL, "%s: outside the build context", *s);
                }
                if (!globbing || !has_glob(rel)) {
                        strv_push(&l, rel);
                        continue;
                }
                _cleanup_free_ char *pattern = xasprintf("%s/%s", root, rel);
                glob_t g = {0};
                int gr = glob(pattern, GLOB_NOSORT, NULL, &g);
                if (gr == 0)
                        for (size_t i = 0; i < g.gl_pathc; i++)
                                strv_push(&l, g.gl_pathv[i] + strlen(root) + 1);
                globfree(&g);
                if (gr != 0 && gr != GLOB_NOMATCH) {
                        strv_free(l);
                        return stack_error_set(err, EIO, "%s: cannot expand", *s);
                }
        }
        *ret = l;
        return 0;
}

static int open_parent_in_root(int root_fd, const char *rel, int *ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = path_dirname(rel);
        int fd = streq(dir, ".") || !*dir
                     ? dup(root_fd)
                     : layer_open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, fd == -1 ? errno : -fd, "%s", rel);
        *ret = fd;
        return 0;
}

/* Copies srcs (relative to src_root_fd) to dest (absolute, in the image) inside dst_root_fd, with Docker's
 * rules: a directory's contents are copied, a destination ending in '/' or naming a directory receives
 * files under their own names. */
static int copy_sources(int src_root_fd, char *const *srcs, const char *dest, int dst_root_fd,
                        const struct copy_opts *o, struct stack_error *err)
{
        bool dest_dir = endswith(dest, "/") || strv_length(srcs) > 1;
        if (!o->hashing && !dest_dir) {
                int probe = layer_open_in_root(dst_root_fd, dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (probe >= 0) {
                        dest_dir = true;
                        close(probe);
                }
        }
        STRV_FOREACH (s, srcs) {
                _cleanup_close_ int parent = -1;
                int r = open_parent_in_root(src_root_fd, *s, &parent, err);
                if (r < 0)
                        return r;
                const char *base = streq(*s, ".") ? "." : path_basename(*s);
                struct stat st;
                if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                return stack_error_set(err, ENOENT, "%s: no such file or directory", *s);
                        return stack_error_errno(err, errno, "%s", *s);
                }
                if (o->ignore && !streq(*s, ".") && ignore_match(o->ignore, *s, S_ISDIR(st.st_mode)))
                        return stack_error_set(err, ENOENT, "%s: excluded by .dockerignore", *s);
                if (o->hashing) {
                        hash_str(o->d, *s);
                        r = copy_entry(parent, base, *s, -1, ".", o, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                _cleanup_close_ int dfd = -1;
                const char *dname;
                _cleanup_free_ char *dparent = NULL;
                /* ADD unpacks an archive into the destination directory itself. */
                bool archive = false;
                if (o->extract && S_ISREG(st.st_mode)) {
                        _cleanup_close_ int afd = openat(parent, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        archive = afd >= 0 && is_archive(afd);
                }
                if (S_ISDIR(st.st_mode) || dest_dir) {
                        r = mkdir_in_root(dst_root_fd, dest, &dfd, err);
                        dname = S_ISDIR(st.st_mode) || archive ? "." : base;
                } else {
                        dparent = path_dirname(dest);
                        r = mkdir_in_root(dst_root_fd, dparent, &dfd, err);
                        dname = path_basename(dest);
                }
                if (r < 0)
                        return r;
                r = copy_entry(parent, base, *s, dfd, dname, o, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_chown(const char *spec, const char *rootfs, struct copy_opts *o, struct stack_error *err)
{
        struct user_ids ids = {0};
        int r = user_resolve(rootfs, spec, NULL, &ids, err);
        if (r < 0)
                return stack_error_prefix(err, "--chown=%s", spec);
        o->have_owner = true;
        o->uid = ids.uid;
        o->gid = ids.gid;
        user_ids_done(&ids);
        return 0;
}

static int build_stage(struct build *b, size_t i, struct stack_error *err);

/* The root a COPY --from reads: an earlier stage (built first) or a stored image. */
static int from_source(struct build *b, const char *from, struct stage_state *tmp_state,
                       const struct stage_state **ret, struct stack_error *err)
{
        int idx = dockerfile_find_stage(b->df, from);
        if (idx >= 0) {
                if (!b->stages[idx].built) {
                        int r = build_stage(b, (size_t) idx, err);
                        if (r < 0)
                                return r;
                }
                *ret = &b->stages[idx];
                return 0;
        }
        _cleanup_image_ struct image *img = NULL;
        int r = image_lookup(b->store, from, &img, err);
        if (r < 0)
                return stack_error_prefix(err, "--from=%s: neither a stage nor a stored image", from);
        r = image_layer_refs(b->store, img->id, &tmp_state->layers, &tmp_state->n_layers, err);
        if (r < 0)
                return r;
        tmp_state->image = cJSON_CreateObject();
        digest_data(img->id, strlen(img->id), tmp_state->key);
        *ret = tmp_state;
        return 0;
}

static int copy_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                     struct stack_error *err)
{
        bool add = in->kind == DF_ADD;
        struct stack_kvlist env = {0};
        stage_env(st, &env);
        _cleanup_strv_free_ char **words = NULL;
        int r = in->exec_form ? 0 : df_words(in->rest, b->df->escape, &env, &words, err);
        if (in->exec_form)
                words = strv_copy(in->argv);
        _cleanup_free_ char *chown_spec = NULL, *chmod_spec = NULL, *from = NULL;
        const struct stack_kv *f;
        if (r >= 0 && (f = stack_kvlist_get(&in->flags, "chown")) && f->value)
                r = df_word(f->value, b->df->escape, &env, &chown_spec, err);
        if (r >= 0 && (f = stack_kvlist_get(&in->flags, "chmod")) && f->value)
                r = df_word(f->value, b->df->escape, &env, &chmod_spec, err);
        if (r >= 0 && (f = stack_kvlist_get(&in->flags, "from")) && f->value)
                r = df_word(f->value, b->df->escape, &env, &from, err);
        stack_kvlist_free(&env);
        if (r < 0)
                return r;
        if (in->n_heredocs)
                return stack_error_set(err, ENOTSUP, "%s <<heredoc is not supported yet",
                                       df_kind_name(in->kind));
        if (stack_kvlist_get(&in->flags, "parents") || stack_kvlist_get(&in->flags, "exclude") ||
            stack_kvlist_get(&in->flags, "checksum") || stack_kvlist_get(&in->flags, "keep-git-dir"))
                return stack_error_set(
                    err, ENOTSUP,
                    "--parents, --exclude, --checksum and --keep-git-dir are not supported yet");
        size_t n = strv_length(words);
        if (n < 2)
                return stack_error_set(err, EINVAL, "requires at least two arguments");
        _cleanup_free_ char *dest_raw = words[n - 1];
        words[n - 1] = NULL;
        STRV_FOREACH (s, words)
                if (strstr(*s, "://"))
                        return stack_error_set(err, ENOTSUP, "%s: fetching URLs is not supported yet", *s);
        const char *wd = json_get_str(config_obj(st), "WorkingDir");
        _cleanup_free_ char *dest =
            dest_raw[0] == '/' ? xstrdup(dest_raw) : xasprintf("%s/%s", isempty(wd) ? "" : wd, dest_raw);
        if (endswith(dest_raw, "/") && !endswith(dest, "/")) {
                char *d2 = xasprintf("%s/", dest);
                free(dest);
                dest = d2;
        }
        bool wildcard = false;
        STRV_FOREACH (s, words)
                wildcard |= has_glob(*s);
        if ((n > 2 || wildcard) && !endswith(dest, "/"))
                return stack_error_set(
                    err, EINVAL, "with several sources the destination must be a directory and end with /");
        int chmod_mode = -1;
        if (chmod_spec) {
                char *end;
                long m = strtol(chmod_spec, &end, 8);
                if (*end || m < 0 || m > 07777)
                        return stack_error_set(err, EINVAL, "--chmod=%s: an octal mode is required",
                                               chmod_spec);
                chmod_mode = (int) m;
        }

        /* The source root: the context, or the --from stage or image mounted read-only for the copy. */
        struct stage_state from_tmp = {0};
        const struct stage_state *from_state = NULL;
        if (from) {
                r = from_source(b, from, &from_tmp, &from_state, err);
                if (r < 0) {
                        stage_state_done(&from_tmp);
                        return r;
                }
        }
        _cleanup_strv_free_ char **srcs = NULL;
        r = expand_sources(b->ctx_real, words, !from, &srcs, err);
        if (r < 0) {
                stage_state_done(&from_tmp);
                return r;
        }
        if (!srcs || !srcs[0]) {
                stage_state_done(&from_tmp);
                return stack_error_set(err, ENOENT, "no source files were specified (%s matched nothing)",
                                       words[0]);
        }

        /* The key: parent, instruction after substitution, and the sources' content. */
        _cleanup_digest_ struct digest d = {0};
        r = digest_init(&d, err);
        if (r < 0) {
                stage_state_done(&from_tmp);
                return r;
        }
        struct strbuf what = {0};
        strbuf_printf(&what, "%s chown=%s chmod=%s dest=%s", add ? "ADD" : "COPY",
                      chown_spec ? chown_spec : "", chmod_spec ? chmod_spec : "", dest);
        STRV_FOREACH (s, srcs)
                strbuf_printf(&what, " src=%s", *s);
        if (from_state)
                strbuf_printf(&what, " from=%s", from_state->key);
        else {
                _cleanup_close_ int ctx_fd = open(b->ctx_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct copy_opts ho = {
                    .hashing = true, .d = &d, .chmod = chmod_mode, .ignore = b->ignore, .extract = add};
                if (ctx_fd < 0)
                        r = stack_error_errno(err, errno, "%s", b->ctx_real);
                else
                        r = copy_sources(ctx_fd, srcs, dest, -1, &ho, err);
                if (r < 0) {
                        strbuf_free(&what);
                        stage_state_done(&from_tmp);
                        return r;
                }
                char content[DIGEST_STRING_MAX];
                digest_final(&d, content);
                strbuf_printf(&what, " content=%s", content);
        }
        chain_key(st, what.buf);
        strbuf_free(&what);
        if (cache_load(b, st->key, st)) {
                stage_state_done(&from_tmp);
                progress(b, "#%u CACHED\n", b->step);
                return 0;
        }

        _cleanup_(step_container_done) struct step_container c = {0};
        _cleanup_(step_container_done) struct step_container src = {0};
        r = step_container_prepare(b, st, &c, err);
        if (r >= 0) {
                c.svc.command = strv_split("true", " ");
                struct container_spec spec = step_spec(&c);
                c.created = true;
                r = container_prepare(b->host, &spec, err);
        }
        _cleanup_free_ char *bundle = container_bundle_path(b->host, c.name);
        _cleanup_free_ char *rootfs = path_join(bundle, "rootfs");
        _cleanup_close_ int root_fd = -1;
        if (r >= 0 && (root_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = stack_error_errno(err, errno, "open %s", rootfs);
        struct copy_opts o = {.chmod = chmod_mode, .extract = add && !from};
        if (r >= 0 && chown_spec)
                r = parse_chown(chown_spec, rootfs, &o, err);
        _cleanup_close_ int src_fd = -1;
        if (r >= 0 && from_state) {
                r = step_container_prepare(b, (struct stage_state *) from_state, &src, err);
                if (r >= 0) {
                        src.svc.command = strv_split("true", " ");
                        struct container_spec spec = step_spec(&src);
                        src.created = true;
                        r = container_prepare(b->host, &spec, err);
                }
                _cleanup_free_ char *sb = container_bundle_path(b->host, src.name);
                _cleanup_free_ char *sroot = path_join(sb, "rootfs");
                if (r >= 0 && (src_fd = open(sroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = stack_error_errno(err, errno, "open %s", sroot);
        } else if (r >= 0) {
                o.ignore = b->ignore;
                if ((src_fd = open(b->ctx_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = stack_error_errno(err, errno, "%s", b->ctx_real);
        }
        if (r >= 0)
                r = copy_sources(src_fd, srcs, dest, root_fd, &o, err);
        stage_state_done(&from_tmp);
        if (r < 0)
                return r;
        r = commit_upper(b, st, c.name, err);
        if (r < 0)
                return r;
        add_history(st, in->text, false);
        cache_store(b, st->key, st);
        return 0;
}

/* ---- metadata instructions ---- */

static void env_set(cJSON *cfg, const char *key, const char *value)
{
        cJSON *env = cJSON_GetObjectItemCaseSensitive(cfg, "Env");
        if (!cJSON_IsArray(env)) {
                cJSON_DeleteItemFromObjectCaseSensitive(cfg, "Env");
                env = cJSON_AddArrayToObject(cfg, "Env");
        }
        _cleanup_free_ char *entry = xasprintf("%s=%s", key, value);
        size_t klen = strlen(key);
        int i = 0;
        cJSON *it;
        cJSON_ArrayForEach(it, env)
        {
                if (cJSON_IsString(it) && strncmp(it->valuestring, key, klen) == 0 &&
                    it->valuestring[klen] == '=') {
                        cJSON_ReplaceItemInArray(env, i, cJSON_CreateString(entry));
                        return;
                }
                i++;
        }
        cJSON_AddItemToArray(env, cJSON_CreateString(entry));
}

static cJSON *object_item(cJSON *cfg, const char *key)
{
        cJSON *o = cJSON_GetObjectItemCaseSensitive(cfg, key);
        if (!cJSON_IsObject(o)) {
                cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
                o = cJSON_AddObjectToObject(cfg, key);
        }
        return o;
}

static int command_json(struct stage_state *st, const struct df_instruction *in, cJSON **ret)
{
        if (in->exec_form) {
                *ret = strv_json(in->argv);
                return 0;
        }
        const cJSON *shell = cJSON_GetObjectItemCaseSensitive(config_obj(st), "Shell");
        cJSON *a = cJSON_IsArray(shell) && cJSON_GetArraySize(shell) ? cJSON_Duplicate(shell, true) : NULL;
        if (!a) {
                a = cJSON_CreateArray();
                cJSON_AddItemToArray(a, cJSON_CreateString("/bin/sh"));
                cJSON_AddItemToArray(a, cJSON_CreateString("-c"));
        }
        cJSON_AddItemToArray(a, cJSON_CreateString(in->rest));
        *ret = a;
        return 0;
}

static int healthcheck_step(struct stage_state *st, const struct df_instruction *in, struct stack_error *err)
{
        cJSON *cfg = config_obj(st);
        cJSON *h = cJSON_CreateObject();
        if (strncasecmp(in->rest, "NONE", 4) == 0) {
                cJSON *t = cJSON_AddArrayToObject(h, "Test");
                cJSON_AddItemToArray(t, cJSON_CreateString("NONE"));
                set_item(cfg, "Healthcheck", h);
                return 0;
        }
        static const char *const durations[][2] = {{"interval", "Interval"},
                                                   {"timeout", "Timeout"},
                                                   {"start-period", "StartPeriod"},
                                                   {"start-interval", "StartInterval"}};
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                const struct stack_kv *f = stack_kvlist_get(&in->flags, durations[i][0]);
                if (!f)
                        continue;
                int64_t usec;
                if (!f->value || units_parse_duration(f->value, &usec) < 0 || usec < 0) {
                        cJSON_Delete(h);
                        return stack_error_set(err, EINVAL, "--%s=%s: invalid duration", durations[i][0],
                                               f->value ? f->value : "");
                }
                cJSON_AddNumberToObject(h, durations[i][1], (double) usec * 1000.0);
        }
        const struct stack_kv *rf = stack_kvlist_get(&in->flags, "retries");
        if (rf) {
                int64_t n;
                if (!rf->value || units_parse_int(rf->value, 0, INT32_MAX, &n) < 0) {
                        cJSON_Delete(h);
                        return stack_error_set(err, EINVAL, "--retries=%s: not a number",
                                               rf->value ? rf->value : "");
                }
                cJSON_AddNumberToObject(h, "Retries", (double) n);
        }
        const char *cmd = in->rest + 3;
        while (isspace((unsigned char) *cmd))
                cmd++;
        cJSON *t = cJSON_CreateArray();
        char **argv = NULL;
        _cleanup_json_ cJSON *j = *cmd == '[' ? cJSON_Parse(cmd) : NULL;
        if (cJSON_IsArray(j)) {
                argv = json_strv(j);
                cJSON_AddItemToArray(t, cJSON_CreateString("CMD"));
                STRV_FOREACH (a, argv)
                        cJSON_AddItemToArray(t, cJSON_CreateString(*a));
                strv_free(argv);
        } else {
                cJSON_AddItemToArray(t, cJSON_CreateString("CMD-SHELL"));
                cJSON_AddItemToArray(t, cJSON_CreateString(cmd));
        }
        cJSON_AddItemToObject(h, "Test", t);
        set_item(cfg, "Healthcheck", h);
        return 0;
}

static int arg_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                    struct stack_error *err)
{
        struct stack_kvlist env = {0}, kv = {0};
        stage_env(st, &env);
        int r = df_key_values(in, b->df->escape, &env, &kv, err);
        stack_kvlist_free(&env);
        for (size_t i = 0; r >= 0 && i < kv.n; i++) {
                const char *k = kv.items[i].key;
                const struct stack_kv *given = b->rq->args ? stack_kvlist_get(b->rq->args, k) : NULL;
                const struct stack_kv *global = stack_kvlist_get(&b->meta, k);
                const char *v = given && given->value ? given->value
                                : kv.items[i].value   ? kv.items[i].value
                                : global              ? global->value
                                                      : NULL;
                stack_kvlist_set(&st->args, k, v);
                _cleanup_free_ char *what = xasprintf("ARG %s=%s", k, v ? v : "(unset)");
                chain_key(st, what);
        }
        stack_kvlist_free(&kv);
        return r;
}

static int metadata_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                         struct stack_error *err)
{
        cJSON *cfg = config_obj(st);
        struct stack_kvlist env = {0};
        stage_env(st, &env);
        char esc = b->df->escape;
        int r = 0;
        _cleanup_free_ char *word = NULL;
        _cleanup_strv_free_ char **words = NULL;
        struct stack_kvlist kv = {0};
        switch (in->kind) {
        case DF_ENV:
        case DF_LABEL:
                r = df_key_values(in, esc, &env, &kv, err);
                for (size_t i = 0; r >= 0 && i < kv.n; i++) {
                        if (in->kind == DF_ENV)
                                env_set(cfg, kv.items[i].key, kv.items[i].value);
                        else
                                set_item(object_item(cfg, "Labels"), kv.items[i].key,
                                         cJSON_CreateString(kv.items[i].value));
                }
                stack_kvlist_free(&kv);
                break;
        case DF_WORKDIR: {
                r = df_word(in->rest, esc, &env, &word, err);
                if (r < 0)
                        break;
                const char *cur = json_get_str(cfg, "WorkingDir");
                _cleanup_free_ char *joined =
                    word[0] == '/' ? xstrdup(word) : xasprintf("%s/%s", isempty(cur) ? "" : cur, word);
                _cleanup_free_ char *clean = clean_rel(joined);
                _cleanup_free_ char *abs = streq(clean, ".") ? xstrdup("/") : xasprintf("/%s", clean);
                set_item(cfg, "WorkingDir", cJSON_CreateString(abs));
                break;
        }
        case DF_USER:
                r = df_word(in->rest, esc, &env, &word, err);
                if (r >= 0)
                        set_item(cfg, "User", cJSON_CreateString(word));
                break;
        case DF_STOPSIGNAL:
                r = df_word(in->rest, esc, &env, &word, err);
                if (r >= 0)
                        set_item(cfg, "StopSignal", cJSON_CreateString(word));
                break;
        case DF_EXPOSE:
                r = df_words(in->rest, esc, &env, &words, err);
                STRV_FOREACH (w, r >= 0 ? words : NULL) {
                        _cleanup_free_ char *port = strchr(*w, '/') ? xstrdup(*w) : xasprintf("%s/tcp", *w);
                        for (char *q = port; *q; q++)
                                *q = (char) tolower((unsigned char) *q);
                        set_item(object_item(cfg, "ExposedPorts"), port, cJSON_CreateObject());
                }
                break;
        case DF_VOLUME:
                if (in->exec_form)
                        words = strv_copy(in->argv);
                else
                        r = df_words(in->rest, esc, &env, &words, err);
                STRV_FOREACH (w, r >= 0 ? words : NULL)
                        set_item(object_item(cfg, "Volumes"), *w, cJSON_CreateObject());
                break;
        case DF_CMD:
        case DF_ENTRYPOINT: {
                cJSON *cmd;
                command_json(st, in, &cmd);
                set_item(cfg, in->kind == DF_CMD ? "Cmd" : "Entrypoint", cmd);
                /* A new ENTRYPOINT drops the base image's CMD, unless this stage set one. */
                if (in->kind == DF_ENTRYPOINT && !st->cmd_set)
                        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "Cmd");
                if (in->kind == DF_CMD)
                        st->cmd_set = true;
                break;
        }
        case DF_SHELL:
                set_item(cfg, "Shell", strv_json(in->argv));
                break;
        case DF_HEALTHCHECK:
                r = healthcheck_step(st, in, err);
                break;
        case DF_ONBUILD: {
                cJSON *a = cJSON_GetObjectItemCaseSensitive(cfg, "OnBuild");
                if (!cJSON_IsArray(a)) {
                        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "OnBuild");
                        a = cJSON_AddArrayToObject(cfg, "OnBuild");
                }
                cJSON_AddItemToArray(a, cJSON_CreateString(in->rest));
                break;
        }
        case DF_MAINTAINER:
                set_item(st->image, "author", cJSON_CreateString(in->rest));
                break;
        default:
                break;
        }
        stack_kvlist_free(&env);
        if (r < 0)
                return r;
        /* The key follows the config, which is what later steps see. */
        _cleanup_free_ char *ctext = cJSON_PrintUnformatted(cfg);
        _cleanup_free_ char *what = xasprintf("%s\n%s", in->text, ctext);
        chain_key(st, what);
        add_history(st, in->text, true);
        return 0;
}

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
                _cleanup_free_ char *native = xasprintf("linux/%s", go_arch());
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
                chain_key(st, "FROM stage");
                return 0;
        }
        if (streq(base, "scratch")) {
                st->image = cJSON_CreateObject();
                digest_data("FROM scratch", strlen("FROM scratch"), st->key);
                cJSON_AddStringToObject(st->image, "architecture", go_arch());
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
                progress(b, "#%u FROM %s: pulling\n", b->step, base);
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
        const cJSON *onbuild = cJSON_GetObjectItemCaseSensitive(config_obj(st), "OnBuild");
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

static int build_stage(struct build *b, size_t i, struct stack_error *err)
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
                progress(b, "#%u [%s %zu/%zu] %s\n", b->step, label, j + 1, ds->n_instructions, in->text);
                switch (in->kind) {
                case DF_RUN:
                        r = run_step(b, st, in, err);
                        break;
                case DF_COPY:
                case DF_ADD:
                        r = copy_step(b, st, in, err);
                        break;
                case DF_ARG:
                        r = arg_step(b, st, in, err);
                        break;
                default:
                        r = metadata_step(b, st, in, err);
                }
                if (r < 0)
                        return located(b, in, err);
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
        cJSON *l = object_item(config_obj(st), "Labels");
        for (size_t i = 0; i < labels->n; i++)
                set_item(l, labels->items[i].key,
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
        progress(&b, "#%u naming to %s done: %s\n", b.step + 1,
                 rq->refs && rq->refs[0] ? rq->refs[0] : "(untagged)", id);
        *ret_id = TAKE_PTR(id);
        return 0;
}

/* ---- compose services ---- */

static bool native_platform(const char *p)
{
        _cleanup_free_ char *native = xasprintf("linux/%s", go_arch());
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
                                               s->name, *pl, go_arch());
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
