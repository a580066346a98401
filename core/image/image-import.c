/* Importing archives into the image store: OCI image layouts, `docker save` output and plain rootfs
 * tarballs, as directories or tar files. */
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
        r = read_layout_json(root_fd, dirname, cdigest, (int64_t) json_get_num(config, "size", -1), &cdata,
                             &clen, err);
        if (r < 0)
                return stack_error_prefix(err, "manifest %s: config", mdigest);
        _cleanup_strv_free_ char **diffs = NULL;
        r = import_ctx_take_config(c, cdata, clen, cdigest, &diffs, err);
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
                r = import_ctx_layer(c, fd, ld, ld, (int64_t) json_get_num(l, "size", -1), diffs[i], mt,
                                     &pl[i], err);
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
        r = import_ctx_stage_bytes(c, mdata, mlen, mdigest, err);
        if (r < 0) {
                for (size_t j = 0; j < n; j++)
                        free(pl[j].media_type);
                free(pl);
                return r;
        }
        struct pending_image *p = import_ctx_new_image(c);
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
               streq_ptr(json_get_str(pl, "architecture"), image_go_arch());
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
                        int r = read_layout_json(root_fd, dirname, dg, (int64_t) json_get_num(d, "size", -1),
                                                 &data, &len, err);
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
                    .size = (int64_t) json_get_num(d, "size", -1),
                    .name = annotated_name(named),
                    .tagname = json_get_str(ann, ANNOTATION_REF_NAME)
                                   ? xstrdup(json_get_str(ann, ANNOTATION_REF_NAME))
                                   : NULL,
                };
        }
        return 0;
}

/* Opens an unpacked archive's directory and parses its top-level JSON file (index.json, manifest.json). */
static int read_top_json(const char *dir, const char *name, int *ret_root_fd, cJSON **ret,
                         struct stack_error *err)
{
        _cleanup_close_ int root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return stack_error_errno(err, errno, "%s", dir);
        _cleanup_close_ int fd = -1;
        int r = open_blob_in(root_fd, dir, name, &fd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *data = NULL;
        size_t len;
        r = read_verified(fd, name, NULL, -1, &data, &len, NULL, err);
        if (r < 0)
                return r;
        *ret = cJSON_ParseWithLength(data, len);
        *ret_root_fd = TAKE_FD(root_fd);
        return 0;
}

static int import_oci_layout(struct import_ctx *c, const char *dir, struct stack_error *err)
{
        _cleanup_close_ int root_fd = -1;
        _cleanup_json_ cJSON *index = NULL;
        int r = read_top_json(dir, "index.json", &root_fd, &index, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(index))
                return stack_error_set(err, EINVAL, "%s/index.json: not a JSON object", dir);

        struct manifest_choice *l = NULL;
        size_t n = 0, cap = 0;
        r = collect_manifests(root_fd, dir, index, 0, NULL, &l, &n, &cap, err);
        size_t chosen = SIZE_MAX;
        if (r >= 0 && n == 0)
                r = stack_error_set(err, ENOENT, "%s: no image for linux/%s", dir, image_go_arch());
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

static int import_docker_save(struct import_ctx *c, const char *dir, struct stack_error *err)
{
        _cleanup_close_ int root_fd = -1;
        _cleanup_json_ cJSON *m = NULL;
        int r = read_top_json(dir, "manifest.json", &root_fd, &m, err);
        if (r < 0)
                return r;
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
                r = import_ctx_take_config(c, cdata, clen, cdigest, &diffs, err);
                if (r < 0)
                        return r;
                _cleanup_strv_free_ char **lnames = json_get_strv(e, "Layers");
                if (strv_length(lnames) != strv_length(diffs))
                        return stack_error_set(err, EINVAL,
                                               "%s: %zu layers but the config lists %zu diff_ids", cfgname,
                                               strv_length(lnames), strv_length(diffs));
                size_t n = strv_length(lnames);
                struct pending_image *p = import_ctx_new_image(c);
                p->layers = xcalloc(n ? n : 1, sizeof(*p->layers));
                strcpy(p->id, cdigest);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_close_ int lfd = -1;
                        r = open_blob_in(root_fd, dir, lnames[i], &lfd, err);
                        if (r < 0)
                                return r;
                        r = import_ctx_layer(c, lfd, lnames[i], NULL, -1, diffs[i], NULL, &p->layers[i],
                                             err);
                        if (r < 0)
                                return r;
                        p->n_layers++;
                }
                r = import_ctx_stage_manifest(c, p, clen, err);
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
        int r = import_ctx_layer(c, fd, path, NULL, -1, NULL, NULL, &layer, err);
        if (r < 0)
                return r;
        struct pending_image *p = import_ctx_new_image(c);
        p->layers = xcalloc(1, sizeof(*p->layers));
        p->layers[0] = layer;
        p->n_layers = 1;

        /* Deterministic (no timestamp): the same tarball gives the same image id. */
        _cleanup_json_ cJSON *cfg = cJSON_CreateObject();
        cJSON_AddStringToObject(cfg, "architecture", image_go_arch());
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
        r = import_ctx_stage_bytes(c, text, strlen(text), p->id, err);
        if (r < 0)
                return r;
        r = import_ctx_stage_manifest(c, p, strlen(text), err);
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
        _cleanup_free_ char *dir = import_ctx_tmp_name(c, "archive");
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
        int r = image_store_lock(s, err);
        if (r < 0)
                return r;
        _cleanup_(import_ctx_done) struct import_ctx c = {0};
        r = import_ctx_begin(s, &c, err);
        if (r < 0)
                return r;
        c.want_ref = want;

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
        r = import_ctx_commit(&c, err);
        if (r < 0)
                return stack_error_prefix(err, "import %s", path);

        _cleanup_json_ cJSON *refs = NULL;
        r = image_refs_load(s, &refs, err);
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
