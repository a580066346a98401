/* Adding content to the image store: staging blobs, layers and records in a temporary directory and
 * committing them with renames (the crash-safety rules are in core/image/image.h); images committed from the
 * builder and from registry pulls. */
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

void import_ctx_done(struct import_ctx *c)
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

char *import_ctx_tmp_name(struct import_ctx *c, const char *what)
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
int import_ctx_stage_bytes(struct import_ctx *c, const void *data, size_t len, const char *digest,
                           struct stack_error *err)
{
        _cleanup_free_ char *final = image_blob_path(c->s, digest);
        if (path_exists(final) || is_staged(c, final))
                return 0;
        _cleanup_free_ char *tmp = import_ctx_tmp_name(c, "blob");
        int r = write_file_atomic(tmp, data, len, 0644, err);
        if (r < 0)
                return r;
        stage(c, TAKE_PTR(tmp), TAKE_PTR(final));
        return 0;
}

/* Imports one layer blob read from fd. Known values (descriptor digest and size, the config's diff_id)
 * are verified once the stream has been read; the layer is unpacked into the staging area meanwhile. */
int import_ctx_layer(struct import_ctx *c, int fd, const char *name, const char *want_digest,
                     int64_t want_size, const char *want_diff, const char *media_type,
                     struct pending_layer *ret, struct stack_error *err)
{
        if (want_digest) {
                _cleanup_free_ char *bp = image_blob_path(c->s, want_digest);
                _cleanup_free_ char *lp = want_diff ? image_layer_path(c->s, want_diff) : NULL;
                if (lp && path_exists(bp) && path_is_dir(lp)) {
                        /* Already stored and verified when it was imported. */
                        struct stat st;
                        if (stat(bp, &st) == 0 && (want_size < 0 || st.st_size == want_size)) {
                                strcpy(ret->digest, want_digest);
                                strcpy(ret->diff_id, want_diff);
                                ret->size = st.st_size;
                                ret->unpacked = layer_dir_size(lp);
                                ret->media_type = xstrdup(media_type ? media_type : MEDIA_OCI_LAYER);
                                return 0;
                        }
                }
        }

        _cleanup_free_ char *tmp_blob = import_ctx_tmp_name(c, "blob");
        _cleanup_free_ char *tmp_layer = import_ctx_tmp_name(c, "layer");
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

        _cleanup_free_ char *bfinal = image_blob_path(c->s, got);
        if (!path_exists(bfinal) && !is_staged(c, bfinal))
                stage(c, TAKE_PTR(tmp_blob), TAKE_PTR(bfinal));
        _cleanup_free_ char *lfinal = image_layer_path(c->s, diff);
        if (!path_exists(lfinal) && !is_staged(c, lfinal))
                stage(c, TAKE_PTR(tmp_layer), TAKE_PTR(lfinal));
        return 0;
}

struct pending_image *import_ctx_new_image(struct import_ctx *c)
{
        GROW(c->images, c->cap_images, c->n_images + 1);
        struct pending_image *p = &c->images[c->n_images++];
        *p = (struct pending_image){.names = xcalloc(1, sizeof(char *))};
        return p;
}

/* Parses and stages a config, returning its diff_ids. */
int import_ctx_take_config(struct import_ctx *c, const char *data, size_t len, const char *digest,
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
        int r = import_ctx_stage_bytes(c, data, len, digest, err);
        if (r < 0)
                return r;
        *ret_diffs = TAKE_PTR(diffs);
        return 0;
}

/* Serializes a manifest for an image that came without one (docker save, rootfs tarballs), so every
 * stored image lists its layer blobs the same way. */
int import_ctx_stage_manifest(struct import_ctx *c, struct pending_image *p, size_t config_size,
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
        return import_ctx_stage_bytes(c, text, strlen(text), p->manifest, err);
}
int import_ctx_commit(struct import_ctx *c, struct stack_error *err)
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
        int r = image_refs_load(c->s, &refs, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_images; i++) {
                struct pending_image *p = &c->images[i];
                _cleanup_free_ char *rp = image_record_path(c->s, p->id);
                _cleanup_json_ cJSON *old = NULL;
                _cleanup_strv_free_ char **repo_digests = NULL;
                if (path_exists(rp) && json_read_file(rp, &old, NULL) >= 0)
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
                r = image_write_json(rp, rec, err);
                if (r < 0)
                        return r;
                STRV_FOREACH (n, p->names) {
                        cJSON_DeleteItemFromObjectCaseSensitive(refs, *n);
                        cJSON_AddStringToObject(refs, *n, p->id);
                }
        }
        /* The reference goes last: a crash before this line leaves an untagged image, never a name
         * pointing at something incomplete. */
        r = image_refs_save(c->s, refs, err);
        if (r < 0)
                return r;
        /* The renames and records above are durable once the file system is synced. */
        if (tfd >= 0 && syncfs(tfd) < 0)
                return stack_error_errno(err, errno, "sync %s", c->s->dir);
        return 0;
}

