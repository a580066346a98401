/* Pulling from a registry (see registry.h).
 *
 * A layer flows in one pass: the socket -> the partial blob file and the blob's digest -> the
 * decompressor -> the uncompressed digest -> the store's safe unpacker. The partial file is what makes a
 * dropped connection (retried at once with Range) and a killed pull (resumed by the next one) cheap: the
 * bytes already there are replayed through the same chain, only the rest is downloaded. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/image/distribution.h"
#include "core/image/http.h"
#include "core/image/layer.h"
#include "core/image/reference.h"
#include "core/image/registry-auth.h"
#include "core/image/registry.h"
#include "core/image/registry-internal.h"

/* ---- pull: manifests and configs ---- */

static int fetch_manifest(struct repo *rp, const char *ref_name, const char *tag_or_digest, char **ret,
                          size_t *ret_len, char **ret_type, char ret_digest[DIGEST_STRING_MAX],
                          struct stack_error *err)
{
        _cleanup_free_ char *url = repo_url(rp, "manifests/%s", tag_or_digest);
        struct http_request req = {.url = url, .follow_redirects = true, .tls = &rp->ep.tls};
        char *extra[] = {(char *) DIST_ACCEPT, NULL};
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = repo_fetch(rp, &req, extra, DIST_MAX_MANIFEST, &resp, &body, &len, err);
        if (r < 0)
                return r;
        if (resp.status == 404)
                return stack_error_set(err, ENOENT, "image %s not found in registry %s", ref_name,
                                       rp->domain);
        if (resp.status == 401 || resp.status == 403)
                return repo_access_error(rp, "pull", err);
        if (resp.status != 200) {
                _cleanup_free_ char *code = registry_error_code(body, len, resp.status);
                return stack_error_set(err, EPROTO, "%s: %s", url, code);
        }
        char got[DIGEST_STRING_MAX];
        digest_data(body, len, got);
        /* Pinned by digest: what came must be what was asked for, whatever the registry says. */
        if (digest_is_valid(tag_or_digest) && !streq(got, tag_or_digest))
                return stack_error_set(err, EBADMSG,
                                       "manifest of %s: registry %s served content with digest %s, not the "
                                       "requested %s",
                                       ref_name, rp->domain, got, tag_or_digest);
        strcpy(ret_digest, got);
        *ret_type = resp.content_type ? xstrdup(resp.content_type) : NULL;
        *ret_len = len;
        *ret = TAKE_PTR(body);
        return 0;
}

static int fetch_small_blob(struct repo *rp, const struct dist_descriptor *d, size_t max, char **ret,
                            size_t *ret_len, struct stack_error *err)
{
        if (d->size > (int64_t) max)
                return stack_error_set(err, EFBIG, "blob %s: %lld bytes, more than the %zu allowed",
                                       d->digest, (long long) d->size, max);
        _cleanup_free_ char *url = repo_url(rp, "blobs/%s", d->digest);
        struct http_request req = {.url = url, .follow_redirects = true, .tls = &rp->ep.tls};
        _cleanup_http_response_ struct http_response resp = {0};
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = repo_fetch(rp, &req, NULL, max, &resp, &body, &len, err);
        if (r < 0)
                return r;
        if (resp.status == 401 || resp.status == 403)
                return repo_access_error(rp, "pull", err);
        if (resp.status != 200)
                return stack_error_set(err, resp.status == 404 ? ENOENT : EPROTO, "blob %s: registry %s: %s",
                                       d->digest, rp->domain, resp.status == 404 ? "not found" : "error");
        char got[DIGEST_STRING_MAX];
        digest_data(body, len, got);
        if ((int64_t) len != d->size || !streq(got, d->digest))
                return stack_error_set(
                    err, EBADMSG, "blob %s: registry %s served %zu bytes with digest %s (expected %lld)",
                    d->digest, rp->domain, len, got, (long long) d->size);
        *ret = TAKE_PTR(body);
        *ret_len = len;
        return 0;
}

/* ---- pull: layers ---- */

