/* The image store: content-addressed blobs and unpacked layers under <root>/images.
 *
 * Other layers only need this view of an image: its identity, its config (the defaults compose keys
 * override) and its unpacked layer directories, lowest first, ready to be an overlay's lowerdirs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/digest.h"
#include "core/base/error.h"
#include "spec/model.h"

struct image_config {
        char **env;        /* "KEY=VALUE" */
        char **entrypoint; /* NULL: none */
        char **cmd;        /* NULL: none */
        char *working_dir;
        char *user;
        char **exposed_ports;                 /* "80/tcp" */
        struct stack_healthcheck healthcheck; /* present=false when the image has none */
        char *stop_signal;
        struct stack_kvlist labels;
};

struct image {
        char *reference; /* normalized: docker.io/library/busybox:latest */
        char *id;        /* sha256:<hex> of the config blob (what docker calls the image ID) */
        char *digest;    /* sha256:<hex> of the manifest, when known */
        struct image_config config;
        char **layers; /* absolute paths of unpacked layer directories, lowest first */
        uint64_t size;
        /* Added by the image store: */
        char **references;   /* every normalized reference that names this image, sorted */
        char **repo_digests; /* "docker.io/library/busybox@sha256:<manifest>" (OCI imports) */
        char **diff_ids;     /* uncompressed layer digests, lowest first (parallel to layers) */
        char *created;       /* the config's "created", RFC 3339, or NULL */
        char *architecture;
        char *os;
};

struct image_store;

/* The host's architecture as OCI and Go spell it (amd64, arm64, arm, 386; else uname's machine). */
const char *image_go_arch(void);

int image_store_open(const char *root, struct image_store **ret, struct stack_error *err);
/* For commands that only read (images, up --dry-run): creates nothing under root, and a store that does not
 * exist yet is an empty one. Writing to it fails. */
int image_store_open_readonly(const char *root, struct image_store **ret, struct stack_error *err);
void image_store_free(struct image_store *s);
/* Finds an image by reference, by ID or by a unique ID prefix. -ENOENT when absent. */
int image_lookup(struct image_store *s, const char *ref, struct image **ret, struct stack_error *err);
void image_free(struct image *img);
void image_config_free(struct image_config *c);

/* Store layout, under <root>/images:
 *   blobs/sha256/<hex>      manifests, configs and layer blobs as imported, content-addressed
 *   layers/<diffid-hex>/    one unpacked layer (overlayfs whiteouts), shared by every image using it;
 *                           keyed by the uncompressed digest because with one overlay lowerdir per layer
 *                           the directory's content depends on that layer alone
 *   images/<config-hex>.json  one record per image: manifest digest, layers, sizes
 *   refs.json               normalized reference -> image id
 *   lock                    flock()ed exclusively by writers (import, tag, rm); readers need no lock
 *                           because every file is replaced atomically
 *   tmp/                    staging for imports; emptied by the next writer after a crash
 * An import stages every blob and layer under tmp/ and renames them into place only once all of them
 * are verified, then writes the record and finally the reference: a failed or interrupted import leaves
 * no record and no reference behind. */

/* Imports an OCI image layout directory, an OCI archive (tar of a layout), a `docker save` archive (or
 * its unpacked directory) or a plain rootfs tarball (gzip, zstd or uncompressed). ref (may be NULL)
 * names the image; it is required for a rootfs tarball and, for a layout or archive holding several
 * images, selects the one whose annotated name matches. Returns the imported images (NULL-terminated)
 * with their references filled. */
int image_import(struct image_store *s, const char *path, const char *ref, struct image ***ret,
                 struct stack_error *err);
/* Points ref at the image with this id (the reference moves if it named another image). */
int image_tag(struct image_store *s, const char *id, const char *ref, struct stack_error *err);
/* Every image in the store, sorted by first reference (untagged images last), NULL-terminated. */
int image_list(struct image_store *s, struct image ***ret, struct stack_error *err);
void image_list_free(struct image **l);

/* Who uses an image: returns 1 and the user's name (e.g. a container) in *ret_user when image_id is in
 * use, 0 when not, negative errno on failure. */
typedef int (*image_in_use_fn)(const char *image_id, char **ret_user, void *userdata);

struct image_remove_options {
        bool force; /* remove every reference of an image named by id; untag even when in use */
        /* Built-in check: the image is in use while a container record names it, i.e. a file
         * <run_root>/containers/<name>/image-id holding the id, or a record
         * <root>/projects/<p>/containers/<name>.json whose "image_id" is the id. NULL run_root: only
         * the project records are consulted. */
        const char *run_root;
        /* Optional extra check (the reconciler may install one that asks the supervisor). */
        image_in_use_fn in_use;
        void *userdata;
};