/* ---- committing built images ---- */

char *image_layer_dir(const struct image_store *s, const char *diff_id)
{
        return image_layer_path(s, diff_id);
}

bool image_layer_present(const struct image_store *s, const struct image_layer_ref *l)
{
        if (!digest_is_valid(l->diff_id) || !digest_is_valid(l->digest))
                return false;
        _cleanup_free_ char *bp = image_blob_path(s, l->digest);
        _cleanup_free_ char *lp = image_layer_path(s, l->diff_id);
        return path_exists(bp) && path_is_dir(lp);
}

int image_layer_refs(struct image_store *s, const char *id, struct image_layer_ref **ret, size_t *ret_n,
                     struct stack_error *err)
{
        if (!digest_is_valid(id))
                return stack_error_set(err, EINVAL, "invalid image id \"%s\"", id);
        _cleanup_free_ char *rp = image_record_path(s, id);
        _cleanup_json_ cJSON *rec = NULL;
        int r = json_read_file(rp, &rec, err);
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
                l[i].size = (uint64_t) (int64_t) json_get_num(it, "size", 0);
                l[i].unpacked = (uint64_t) (int64_t) json_get_num(it, "unpacked_size", 0);
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
        _cleanup_free_ char *p = image_blob_path(s, id);
        size_t len;
        return read_full_file(p, ret, &len, err);
}

int import_ctx_begin(struct image_store *s, struct import_ctx *c, struct stack_error *err)
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
        int r = image_store_lock(s, err);
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
        r = import_ctx_layer(&c, fd, tar_path, NULL, -1, NULL, MEDIA_OCI_LAYER, &layer, err);
        free(layer.media_type);
        if (r < 0)
                return r;
        r = import_ctx_commit(&c, err);
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
        int r = image_store_lock(s, err);
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
        struct pending_image *p = import_ctx_new_image(&c);
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
        r = import_ctx_stage_bytes(&c, text, strlen(text), p->id, err);
        if (r < 0)
                return r;
        r = import_ctx_stage_manifest(&c, p, strlen(text), err);
        if (r < 0)
                return r;
        STRV_FOREACH (n, names)
                strv_push(&p->names, *n);
        r = import_ctx_commit(&c, err);
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
        return image_blob_path(s, digest);
}

bool image_store_has_blob(const struct image_store *s, const char *digest, const char *diff_id)
{
        _cleanup_free_ char *bp = image_blob_path(s, digest);
        if (!path_exists(bp))
                return false;
        if (!diff_id)
                return true;
        _cleanup_free_ char *lp = image_layer_path(s, diff_id);
        return path_is_dir(lp);
}

static int record_pull_time(struct image_store *s, const char *reference, struct stack_error *err)
{
        _cleanup_free_ char *p = path_join(s->dir, "pulled.json");
        _cleanup_json_ cJSON *times = NULL;
        if (!path_exists(p) || json_read_file(p, &times, NULL) < 0 || !cJSON_IsObject(times)) {
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
        if (!path_exists(p) || json_read_file(p, &times, NULL) < 0)
                return 0;
        double t = json_get_num(times, reference, 0);
        return t > 0 ? (uint64_t) t : 0;
}

int image_note_pulled(struct image_store *s, const char *reference, struct stack_error *err)
{
        _cleanup_unlock_ struct image_store *locked = s;
        int r = image_store_lock(s, err);
        if (r < 0)
                return r;
        return record_pull_time(s, reference, err);
}

int image_commit_pulled(struct image_store *s, const struct image_pulled *p, struct image **ret,
                        struct stack_error *err)
{
        _cleanup_unlock_ struct image_store *locked = s;
        int r = image_store_lock(s, err);
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
                r = import_ctx_stage_bytes(&c, p->index, p->index_len, d, err);
                if (r < 0)
                        return r;
        }
        r = import_ctx_stage_bytes(&c, p->manifest, p->manifest_len, p->manifest_digest, err);
        if (r < 0)
                return r;
        r = import_ctx_stage_bytes(&c, p->config, p->config_len, p->config_digest, err);
        if (r < 0)
                return r;
        struct pending_image *pi = import_ctx_new_image(&c);
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
                _cleanup_free_ char *bfinal = image_blob_path(s, l->digest);
                _cleanup_free_ char *lfinal = image_layer_path(s, l->diff_id);
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
        r = import_ctx_commit(&c, err);
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
        r = image_refs_load(s, &refs, err);
        if (r < 0)
                return r;
        return image_load(s, refs, p->config_digest, p->reference, ret, err);
}