/* The bytes of a blob: first those already in the partial file, then the rest from the registry, each
 * new byte appended to the file. Transient failures reopen the transfer with Range where it stopped. */
struct blob_source {
        struct layer_source s;
        struct repo *rp;
        const struct dist_descriptor *d;
        int fd;
        uint64_t have, pos, skip;
        struct http_stream *st;
        int attempts;
        bool reauthorized;
        char short_id[13];
        uint64_t next_report;
};

static int blob_open(struct blob_source *b, bool *ret_eof, bool *ret_transient, struct stack_error *err)
{
        *ret_eof = *ret_transient = false;
        _cleanup_free_ char *url = repo_url(b->rp, "blobs/%s", b->d->digest);
        for (;;) {
                _cleanup_strv_free_ char **headers = xcalloc(1, sizeof(char *));
                if (b->rp->auth)
                        strv_push(&headers, b->rp->auth);
                struct http_request req = {.url = url,
                                           .follow_redirects = true,
                                           .tls = &b->rp->ep.tls,
                                           .headers = headers,
                                           .range_from = b->pos};
                _cleanup_http_stream_ struct http_stream *st = NULL;
                int r = http_stream_open(&req, &st, ret_transient, err);
                if (r < 0)
                        return r;
                const struct http_response *resp = http_stream_response(st);
                if (resp->status == 401 && !b->reauthorized && resp->www_authenticate) {
                        b->reauthorized = true;
                        r = repo_authorize(b->rp, resp->www_authenticate, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (resp->status == 401 || resp->status == 403)
                        return repo_access_error(b->rp, "pull", err);
                if (resp->status == 416 && b->pos == (uint64_t) b->d->size) {
                        *ret_eof = true;
                        return 0;
                }
                if (registry_status_transient(resp->status)) {
                        *ret_transient = true;
                        return stack_error_set(err, EAGAIN, "%s: HTTP %ld", url, resp->status);
                }
                if (resp->status == 404)
                        return stack_error_set(err, ENOENT, "layer %s not found in registry %s",
                                               b->d->digest, b->rp->domain);
                if (resp->status == 206) {
                        /* "bytes START-END/TOTAL" must start where we are. */
                        unsigned long long start = 0;
                        if (!resp->content_range ||
                            sscanf(resp->content_range, "bytes %llu-", &start) != 1 || start != b->pos)
                                return stack_error_set(err, EPROTO, "%s: answered a range other than asked",
                                                       url);
                } else if (resp->status == 200)
                        b->skip = b->pos; /* the range was ignored: drop what we already have */
                else
                        return stack_error_set(err, EPROTO, "%s: HTTP %ld", url, resp->status);
                b->st = TAKE_PTR(st);
                return 0;
        }
}

static ssize_t blob_read_net(struct blob_source *b, void *buf, size_t n, struct stack_error *err)
{
        for (;;) {
                bool transient = false;
                _cleanup_error_ struct stack_error e2 = {0};
                ssize_t k;
                if (!b->st) {
                        bool eof = false;
                        int r = blob_open(b, &eof, &transient, &e2);
                        if (r >= 0 && eof)
                                return 0;
                        k = r < 0 ? r : 1;
                } else
                        k = 1;
                if (k > 0) {
                        k = http_stream_read(b->st, buf, n, &transient, &e2);
                        if (k == 0 && b->pos + b->skip < (uint64_t) b->d->size) {
                                transient = true; /* the connection ended early */
                                k = stack_error_set(
                                    &e2, EPIPE, "layer %s: connection closed after %llu of %lld bytes",
                                    b->d->digest, (unsigned long long) b->pos, (long long) b->d->size);
                        }
                }
                if (k < 0) {
                        http_stream_freep(&b->st);
                        b->st = NULL;
                        b->skip = 0;
                        if (transient && b->attempts + 1 < MAX_ATTEMPTS) {
                                registry_backoff(b->attempts++);
                                continue;
                        }
                        *err = e2;
                        e2 = (struct stack_error){0};
                        return k;
                }
                if (k == 0)
                        return 0;
                if (b->skip > 0) {
                        uint64_t drop = (uint64_t) k < b->skip ? (uint64_t) k : b->skip;
                        b->skip -= drop;
                        if ((uint64_t) k == drop)
                                continue;
                        memmove(buf, (char *) buf + drop, k - drop);
                        k -= (ssize_t) drop;
                }
                b->attempts = 0;
                return k;
        }
}

static ssize_t blob_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct blob_source *b = (struct blob_source *) s;
        ssize_t k;
        if (b->pos < b->have) {
                size_t want = n < b->have - b->pos ? n : (size_t) (b->have - b->pos);
                do
                        k = pread(b->fd, buf, want, (off_t) b->pos);
                while (k < 0 && errno == EINTR);
                if (k <= 0)
                        return stack_error_errno(err, k < 0 ? errno : EIO, "layer %s: read partial download",
                                                 b->d->digest);
                b->pos += k;
                return k;
        }
        k = blob_read_net(b, buf, n, err);
        if (k <= 0)
                return k;
        if (b->pos + k > (uint64_t) b->d->size)
                return stack_error_set(err, EBADMSG,
                                       "layer %s: registry sent more than the %lld bytes expected",
                                       b->d->digest, (long long) b->d->size);
        for (ssize_t done = 0; done < k;) {
                ssize_t w = pwrite(b->fd, (char *) buf + done, k - done, (off_t) (b->pos + done));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return stack_error_errno(err, errno, "layer %s: write download", b->d->digest);
                done += w;
        }
        b->pos += k;
        if (b->pos >= b->next_report) {
                registry_progress(b->rp->c, b->short_id, "Downloading %.1fMB/%.1fMB", b->pos / 1e6,
                                  b->d->size / 1e6);
                b->next_report = b->pos + (uint64_t) (b->d->size / 4) + 1;
        }
        return k;
}

static void blob_free(struct layer_source *s)
{
        struct blob_source *b = (struct blob_source *) s;
        http_stream_freep(&b->st);
        free(b);
}

struct layer_job {
        struct repo *rp;
        struct image_store *s;
        const struct dist_descriptor *d;
        const char *diff_id;
        char *blob_file, *layer_dir; /* staged in pulls/, NULL when the store has them */
        uint64_t unpacked;
        int r;
        struct stack_error err;
};

/* Downloads and unpacks one layer into pulls/<hex>.blob and pulls/<hex>.layer, under the blob's lock. */
static int pull_layer(struct layer_job *j, struct stack_error *err)
{
        const struct dist_descriptor *d = j->d;
        struct registry_client *c = j->rp->c;
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%s", digest_hex(d->digest));
        if (image_store_has_blob(j->s, d->digest, j->diff_id)) {
                registry_progress(c, short_id, "Already exists");
                return 0;
        }
        _cleanup_free_ char *pulls = image_store_pulls_path(j->s);
        _cleanup_free_ char *base = path_join(pulls, digest_hex(d->digest));
        _cleanup_free_ char *lock_path = xasprintf("%s.lock", base);
        _cleanup_close_ int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0)
                return stack_error_errno(err, errno, "open %s", lock_path);
        /* Another pull holding this blob's lock is downloading it: wait, then use its result. */
        if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
                registry_progress(c, short_id, "Waiting");
                while (flock(lock, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return stack_error_errno(err, errno, "lock %s", lock_path);
        }
        _cleanup_free_ char *blob_file = xasprintf("%s.blob", base);
        _cleanup_free_ char *layer_dir = xasprintf("%s.layer", base);
        if (image_store_has_blob(j->s, d->digest, j->diff_id)) {
                registry_progress(c, short_id, "Already exists");
                return 0;
        }
        if (path_exists(blob_file) && path_is_dir(layer_dir)) {
                j->unpacked = layer_dir_size(layer_dir);
                j->blob_file = TAKE_PTR(blob_file);
                j->layer_dir = TAKE_PTR(layer_dir);
                registry_progress(c, short_id, "Pull complete");
                return 0;
        }
        registry_progress(c, short_id, "Pulling fs layer");
        (void) unlink(blob_file);
        (void) rm_rf(layer_dir, NULL);
        _cleanup_free_ char *tmp_dir = xasprintf("%s.layer.tmp", base);
        (void) rm_rf(tmp_dir, NULL);
        _cleanup_free_ char *partial = xasprintf("%s.partial", base);
        _cleanup_close_ int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return stack_error_errno(err, errno, "open %s", partial);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return stack_error_errno(err, errno, "stat %s", partial);
        if (st.st_size > d->size && ftruncate(fd, 0) < 0)
                return stack_error_errno(err, errno, "truncate %s", partial);
        uint64_t have = st.st_size > d->size ? 0 : (uint64_t) st.st_size;
        if (mkdir(tmp_dir, 0755) < 0)
                return stack_error_errno(err, errno, "create %s", tmp_dir);
        _cleanup_close_ int dir_fd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return stack_error_errno(err, errno, "open %s", tmp_dir);

        _cleanup_digest_ struct digest dc = {0};
        _cleanup_digest_ struct digest du = {0};
        int r = digest_init(&dc, err);
        if (r >= 0)
                r = digest_init(&du, err);
        if (r < 0)
                return r;
        struct blob_source *b = xcalloc(1, sizeof(*b));
        *b = (struct blob_source){.rp = j->rp, .d = d, .fd = fd, .have = have, .next_report = have};
        b->s = (struct layer_source){.read = blob_read, .free = blob_free, .name = d->digest};
        memcpy(b->short_id, short_id, sizeof(short_id));
        struct layer_source *raw = layer_source_digest(&b->s, &dc, -1);
        _cleanup_layer_source_ struct layer_source *src = NULL;
        r = layer_source_decompress(raw, &src, NULL, err);
        if (r >= 0) {
                src = layer_source_digest(src, &du, -1);
                r = layer_unpack(src, dir_fd, LAYER_UNPACK_IMAGE, NULL, err);
        }
        if (r >= 0)
                r = layer_source_drain(raw, err);
        char got[DIGEST_STRING_MAX], diff[DIGEST_STRING_MAX];
        digest_final(&dc, got);
        digest_final(&du, diff);
        bool complete = dc.size == (uint64_t) d->size;
        if (complete && !streq(got, d->digest)) {
                /* Corrupt bytes must not be resumed from: start over next time. */
                (void) unlink(partial);
                (void) rm_rf(tmp_dir, NULL);
                stack_error_clear(err);
                return stack_error_set(err, EBADMSG,
                                       "layer %s from registry %s is corrupt: its content has digest %s",
                                       d->digest, j->rp->domain, got);
        }
        if (r < 0) {
                (void) rm_rf(tmp_dir, NULL);
                return stack_error_prefix(err, "layer %s", d->digest);
        }
        if (!complete) {
                (void) rm_rf(tmp_dir, NULL);
                return stack_error_set(err, EBADMSG, "layer %s: %llu bytes, the manifest says %lld",
                                       d->digest, (unsigned long long) dc.size, (long long) d->size);
        }
        if (!streq(diff, j->diff_id)) {
                (void) unlink(partial);
                (void) rm_rf(tmp_dir, NULL);
                return stack_error_set(
                    err, EBADMSG, "layer %s: uncompressed digest %s does not match the config's diff_id %s",
                    d->digest, diff, j->diff_id);
        }
        if (fsync(fd) < 0)
                return stack_error_errno(err, errno, "fsync %s", partial);
        if (rename(tmp_dir, layer_dir) < 0 || rename(partial, blob_file) < 0)
                return stack_error_errno(err, errno, "store layer %s", d->digest);
        j->unpacked = layer_dir_size(layer_dir);
        j->blob_file = TAKE_PTR(blob_file);
        j->layer_dir = TAKE_PTR(layer_dir);
        registry_progress(c, short_id, "Pull complete");
        return 0;
}

struct layer_pool {
        struct layer_job *jobs;
        size_t n, next;
        bool failed;
        pthread_mutex_t lock;
};

static void *layer_worker(void *arg)
{
        struct layer_pool *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next < p->n && !p->failed ? p->next++ : p->n;
                pthread_mutex_unlock(&p->lock);
                if (i >= p->n)
                        return NULL;
                struct layer_job *j = &p->jobs[i];
                j->r = pull_layer(j, &j->err);
                if (j->r < 0) {
                        pthread_mutex_lock(&p->lock);
                        p->failed = true;
                        pthread_mutex_unlock(&p->lock);
                }
        }
}

