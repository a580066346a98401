#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/base/cleanup.h"
#include "core/base/memtrim.h"

struct mapping {
        uintptr_t start, end;
        bool candidate; /* read-only, private, backed by a file */
        long rss_kb;
};

/* "start-end perms offset dev inode [path]" opens each mapping's block in smaps. */
static bool parse_header(const char *line, struct mapping *ret)
{
        uintptr_t start, end;
        char perms[5];
        unsigned long inode;
        /* Field lines ("Anonymous:", "FilePmdMapped:") can start with a hex letter: parse into locals. */
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*x %*x:%*x %lu", &start, &end, perms, &inode) != 4)
                return false;
        *ret = (struct mapping){
            .start = start,
            .end = end,
            .candidate = inode != 0 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p',
        };
        return true;
}

long memtrim_file_mappings(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
        if (!f)
                return -errno;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        struct mapping m = {0};
        long released_kb = 0;
        while (getline(&line, &cap, f) > 0) {
                if (parse_header(line, &m))
                        continue;
                long kb;
                if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
                        m.rss_kb = kb;
                } else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1) {
                        /* Anonymous pages in a private file mapping are copies written to (relocations):
                         * dropping them would bring back the file's bytes, so such a mapping is kept. */
                        if (m.candidate && kb == 0 && m.rss_kb > 0 &&
                            madvise((void *) m.start, m.end - m.start, MADV_DONTNEED) == 0)
                                released_kb += m.rss_kb;
                        m.candidate = false;
                }
        }
        return released_kb * 1024;
}
