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

#define _cleanup_json_ _cleanup_(cJSON_Deletep)

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

/* Manifests, indexes and configs are small; a bigger one is refused rather than read into memory. */
#define MAX_JSON_BLOB (8u << 20)

struct image_store {
        char *dir;
        int lock_fd;
};

const char *image_store_path(const struct image_store *s)
{
        return s->dir;
}

/* ---- small helpers ---- */

static int64_t jint(const cJSON *o, const char *key, int64_t fallback)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? (int64_t) v->valuedouble : fallback;
}

static char *blob_path(const struct image_store *s, const char *digest)
{
        return xasprintf("%s/blobs/sha256/%s", s->dir, digest_hex(digest));
}

static char *layer_path(const struct image_store *s, const char *diff_id)
{
        return xasprintf("%s/layers/%s", s->dir, digest_hex(diff_id));
}

static char *record_path(const struct image_store *s, const char *id)
{
        return xasprintf("%s/images/%s.json", s->dir, digest_hex(id));
}

static const char *go_arch(void)
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

static int write_json(const char *path, const cJSON *j, struct stack_error *err)
{
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        if (!text)
                return stack_error_set(err, ENOMEM, "%s: cannot serialize", path);
        return write_file_atomic(path, text, strlen(text), 0644, err);
}

static int read_json(const char *path, cJSON **ret, struct stack_error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL, err);
        if (r < 0)
                return r;
        cJSON *j = cJSON_Parse(text);
        if (!j)
                return stack_error_set(err, EINVAL, "%s: not valid JSON", path);
        *ret = j;
        return 0;
}

/* ---- open, lock ---- */

int image_store_open(const char *root, struct image_store **ret, struct stack_error *err)
{
        /* Layer paths go into overlay mount options and bundles: they must not depend on a cwd. */
        _cleanup_free_ char *cwd = root[0] == '/' ? NULL : getcwd(NULL, 0);
        if (root[0] != '/' && !cwd)
                return stack_error_errno(err, errno, "image store: current directory");
        _cleanup_free_ char *abs = path_absolute(cwd ? cwd : "/", root);
        _cleanup_free_ char *dir = path_join(abs, "images");
        static const char *const subdirs[] = {"blobs/sha256", "layers", "images", "tmp", "pulls"};
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
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

void image_store_free(struct image_store *s)
{
        if (!s)
                return;
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->dir);
        free(s);
}

static void store_unlock(struct image_store **sp)
{
        struct image_store *s = *sp;
        if (s && s->lock_fd >= 0) {
                close(s->lock_fd); /* releases the flock */
                s->lock_fd = -1;
        }
}
#define _cleanup_unlock_ _cleanup_(store_unlock)

/* Writers hold the store's lock for their whole operation, so whoever holds it knows no import is
 * under way: anything left in tmp/ is debris of a crashed one. */
static int store_lock(struct image_store *s, struct stack_error *err)
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
        s->lock_fd = TAKE_FD(fd);
        return 0;
}

/* ---- references index ---- */

static int refs_load(const struct image_store *s, cJSON **ret, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "refs.json");
        if (!path_exists(p)) {
                *ret = cJSON_CreateObject();
                return 0;
        }
        cJSON *j;
        int r = read_json(p, &j, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return stack_error_set(err, EINVAL, "%s: not a JSON object", p);
        }
        *ret = j;
        return 0;
}

static int refs_save(const struct image_store *s, const cJSON *refs, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "refs.json");
        return write_json(p, refs, err);
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
        int64_t ns = jint(o, key, 0);
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
        int64_t retries = jint(h, "Retries", 0);
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
        _cleanup_free_ char *p = blob_path(s, digest);
        return read_json(p, ret, err);
}

/* Loads the image with this id from its record and config blob. */
static int image_load(const struct image_store *s, const cJSON *refs, const char *id, const char *reference,
                      struct image **ret, struct stack_error *err)
{
        if (!digest_is_valid(id))
                return stack_error_set(err, EINVAL, "invalid image id \"%s\"", id);
        _cleanup_free_ char *rp = record_path(s, id);
        _cleanup_json_ cJSON *rec = NULL;
        if (!path_exists(rp))
                return stack_error_set(err, ENOENT, "no such image: %s", id);
        int r = read_json(rp, &rec, err);
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
        img->size = (uint64_t) jint(rec, "size", 0);
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
                strv_consume(&img->layers, layer_path(s, diff));
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
                        _cleanup_free_ char *rp = record_path(s, *id);
                        _cleanup_json_ cJSON *rec = NULL;
                        if (read_json(rp, &rec, NULL) < 0)
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
        int r = refs_load(s, &refs, err);
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
        int r = refs_load(s, &refs, err);
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

/* ---- import ---- */

struct staged {
        char *tmp, *final;
};

struct pending_layer {
        char diff_id[DIGEST_STRING_MAX];
        char digest[DIGEST_STRING_MAX];
        uint64_t size;
        char *media_type;
        uint64_t unpacked;
};

struct pending_image {
        char id[DIGEST_STRING_MAX];
        char manifest[DIGEST_STRING_MAX];
        bool original_manifest;  /* the manifest came with the image (so it has repo digests) */
        const char *repo_digest; /* pulled: the digest the registry's tag named (index or manifest) */
        struct pending_layer *layers;
        size_t n_layers;
        char **names; /* normalized references */
};

struct import_ctx {
        struct image_store *s;
        char *tmp;
        unsigned counter;
        struct staged *staged;
        size_t n_staged, cap_staged;
        struct pending_image *images;
        size_t n_images, cap_images;
        const char *want_ref; /* normalized REF argument */
};

static void import_ctx_done(struct import_ctx *c)
{
        for (size_t i = 0; i < c->n_staged; i++) {
                free(c->staged[i].tmp);
                free(c->staged[i].final);
        }
        free(c->staged);
        for (size_t i = 0; i < c->n_images; i++) {
                for (size_t j = 0; j < c->images[i].n_layers; j++)
                        free(c->images[i].layers[j].media_type);
                free(c->images[i].layers);
                strv_free(c->images[i].names);
        }
        free(c->images);
        if (c->tmp) {
                _cleanup_error_ struct stack_error e2 = {0};
                if (rm_rf(c->tmp, &e2) < 0)
                        log_warning("image store: %s", e2.msg);
                free(c->tmp);
        }
}

static char *ctx_tmp_name(struct import_ctx *c, const char *what)
{
        return xasprintf("%s/%s-%u", c->tmp, what, c->counter++);
}

static bool is_staged(const struct import_ctx *c, const char *final)
{
        for (size_t i = 0; i < c->n_staged; i++)
                if (streq(c->staged[i].final, final))
                        return true;
        return false;
}

static void stage(struct import_ctx *c, char *tmp, char *final)
{
        GROW(c->staged, c->cap_staged, c->n_staged + 1);
        c->staged[c->n_staged++] = (struct staged){tmp, final};
}

/* Stages a JSON blob (manifest or config) we already hold in memory, verified. */
static int stage_bytes(struct import_ctx *c, const void *data, size_t len, const char *digest,
                       struct stack_error *err)
{
        _cleanup_free_ char *final = blob_path(c->s, digest);
        if (path_exists(final) || is_staged(c, final))
                return 0;
        _cleanup_free_ char *tmp = ctx_tmp_name(c, "blob");
        int r = write_file_atomic(tmp, data, len, 0644, err);
        if (r < 0)
                return r;
        stage(c, TAKE_PTR(tmp), TAKE_PTR(final));
        return 0;
}

/* Reads a whole small blob from an fd, verifying size and digest when given. */
static int read_verified(int fd, const char *name, const char *want_digest, int64_t want_size, char **ret,
                         size_t *ret_len, char ret_digest[DIGEST_STRING_MAX], struct stack_error *err)
{
        struct strbuf b = {0};
        char chunk[65536];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        strbuf_free(&b);
                        return stack_error_errno(err, errno, "read %s", name);
                }
                if (n == 0)
                        break;
                if (b.len + n > MAX_JSON_BLOB) {
                        strbuf_free(&b);
                        return stack_error_set(err, EFBIG, "%s: larger than %u bytes", name, MAX_JSON_BLOB);
                }
                strbuf_add(&b, chunk, n);
        }
        char got[DIGEST_STRING_MAX];
        digest_data(b.buf ? b.buf : "", b.len, got);
        if (want_size >= 0 && (uint64_t) want_size != b.len) {
                strbuf_free(&b);
                return stack_error_set(err, EBADMSG, "%s: size %zu does not match the descriptor's %lld",
                                       name, b.len, (long long) want_size);
        }
        if (want_digest && !streq(got, want_digest)) {
                strbuf_free(&b);
                return stack_error_set(err, EBADMSG, "%s: digest %s does not match the expected %s", name,
                                       got, want_digest);
        }
        if (ret_len)
                *ret_len = b.len;
        if (ret_digest)
                strcpy(ret_digest, got);
        *ret = strbuf_take(&b);
        return 0;
}