/* Runs the layer jobs, at most max at once; the first failure stops the rest from starting. */
static int pull_layers(struct layer_job *jobs, size_t n, int max, struct stack_error *err)
{
        struct layer_pool pool = {.jobs = jobs, .n = n};
        pthread_mutex_init(&pool.lock, NULL);
        size_t nt = n < (size_t) max ? n : (size_t) max;
        pthread_t *th = xcalloc(nt ? nt : 1, sizeof(*th));
        size_t started = 0;
        for (; started < nt; started++)
                if (pthread_create(&th[started], NULL, layer_worker, &pool) != 0)
                        break;
        if (started == 0)
                layer_worker(&pool);
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        free(th);
        pthread_mutex_destroy(&pool.lock);
        for (size_t i = 0; i < n; i++)
                if (jobs[i].r < 0) {
                        *err = jobs[i].err;
                        jobs[i].err = (struct stack_error){0};
                        return jobs[i].r;
                }
        return 0;
}

/* The config's diff_ids, one per layer. */
static int config_diff_ids(const char *data, size_t len, size_t n_layers, char ***ret,
                           struct stack_error *err)
{
        _cleanup_json_ cJSON *cfg = cJSON_ParseWithLength(data, len);
        const cJSON *ids =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
        if (!cJSON_IsArray(ids))
                return stack_error_set(err, EINVAL, "image config: no rootfs.diff_ids");
        _cleanup_strv_free_ char **l = xcalloc(1, sizeof(char *));
        const cJSON *it;
        cJSON_ArrayForEach(it, ids)
        {
                if (!cJSON_IsString(it) || !digest_is_valid(it->valuestring))
                        return stack_error_set(err, EINVAL, "image config: invalid diff_id");
                strv_push(&l, it->valuestring);
        }
        if (strv_length(l) != n_layers)
                return stack_error_set(err, EINVAL, "image config lists %zu diff_ids for %zu layers",
                                       strv_length(l), n_layers);
        *ret = TAKE_PTR(l);
        return 0;
}

