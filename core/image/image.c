/* The image store. Layout and crash-safety rules are described in core/image/image.h. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/image/image.h"
#include "core/image/layer.h"
#include "core/base/log.h"
#include "core/image/reference.h"
#include "core/base/util.h"
#include "core/image/image-internal.h"

const char *image_store_path(const struct image_store *s)
{
        return s->dir;
}

/* ---- small helpers ---- */

char *image_blob_path(const struct image_store *s, const char *digest)
{
        return xasprintf("%s/blobs/sha256/%s", s->dir, digest_hex(digest));
}

char *image_layer_path(const struct image_store *s, const char *diff_id)
{
        return xasprintf("%s/layers/%s", s->dir, digest_hex(diff_id));
}

char *image_record_path(const struct image_store *s, const char *id)
{
        return xasprintf("%s/images/%s.json", s->dir, digest_hex(id));
}

const char *image_go_arch(void)
{
        static struct utsname u;
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
        return u.machine;
}

int image_write_json(const char *path, const cJSON *j, struct stack_error *err)
{
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        if (!text)
                return stack_error_set(err, ENOMEM, "%s: cannot serialize", path);
        return write_file_atomic(path, text, strlen(text), 0644, err);
}

/* ---- open, lock ---- */

/* create: make the store's directories (writers); else open whatever is there, a store that does not
 * exist yet being an empty one. */
static int store_open(const char *root, bool create, struct image_store **ret, struct stack_error *err)
{
        /* Layer paths go into overlay mount options and bundles: they must not depend on a cwd. */
        _cleanup_free_ char *cwd = root[0] == '/' ? NULL : getcwd(NULL, 0);
        if (root[0] != '/' && !cwd)
                return stack_error_errno(err, errno, "image store: current directory");
        _cleanup_free_ char *abs = path_absolute(cwd ? cwd : "/", root);
        _cleanup_free_ char *dir = path_join(abs, "images");
        static const char *const subdirs[] = {"blobs/sha256", "layers", "images", "tmp", "pulls"};
        for (size_t i = 0; create && i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = path_join(dir, subdirs[i]);
                int r = mkdir_p(p, 0700, err);
                if (r < 0)
                        return stack_error_prefix(err, "image store");
        }
        struct image_store *s = xcalloc(1, sizeof(*s));
        s->dir = TAKE_PTR(dir);
        s->lock_fd = -1;
        *ret = s;
        return 0;
}

int image_store_open(const char *root, struct image_store **ret, struct stack_error *err)
{
        return store_open(root, true, ret, err);
}

int image_store_open_readonly(const char *root, struct image_store **ret, struct stack_error *err)
{
        return store_open(root, false, ret, err);
}

void image_store_free(struct image_store *s)
{
        if (!s)
                return;
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->dir);
        free(s);
}

void image_store_unlockp(struct image_store **sp)
{
        struct image_store *s = *sp;
        if (!s)
                return;
        /* Threads of one process (parallel pulls) share the store and take its lock in turn. The field is
         * cleared before the close releases the flock: cleared after, it could wipe the fd of the thread
         * that got the lock in between, whose lock would then never be released. */
        int fd = __atomic_exchange_n(&s->lock_fd, -1, __ATOMIC_SEQ_CST);
        if (fd >= 0)
                close(fd); /* releases the flock */
}

/* Writers hold the store's lock for their whole operation, so whoever holds it knows no import is
 * under way: anything left in tmp/ is debris of a crashed one. */
int image_store_lock(struct image_store *s, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "lock");
        _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return stack_error_errno(err, errno, "image store: open %s", p);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "image store: lock %s", p);
        _cleanup_free_ char *tmp = path_join(s->dir, "tmp");
        _cleanup_closedir_ DIR *d = opendir(tmp);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = path_join(tmp, de->d_name);
                _cleanup_error_ struct stack_error e2 = {0};
                if (rm_rf(sub, &e2) < 0)
                        log_warning("image store: cannot clean %s: %s", sub, e2.msg);
        }
        __atomic_store_n(&s->lock_fd, TAKE_FD(fd), __ATOMIC_SEQ_CST);
        return 0;
}

/* ---- references index ---- */

int image_refs_load(const struct image_store *s, cJSON **ret, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "refs.json");
        if (!path_exists(p)) {
                *ret = cJSON_CreateObject();
                return 0;
        }
        cJSON *j;
        int r = json_read_file(p, &j, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return stack_error_set(err, EINVAL, "%s: not a JSON object", p);
        }
        *ret = j;
        return 0;
}

