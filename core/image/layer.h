/* Layer unpacking: byte sources (file, memory, digesting, decompressing), a tar reader of our own
 * (ustar, GNU long names and links, pax headers with SCHILY.xattr.*), and an unpacker that never writes
 * outside the directory it is given.
 *
 * Safety model of layer_unpack(): every entry name is checked lexically (no absolute names, no ".."
 * components), then its parent is opened from the layer root one component at a time with
 * O_NOFOLLOW, so a symlink planted by an earlier entry (pointing anywhere, inside or out) is never
 * written through: such an entry is refused with an error that names it. Hard-link targets go through
 * the same resolution and must already exist in this layer. Symlinks themselves are created verbatim
 * (creating one is harmless; following one is what we never do). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/digest.h"
#include "core/base/error.h"

/* A stream of bytes. read() returns the number of bytes read (> 0), 0 at the end, or a negative errno
 * with *err filled. Wrappers own the source they wrap: freeing the outermost frees the chain. */
struct layer_source {
        ssize_t (*read)(struct layer_source *s, void *buf, size_t n, struct stack_error *err);
        void (*free)(struct layer_source *s);
        const char *name; /* for messages: the file or blob being read */
};

void layer_source_free(struct layer_source *s);
static inline void layer_source_freep(struct layer_source **s)
{
        if (*s)
                layer_source_free(*s);
}
#define _cleanup_layer_source_ __attribute__((cleanup(layer_source_freep)))

ssize_t layer_source_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err);
/* Reads exactly n bytes; a short stream is an -EIO error ("unexpected end of ..."). */
int layer_source_read_full(struct layer_source *s, void *buf, size_t n, struct stack_error *err);
/* Reads and discards everything up to the end. */
int layer_source_drain(struct layer_source *s, struct stack_error *err);

/* Reads fd (taking ownership of it when own is true). name is copied. */
struct layer_source *layer_source_fd(int fd, bool own, const char *name);
/* Reads a caller-owned buffer that must outlive the source. */
struct layer_source *layer_source_memory(const void *data, size_t n, const char *name);
/* Passes inner through while hashing it into *d (initialized by the caller, size counted in d->size)
 * and, when tee_fd >= 0, writing a copy to tee_fd (not owned). */
struct layer_source *layer_source_digest(struct layer_source *inner, struct digest *d, int tee_fd);

enum layer_compression {
        LAYER_COMPRESSION_NONE,
        LAYER_COMPRESSION_GZIP,
        LAYER_COMPRESSION_ZSTD,
};
/* Detects gzip or zstd by their magic numbers and decompresses; anything else passes through. */
int layer_source_decompress(struct layer_source *inner, struct layer_source **ret,
                            enum layer_compression *ret_compression, struct stack_error *err);
const char *layer_compression_name(enum layer_compression c);

/* Tar reading. */
enum tar_type {
        TAR_FILE,
        TAR_HARDLINK,
        TAR_SYMLINK,
        TAR_CHAR,
        TAR_BLOCK,
        TAR_DIR,
        TAR_FIFO,
};

struct tar_xattr {
        char *name;
        char *value; /* binary; NUL-terminated for convenience */
        size_t len;
};

struct tar_entry {
        char *path;     /* as in the archive */
        char *linkpath; /* hard link or symlink target */
        enum tar_type type;
        mode_t mode; /* permission bits incl. setuid/setgid/sticky */
        uid_t uid;
        gid_t gid;
        uint64_t size; /* data bytes (regular files only) */
        int64_t mtime_sec;
        long mtime_nsec;
        unsigned devmajor, devminor;
        struct tar_xattr *xattrs;
        size_t n_xattrs;
};

struct tar_reader;
/* The reader does not own src. */
struct tar_reader *tar_reader_new(struct layer_source *src);
void tar_reader_free(struct tar_reader *t);
/* Advances to the next entry (skipping what is left of the current one): 1 with *ret set (valid until
 * the next call), 0 at the end of the archive, negative errno on a malformed archive. */
int tar_reader_next(struct tar_reader *t, const struct tar_entry **ret, struct stack_error *err);
/* Reads the current entry's data; 0 at its end. */
ssize_t tar_reader_read(struct tar_reader *t, void *buf, size_t n, struct stack_error *err);

static inline void tar_reader_freep(struct tar_reader **t)
{
        if (*t)
                tar_reader_free(*t);
}
#define _cleanup_tar_reader_ __attribute__((cleanup(tar_reader_freep)))

/* Unpacking. */
enum {
        /* Image layer semantics: ".wh.NAME" becomes an overlayfs whiteout (0:0 character device) and
         * ".wh..wh..opq" marks its directory opaque (trusted.overlay.opaque=y). Without it, entries are
         * written as named (used for the outer tar of an OCI or docker-save archive). */
        LAYER_UNPACK_WHITEOUTS = 1 << 0,
        /* Apply owners, xattrs and create device nodes (needs root). Without it, files belong to the
         * caller, device nodes and xattrs are skipped. */
        LAYER_UNPACK_OWNERSHIP = 1 << 1,
};
#define LAYER_UNPACK_IMAGE (LAYER_UNPACK_WHITEOUTS | LAYER_UNPACK_OWNERSHIP)

struct layer_stats {
        uint64_t entries;
        uint64_t bytes; /* regular file data written */
};

/* Unpacks the tar stream src into the directory root_fd. Stops at the end of the archive and then
 * drains src, so a digesting source underneath sees every byte. Errors name the offending entry:
 * "entry 'a/../../etc/passwd': path contains '..'". */
/* The bytes of the regular files under path (an unpacked layer's size). Safe from several threads. */
uint64_t layer_dir_size(const char *path);

int layer_unpack(struct layer_source *src, int root_fd, unsigned flags, struct layer_stats *ret_stats,
                 struct stack_error *err);

/* Opens path below root_fd without ever leaving it (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS; where
 * the kernel lacks openat2, symlinks are refused instead). Returns an fd or a negative errno. */
int layer_open_in_root(int root_fd, const char *path, int flags);
