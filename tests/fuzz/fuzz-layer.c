/* The layer unpacker on arbitrary bytes (plain, gzip or zstd tar): it must unpack or fail with a message,
 * never crash, leak, or create anything outside the directory it was given. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/image/layer.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "tests/fuzz/fuzz.h"

/* Caps what a small compressed input may expand to, so a decompression bomb costs the fuzzer nothing. */
#define MAX_OUTPUT (8u << 20)

struct capped {
        struct layer_source s;
        struct layer_source *inner;
        uint64_t total;
};

static ssize_t capped_read(struct layer_source *s, void *buf, size_t n, struct stack_error *err)
{
        struct capped *c = (struct capped *) s;
        ssize_t r = layer_source_read(c->inner, buf, n, err);
        if (r > 0 && (c->total += r) > MAX_OUTPUT)
                return stack_error_set(err, EFBIG, "fuzz: output cap reached");
        return r;
}

static void capped_free(struct layer_source *s)
{
        struct capped *c = (struct capped *) s;
        layer_source_free(c->inner);
        free(c);
}

static size_t count_entries(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        log_set_level(LOG_LEVEL_ERROR);
        char sandbox[] = "/tmp/fuzz-layer.XXXXXX";
        if (!mkdtemp(sandbox))
                abort();
        _cleanup_free_ char *layer = path_join(sandbox, "layer");
        if (mkdir(layer, 0755) < 0)
                abort();
        int fd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                abort();

        struct stack_error err = {0};
        struct layer_source *src = NULL;
        int r = layer_source_decompress(layer_source_memory(data, size, "fuzz"), &src, NULL, &err);
        if (r >= 0) {
                struct capped *c = xcalloc(1, sizeof(*c));
                c->inner = src;
                c->s = (struct layer_source){.read = capped_read, .free = capped_free, .name = "fuzz"};
                /* Whiteouts are 0:0 device nodes: only root may make them. Owners and foreign device
                 * nodes stay off so a fuzz input cannot plant a usable device. */
                unsigned flags = geteuid() == 0 ? LAYER_UNPACK_WHITEOUTS : 0;
                r = layer_unpack(&c->s, fd, flags, NULL, &err);
                layer_source_free(&c->s);
        }
        close(fd);
        /* Errors carry a message; success carries none. */
        if ((r < 0) != (err.msg != NULL))
                abort();
        stack_error_clear(&err);
        /* The only thing in the sandbox is the layer directory. */
        if (count_entries(sandbox) != 1)
                abort();
        if (rm_rf(sandbox, NULL) < 0)
                abort();
        return 0;
}