static int open_blob_in(int root_fd, const char *dirname, const char *rel, int *ret, struct stack_error *err)
{
        int fd = layer_open_in_root(root_fd, rel, O_RDONLY);
        if (fd < 0)
                return stack_error_errno(err, fd, "%s: %s", dirname, rel);
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return stack_error_set(err, EINVAL, "%s: %s is not a regular file", dirname, rel);
        }
        *ret = fd;
        return 0;
}

static char *descriptor_blob_rel(const char *digest)
{
        return xasprintf("blobs/sha256/%s", digest_hex(digest));
}

static int read_layout_json(int root_fd, const char *dirname, const char *digest, int64_t size, char **ret,
                            size_t *ret_len, struct stack_error *err)
{
        if (!digest_is_valid(digest))
                return stack_error_set(err, EINVAL, "%s: unsupported or invalid digest \"%s\"", dirname,
                                       digest ? digest : "(none)");
        _cleanup_free_ char *rel = descriptor_blob_rel(digest);
        _cleanup_close_ int fd = -1;
        int r = open_blob_in(root_fd, dirname, rel, &fd, err);
        if (r < 0)
                return r;
        return read_verified(fd, rel, digest, size, ret, ret_len, NULL, err);
}

static uint64_t dir_bytes;
static int du_visit(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        if (flag == FTW_F && S_ISREG(st->st_mode))
                dir_bytes += st->st_size;
        return 0;
}

/* Imports one layer blob read from fd. Known values (descriptor digest and size, the config's diff_id)
 * are verified once the stream has been read; the layer is unpacked into the staging area meanwhile. */
static int import_layer(struct import_ctx *c, int fd, const char *name, const char *want_digest,
                        int64_t want_size, const char *want_diff, const char *media_type,
                        struct pending_layer *ret, struct stack_error *err)
{
        if (want_digest) {
                _cleanup_free_ char *bp = blob_path(c->s, want_digest);
                _cleanup_free_ char *lp = want_diff ? layer_path(c->s, want_diff) : NULL;
                if (lp && path_exists(bp) && path_is_dir(lp)) {
                        /* Already stored and verified when it was imported. */
                        struct stat st;
                        if (stat(bp, &st) == 0 && (want_size < 0 || st.st_size == want_size)) {
                                dir_bytes = 0;
                                nftw(lp, du_visit, 16, FTW_PHYS);
                                strcpy(ret->digest, want_digest);
                                strcpy(ret->diff_id, want_diff);
                                ret->size = st.st_size;
                                ret->unpacked = dir_bytes;
                                ret->media_type = xstrdup(media_type ? media_type : MEDIA_OCI_LAYER);
                                return 0;
                        }
                }
        }