/* Refuses a pull whose layers cannot fit: their compressed size is kept and unpacked at least once. */
static int check_space(struct image_store *s, const struct dist_manifest *m, struct stack_error *err)
{
        uint64_t need = 0;
        for (size_t i = 0; i < m->n_layers; i++)
                if (!image_store_has_blob(s, m->layers[i].digest, NULL))
                        need += (uint64_t) m->layers[i].size * 2;
        struct statvfs sv;
        if (statvfs(image_store_path(s), &sv) < 0)
                return 0;
        uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (need > avail)
                return stack_error_set(
                    err, ENOSPC, "not enough space in %s: the image needs at least %.1f MB, %.1f MB free",
                    image_store_path(s), need / 1e6, avail / 1e6);
        return 0;
}

static void layer_jobs_free(struct layer_job *jobs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(jobs[i].blob_file);
                free(jobs[i].layer_dir);
                stack_error_clear(&jobs[i].err);
        }
        free(jobs);
}

/* Opens the repository ref is pulled from and fetches its top manifest: for docker.io, each of its mirrors
 * in turn (registry_mirrors()), then docker.io itself; a mirror that fails (unreachable, no such image,
 * refused) is noted in the progress and the next is tried, as docker does. Other registries have no
 * mirrors. */
static int open_source(struct registry_client *c, const struct reference *ref, const char *shown,
                       const char *what, struct repo *ret, char **ret_top, size_t *ret_len, char **ret_type,
                       char ret_digest[DIGEST_STRING_MAX], struct stack_error *err)
{
        _cleanup_strv_free_ char **mirrors = streq(ref->domain, "docker.io") ? registry_mirrors() : NULL;
        STRV_FOREACH (m, mirrors) {
                struct reference via = *ref;
                via.domain = *m;
                _cleanup_error_ struct stack_error e = {0};
                int r = repo_open(c, &via, false, ret, &e);
                if (r >= 0) {
                        r = fetch_manifest(ret, shown, what, ret_top, ret_len, ret_type, ret_digest, &e);
                        if (r >= 0)
                                return 0;
                        repo_done(ret);
                        *ret = (struct repo){0};
                }
                registry_progress(c, shown, "mirror %s failed (%s), trying the next source", *m, e.msg);
        }
        int r = repo_open(c, ref, false, ret, err);
        if (r < 0)
                return stack_error_prefix(err, "pull %s", shown);
        return fetch_manifest(ret, shown, what, ret_top, ret_len, ret_type, ret_digest, err);
}

