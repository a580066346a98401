/* memtrim: the clean pages of a read-only private file mapping leave the RSS and come back intact on the
 * next read; pages written before the mapping became read-only (as the loader does to RELRO data) and
 * writable memory are never dropped. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/memtrim.h"
#include "tests/unit/tap.h"

#define SIZE (256 * 1024)

/* Resident KiB of the mapping that starts at p, from /proc/self/smaps; -1 if not found. */
static long rss_kb(const void *p)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool in = false;
        while (f && fgets(line, sizeof(line), f)) {
                unsigned long start;
                long kb;
                /* Mapping headers start with the lowercase hex address; field lines with a capital. */
                if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
                        in = sscanf(line, "%lx-", &start) == 1 && start == (unsigned long) p;
                } else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1) {
                        return kb;
                }
        }
        return -1;
}

static long sum(const unsigned char *p, size_t n)
{
        long s = 0;
        for (size_t i = 0; i < n; i += 512)
                s += p[i];
        return s;
}

int main(void)
{
        char path[] = "/tmp/test-memtrim.XXXXXX";
        int fd = mkstemp(path);
        _cleanup_free_ unsigned char *data = malloc(SIZE);
        for (size_t i = 0; i < SIZE; i++)
                data[i] = (unsigned char) (i * 13 + 7);
        ok(fd >= 0 && write(fd, data, SIZE) == SIZE, "a 256 KiB file");
        unlink(path);

        unsigned char *ro = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
        /* Like RELRO: a private file mapping written once, then made read-only. */
        unsigned char *relro = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        /* Writable private file mapping, written to. */
        unsigned char *rw = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        ok(ro != MAP_FAILED && relro != MAP_FAILED && rw != MAP_FAILED,
           "three private mappings of the file");
        long want = sum(data, SIZE);
        is_int(sum(ro, SIZE), want, "the read-only mapping reads the file");
        relro[0] = 1;
        relro[SIZE - 1] = 2;
        ok(mprotect(relro, SIZE, PROT_READ) == 0, "written mapping made read-only");
        rw[4096] = 3;
        is_int(rss_kb(ro), SIZE / 1024, "the read mapping is resident");

        long released = memtrim_file_mappings();
        ok(released >= SIZE, "released %ld bytes, at least the read mapping's", released);
        is_int(rss_kb(ro), 0, "the read-only mapping holds no page afterwards");
        is_int(sum(ro, SIZE), want, "and reads the same bytes again");
        ok(memcmp(ro, data, SIZE) == 0, "byte for byte");
        ok(relro[0] == 1 && relro[SIZE - 1] == 2, "copied-on-write pages of a read-only mapping are kept");
        ok(rss_kb(relro) > 0, "that mapping was left alone");
        ok(rw[4096] == 3 && rw[0] == data[0], "a writable mapping keeps what was written");
        ok(data[1] == (unsigned char) 20, "heap memory is untouched");

        munmap(ro, SIZE);
        munmap(relro, SIZE);
        munmap(rw, SIZE);
        close(fd);
        return done_testing();
}