/* `image rm`: a reference is untagged; the image itself is deleted (record, then blobs and layers no
 * other image uses) once no reference is left, or at once when named by id. Refuses with -EBUSY while
 * the image is in use. Returns the untagged references and the deleted id (NULL when only untagged). */
int image_remove(struct image_store *s, const char *ref, const struct image_remove_options *o,
                 char ***ret_untagged, char **ret_deleted, struct stack_error *err);

/* The `image inspect` document for an image (a JSON object, docker's field names), pretty-printed. */
char *image_inspect_json(struct image_store *s, const struct image *img);

/* The directory of the store (<root>/images). */
const char *image_store_path(const struct image_store *s);

static inline void image_freep(struct image **i)
{
        if (*i)
                image_free(*i);
}
static inline void image_store_freep(struct image_store **s)
{
        if (*s)
                image_store_free(*s);
}
#define _cleanup_image_ __attribute__((cleanup(image_freep)))
#define _cleanup_image_store_ __attribute__((cleanup(image_store_freep)))

/* ---- Committing built images (the builder's view of the store) ---- */

/* A layer as a manifest lists it. */
struct image_layer_ref {
        char diff_id[DIGEST_STRING_MAX];
        char digest[DIGEST_STRING_MAX];
        uint64_t size;     /* of the blob */
        uint64_t unpacked; /* bytes of file data in the unpacked directory */
};

/* The layers of a stored image, lowest first. */
int image_layer_refs(struct image_store *s, const char *id, struct image_layer_ref **ret, size_t *ret_n,
                     struct stack_error *err);
/* The unpacked directory of a layer (which may not exist: a layer the store no longer holds). */
char *image_layer_dir(const struct image_store *s, const char *diff_id);
/* Whether the blob and the unpacked directory of a layer are both in the store. */
bool image_layer_present(const struct image_store *s, const struct image_layer_ref *l);
/* The config blob of a stored image as text (what the image ID is the digest of). */
int image_config_text(struct image_store *s, const char *id, char **ret, struct stack_error *err);
/* Adds an uncompressed layer tar (OCI whiteouts) to the store: its blob and its unpacked directory. Layers
 * added this way belong to no image until image_commit_built() names them; until then the store's garbage
 * collection may remove them, which callers notice through image_layer_present(). */
int image_add_layer(struct image_store *s, const char *tar_path, struct image_layer_ref *ret,
                    struct stack_error *err);
/* Stores an image made of layers already in the store and a config (an image config object whose rootfs
 * is filled in here), generates its manifest and points every reference in refs at it. */
int image_commit_built(struct image_store *s, const struct image_layer_ref *layers, size_t n_layers,
                       const char *config_json, char *const *refs, char **ret_id, struct stack_error *err);

/* ---- images from registries ---- */

/* A pulled layer: its blob and unpacked directory, either already in the store or staged by the puller
 * (renamed into the store by image_commit_pulled). */
struct image_pulled_layer {
        const char *digest;     /* compressed blob, as in the manifest */
        const char *diff_id;    /* uncompressed, as in the config */
        const char *media_type; /* the manifest's */
        uint64_t size;
        uint64_t unpacked;     /* bytes of regular files */
        const char *blob_file; /* staged blob, NULL when the store has it */
        const char *layer_dir; /* staged directory, NULL when the store has it */
};

struct image_pulled {
        const char *reference;   /* normalized; becomes the image's name */
        const char *repo_digest; /* digest the reference resolved to (index or manifest) */
        const void *index;       /* the index's bytes when the reference named one, else NULL */
        size_t index_len;
        const void *manifest; /* the manifest's bytes (digest verified by the puller) */
        size_t manifest_len;
        const char *manifest_digest;
        const void *config;
        size_t config_len;
        const char *config_digest;
        const struct image_pulled_layer *layers;
        size_t n_layers;
};

/* Where a pull stages its blobs and layers: <store>/pulls, outside tmp/ because a partial download is
 * kept there for a later pull to resume, and tmp/ is emptied by every writer. */
char *image_store_pulls_path(const struct image_store *s);
/* Whether the store already holds this blob; with diff_id, also its unpacked layer. */
bool image_store_has_blob(const struct image_store *s, const char *digest, const char *diff_id);
/* Path of a stored blob (whether or not it exists). */
char *image_store_blob_path(const struct image_store *s, const char *digest);
/* Moves a pull's staged pieces into the store and writes the image's record and reference, under the
 * store's lock, in the same order as an import: a crash leaves no reference to anything incomplete. */
int image_commit_pulled(struct image_store *s, const struct image_pulled *p, struct image **ret,
                        struct stack_error *err);
/* Records that reference was just pulled, its content unchanged (nothing else is written). */
int image_note_pulled(struct image_store *s, const char *reference, struct stack_error *err);
/* When reference was last pulled (realtime µs), 0 if never. */
uint64_t image_pull_time(struct image_store *s, const char *reference);