        _cleanup_free_ char *tmp_blob = ctx_tmp_name(c, "blob");
        _cleanup_free_ char *tmp_layer = ctx_tmp_name(c, "layer");
        _cleanup_close_ int blob_fd = open(tmp_blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (blob_fd < 0)
                return stack_error_errno(err, errno, "create %s", tmp_blob);
        if (mkdir(tmp_layer, 0755) < 0)
                return stack_error_errno(err, errno, "create %s", tmp_layer);
        _cleanup_close_ int layer_fd = open(tmp_layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layer_fd < 0)
                return stack_error_errno(err, errno, "open %s", tmp_layer);

        _cleanup_digest_ struct digest dc = {0};
        _cleanup_digest_ struct digest du = {0};
        int r = digest_init(&dc, err);
        if (r < 0)
                return r;
        r = digest_init(&du, err);
        if (r < 0)
                return r;
        struct layer_source *raw = layer_source_digest(layer_source_fd(fd, false, name), &dc, blob_fd);
        _cleanup_layer_source_ struct layer_source *src = NULL;
        enum layer_compression comp;
        r = layer_source_decompress(raw, &src, &comp, err);
        if (r < 0)
                return stack_error_prefix(err, "layer %s", name);
        src = layer_source_digest(src, &du, -1);
        struct layer_stats stats;
        r = layer_unpack(src, layer_fd, LAYER_UNPACK_IMAGE, &stats, err);
        if (r < 0 && (want_digest || want_size >= 0)) {
                /* A corrupted blob usually shows first as a broken tar or compressed stream; when the
                 * blob's own digest or size is wrong too, that is the cause worth reporting. The raw
                 * source has hashed everything read so far (the decompressor's buffer included). */
                if (layer_source_drain(raw, NULL) >= 0) {
                        char got[DIGEST_STRING_MAX];
                        digest_final(&dc, got);
                        if ((want_size >= 0 && dc.size != (uint64_t) want_size) ||
                            (want_digest && !streq(got, want_digest))) {
                                stack_error_clear(err);
                                return stack_error_set(
                                    err, EBADMSG,
                                    "layer %s: blob is corrupt: digest %s, size %llu do not "
                                    "match the expected %s, %lld",
                                    name, got, (unsigned long long) dc.size,
                                    want_digest ? want_digest : "(any)", (long long) want_size);
                        }
                }
        }
        if (r < 0)
                return stack_error_prefix(err, "layer %s", name);

        char got[DIGEST_STRING_MAX], diff[DIGEST_STRING_MAX];
        digest_final(&dc, got);
        digest_final(&du, diff);
        if (want_size >= 0 && dc.size != (uint64_t) want_size)
                return stack_error_set(err, EBADMSG,
                                       "layer %s: size %llu does not match the descriptor's %lld", name,
                                       (unsigned long long) dc.size, (long long) want_size);
        if (want_digest && !streq(got, want_digest))
                return stack_error_set(err, EBADMSG, "layer %s: digest %s does not match the expected %s",
                                       name, got, want_digest);
        if (want_diff && !streq(diff, want_diff))
                return stack_error_set(
                    err, EBADMSG, "layer %s: uncompressed digest %s does not match the config's diff_id %s",
                    name, diff, want_diff);
        if (fsync(blob_fd) < 0)
                return stack_error_errno(err, errno, "fsync %s", tmp_blob);

        strcpy(ret->digest, got);
        strcpy(ret->diff_id, diff);
        ret->size = dc.size;
        ret->unpacked = stats.bytes;
        if (media_type)
                ret->media_type = xstrdup(media_type);
        else
                ret->media_type = comp == LAYER_COMPRESSION_NONE
                                      ? xstrdup(MEDIA_OCI_LAYER)
                                      : xasprintf(MEDIA_OCI_LAYER "+%s", layer_compression_name(comp));

        _cleanup_free_ char *bfinal = blob_path(c->s, got);
        if (!path_exists(bfinal) && !is_staged(c, bfinal))
                stage(c, TAKE_PTR(tmp_blob), TAKE_PTR(bfinal));
        _cleanup_free_ char *lfinal = layer_path(c->s, diff);
        if (!path_exists(lfinal) && !is_staged(c, lfinal))
                stage(c, TAKE_PTR(tmp_layer), TAKE_PTR(lfinal));
        return 0;
}

static struct pending_image *new_pending(struct import_ctx *c)
{
        GROW(c->images, c->cap_images, c->n_images + 1);
        struct pending_image *p = &c->images[c->n_images++];
        *p = (struct pending_image){.names = xcalloc(1, sizeof(char *))};
        return p;
}

/* Parses and stages a config, returning its diff_ids. */
static int take_config(struct import_ctx *c, const char *data, size_t len, const char *digest,
                       char ***ret_diffs, struct stack_error *err)
{
        _cleanup_json_ cJSON *cfg = cJSON_ParseWithLength(data, len);
        if (!cJSON_IsObject(cfg))
                return stack_error_set(err, EINVAL, "config %s: not a JSON object", digest);
        const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(cfg, "rootfs");
        _cleanup_strv_free_ char **diffs = json_get_strv(rootfs, "diff_ids");
        if (!diffs)
                return stack_error_set(err, EINVAL, "config %s: no rootfs.diff_ids", digest);
        STRV_FOREACH (d, diffs)
                if (!digest_is_valid(*d))
                        return stack_error_set(err, EINVAL, "config %s: unsupported diff_id \"%s\"", digest,
                                               *d);
        int r = stage_bytes(c, data, len, digest, err);
        if (r < 0)
                return r;
        *ret_diffs = TAKE_PTR(diffs);
        return 0;
}

static int import_oci_manifest(struct import_ctx *c, int root_fd, const char *dirname, const char *mdigest,
                               int64_t msize, char **names, struct stack_error *err)
{
        _cleanup_free_ char *mdata = NULL;
        size_t mlen;
        int r = read_layout_json(root_fd, dirname, mdigest, msize, &mdata, &mlen, err);
        if (r < 0)
                return r;
        _cleanup_json_ cJSON *m = cJSON_ParseWithLength(mdata, mlen);
        if (!cJSON_IsObject(m))
                return stack_error_set(err, EINVAL, "manifest %s: not a JSON object", mdigest);
        const cJSON *config = cJSON_GetObjectItemCaseSensitive(m, "config");
        const char *cdigest = json_get_str(config, "digest");
        _cleanup_free_ char *cdata = NULL;
        size_t clen;
        r = read_layout_json(root_fd, dirname, cdigest, jint(config, "size", -1), &cdata, &clen, err);
        if (r < 0)
                return stack_error_prefix(err, "manifest %s: config", mdigest);
        _cleanup_strv_free_ char **diffs = NULL;
        r = take_config(c, cdata, clen, cdigest, &diffs, err);
        if (r < 0)
                return r;
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(m, "layers");
        size_t n = cJSON_IsArray(layers) ? (size_t) cJSON_GetArraySize(layers) : 0;
        if (n != strv_length(diffs))
                return stack_error_set(err, EINVAL,
                                       "manifest %s: %zu layers but the config lists %zu diff_ids", mdigest,
                                       n, strv_length(diffs));

        struct pending_layer *pl = xcalloc(n ? n : 1, sizeof(*pl));
        size_t i = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, layers)
        {
                const char *ld = json_get_str(l, "digest");
                const char *mt = json_get_str(l, "mediaType");
                if (mt && (strstr(mt, "nondistributable") || strstr(mt, "foreign"))) {
                        r = stack_error_set(err, EOPNOTSUPP,
                                            "manifest %s: foreign layer %s is not supported", mdigest,
                                            ld ? ld : "?");
                        break;
                }
                if (!digest_is_valid(ld)) {
                        r = stack_error_set(err, EINVAL, "manifest %s: invalid layer digest", mdigest);
                        break;
                }
                _cleanup_free_ char *rel = descriptor_blob_rel(ld);
                _cleanup_close_ int fd = -1;
                r = open_blob_in(root_fd, dirname, rel, &fd, err);
                if (r < 0)
                        break;
                r = import_layer(c, fd, ld, ld, jint(l, "size", -1), diffs[i], mt, &pl[i], err);
                if (r < 0)
                        break;
                i++;
        }
        if (r < 0) {
                for (size_t j = 0; j < i; j++)
                        free(pl[j].media_type);
                free(pl);
                return r;
        }
        r = stage_bytes(c, mdata, mlen, mdigest, err);
        if (r < 0) {
                for (size_t j = 0; j < n; j++)
                        free(pl[j].media_type);
                free(pl);
                return r;
        }
        struct pending_image *p = new_pending(c);
        strcpy(p->id, cdigest);
        strcpy(p->manifest, mdigest);
        p->original_manifest = true;
        p->layers = pl;
        p->n_layers = n;
        STRV_FOREACH (nm, names)
                strv_push(&p->names, *nm);
        return 0;
}