int image_refs_save(const struct image_store *s, const cJSON *refs, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "refs.json");
        return image_write_json(p, refs, err);
}

static char **refs_of(const cJSON *refs, const char *id)
{
        char **l = xcalloc(1, sizeof(char *));
        const cJSON *it;
        cJSON_ArrayForEach(it, refs)
        {
                if (cJSON_IsString(it) && streq(it->valuestring, id))
                        strv_push(&l, it->string);
        }
        return l;
}

static int strv_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* ---- config parsing ---- */

void image_config_free(struct image_config *c)
{
        strv_free(c->env);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        free(c->working_dir);
        free(c->user);
        strv_free(c->exposed_ports);
        strv_free(c->healthcheck.test);
        free(c->stop_signal);
        for (size_t i = 0; i < c->labels.n; i++) {
                free(c->labels.items[i].key);
                free(c->labels.items[i].value);
        }
        free(c->labels.items);
        *c = (struct image_config){0};
}

/* Durations in an image config are nanoseconds; 0 means "use the default". */
static int64_t ns_to_usec(const cJSON *o, const char *key)
{
        int64_t ns = (int64_t) json_get_num(o, key, 0);
        return ns > 0 ? ns / 1000 : -1;
}

static void parse_healthcheck(const cJSON *h, struct stack_healthcheck *hc)
{
        *hc = (struct stack_healthcheck){
            .interval_usec = -1,
            .timeout_usec = -1,
            .start_period_usec = -1,
            .start_interval_usec = -1,
            .retries = -1,
        };
        if (!cJSON_IsObject(h))
                return;
        _cleanup_strv_free_ char **test = json_get_strv(h, "Test");
        if (strv_length(test) > 0) {
                hc->present = true;
                if (streq(test[0], "NONE")) {
                        hc->disable = true;
                        hc->kind = STACK_HEALTH_NONE;
                } else if (streq(test[0], "CMD")) {
                        hc->kind = STACK_HEALTH_CMD;
                        hc->test = strv_copy(test + 1);
                } else if (streq(test[0], "CMD-SHELL")) {
                        hc->kind = STACK_HEALTH_SHELL;
                        hc->test = strv_copy(test + 1);
                } else {
                        /* An unknown first word: docker treats the list as CMD arguments. */
                        hc->kind = STACK_HEALTH_CMD;
                        hc->test = strv_copy(test);
                }
        }
        hc->interval_usec = ns_to_usec(h, "Interval");
        hc->timeout_usec = ns_to_usec(h, "Timeout");
        hc->start_period_usec = ns_to_usec(h, "StartPeriod");
        hc->start_interval_usec = ns_to_usec(h, "StartInterval");
        int64_t retries = (int64_t) json_get_num(h, "Retries", 0);
        hc->retries = retries > 0 ? (int) retries : -1;
}

static void parse_config(const cJSON *root, struct image *img)
{
        struct image_config *c = &img->config;
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
        parse_healthcheck(NULL, &c->healthcheck);
        free(img->created);
        img->created = json_get_str(root, "created") ? xstrdup(json_get_str(root, "created")) : NULL;
        img->architecture =
            json_get_str(root, "architecture") ? xstrdup(json_get_str(root, "architecture")) : NULL;
        img->os = json_get_str(root, "os") ? xstrdup(json_get_str(root, "os")) : NULL;
        if (!cJSON_IsObject(cfg))
                return;
        c->env = json_get_strv(cfg, "Env");
        c->entrypoint = json_get_strv(cfg, "Entrypoint");
        c->cmd = json_get_strv(cfg, "Cmd");
        if (!isempty(json_get_str(cfg, "WorkingDir")))
                c->working_dir = xstrdup(json_get_str(cfg, "WorkingDir"));
        if (!isempty(json_get_str(cfg, "User")))
                c->user = xstrdup(json_get_str(cfg, "User"));
        if (!isempty(json_get_str(cfg, "StopSignal")))
                c->stop_signal = xstrdup(json_get_str(cfg, "StopSignal"));
        const cJSON *it;
        const cJSON *ports = cJSON_GetObjectItemCaseSensitive(cfg, "ExposedPorts");
        if (cJSON_IsObject(ports)) {
                c->exposed_ports = xcalloc(1, sizeof(char *));
                cJSON_ArrayForEach(it, ports)
                {
                        /* "80" means 80/tcp, as docker reads it. */
                        if (strchr(it->string, '/'))
                                strv_push(&c->exposed_ports, it->string);
                        else
                                strv_consume(&c->exposed_ports, xasprintf("%s/tcp", it->string));
                }
                qsort(c->exposed_ports, strv_length(c->exposed_ports), sizeof(char *), strv_cmp);
        }
        parse_healthcheck(cJSON_GetObjectItemCaseSensitive(cfg, "Healthcheck"), &c->healthcheck);
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
        if (cJSON_IsObject(labels)) {
                size_t n = cJSON_GetArraySize(labels);
                c->labels.items = xcalloc(n ? n : 1, sizeof(struct stack_kv));
                cJSON_ArrayForEach(it, labels)
                {
                        c->labels.items[c->labels.n++] = (struct stack_kv){
                            .key = xstrdup(it->string),
                            .value = xstrdup(cJSON_IsString(it) ? it->valuestring : ""),
                        };
                }
        }
}

