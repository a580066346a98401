/* sha256 digests: known vectors, streaming equals one-shot, validation of digest strings. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

#define EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

int main(void)
{
        char d[DIGEST_STRING_MAX];
        digest_data("", 0, d);
        is_str(d, EMPTY, "sha256 of nothing");
        digest_data("abc", 3, d);
        is_str(d, ABC, "sha256 of \"abc\"");

        /* Streaming a million 'a's in odd-sized pieces gives the FIPS 180-2 vector. */
        struct digest s;
        ok(digest_init(&s, NULL) == 0, "digest_init");
        char chunk[777];
        memset(chunk, 'a', sizeof(chunk));
        size_t left = 1000000;
        while (left > 0) {
                size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
                digest_update(&s, chunk, n);
                left -= n;
        }
        digest_final(&s, d);
        is_int(s.size, 1000000, "streaming counts the bytes");
        digest_done(&s);
        is_str(d, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "streamed digest of 1e6 'a' matches the standard vector");

        char tmpl[] = "/tmp/test-digest.XXXXXX";
        int fd = mkstemp(tmpl);
        ok(fd >= 0 && write(fd, "abc", 3) == 3, "temp file");
        close(fd);
        uint64_t size = 0;
        ok(digest_file(tmpl, d, &size, NULL) == 0, "digest_file");
        is_str(d, ABC, "digest_file matches digest_data");
        is_int(size, 3, "digest_file reports the size");
        unlink(tmpl);
        struct stack_error err = {0};
        ok(digest_file("/nonexistent/x", d, NULL, &err) < 0, "digest_file of a missing file fails");
        contains(err.msg, "/nonexistent/x", "the error names the file");
        stack_error_clear(&err);

        ok(digest_is_valid(ABC), "valid digest");
        ok(!digest_is_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
           "uppercase hex is refused");
        ok(!digest_is_valid("sha256:abc"), "short hex is refused");
        ok(!digest_is_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
           "other algorithms are refused");
        ok(!digest_is_valid(NULL), "NULL is not a digest");
        is_str(digest_hex(ABC), ABC + 7, "digest_hex skips the algorithm");
        ok(digest_hex("sha256:../../etc/passwd") == NULL, "digest_hex refuses a path");
        return done_testing();
}