/* A name from an index annotation: a full reference (containerd's) or, for OCI's ref.name, one when it
 * parses as more than a bare tag. */
static char *annotated_name(const cJSON *desc)
{
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(desc, "annotations");
        const char *names[] = {json_get_str(ann, ANNOTATION_CONTAINERD_NAME),
                               json_get_str(ann, ANNOTATION_REF_NAME)};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                if (!names[i])
                        continue;
                /* A bare tag ("latest", "1.0") is not an image name. */
                if (i == 1 && !strchr(names[i], '/') && !strchr(names[i], ':'))
                        continue;
                char *norm = NULL;
                if (reference_normalize(names[i], &norm, NULL) >= 0)
                        return norm;
        }
        return NULL;
}

static bool platform_matches(const cJSON *desc)
{
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(desc, "platform");
        if (!cJSON_IsObject(pl))
                return true;
        return streq_ptr(json_get_str(pl, "os"), "linux") &&
               streq_ptr(json_get_str(pl, "architecture"), go_arch());
}

struct manifest_choice {
        char *digest;
        int64_t size;
        char *name;    /* annotated, normalized, or NULL */
        char *tagname; /* raw OCI ref.name, for matching REF */
};

static int collect_manifests(int root_fd, const char *dirname, const cJSON *index, int depth,
                             const cJSON *outer_desc, struct manifest_choice **l, size_t *n, size_t *cap,
                             struct stack_error *err)
{
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *d;
        if (!cJSON_IsArray(ms))
                return stack_error_set(err, EINVAL, "%s: index without manifests", dirname);
        cJSON_ArrayForEach(d, ms)
        {
                const char *mt = json_get_str(d, "mediaType");
                const char *dg = json_get_str(d, "digest");
                if (mt && (streq(mt, MEDIA_OCI_INDEX) || streq(mt, MEDIA_DOCKER_LIST))) {
                        if (depth > 4)
                                return stack_error_set(err, ELOOP, "%s: indexes nested too deep", dirname);
                        _cleanup_free_ char *data = NULL;
                        size_t len;
                        int r =
                            read_layout_json(root_fd, dirname, dg, jint(d, "size", -1), &data, &len, err);
                        if (r < 0)
                                return r;
                        _cleanup_json_ cJSON *sub = cJSON_ParseWithLength(data, len);
                        if (!cJSON_IsObject(sub))
                                return stack_error_set(err, EINVAL, "index %s: not a JSON object", dg);
                        r = collect_manifests(root_fd, dirname, sub, depth + 1, outer_desc ? outer_desc : d,
                                              l, n, cap, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (mt && !streq(mt, MEDIA_OCI_MANIFEST) && !streq(mt, MEDIA_DOCKER_MANIFEST))
                        continue; /* attestations, signatures, artifacts */
                if (!platform_matches(d))
                        continue;
                const cJSON *named = outer_desc ? outer_desc : d;
                const cJSON *ann = cJSON_GetObjectItemCaseSensitive(named, "annotations");
                GROW(*l, *cap, *n + 1);
                (*l)[(*n)++] = (struct manifest_choice){
                    .digest = xstrdup(dg ? dg : ""),
                    .size = jint(d, "size", -1),
                    .name = annotated_name(named),
                    .tagname = json_get_str(ann, ANNOTATION_REF_NAME)
                                   ? xstrdup(json_get_str(ann, ANNOTATION_REF_NAME))
                                   : NULL,
                };
        }
        return 0;
}

static int import_oci_layout(struct import_ctx *c, const char *dir, struct stack_error *err)
{
        _cleanup_close_ int root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return stack_error_errno(err, errno, "%s", dir);
        _cleanup_close_ int ifd = -1;
        int r = open_blob_in(root_fd, dir, "index.json", &ifd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *idata = NULL;
        size_t ilen;
        r = read_verified(ifd, "index.json", NULL, -1, &idata, &ilen, NULL, err);
        if (r < 0)
                return r;
        _cleanup_json_ cJSON *index = cJSON_ParseWithLength(idata, ilen);
        if (!cJSON_IsObject(index))
                return stack_error_set(err, EINVAL, "%s/index.json: not a JSON object", dir);

        struct manifest_choice *l = NULL;
        size_t n = 0, cap = 0;
        r = collect_manifests(root_fd, dir, index, 0, NULL, &l, &n, &cap, err);
        size_t chosen = SIZE_MAX;
        if (r >= 0 && n == 0)
                r = stack_error_set(err, ENOENT, "%s: no image for linux/%s", dir, go_arch());
        if (r >= 0 && c->want_ref && n > 1) {
                _cleanup_reference_ struct reference want = {0};
                reference_parse(c->want_ref, &want, NULL);
                for (size_t i = 0; i < n; i++)
                        if (streq_ptr(l[i].name, c->want_ref) || streq_ptr(l[i].tagname, want.tag))
                                chosen = i;
                if (chosen == SIZE_MAX)
                        r = stack_error_set(err, ENOENT, "%s holds %zu images and none is named %s", dir, n,
                                            c->want_ref);
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (chosen != SIZE_MAX && i != chosen)
                        continue;
                char *names[2] = {NULL, NULL};
                names[0] = (char *) (c->want_ref ? c->want_ref : l[i].name);
                r = import_oci_manifest(c, root_fd, dir, l[i].digest, l[i].size, names, err);
        }
        for (size_t i = 0; i < n; i++) {
                free(l[i].digest);
                free(l[i].name);
                free(l[i].tagname);
        }
        free(l);
        return r;
}

/* Serializes a manifest for an image that came without one (docker save, rootfs tarballs), so every
 * stored image lists its layer blobs the same way. */
static int stage_generated_manifest(struct import_ctx *c, struct pending_image *p, size_t config_size,
                                    struct stack_error *err)
{
        _cleanup_json_ cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "schemaVersion", 2);
        cJSON_AddStringToObject(m, "mediaType", MEDIA_OCI_MANIFEST);
        cJSON *cfg = cJSON_AddObjectToObject(m, "config");
        cJSON_AddStringToObject(cfg, "mediaType", MEDIA_OCI_CONFIG);
        cJSON_AddStringToObject(cfg, "digest", p->id);
        cJSON_AddNumberToObject(cfg, "size", (double) config_size);
        cJSON *layers = cJSON_AddArrayToObject(m, "layers");
        for (size_t i = 0; i < p->n_layers; i++) {
                cJSON *l = cJSON_CreateObject();
                cJSON_AddStringToObject(l, "mediaType", p->layers[i].media_type);
                cJSON_AddStringToObject(l, "digest", p->layers[i].digest);
                cJSON_AddNumberToObject(l, "size", (double) p->layers[i].size);
                cJSON_AddItemToArray(layers, l);
        }
        _cleanup_free_ char *text = cJSON_PrintUnformatted(m);
        digest_data(text, strlen(text), p->manifest);
        return stage_bytes(c, text, strlen(text), p->manifest, err);
}

static int import_docker_save(struct import_ctx *c, const char *dir, struct stack_error *err)
{
        _cleanup_close_ int root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return stack_error_errno(err, errno, "%s", dir);
        _cleanup_close_ int mfd = -1;
        int r = open_blob_in(root_fd, dir, "manifest.json", &mfd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *mdata = NULL;
        size_t mlen;
        r = read_verified(mfd, "manifest.json", NULL, -1, &mdata, &mlen, NULL, err);
        if (r < 0)
                return r;
        _cleanup_json_ cJSON *m = cJSON_ParseWithLength(mdata, mlen);
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0)
                return stack_error_set(err, EINVAL, "%s/manifest.json: not a list of images", dir);
        if (c->want_ref && cJSON_GetArraySize(m) > 1)
                return stack_error_set(err, EINVAL, "%s holds %d images: import it without a reference", dir,
                                       cJSON_GetArraySize(m));
        const cJSON *e;
        cJSON_ArrayForEach(e, m)
        {
                const char *cfgname = json_get_str(e, "Config");
                if (!cfgname)
                        return stack_error_set(err, EINVAL, "%s/manifest.json: entry without Config", dir);
                /* The file name carries the config's digest ("<hex>.json" or "blobs/sha256/<hex>"). */
                _cleanup_free_ char *want = NULL;
                const char *base = path_basename(cfgname);
                _cleanup_free_ char *stem =
                    endswith(base, ".json") ? xstrndup(base, strlen(base) - 5) : xstrdup(base);
                if (digest_hex_is_valid(stem))
                        want = xasprintf("sha256:%s", stem);
                _cleanup_close_ int cfd = -1;
                r = open_blob_in(root_fd, dir, cfgname, &cfd, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *cdata = NULL;
                size_t clen;
                char cdigest[DIGEST_STRING_MAX];
                r = read_verified(cfd, cfgname, want, -1, &cdata, &clen, cdigest, err);
                if (r < 0)
                        return r;
                _cleanup_strv_free_ char **diffs = NULL;
                r = take_config(c, cdata, clen, cdigest, &diffs, err);
                if (r < 0)
                        return r;
                _cleanup_strv_free_ char **lnames = json_get_strv(e, "Layers");
                if (strv_length(lnames) != strv_length(diffs))
                        return stack_error_set(err, EINVAL,
                                               "%s: %zu layers but the config lists %zu diff_ids", cfgname,
                                               strv_length(lnames), strv_length(diffs));
                size_t n = strv_length(lnames);
                struct pending_image *p = new_pending(c);
                p->layers = xcalloc(n ? n : 1, sizeof(*p->layers));
                strcpy(p->id, cdigest);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_close_ int lfd = -1;
                        r = open_blob_in(root_fd, dir, lnames[i], &lfd, err);
                        if (r < 0)
                                return r;
                        r = import_layer(c, lfd, lnames[i], NULL, -1, diffs[i], NULL, &p->layers[i], err);
                        if (r < 0)
                                return r;
                        p->n_layers++;
                }
                r = stage_generated_manifest(c, p, clen, err);
                if (r < 0)
                        return r;
                if (c->want_ref)
                        strv_push(&p->names, c->want_ref);
                else {
                        _cleanup_strv_free_ char **tags = json_get_strv(e, "RepoTags");
                        STRV_FOREACH (t, tags) {
                                char *norm = NULL;
                                if (reference_normalize(*t, &norm, NULL) >= 0)
                                        strv_consume(&p->names, norm);
                                else
                                        log_warning("%s: ignoring invalid tag \"%s\"", dir, *t);
                        }
                }
        }
        return 0;
}

static int import_rootfs(struct import_ctx *c, const char *path, struct stack_error *err)
{
        if (!c->want_ref)
                return stack_error_set(err, EINVAL,
                                       "%s is a plain rootfs tarball: give a reference to name it", path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        struct pending_layer layer = {0};
        int r = import_layer(c, fd, path, NULL, -1, NULL, NULL, &layer, err);
        if (r < 0)
                return r;
        struct pending_image *p = new_pending(c);
        p->layers = xcalloc(1, sizeof(*p->layers));
        p->layers[0] = layer;
        p->n_layers = 1;

        /* Deterministic (no timestamp): the same tarball gives the same image id. */
        _cleanup_json_ cJSON *cfg = cJSON_CreateObject();
        cJSON_AddStringToObject(cfg, "architecture", go_arch());
        cJSON_AddStringToObject(cfg, "os", "linux");
        cJSON_AddObjectToObject(cfg, "config");
        cJSON *rootfs = cJSON_AddObjectToObject(cfg, "rootfs");
        cJSON_AddStringToObject(rootfs, "type", "layers");
        cJSON *diffs = cJSON_AddArrayToObject(rootfs, "diff_ids");
        cJSON_AddItemToArray(diffs, cJSON_CreateString(layer.diff_id));
        cJSON *hist = cJSON_AddArrayToObject(cfg, "history");
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "created_by", "stack image import");
        cJSON_AddItemToArray(hist, h);
        _cleanup_free_ char *text = cJSON_PrintUnformatted(cfg);
        digest_data(text, strlen(text), p->id);
        r = stage_bytes(c, text, strlen(text), p->id, err);
        if (r < 0)
                return r;
        r = stage_generated_manifest(c, p, strlen(text), err);
        if (r < 0)
                return r;
        strv_push(&p->names, c->want_ref);
        return 0;
}

enum import_format { FORMAT_ROOTFS, FORMAT_OCI, FORMAT_DOCKER };

/* Looks at a tar's top-level names without unpacking it: an OCI layout has oci-layout or index.json, a
 * docker save archive manifest.json; anything else is a root file system. */
static int classify_archive(const char *path, enum import_format *ret, struct stack_error *err)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        _cleanup_layer_source_ struct layer_source *src = NULL;
        int r = layer_source_decompress(layer_source_fd(fd, true, path), &src, NULL, err);
        if (r < 0)
                return r;
        _cleanup_tar_reader_ struct tar_reader *t = tar_reader_new(src);
        bool oci = false, docker = false;
        for (;;) {
                const struct tar_entry *e;
                r = tar_reader_next(t, &e, err);
                if (r < 0)
                        return stack_error_prefix(err, "%s", path);
                if (r == 0)
                        break;
                const char *n = e->path;
                while (startswith(n, "./"))
                        n += 2;
                if (e->type == TAR_FILE && (streq(n, "oci-layout") || streq(n, "index.json")))
                        oci = true;
                else if (e->type == TAR_FILE && streq(n, "manifest.json"))
                        docker = true;
        }
        *ret = oci ? FORMAT_OCI : docker ? FORMAT_DOCKER : FORMAT_ROOTFS;
        return 0;
}

static int extract_archive(struct import_ctx *c, const char *path, char **ret_dir, struct stack_error *err)
{
        _cleanup_free_ char *dir = ctx_tmp_name(c, "archive");
        if (mkdir(dir, 0700) < 0)
                return stack_error_errno(err, errno, "create %s", dir);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return stack_error_errno(err, errno, "open %s", dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", path);
        _cleanup_layer_source_ struct layer_source *src = NULL;
        int r = layer_source_decompress(layer_source_fd(fd, true, path), &src, NULL, err);
        if (r < 0)
                return r;
        /* No whiteouts, owners or devices: this tar only carries the files of a layout. */
        r = layer_unpack(src, dfd, 0, NULL, err);
        if (r < 0)
                return stack_error_prefix(err, "%s", path);
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

static int commit(struct import_ctx *c, struct stack_error *err)
{
        /* Staged files and directories are complete; make them durable before anything refers to them. */
        _cleanup_close_ int tfd = open(c->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tfd >= 0 && syncfs(tfd) < 0)
                return stack_error_errno(err, errno, "sync %s", c->tmp);
        for (size_t i = 0; i < c->n_staged; i++) {
                struct staged *st = &c->staged[i];
                if (path_exists(st->final))
                        continue; /* same content, imported meanwhile */
                if (rename(st->tmp, st->final) < 0)
                        return stack_error_errno(err, errno, "store %s", st->final);
        }
        _cleanup_json_ cJSON *refs = NULL;
        int r = refs_load(c->s, &refs, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_images; i++) {
                struct pending_image *p = &c->images[i];
                _cleanup_free_ char *rp = record_path(c->s, p->id);
                _cleanup_json_ cJSON *old = NULL;
                _cleanup_strv_free_ char **repo_digests = NULL;
                if (path_exists(rp) && read_json(rp, &old, NULL) >= 0)
                        repo_digests = json_get_strv(old, "repo_digests");
                if (!repo_digests)
                        repo_digests = xcalloc(1, sizeof(char *));
                if (p->original_manifest)
                        STRV_FOREACH (n, p->names) {
                                _cleanup_reference_ struct reference ref = {0};
                                if (reference_parse(*n, &ref, NULL) < 0)
                                        continue;
                                _cleanup_free_ char *name = reference_name(&ref);
                                _cleanup_free_ char *rd =
                                    xasprintf("%s@%s", name, p->repo_digest ? p->repo_digest : p->manifest);
                                if (!strv_contains(repo_digests, rd))
                                        strv_push(&repo_digests, rd);
                        }
                _cleanup_json_ cJSON *rec = cJSON_CreateObject();
                cJSON_AddStringToObject(rec, "id", p->id);
                cJSON_AddStringToObject(rec, "manifest", p->manifest);
                if (p->repo_digest && !streq(p->repo_digest, p->manifest))
                        cJSON_AddStringToObject(rec, "index", p->repo_digest);
                cJSON *rd = cJSON_AddArrayToObject(rec, "repo_digests");
                STRV_FOREACH (d, repo_digests)
                        cJSON_AddItemToArray(rd, cJSON_CreateString(*d));
                cJSON *layers = cJSON_AddArrayToObject(rec, "layers");
                uint64_t total = 0;
                for (size_t j = 0; j < p->n_layers; j++) {
                        cJSON *l = cJSON_CreateObject();
                        cJSON_AddStringToObject(l, "diff_id", p->layers[j].diff_id);
                        cJSON_AddStringToObject(l, "digest", p->layers[j].digest);
                        cJSON_AddNumberToObject(l, "size", (double) p->layers[j].size);
                        cJSON_AddStringToObject(l, "media_type", p->layers[j].media_type);
                        cJSON_AddNumberToObject(l, "unpacked_size", (double) p->layers[j].unpacked);
                        cJSON_AddItemToArray(layers, l);
                        total += p->layers[j].unpacked;
                }
                cJSON_AddNumberToObject(rec, "size", (double) total);
                r = write_json(rp, rec, err);
                if (r < 0)
                        return r;
                STRV_FOREACH (n, p->names) {
                        cJSON_DeleteItemFromObjectCaseSensitive(refs, *n);
                        cJSON_AddStringToObject(refs, *n, p->id);
                }
        }
        /* The reference goes last: a crash before this line leaves an untagged image, never a name
         * pointing at something incomplete. */
        r = refs_save(c->s, refs, err);
        if (r < 0)
                return r;
        /* The renames and records above are durable once the file system is synced. */
        if (tfd >= 0 && syncfs(tfd) < 0)
                return stack_error_errno(err, errno, "sync %s", c->s->dir);
        return 0;
}

int image_import(struct image_store *s, const char *path, const char *ref, struct image ***ret,
                 struct stack_error *err)
{
        _cleanup_free_ char *want = NULL;
        if (ref) {
                int r = reference_normalize(ref, &want, err);
                if (r < 0)
                        return r;
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return stack_error_errno(err, errno, "%s", path);

        _cleanup_unlock_ struct image_store *locked = s;
        int r = store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_(import_ctx_done) struct import_ctx c = {.s = s, .want_ref = want};
        c.tmp = xasprintf("%s/tmp/import-XXXXXX", s->dir);
        if (!mkdtemp(c.tmp)) {
                free(c.tmp);
                c.tmp = NULL;
                return stack_error_errno(err, errno, "image store: create staging directory");
        }

        _cleanup_free_ char *dir = NULL;
        enum import_format fmt = FORMAT_ROOTFS;
        if (S_ISDIR(st.st_mode)) {
                dir = xstrdup(path);
                _cleanup_free_ char *idx = path_join(path, "index.json");
                _cleanup_free_ char *man = path_join(path, "manifest.json");
                if (path_exists(idx))
                        fmt = FORMAT_OCI;
                else if (path_exists(man))
                        fmt = FORMAT_DOCKER;
                else
                        return stack_error_set(
                            err, EINVAL,
                            "%s: neither an OCI image layout (index.json) nor a docker save "
                            "directory (manifest.json)",
                            path);
        } else {
                r = classify_archive(path, &fmt, err);
                if (r < 0)
                        return r;
                if (fmt != FORMAT_ROOTFS) {
                        r = extract_archive(&c, path, &dir, err);
                        if (r < 0)
                                return r;
                }
        }
        switch (fmt) {
        case FORMAT_OCI:
                r = import_oci_layout(&c, dir, err);
                break;
        case FORMAT_DOCKER:
                r = import_docker_save(&c, dir, err);
                break;
        default:
                r = import_rootfs(&c, path, err);
        }
        if (r < 0)
                return stack_error_prefix(err, "import %s", path);
        r = commit(&c, err);
        if (r < 0)
                return stack_error_prefix(err, "import %s", path);

        _cleanup_json_ cJSON *refs = NULL;
        r = refs_load(s, &refs, err);
        if (r < 0)
                return r;
        struct image **l = xcalloc(c.n_images + 1, sizeof(*l));
        for (size_t i = 0; i < c.n_images; i++) {
                r = image_load(s, refs, c.images[i].id, c.images[i].names[0], &l[i], err);
                if (r < 0) {
                        image_list_free(l);
                        return r;
                }
        }
        if (ret)
                *ret = l;
        else
                image_list_free(l);
        return 0;
}

int image_tag(struct image_store *s, const char *id, const char *ref, struct stack_error *err)
{
        _cleanup_free_ char *norm = NULL;
        int r = reference_normalize(ref, &norm, err);
        if (r < 0)
                return r;
        _cleanup_unlock_ struct image_store *locked = s;
        r = store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rp = record_path(s, id);
        if (!digest_is_valid(id) || !path_exists(rp))
                return stack_error_set(err, ENOENT, "no such image: %s", id);
        _cleanup_json_ cJSON *refs = NULL;
        r = refs_load(s, &refs, err);
        if (r < 0)
                return r;
        cJSON_DeleteItemFromObjectCaseSensitive(refs, norm);
        cJSON_AddStringToObject(refs, norm, id);
        return refs_save(s, refs, err);
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
                        if (read_json(p, &j, NULL) < 0)
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
                _cleanup_free_ char *rp = record_path(s, *id);
                _cleanup_json_ cJSON *rec = NULL;
                int r = read_json(rp, &rec, err);
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
        int r = store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_json_ cJSON *refs = NULL;
        r = refs_load(s, &refs, err);
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
        r = refs_save(s, refs, err);
        if (r < 0)
                return r;
        if (delete) {
                _cleanup_free_ char *rp = record_path(s, id);
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

/* ---- committing built images ---- */

char *image_layer_dir(const struct image_store *s, const char *diff_id)
{
        return layer_path(s, diff_id);
}

bool image_layer_present(const struct image_store *s, const struct image_layer_ref *l)
{
        if (!digest_is_valid(l->diff_id) || !digest_is_valid(l->digest))
                return false;
        _cleanup_free_ char *bp = blob_path(s, l->digest);
        _cleanup_free_ char *lp = layer_path(s, l->diff_id);
        return path_exists(bp) && path_is_dir(lp);
}

int image_layer_refs(struct image_store *s, const char *id, struct image_layer_ref **ret, size_t *ret_n,
                     struct stack_error *err)
{
        if (!digest_is_valid(id))
                return stack_error_set(err, EINVAL, "invalid image id \"%s\"", id);
        _cleanup_free_ char *rp = record_path(s, id);
        _cleanup_json_ cJSON *rec = NULL;
        int r = read_json(rp, &rec, err);
        if (r < 0)
                return r;
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(rec, "layers"), *it;
        size_t n = (size_t) cJSON_GetArraySize(layers);
        _cleanup_free_ struct image_layer_ref *l = xcalloc(n ? n : 1, sizeof(*l));
        size_t i = 0;
        cJSON_ArrayForEach(it, layers)
        {
                const char *diff = json_get_str(it, "diff_id"), *dg = json_get_str(it, "digest");
                if (!digest_is_valid(diff) || !digest_is_valid(dg))
                        return stack_error_set(err, EINVAL, "%s: bad layer entry", rp);
                snprintf(l[i].diff_id, sizeof(l[i].diff_id), "%s", diff);
                snprintf(l[i].digest, sizeof(l[i].digest), "%s", dg);
                l[i].size = (uint64_t) jint(it, "size", 0);
                l[i].unpacked = (uint64_t) jint(it, "unpacked_size", 0);
                i++;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int image_config_text(struct image_store *s, const char *id, char **ret, struct stack_error *err)
{
        if (!digest_is_valid(id))
                return stack_error_set(err, EINVAL, "invalid image id \"%s\"", id);
        _cleanup_free_ char *p = blob_path(s, id);
        size_t len;
        return read_full_file(p, ret, &len, err);
}

static int import_ctx_begin(struct image_store *s, struct import_ctx *c, struct stack_error *err)
{
        *c = (struct import_ctx){.s = s};
        c->tmp = xasprintf("%s/tmp/import-XXXXXX", s->dir);
        if (!mkdtemp(c->tmp)) {
                free(c->tmp);
                c->tmp = NULL;
                return stack_error_errno(err, errno, "image store: create staging directory");
        }
        return 0;
}

int image_add_layer(struct image_store *s, const char *tar_path, struct image_layer_ref *ret,
                    struct stack_error *err)
{
        _cleanup_unlock_ struct image_store *locked = s;
        int r = store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_(import_ctx_done) struct import_ctx c = {0};
        r = import_ctx_begin(s, &c, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s", tar_path);
        struct pending_layer layer = {0};
        r = import_layer(&c, fd, tar_path, NULL, -1, NULL, MEDIA_OCI_LAYER, &layer, err);
        free(layer.media_type);
        if (r < 0)
                return r;
        r = commit(&c, err);
        if (r < 0)
                return r;
        *ret = (struct image_layer_ref){.size = layer.size, .unpacked = layer.unpacked};
        snprintf(ret->diff_id, sizeof(ret->diff_id), "%s", layer.diff_id);
        snprintf(ret->digest, sizeof(ret->digest), "%s", layer.digest);
        return 0;
}

int image_commit_built(struct image_store *s, const struct image_layer_ref *layers, size_t n_layers,
                       const char *config_json, char *const *refs, char **ret_id, struct stack_error *err)
{
        _cleanup_json_ cJSON *cfg = cJSON_Parse(config_json);
        if (!cJSON_IsObject(cfg))
                return stack_error_set(err, EINVAL, "built image: the config is not a JSON object");
        _cleanup_strv_free_ char **names = xcalloc(1, sizeof(char *));
        STRV_FOREACH (ref, refs) {
                _cleanup_free_ char *norm = NULL;
                int r = reference_normalize(*ref, &norm, err);
                if (r < 0)
                        return r;
                if (!strv_contains(names, norm))
                        strv_push(&names, norm);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "rootfs");
        cJSON *rootfs = cJSON_AddObjectToObject(cfg, "rootfs");
        cJSON_AddStringToObject(rootfs, "type", "layers");
        cJSON *diffs = cJSON_AddArrayToObject(rootfs, "diff_ids");
        for (size_t i = 0; i < n_layers; i++)
                cJSON_AddItemToArray(diffs, cJSON_CreateString(layers[i].diff_id));

        _cleanup_unlock_ struct image_store *locked = s;
        int r = store_lock(s, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_layers; i++)
                if (!image_layer_present(s, &layers[i]))
                        return stack_error_set(err, ENOENT, "layer %s is no longer in the store",
                                               layers[i].diff_id);
        _cleanup_(import_ctx_done) struct import_ctx c = {0};
        r = import_ctx_begin(s, &c, err);
        if (r < 0)
                return r;
        struct pending_image *p = new_pending(&c);
        p->layers = xcalloc(n_layers ? n_layers : 1, sizeof(*p->layers));
        for (size_t i = 0; i < n_layers; i++) {
                struct pending_layer *pl = &p->layers[p->n_layers++];
                snprintf(pl->diff_id, sizeof(pl->diff_id), "%s", layers[i].diff_id);
                snprintf(pl->digest, sizeof(pl->digest), "%s", layers[i].digest);
                pl->size = layers[i].size;
                pl->unpacked = layers[i].unpacked;
                pl->media_type = xstrdup(MEDIA_OCI_LAYER);
        }
        _cleanup_free_ char *text = cJSON_PrintUnformatted(cfg);
        digest_data(text, strlen(text), p->id);
        r = stage_bytes(&c, text, strlen(text), p->id, err);
        if (r < 0)
                return r;
        r = stage_generated_manifest(&c, p, strlen(text), err);
        if (r < 0)
                return r;
        STRV_FOREACH (n, names)
                strv_push(&p->names, *n);
        r = commit(&c, err);
        if (r < 0)
                return r;
        *ret_id = xstrdup(p->id);
        return 0;
}

/* ---- images from registries ---- */

char *image_store_pulls_path(const struct image_store *s)
{
        return path_join(s->dir, "pulls");
}

char *image_store_blob_path(const struct image_store *s, const char *digest)
{
        return blob_path(s, digest);
}

bool image_store_has_blob(const struct image_store *s, const char *digest, const char *diff_id)
{
        _cleanup_free_ char *bp = blob_path(s, digest);
        if (!path_exists(bp))
                return false;
        if (!diff_id)
                return true;
        _cleanup_free_ char *lp = layer_path(s, diff_id);
        return path_is_dir(lp);
}

static int record_pull_time(struct image_store *s, const char *reference, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "pulled.json");
        _cleanup_json_ cJSON *times = NULL;
        if (!path_exists(p) || read_json(p, &times, NULL) < 0 || !cJSON_IsObject(times)) {
                cJSON_Delete(times);
                times = cJSON_CreateObject();
        }
        cJSON_DeleteItemFromObjectCaseSensitive(times, reference);
        cJSON_AddNumberToObject(times, reference, (double) realtime_usec());
        /* Losing this to a crash costs at most one early pull: not worth an fsync. */
        _cleanup_free_ char *text = cJSON_PrintUnformatted(times);
        if (!text)
                return stack_error_set(err, ENOMEM, "%s: cannot serialize", p);
        return write_file_replace(p, text, strlen(text), 0644, err);
}

uint64_t image_pull_time(struct image_store *s, const char *reference)
{
        _cleanup_free_ char *p = path_join(s->dir, "pulled.json");
        _cleanup_json_ cJSON *times = NULL;
        if (!path_exists(p) || read_json(p, &times, NULL) < 0)
                return 0;
        double t = json_get_num(times, reference, 0);
        return t > 0 ? (uint64_t) t : 0;
}

int image_note_pulled(struct image_store *s, const char *reference, struct stack_error *err)
{
        _cleanup_unlock_ struct image_store *locked = s;
        int r = store_lock(s, err);
        if (r < 0)
                return r;
        return record_pull_time(s, reference, err);
}

int image_commit_pulled(struct image_store *s, const struct image_pulled *p, struct image **ret,
                        struct stack_error *err)
{
        _cleanup_unlock_ struct image_store *locked = s;
        int r = store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_(import_ctx_done) struct import_ctx c = {.s = s, .want_ref = p->reference};
        c.tmp = xasprintf("%s/tmp/pull-XXXXXX", s->dir);
        if (!mkdtemp(c.tmp)) {
                free(c.tmp);
                c.tmp = NULL;
                return stack_error_errno(err, errno, "image store: create staging directory");
        }
        if (p->index) {
                char d[DIGEST_STRING_MAX];
                digest_data(p->index, p->index_len, d);
                r = stage_bytes(&c, p->index, p->index_len, d, err);
                if (r < 0)
                        return r;
        }
        r = stage_bytes(&c, p->manifest, p->manifest_len, p->manifest_digest, err);
        if (r < 0)
                return r;
        r = stage_bytes(&c, p->config, p->config_len, p->config_digest, err);
        if (r < 0)
                return r;
        struct pending_image *pi = new_pending(&c);
        strcpy(pi->id, p->config_digest);
        strcpy(pi->manifest, p->manifest_digest);
        pi->original_manifest = true;
        pi->repo_digest = p->repo_digest;
        pi->layers = xcalloc(p->n_layers ? p->n_layers : 1, sizeof(*pi->layers));
        for (size_t i = 0; i < p->n_layers; i++) {
                const struct image_pulled_layer *l = &p->layers[i];
                struct pending_layer *pl = &pi->layers[pi->n_layers++];
                strcpy(pl->digest, l->digest);
                strcpy(pl->diff_id, l->diff_id);
                pl->size = l->size;
                pl->unpacked = l->unpacked;
                pl->media_type = xstrdup(l->media_type ? l->media_type : MEDIA_OCI_LAYER);
                _cleanup_free_ char *bfinal = blob_path(s, l->digest);
                _cleanup_free_ char *lfinal = layer_path(s, l->diff_id);
                /* Staged by this pull, or by a concurrent one that committed first, or already stored:
                 * whichever, the piece must exist once this lock is held. */
                if (!path_exists(bfinal) && !is_staged(&c, bfinal)) {
                        if (!l->blob_file || !path_exists(l->blob_file))
                                return stack_error_set(err, ENOENT, "layer %s: blob vanished before commit",
                                                       l->digest);
                        stage(&c, xstrdup(l->blob_file), TAKE_PTR(bfinal));
                }
                if (!path_is_dir(lfinal) && !is_staged(&c, lfinal)) {
                        if (!l->layer_dir || !path_is_dir(l->layer_dir))
                                return stack_error_set(err, ENOENT,
                                                       "layer %s: unpacked layer vanished before commit",
                                                       l->digest);
                        stage(&c, xstrdup(l->layer_dir), TAKE_PTR(lfinal));
                }
        }
        strv_push(&pi->names, p->reference);
        r = commit(&c, err);
        if (r < 0)
                return r;
        /* Staged pieces another pull moved in first are surplus now. */
        for (size_t i = 0; i < p->n_layers; i++) {
                if (p->layers[i].layer_dir && path_exists(p->layers[i].layer_dir))
                        (void) rm_rf(p->layers[i].layer_dir, NULL);
                if (p->layers[i].blob_file)
                        (void) unlink(p->layers[i].blob_file);
        }
        r = record_pull_time(s, p->reference, err);
        if (r < 0)
                return r;
        if (!ret)
                return 0;
        _cleanup_json_ cJSON *refs = NULL;
        r = refs_load(s, &refs, err);
        if (r < 0)
                return r;
        return image_load(s, refs, p->config_digest, p->reference, ret, err);
}