/* ---- records and lookup ---- */

void image_free(struct image *img)
{
        if (!img)
                return;
        free(img->reference);
        free(img->id);
        free(img->digest);
        image_config_free(&img->config);
        strv_free(img->layers);
        strv_free(img->references);
        strv_free(img->repo_digests);
        strv_free(img->diff_ids);
        free(img->created);
        free(img->architecture);
        free(img->os);
        free(img);
}

void image_list_free(struct image **l)
{
        for (struct image **i = l; i && *i; i++)
                image_free(*i);
        free(l);
}

static int read_store_blob(const struct image_store *s, const char *digest, cJSON **ret,
                           struct stack_error *err)
{
        _cleanup_free_ char *p = image_blob_path(s, digest);
        return json_read_file(p, ret, err);
}

/* Loads the image with this id from its record and config blob. */
int image_load(const struct image_store *s, const cJSON *refs, const char *id, const char *reference,
               struct image **ret, struct stack_error *err)
{
        if (!digest_is_valid(id))
                return stack_error_set(err, EINVAL, "invalid image id \"%s\"", id);
        _cleanup_free_ char *rp = image_record_path(s, id);
        _cleanup_json_ cJSON *rec = NULL;
        if (!path_exists(rp))
                return stack_error_set(err, ENOENT, "no such image: %s", id);
        int r = json_read_file(rp, &rec, err);
        if (r < 0)
                return r;
        _cleanup_json_ cJSON *cfg = NULL;
        r = read_store_blob(s, id, &cfg, err);
        if (r < 0)
                return stack_error_prefix(err, "image %s: config", id);

        _cleanup_(image_freep) struct image *img = xcalloc(1, sizeof(*img));
        img->id = xstrdup(id);
        if (json_get_str(rec, "manifest"))
                img->digest = xstrdup(json_get_str(rec, "manifest"));
        img->size = (uint64_t) (int64_t) json_get_num(rec, "size", 0);
        img->repo_digests = json_get_strv(rec, "repo_digests");
        if (!img->repo_digests)
                img->repo_digests = xcalloc(1, sizeof(char *));
        img->layers = xcalloc(1, sizeof(char *));
        img->diff_ids = xcalloc(1, sizeof(char *));
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(rec, "layers"), *it;
        cJSON_ArrayForEach(it, layers)
        {
                const char *diff = json_get_str(it, "diff_id");
                if (!digest_is_valid(diff))
                        return stack_error_set(err, EINVAL, "%s: bad layer diff_id", rp);
                strv_push(&img->diff_ids, diff);
                strv_consume(&img->layers, image_layer_path(s, diff));
        }
        parse_config(cfg, img);
        img->references = refs_of(refs, id);
        qsort(img->references, strv_length(img->references), sizeof(char *), strv_cmp);
        if (reference)
                img->reference = xstrdup(reference);
        else if (img->references[0])
                img->reference = xstrdup(img->references[0]);
        *ret = TAKE_PTR(img);
        return 0;
}

/* Every image id in the store. */
static char **list_ids(const struct image_store *s)
{
        _cleanup_free_ char *p = path_join(s->dir, "images");
        char **ids = xcalloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (!endswith(de->d_name, ".json"))
                        continue;
                _cleanup_free_ char *hex = xstrndup(de->d_name, strlen(de->d_name) - 5);
                if (digest_hex_is_valid(hex))
                        strv_consume(&ids, xasprintf("sha256:%s", hex));
        }
        qsort(ids, strv_length(ids), sizeof(char *), strv_cmp);
        return ids;
}

