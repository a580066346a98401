/* SHA-256: the FIPS 180-4 / NIST known answers, every split of a stream giving the one-shot result, the
 * padding boundaries, and (when sha256sum is installed) agreement with coreutils on random files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/sha256.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

static const char *hex_of(const void *data, size_t n)
{
        static char hex[2 * SHA256_DIGEST_SIZE + 1];
        uint8_t md[SHA256_DIGEST_SIZE];
        sha256(data, n, md);
        sha256_hex(md, hex);
        return hex;
}

static const char *hex_streamed(const void *data, size_t n, size_t chunk)
{
        static char hex[2 * SHA256_DIGEST_SIZE + 1];
        uint8_t md[SHA256_DIGEST_SIZE];
        struct sha256 s;
        sha256_init(&s);
        for (size_t off = 0; off < n; off += chunk)
                sha256_update(&s, (const uint8_t *) data + off, n - off < chunk ? n - off : chunk);
        sha256_final(&s, md);
        sha256_hex(md, hex);
        return hex;
}

static void known_answers(void)
{
        /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the long-message vector of FIPS 180-2 B.3. */
        is_str(hex_of("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "empty message");
        is_str(hex_of(NULL, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "empty message given as NULL");
        is_str(hex_of("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "\"abc\"");
        const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        is_int(strlen(m448) * 8, 448, "the two-block message has 448 bits");
        is_str(hex_of(m448, strlen(m448)),
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit message");
        const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                           "klmnopqrlmnopqrs"
                           "mnopqrstnopqrstu";
        is_int(strlen(m896) * 8, 896, "the long message has 896 bits");
        is_str(hex_of(m896, strlen(m896)),
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896-bit message");

        /* One million 'a', fed in odd sizes that straddle block boundaries in every way. */
        static const size_t chunks[] = {1, 3, 63, 65, 127, 1000, 4099};
        _cleanup_free_ char *million = xmalloc(1000000);
        memset(million, 'a', 1000000);
        for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
                is_str(hex_streamed(million, 1000000, chunks[i]),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
                       "one million 'a' streamed in chunks of %zu bytes", chunks[i]);
        is_str(hex_of(million, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "one million 'a' in one call");
}

/* Messages of 0..200 bytes cover every padding case: the length fitting in the last block (fill <= 55) and
 * not (56..63), at one, two and three blocks. Each is hashed one-shot and byte by byte; both must agree, and
 * a few fixed lengths must match answers computed with coreutils' sha256sum. */
static void padding_boundaries(void)
{
        uint8_t msg[200];
        for (size_t i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t) (i * 7 + 1);
        int mismatches = 0;
        for (size_t n = 0; n <= sizeof(msg); n++) {
                char one[2 * SHA256_DIGEST_SIZE + 1];
                snprintf(one, sizeof(one), "%s", hex_of(msg, n));
                if (strcmp(one, hex_streamed(msg, n, 1)) != 0)
                        mismatches++;
        }
        is_int(mismatches, 0, "lengths 0..200: byte-by-byte streaming equals one-shot");

        /* printf '%s' 55/56/64 'a's | sha256sum */
        char a[64];
        memset(a, 'a', sizeof(a));
        is_str(hex_of(a, 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
               "55 bytes: length fits in the first block");
        is_str(hex_of(a, 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
               "56 bytes: padding spills into a second block");
        is_str(hex_of(a, 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
               "64 bytes: one whole block, padding alone in the second");
}

/* Random files of awkward sizes against sha256sum, streamed in 4 KiB + 1 pieces. */
static void against_sha256sum(void)
{
        if (system("command -v sha256sum >/dev/null 2>&1") != 0) {
                ok(true, "# SKIP sha256sum is not installed");
                return;
        }
        static const size_t sizes[] = {1, 4097, 65536, 1048576 + 13};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                char path[] = "/tmp/test-sha256.XXXXXX";
                int fd = mkstemp(path);
                _cleanup_free_ uint8_t *data = xmalloc(sizes[i]);
                for (size_t j = 0; j < sizes[i]; j++)
                        data[j] = (uint8_t) random();
                ok(fd >= 0 && write(fd, data, sizes[i]) == (ssize_t) sizes[i], "random file of %zu bytes",
                   sizes[i]);
                close(fd);

                char cmd[128], want[2 * SHA256_DIGEST_SIZE + 1] = "";
                snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
                FILE *f = popen(cmd, "r");
                if (f) {
                        if (fscanf(f, "%64s", want) != 1)
                                want[0] = 0;
                        pclose(f);
                }
                unlink(path);
                is_str(hex_streamed(data, sizes[i], 4097), want,
                       "%zu random bytes: same digest as sha256sum", sizes[i]);
        }
}

int main(void)
{
        srandom(getpid());
        /* Both compressions: the CPU's SHA extensions where it has them, and the portable C. */
        for (int portable = 0; portable <= 1; portable++) {
                diag("%s", portable ? "portable C" : "the CPU's SHA extensions, where present");
                sha256_force_portable(portable);
                known_answers();
                padding_boundaries();
                against_sha256sum();
        }
        return done_testing();
}
