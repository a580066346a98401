/* Replays a fuzz target's saved corpus as a TAP test: one `ok` per input file, in name order.
 *
 * The target is named by the program: replay-<target> reads $STACK_SRCDIR/tests/fuzz/corpus/<target>/.
 * A crash, a sanitizer report or a leak ends the program, and the test driver reports the missing results
 * as a failure; the last "# input" line says which file did it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "tests/fuzz/fuzz.h"

static int is_input(const struct dirent *d)
{
        return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
        const char *prog = argc > 0 ? path_basename(argv[0]) : "";
        const char *t = startswith(prog, "lt-");
        prog = t ? t : prog;
        const char *target = startswith(prog, "replay-");
        if (!target || !*target) {
                fprintf(stderr, "%s: cannot tell the fuzz target from the program name\n", prog);
                return EXIT_FAILURE;
        }
        const char *srcdir = getenv("STACK_SRCDIR");
        if (isempty(srcdir))
                srcdir = STACK_SRCDIR;
        _cleanup_free_ char *dir = xasprintf("%s/tests/fuzz/corpus/%s", srcdir, target);

        struct dirent **entries = NULL;
        int n = scandir(dir, &entries, is_input, alphasort);
        if (n < 0) {
                printf("1..0 # SKIP no corpus at %s: %s\n", dir, strerror(errno));
                return EXIT_SUCCESS;
        }
        int failed = 0, count = 0;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = path_join(dir, entries[i]->d_name);
                if (!path_is_dir(path)) {
                        _cleanup_free_ char *data = NULL;
                        size_t len = 0;
                        _cleanup_error_ struct stack_error err = {0};
                        printf("# input %s\n", path);
                        fflush(stdout);
                        if (read_full_file(path, &data, &len, &err) < 0) {
                                printf("not ok %d - %s: %s\n", ++count, entries[i]->d_name, err.msg);
                                failed++;
                        } else {
                                LLVMFuzzerTestOneInput((const uint8_t *) data, len);
                                printf("ok %d - %s\n", ++count, entries[i]->d_name);
                        }
                        fflush(stdout);
                }
                free(entries[i]);
        }
        free(entries);
        printf("1..%d\n", count);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