static bool is_hex_prefix(const char *s)
{
        if (isempty(s) || strlen(s) > DIGEST_HEX_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* Resolves ref to an image id: a reference in the index, name@digest, a full id or a unique id prefix.
 * *ret_ref is set to the normalized reference when ref named one. */
static int resolve(const struct image_store *s, const cJSON *refs, const char *ref, char **ret_id,
                   char **ret_ref, struct stack_error *err)
{
        _cleanup_reference_ struct reference r = {0};
        _cleanup_error_ struct stack_error perr = {0};
        bool parsed = reference_parse(ref, &r, &perr) >= 0;
        if (parsed && r.digest) {
                _cleanup_free_ char *name = reference_name(&r);
                _cleanup_free_ char *want = xasprintf("%s@%s", name, r.digest);
                _cleanup_strv_free_ char **ids = list_ids(s);
                STRV_FOREACH (id, ids) {
                        _cleanup_free_ char *rp = image_record_path(s, *id);
                        _cleanup_json_ cJSON *rec = NULL;
                        if (json_read_file(rp, &rec, NULL) < 0)
                                continue;
                        _cleanup_strv_free_ char **rd = json_get_strv(rec, "repo_digests");
                        bool match = strv_contains(rd, want);
                        /* A digest also matches an image imported under that name without one. */
                        if (!match && streq_ptr(json_get_str(rec, "manifest"), r.digest)) {
                                _cleanup_strv_free_ char **names = refs_of(refs, *id);
                                STRV_FOREACH (n, names)
                                        if (startswith(*n, name) &&
                                            ((*n)[strlen(name)] == ':' || (*n)[strlen(name)] == '@'))
                                                match = true;
                        }
                        if (match) {
                                *ret_id = xstrdup(*id);
                                *ret_ref = reference_string(&r);
                                return 0;
                        }
                }
                return stack_error_set(err, ENOENT, "no such image: %s", ref);
        }
        if (parsed) {
                _cleanup_free_ char *norm = reference_string(&r);
                const char *id = json_get_str(refs, norm);
                if (id) {
                        *ret_id = xstrdup(id);
                        *ret_ref = TAKE_PTR(norm);
                        return 0;
                }
        }
        const char *hex = startswith(ref, "sha256:");
        if (!hex)
                hex = ref;
        if (is_hex_prefix(hex)) {
                _cleanup_strv_free_ char **ids = list_ids(s);
                char *found = NULL;
                STRV_FOREACH (id, ids) {
                        if (!startswith(*id + strlen("sha256:"), hex))
                                continue;
                        if (found)
                                return stack_error_set(err, EINVAL, "image id prefix \"%s\" is ambiguous",
                                                       ref);
                        found = *id;
                }
                if (found) {
                        *ret_id = xstrdup(found);
                        *ret_ref = NULL;
                        return 0;
                }
        }
        if (!parsed && !is_hex_prefix(hex))
                return stack_error_set(err, EINVAL, "%s", perr.msg);
        return stack_error_set(err, ENOENT, "no such image: %s", ref);
}

int image_lookup(struct image_store *s, const char *ref, struct image **ret, struct stack_error *err)
{
        _cleanup_json_ cJSON *refs = NULL;
        int r = image_refs_load(s, &refs, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *id = NULL, *norm = NULL;
        r = resolve(s, refs, ref, &id, &norm, err);
        if (r < 0)
                return r;
        return image_load(s, refs, id, norm, ret, err);
}

static int image_cmp(const void *a, const void *b)
{
        const struct image *x = *(struct image *const *) a, *y = *(struct image *const *) b;
        const char *rx = x->references[0], *ry = y->references[0];
        if (rx && ry)
                return strcmp(rx, ry);
        if (rx || ry)
                return rx ? -1 : 1;
        return strcmp(x->id, y->id);
}

int image_list(struct image_store *s, struct image ***ret, struct stack_error *err)
{
        _cleanup_json_ cJSON *refs = NULL;
        int r = image_refs_load(s, &refs, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **ids = list_ids(s);
        size_t n = strv_length(ids), k = 0;
        struct image **l = xcalloc(n + 1, sizeof(*l));
        STRV_FOREACH (id, ids) {
                _cleanup_error_ struct stack_error e2 = {0};
                /* A record removed by a concurrent `image rm` is simply gone. */
                if (image_load(s, refs, *id, NULL, &l[k], &e2) < 0) {
                        if (e2.code != ENOENT)
                                log_warning("image store: %s", e2.msg);
                        continue;
                }
                k++;
        }
        qsort(l, k, sizeof(*l), image_cmp);
        *ret = l;
        return 0;
}

int image_tag(struct image_store *s, const char *id, const char *ref, struct stack_error *err)
{
        _cleanup_free_ char *norm = NULL;
        int r = reference_normalize(ref, &norm, err);
        if (r < 0)
                return r;
        _cleanup_unlock_ struct image_store *locked = s;
        r = image_store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rp = image_record_path(s, id);
        if (!digest_is_valid(id) || !path_exists(rp))
                return stack_error_set(err, ENOENT, "no such image: %s", id);
        _cleanup_json_ cJSON *refs = NULL;
        r = image_refs_load(s, &refs, err);
        if (r < 0)
                return r;
        cJSON_DeleteItemFromObjectCaseSensitive(refs, norm);
        cJSON_AddStringToObject(refs, norm, id);
        return image_refs_save(s, refs, err);
}

/* ---- removal ---- */

static int builtin_in_use(const struct image_store *s, const char *run_root, const char *id, char **ret_user)
{
        if (run_root) {
                _cleanup_free_ char *cdir = path_join(run_root, "containers");
                _cleanup_closedir_ DIR *d = opendir(cdir);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *p = xasprintf("%s/%s/image-id", cdir, de->d_name);
                        _cleanup_free_ char *text = NULL;
                        if (read_full_file(p, &text, NULL, NULL) < 0)
                                continue;
                        text[strcspn(text, " \n")] = 0;
                        if (streq(text, id)) {
                                *ret_user = xstrdup(de->d_name);
                                return 1;
                        }
                }
        }
        /* <root>/projects/<project>/containers/<name>.json, written by the reconciler (core/engine/state.h).
         */
        _cleanup_free_ char *root = path_dirname(s->dir);
        _cleanup_free_ char *pdir = path_join(root, "projects");
        _cleanup_closedir_ DIR *pd = opendir(pdir);
        struct dirent *pe;
        while (pd && (pe = readdir(pd))) {
                if (pe->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *cdir = xasprintf("%s/%s/containers", pdir, pe->d_name);
                _cleanup_closedir_ DIR *cd = opendir(cdir);
                struct dirent *ce;
                while (cd && (ce = readdir(cd))) {
                        if (!endswith(ce->d_name, ".json"))
                                continue;
                        _cleanup_free_ char *p = path_join(cdir, ce->d_name);
                        _cleanup_json_ cJSON *j = NULL;
                        if (json_read_file(p, &j, NULL) < 0)
                                continue;
                        if (streq_ptr(json_get_str(j, "image_id"), id)) {
                                *ret_user = xstrndup(ce->d_name, strlen(ce->d_name) - 5);
                                return 1;
                        }
                }
        }
        return 0;
}

/* Removes blobs and layers no image record refers to (including debris of crashed imports). */
static int gc(struct image_store *s, struct stack_error *err)
{
        _cleanup_strv_free_ char **keep = xcalloc(1, sizeof(char *));
        _cleanup_strv_free_ char **ids = list_ids(s);
        STRV_FOREACH (id, ids) {
                _cleanup_free_ char *rp = image_record_path(s, *id);
                _cleanup_json_ cJSON *rec = NULL;
                int r = json_read_file(rp, &rec, err);
                if (r < 0)
                        return r; /* never collect on a record we cannot read */
                strv_push(&keep, digest_hex(*id));
                if (digest_hex(json_get_str(rec, "manifest")))
                        strv_push(&keep, digest_hex(json_get_str(rec, "manifest")));
                if (digest_hex(json_get_str(rec, "index")))
                        strv_push(&keep, digest_hex(json_get_str(rec, "index")));
                const cJSON *l;
                cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(rec, "layers"))
                {
                        if (digest_hex(json_get_str(l, "digest")))
                                strv_push(&keep, digest_hex(json_get_str(l, "digest")));
                        if (digest_hex(json_get_str(l, "diff_id")))
                                strv_push(&keep, digest_hex(json_get_str(l, "diff_id")));
                }
        }
        static const char *const dirs[] = {"blobs/sha256", "layers"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *dp = path_join(s->dir, dirs[i]);
                _cleanup_closedir_ DIR *d = opendir(dp);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.' || strv_contains(keep, de->d_name))
                                continue;
                        _cleanup_free_ char *p = path_join(dp, de->d_name);
                        int r = rm_rf(p, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int image_remove(struct image_store *s, const char *ref, const struct image_remove_options *o,
                 char ***ret_untagged, char **ret_deleted, struct stack_error *err)
{
        static const struct image_remove_options defaults = {0};
        if (!o)
                o = &defaults;
        _cleanup_unlock_ struct image_store *locked = s;
        int r = image_store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_json_ cJSON *refs = NULL;
        r = image_refs_load(s, &refs, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *id = NULL, *norm = NULL;
        r = resolve(s, refs, ref, &id, &norm, err);
        if (r < 0)
                return r;
        /* A digest reference names the image, not an entry of the index. */
        bool by_ref = norm && json_get_str(refs, norm);
        _cleanup_strv_free_ char **all = refs_of(refs, id);
        size_t n_refs = strv_length(all);

        _cleanup_free_ char *user = NULL;
        int used = builtin_in_use(s, o->run_root, id, &user);
        if (!used && o->in_use) {
                used = o->in_use(id, &user, o->userdata);
                if (used < 0)
                        return stack_error_errno(err, used, "image %s: check whether it is in use", id);
        }

        _cleanup_strv_free_ char **untag = xcalloc(1, sizeof(char *));
        bool delete = false;
        if (by_ref) {
                strv_push(&untag, norm);
                delete = n_refs == 1;
        } else {
                if (n_refs > 1 && !o->force)
                        return stack_error_set(
                            err, EBUSY,
                            "image %s is referenced by %zu names (%s, ...): remove them by name "
                            "or use --force",
                            id, n_refs, all[0]);
                STRV_FOREACH (a, all)
                        strv_push(&untag, *a);
                delete = true;
        }
        if (used && delete) {
                if (!o->force)
                        return stack_error_set(err, EBUSY, "image %s (%s) is in use by container %s", ref,
                                               id, user);
                /* --force on an image in use: the names go, the layers stay under the container. */
                delete = false;
        }

        STRV_FOREACH (u, untag)
                cJSON_DeleteItemFromObjectCaseSensitive(refs, *u);
        r = image_refs_save(s, refs, err);
        if (r < 0)
                return r;
        if (delete) {
                _cleanup_free_ char *rp = image_record_path(s, id);
                if (unlink(rp) < 0 && errno != ENOENT)
                        return stack_error_errno(err, errno, "remove %s", rp);
                r = gc(s, err);
                if (r < 0)
                        return stack_error_prefix(err, "image %s removed, but cleaning its layers failed",
                                                  id);
        }
        if (ret_untagged)
                *ret_untagged = TAKE_PTR(untag);
        if (ret_deleted)
                *ret_deleted = delete ? TAKE_PTR(id) : NULL;
        return 0;
}

/* ---- inspect ---- */

static cJSON *strv_to_json(char *const *l)
{
        cJSON *a = cJSON_CreateArray();
        STRV_FOREACH (s, l)
                cJSON_AddItemToArray(a, cJSON_CreateString(*s));
        return a;
}

char *image_inspect_json(struct image_store *s, const struct image *img)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "Id", img->id);
        cJSON_AddItemToObject(j, "RepoTags", strv_to_json(img->references));
        cJSON_AddItemToObject(j, "RepoDigests", strv_to_json(img->repo_digests));
        if (img->digest)
                cJSON_AddStringToObject(j, "Manifest", img->digest);
        cJSON_AddStringToObject(j, "Created", img->created ? img->created : "");
        cJSON_AddStringToObject(j, "Architecture", img->architecture ? img->architecture : "");
        cJSON_AddStringToObject(j, "Os", img->os ? img->os : "");
        cJSON_AddNumberToObject(j, "Size", (double) img->size);
        _cleanup_json_ cJSON *cfg = NULL;
        if (read_store_blob(s, img->id, &cfg, NULL) >= 0) {
                cJSON *c = cJSON_DetachItemFromObjectCaseSensitive(cfg, "config");
                cJSON_AddItemToObject(j, "Config", c ? c : cJSON_CreateObject());
        }
        cJSON *rootfs = cJSON_AddObjectToObject(j, "RootFS");
        cJSON_AddStringToObject(rootfs, "Type", "layers");
        cJSON_AddItemToObject(rootfs, "Layers", strv_to_json(img->diff_ids));
        cJSON_AddItemToObject(j, "LayerDirs", strv_to_json(img->layers));
        char *text = cJSON_Print(j);
        if (!text)
                abort();
        return text;
}