/* Whether the store already holds what the registry names: the reference resolves to an image with this
 * manifest and config, every layer present. Then nothing is fetched or written but the pull time
 * (pull_policy daily and weekly count from it), so a second pull of an unchanged tag costs its manifest
 * requests and no more. */
static bool pull_unchanged(struct registry_client *c, struct image_store *s, const char *norm,
                           const char *mdigest, const struct dist_manifest *m, struct image **ret)
{
        _cleanup_image_ struct image *img = NULL;
        if (image_lookup(s, norm, &img, NULL) < 0 || !img->digest || !streq(img->digest, mdigest) ||
            !streq(img->id, m->config.digest))
                return false;
        _cleanup_free_ struct image_layer_ref *layers = NULL;
        size_t n = 0;
        if (image_layer_refs(s, img->id, &layers, &n, NULL) < 0 || n != m->n_layers)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!image_layer_present(s, &layers[i]) || !streq(layers[i].digest, m->layers[i].digest))
                        return false;
        if (image_note_pulled(s, norm, NULL) < 0)
                return false;
        registry_progress(c, norm, "Pulling");
        for (size_t i = 0; i < n; i++) {
                char short_id[13];
                snprintf(short_id, sizeof(short_id), "%s", digest_hex(layers[i].digest));
                registry_progress(c, short_id, "Already exists");
        }
        registry_progress(c, norm, "Pulled");
        if (ret)
                *ret = TAKE_PTR(img);
        return true;
}

int registry_pull(struct registry_client *c, struct image_store *s, const char *ref_s, const char *platform,
                  struct image **ret, struct stack_error *err)
{
        _cleanup_reference_ struct reference ref = {0};
        int r = reference_parse(ref_s, &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *norm = reference_string(&ref);
        _cleanup_free_ char *name = reference_familiar_name(&ref);
        _cleanup_free_ char *shown =
            ref.tag ? xasprintf("%s:%s", name, ref.tag) : xasprintf("%s@%s", name, ref.digest);
        _cleanup_dist_platform_ struct dist_platform want = {0};
        if (platform) {
                r = dist_platform_parse(platform, &want, err);
                if (r < 0)
                        return r;
        } else
                dist_platform_host(&want);

        _cleanup_(repo_done) struct repo rp = {0};
        /* A digest pins the content; the tag beside it is only a name. */
        const char *what = ref.digest ? ref.digest : ref.tag;
        _cleanup_free_ char *top = NULL, *top_type = NULL;
        size_t top_len = 0;
        char top_digest[DIGEST_STRING_MAX];
        r = open_source(c, &ref, shown, what, &rp, &top, &top_len, &top_type, top_digest, err);
        if (r < 0)
                return r;
        _cleanup_dist_manifest_ struct dist_manifest m = {0};
        r = dist_manifest_parse(top, top_len, top_type, &m, err);
        if (r < 0)
                return stack_error_prefix(err, "%s", shown);
        _cleanup_free_ char *index = NULL, *mdata = NULL, *mtype = NULL;
        size_t index_len = 0, mlen = 0;
        char mdigest[DIGEST_STRING_MAX];
        if (m.kind == DIST_MANIFEST_INDEX) {
                const struct dist_descriptor *pick;
                r = dist_index_select(&m, &want, &pick, err);
                if (r < 0)
                        return stack_error_prefix(err, "%s", shown);
                _cleanup_free_ char *pick_digest = xstrdup(pick->digest);
                r = fetch_manifest(&rp, shown, pick_digest, &mdata, &mlen, &mtype, mdigest, err);
                if (r < 0)
                        return r;
                index = TAKE_PTR(top);
                index_len = top_len;
                dist_manifest_done(&m);
                r = dist_manifest_parse(mdata, mlen, mtype, &m, err);
                if (r < 0)
                        return stack_error_prefix(err, "%s", shown);
                if (m.kind != DIST_MANIFEST_IMAGE)
                        return stack_error_set(err, EPROTO, "%s: an index inside an index is not supported",
                                               shown);
        } else {
                mdata = TAKE_PTR(top);
                mlen = top_len;
                strcpy(mdigest, top_digest);
        }
        if (pull_unchanged(c, s, norm, mdigest, &m, ret))
                return 0;
        registry_progress(c, norm, "Pulling");
        _cleanup_free_ char *cdata = NULL;
        size_t clen = 0;
        r = fetch_small_blob(&rp, &m.config, DIST_MAX_CONFIG, &cdata, &clen, err);
        if (r < 0)
                return stack_error_prefix(err, "%s: config", shown);
        _cleanup_strv_free_ char **diffs = NULL;
        r = config_diff_ids(cdata, clen, m.n_layers, &diffs, err);
        if (r < 0)
                return stack_error_prefix(err, "%s", shown);
        for (size_t i = 0; i < m.n_layers; i++) {
                const char *mt = m.layers[i].media_type;
                if (mt && (strstr(mt, "nondistributable") || strstr(mt, "foreign")))
                        return stack_error_set(err, EOPNOTSUPP, "%s: foreign layer %s is not supported",
                                               shown, m.layers[i].digest);
        }
        r = check_space(s, &m, err);
        if (r < 0)
                return r;

        struct layer_job *jobs = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*jobs));
        for (size_t i = 0; i < m.n_layers; i++)
                jobs[i] = (struct layer_job){.rp = &rp, .s = s, .d = &m.layers[i], .diff_id = diffs[i]};
        r = pull_layers(jobs, m.n_layers, c->o.max_layers, err);
        if (r < 0) {
                layer_jobs_free(jobs, m.n_layers);
                return stack_error_prefix(err, "%s", shown);
        }
        struct image_pulled_layer *pl = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*pl));
        for (size_t i = 0; i < m.n_layers; i++)
                pl[i] = (struct image_pulled_layer){
                    .digest = m.layers[i].digest,
                    .diff_id = diffs[i],
                    .media_type = m.layers[i].media_type,
                    .size = (uint64_t) m.layers[i].size,
                    .unpacked = jobs[i].unpacked,
                    .blob_file = jobs[i].blob_file,
                    .layer_dir = jobs[i].layer_dir,
                };
        char cdigest[DIGEST_STRING_MAX];
        strcpy(cdigest, m.config.digest);
        struct image_pulled p = {
            .reference = norm,
            .repo_digest = top_digest,
            .index = index,
            .index_len = index_len,
            .manifest = mdata,
            .manifest_len = mlen,
            .manifest_digest = mdigest,
            .config = cdata,
            .config_len = clen,
            .config_digest = cdigest,
            .layers = pl,
            .n_layers = m.n_layers,
        };
        r = image_commit_pulled(s, &p, ret, err);
        free(pl);
        layer_jobs_free(jobs, m.n_layers);
        if (r < 0)
                return stack_error_prefix(err, "%s", shown);
        registry_progress(c, norm, "Pulled");
        return 0;
}
