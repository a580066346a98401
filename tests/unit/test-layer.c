/* The tar reader and the layer unpacker: formats (ustar, GNU long names, pax), compression, metadata,
 * whiteouts, and one crafted archive per path attack (.., absolute names, symlink escape, hard link out). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/image/layer.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

/* ---- a tiny tar writer for crafted archives ---- */

static void octal(char *f, size_t len, uint64_t v)
{
        snprintf(f, len, "%0*llo", (int) len - 1, (unsigned long long) v);
}

static void header(struct strbuf *b, const char *name, char type, const char *link, uint64_t size,
                   mode_t mode, bool gnu)
{
        char h[512] = {0};
        strncpy(h, name, 100);
        octal(h + 100, 8, mode);
        octal(h + 108, 8, 0);
        octal(h + 116, 8, 0);
        octal(h + 124, 12, size);
        octal(h + 136, 12, 1700000000);
        h[156] = type;
        if (link)
                strncpy(h + 157, link, 100);
        if (gnu)
                memcpy(h + 257, "ustar  \0", 8);
        else
                memcpy(h + 257,
                       "ustar\0"
                       "00",
                       8);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        strbuf_add(b, h, 512);
}

static void data(struct strbuf *b, const void *d, size_t n)
{
        strbuf_add(b, d, n);
        static const char zero[512];
        if (n % 512)
                strbuf_add(b, zero, 512 - n % 512);
}

static void add_file(struct strbuf *b, const char *name, const char *content, mode_t mode)
{
        header(b, name, '0', NULL, strlen(content), mode, false);
        data(b, content, strlen(content));
}

static void add(struct strbuf *b, const char *name, char type, const char *link)
{
        header(b, name, type, link, 0, type == '5' ? 0755 : 0644, false);
}

static void add_gnu_longname(struct strbuf *b, const char *name)
{
        header(b, "././@LongLink", 'L', NULL, strlen(name) + 1, 0644, true);
        data(b, name, strlen(name) + 1);
}

static void finish(struct strbuf *b)
{
        static const char zero[1024];
        strbuf_add(b, zero, sizeof(zero));
}

/* "%d key=value\n" with the length counting itself. */
static char *pax_record(const char *key, const char *value, size_t vlen)
{
        size_t base = strlen(key) + vlen + 3;
        size_t len = base + 1;
        while (len != base + snprintf(NULL, 0, "%zu", len))
                len = base + snprintf(NULL, 0, "%zu", len);
        char *r = xmalloc(len + 1);
        int k = snprintf(r, len + 1, "%zu %s=", len, key);
        memcpy(r + k, value, vlen);
        r[len - 1] = '\n';
        r[len] = 0;
        return r;
}

/* ---- helpers ---- */

static char *tmpdir(void)
{
        char *t = xstrdup("/tmp/test-layer.XXXXXX");
        if (!mkdtemp(t))
                abort();
        return t;
}

static int unpack_buf(const char *dir, const void *buf, size_t len, unsigned flags, struct stack_error *err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY);
        _cleanup_layer_source_ struct layer_source *src = NULL;
        int r = layer_source_decompress(layer_source_memory(buf, len, "test.tar"), &src, NULL, err);
        if (r < 0)
                return r;
        return layer_unpack(src, fd, flags, NULL, err);
}

/* Unpacks b into a fresh directory inside a sandbox directory and expects a refusal naming entry. The
 * sandbox lets us check that nothing appeared next to the layer either. */
static void attack(const char *what, struct strbuf *b, const char *entry, const char *why)
{
        _cleanup_free_ char *sandbox = tmpdir();
        _cleanup_free_ char *layer = path_join(sandbox, "a/b/layer");
        mkdir_p(layer, 0755, NULL);
        struct stack_error err = {0};
        int r = unpack_buf(layer, b->buf, b->len, LAYER_UNPACK_WHITEOUTS, &err);
        ok(r < 0, "%s: refused", what);
        _cleanup_free_ char *quoted = xasprintf("entry '%s'", entry);
        contains(err.msg, quoted, "%s: the error names the entry", what);
        contains(err.msg, why, "%s: the error says why", what);
        _cleanup_free_ char *evil1 = path_join(sandbox, "evil");
        _cleanup_free_ char *evil2 = path_join(sandbox, "a/evil");
        _cleanup_free_ char *evil3 = path_join(sandbox, "a/b/evil");
        ok(!path_exists(evil1) && !path_exists(evil2) && !path_exists(evil3),
           "%s: nothing was written outside the layer", what);
        stack_error_clear(&err);
        rm_rf(sandbox, NULL);
        strbuf_free(b);
}

static char *slurp(const char *dir, const char *rel)
{
        _cleanup_free_ char *p = path_join(dir, rel);
        char *d = NULL;
        if (read_full_file(p, &d, NULL, NULL) < 0)
                return NULL;
        return d;
}

static void test_attacks(void)
{
        struct strbuf b = {0};
        add_file(&b, "../evil", "x", 0644);
        finish(&b);
        attack("dot-dot", &b, "../evil", "'..'");

        add_file(&b, "ok/../../evil", "x", 0644);
        finish(&b);
        attack("dot-dot in the middle", &b, "ok/../../evil", "'..'");

        add_file(&b, "/tmp/evil", "x", 0644);
        finish(&b);
        attack("absolute name", &b, "/tmp/evil", "absolute");

        /* A symlink pointing out of the layer, then a write through it. */
        add(&b, "link", '2', "../..");
        add_file(&b, "link/evil", "x", 0644);
        finish(&b);
        attack("symlink escape", &b, "link/evil", "symlink");

        /* Even an absolute symlink (host /tmp) is never followed. */
        add(&b, "abs", '2', "/tmp");
        add_file(&b, "abs/evil", "x", 0644);
        finish(&b);
        attack("absolute symlink escape", &b, "abs/evil", "symlink");

        /* A symlink as the parent of a directory entry, deeper down. */
        add(&b, "d", '5', NULL);
        add(&b, "d/up", '2', "../../..");
        add(&b, "d/up/evil", '5', NULL);
        finish(&b);
        attack("symlink escape with a directory", &b, "d/up/evil", "symlink");

        add(&b, "hl", '1', "../../../etc/passwd");
        finish(&b);
        attack("hard link out with ..", &b, "hl", "'..'");

        add(&b, "hl", '1', "/etc/passwd");
        finish(&b);
        attack("hard link to an absolute path", &b, "hl", "absolute");

        /* A hard link whose target path goes through a symlink that leaves the layer. */
        add(&b, "out", '2', "/etc");
        add(&b, "hl", '1', "out/passwd");
        finish(&b);
        attack("hard link through a symlink", &b, "hl", "not inside this layer");

        add(&b, "x/.wh.", '0', NULL);
        finish(&b);
        attack("bare whiteout", &b, "x/.wh.", "invalid whiteout");
}

static void test_formats(void)
{
        _cleanup_free_ char *dir = tmpdir();
        struct strbuf b = {0};
        add(&b, "./", '5', NULL);
        add(&b, "etc/", '5', NULL);
        add_file(&b, "etc/hostname", "box\n", 0640);
        add(&b, "etc/alias", '2', "hostname");
        add(&b, "etc/hard", '1', "etc/hostname");
        add_file(&b, "implicit/parent/file", "deep", 0600);
        /* GNU long name. */
        char longname[300];
        memset(longname, 'n', sizeof(longname));
        memcpy(longname, "long/", 5);
        longname[150] = '/';
        longname[299] = 0;
        add_gnu_longname(&b, longname);
        add_file(&b, "truncated-name", "gnu", 0644);
        /* pax: a path, a mtime with a fraction and a user xattr with a NUL in its value. */
        _cleanup_free_ char *r1 =
            pax_record("path", "pax/with a very long name that ustar could not hold", 51);
        _cleanup_free_ char *r2 = pax_record("mtime", "1600000000.5", 12);
        _cleanup_free_ char *r3 = pax_record("SCHILY.xattr.user.test", "a\0b", 3);
        _cleanup_free_ char *r4 = pax_record("SCHILY.xattr.trusted.overlay.redirect", "/etc", 4);
        /* The NUL inside r3 would end the string: build the record block by hand. */
        struct strbuf pax = {0};
        strbuf_puts(&pax, r1);
        strbuf_puts(&pax, r2);
        strbuf_add(&pax, r3, strlen(r3) + 1 + strlen(r3 + strlen(r3) + 1));
        strbuf_puts(&pax, r4);
        header(&b, "PaxHeaders/x", 'x', NULL, pax.len, 0644, false);
        data(&b, pax.buf, pax.len);
        strbuf_free(&pax);
        add_file(&b, "ignored-name", "pax", 0644);
        /* ustar prefix field. */
        {
                char h[512] = {0};
                struct strbuf tmp = {0};
                header(&tmp, "file", '0', NULL, 6, 0644, false);
                memcpy(h, tmp.buf, 512);
                strbuf_free(&tmp);
                strcpy(h + 345, "prefix/dir");
                memset(h + 148, ' ', 8);
                unsigned sum = 0;
                for (int i = 0; i < 512; i++)
                        sum += (unsigned char) h[i];
                snprintf(h + 148, 8, "%06o", sum);
                strbuf_add(&b, h, 512);
                data(&b, "prefix", 6);
        }
        add(&b, "fifo", '6', NULL);
        finish(&b);

        struct stack_error err = {0};
        int r = unpack_buf(dir, b.buf, b.len, 0, &err);
        if (!ok(r == 0, "a well-formed archive unpacks"))
                diag("%s", err.msg);
        stack_error_clear(&err);
        _cleanup_free_ char *host = slurp(dir, "etc/hostname");
        is_str(host, "box\n", "regular file content");
        struct stat st;
        _cleanup_free_ char *hp = path_join(dir, "etc/hostname");
        ok(stat(hp, &st) == 0 && (st.st_mode & 07777) == 0640, "file mode applied");
        is_int(st.st_mtime, 1700000000, "file mtime applied");
        is_int(st.st_nlink, 2, "hard link shares the inode");
        _cleanup_free_ char *ep = path_join(dir, "etc");
        ok(stat(ep, &st) == 0 && st.st_mtime == 1700000000,
           "directory mtime applied after its children were written");
        char target[64] = {0};
        _cleanup_free_ char *ap = path_join(dir, "etc/alias");
        ok(readlink(ap, target, sizeof(target) - 1) > 0 && streq(target, "hostname"),
           "symlink target verbatim");
        _cleanup_free_ char *deep = slurp(dir, "implicit/parent/file");
        is_str(deep, "deep", "missing parents are created");
        _cleanup_free_ char *gnu = slurp(dir, longname);
        is_str(gnu, "gnu", "GNU long name used");
        _cleanup_free_ char *paxc = slurp(dir, "pax/with a very long name that ustar could not hold");
        is_str(paxc, "pax", "pax path used");
        _cleanup_free_ char *pp = path_join(dir, "pax/with a very long name that ustar could not hold");
        ok(stat(pp, &st) == 0 && st.st_mtime == 1600000000 && st.st_mtim.tv_nsec == 500000000,
           "pax mtime with its fraction");
        char xv[8] = {0};
        ssize_t xl;
        _cleanup_free_ char *pre = slurp(dir, "prefix/dir/file");
        is_str(pre, "prefix", "ustar prefix joined to the name");
        _cleanup_free_ char *fp = path_join(dir, "fifo");
        ok(lstat(fp, &st) == 0 && S_ISFIFO(st.st_mode), "fifo created");

        if (geteuid() == 0) {
                _cleanup_free_ char *dir2 = tmpdir();
                r = unpack_buf(dir2, b.buf, b.len, LAYER_UNPACK_IMAGE, &err);
                if (!ok(r == 0, "unpacks with ownership and xattrs as root"))
                        diag("%s", err.msg);
                stack_error_clear(&err);
                _cleanup_free_ char *pp2 =
                    path_join(dir2, "pax/with a very long name that ustar could not hold");
                memset(xv, 0, sizeof(xv));
                xl = getxattr(pp2, "user.test", xv, sizeof(xv));
                ok(xl == 3 && memcmp(xv, "a\0b", 3) == 0, "SCHILY.xattr applied, binary-safe");
                ok(getxattr(pp2, "trusted.overlay.redirect", xv, sizeof(xv)) < 0 && errno == ENODATA,
                   "a forged overlayfs xattr is not applied");
                rm_rf(dir2, NULL);
        }
        strbuf_free(&b);
        rm_rf(dir, NULL);
}

static void test_whiteouts(void)
{
        if (geteuid() != 0) {
                ok(true, "# SKIP whiteouts need root (mknod, trusted.* xattrs)");
                return;
        }
        _cleanup_free_ char *dir = tmpdir();
        struct strbuf b = {0};
        add(&b, "etc/", '5', NULL);
        add(&b, "etc/.wh.motd", '0', NULL);
        add(&b, "var/cache/", '5', NULL);
        add(&b, "var/cache/.wh..wh..opq", '0', NULL);
        add_file(&b, "var/cache/new", "n", 0644);
        add(&b, ".wh..wh.plnk", '5', NULL);
        /* A whiteout for a name this layer writes itself does not hide it. */
        add_file(&b, "kept", "k", 0644);
        add(&b, ".wh.kept", '0', NULL);
        add(&b, "dev/", '5', NULL);
        header(&b, "dev/null", '3', NULL, 0, 0666, false);
        finish(&b);
        struct stack_error err = {0};
        int r = unpack_buf(dir, b.buf, b.len, LAYER_UNPACK_IMAGE, &err);
        if (!ok(r == 0, "layer with whiteouts unpacks"))
                diag("%s", err.msg);
        stack_error_clear(&err);
        struct stat st;
        _cleanup_free_ char *wp = path_join(dir, "etc/motd");
        ok(lstat(wp, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0),
           ".wh.motd became a 0:0 character device");
        _cleanup_free_ char *wh = path_join(dir, "etc/.wh.motd");
        ok(!path_exists(wh), "the whiteout file itself is not written");
        _cleanup_free_ char *cp = path_join(dir, "var/cache");
        char v[4] = {0};
        ok(getxattr(cp, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y',
           "opaque directory marked trusted.overlay.opaque=y");
        _cleanup_free_ char *op = path_join(dir, "var/cache/.wh..wh..opq");
        ok(!path_exists(op), "the opaque marker file is not written");
        _cleanup_free_ char *np = slurp(dir, "var/cache/new");
        is_str(np, "n", "opaque directory keeps this layer's entries");
        _cleanup_free_ char *pl = path_join(dir, ".wh..wh.plnk");
        ok(!path_exists(pl), "AUFS bookkeeping is dropped");
        _cleanup_free_ char *kp = slurp(dir, "kept");
        is_str(kp, "k", "a whiteout does not hide an entry of the same layer");
        _cleanup_free_ char *dn = path_join(dir, "dev/null");
        ok(lstat(dn, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0666, "device node created");
        strbuf_free(&b);
        rm_rf(dir, NULL);
}

static void test_compression_and_digests(void)
{
        struct strbuf b = {0};
        add_file(&b, "hello", "hello world\n", 0644);
        finish(&b);
        char plain_digest[DIGEST_STRING_MAX];
        digest_data(b.buf, b.len, plain_digest);

        /* gzip, two members back to back (as pigz or cat a.gz b.gz make). */
        size_t half = b.len / 2;
        struct strbuf gz = {0};
        for (int part = 0; part < 2; part++) {
                z_stream z = {0};
                deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
                unsigned char out[65536];
                z.next_in = (unsigned char *) b.buf + (part ? half : 0);
                z.avail_in = part ? b.len - half : half;
                z.next_out = out;
                z.avail_out = sizeof(out);
                deflate(&z, Z_FINISH);
                strbuf_add(&gz, out, sizeof(out) - z.avail_out);
                deflateEnd(&z);
        }
        size_t zcap = ZSTD_compressBound(b.len);
        _cleanup_free_ char *zs = xmalloc(zcap);
        size_t zlen = ZSTD_compress(zs, zcap, b.buf, b.len, 3);

        struct {
                const char *name;
                const void *buf;
                size_t len;
                enum layer_compression want;
        } cases[] = {
            {"plain", b.buf, b.len, LAYER_COMPRESSION_NONE},
            {"gzip", gz.buf, gz.len, LAYER_COMPRESSION_GZIP},
            {"zstd", zs, zlen, LAYER_COMPRESSION_ZSTD},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *dir = tmpdir();
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY);
                struct digest dc, du;
                digest_init(&dc, NULL);
                digest_init(&du, NULL);
                struct stack_error err = {0};
                enum layer_compression c;
                _cleanup_layer_source_ struct layer_source *src = NULL;
                struct layer_source *raw =
                    layer_source_digest(layer_source_memory(cases[i].buf, cases[i].len, "t"), &dc, -1);
                ok(layer_source_decompress(raw, &src, &c, &err) == 0, "%s: detected", cases[i].name);
                is_int(c, cases[i].want, "%s: compression by magic", cases[i].name);
                src = layer_source_digest(src, &du, -1);
                int r = layer_unpack(src, fd, 0, NULL, &err);
                if (!ok(r == 0, "%s: unpacks", cases[i].name))
                        diag("%s", err.msg);
                stack_error_clear(&err);
                _cleanup_free_ char *h = slurp(dir, "hello");
                is_str(h, "hello world\n", "%s: content", cases[i].name);
                char got[DIGEST_STRING_MAX], gotc[DIGEST_STRING_MAX];
                digest_final(&du, got);
                digest_final(&dc, gotc);
                is_str(got, plain_digest, "%s: uncompressed digest (diff_id) covers the whole tar",
                       cases[i].name);
                char want_c[DIGEST_STRING_MAX];
                digest_data(cases[i].buf, cases[i].len, want_c);
                is_str(gotc, want_c, "%s: blob digest covers every byte of the blob", cases[i].name);
                is_int(dc.size, cases[i].len, "%s: blob size counted", cases[i].name);
                digest_done(&dc);
                digest_done(&du);
                rm_rf(dir, NULL);
        }

        /* Corrupt and truncated input. */
        _cleanup_free_ char *dir = tmpdir();
        struct stack_error err = {0};
        ok(unpack_buf(dir, gz.buf, gz.len - 10, 0, &err) < 0, "truncated gzip is an error");
        contains(err.msg, "gzip", "  and says gzip");
        stack_error_clear(&err);
        ok(unpack_buf(dir, zs, zlen - 4, 0, &err) < 0, "truncated zstd is an error");
        contains(err.msg, "zstd", "  and says zstd");
        stack_error_clear(&err);
        char *bad = xmalloc(b.len);
        memcpy(bad, b.buf, b.len);
        bad[10] ^= 1;
        ok(unpack_buf(dir, bad, b.len, 0, &err) < 0, "a header with a bad checksum is an error");
        contains(err.msg, "checksum", "  and says checksum");
        stack_error_clear(&err);
        free(bad);
        ok(unpack_buf(dir, b.buf, 512 + 100, 0, &err) < 0, "a file cut short is an error");
        contains(err.msg, "unexpected end", "  and says so");
        stack_error_clear(&err);
        rm_rf(dir, NULL);
        strbuf_free(&gz);
        strbuf_free(&b);
}

static void test_replace(void)
{
        /* Later entries replace earlier ones of another kind, as GNU tar does. */
        _cleanup_free_ char *dir = tmpdir();
        struct strbuf b = {0};
        add_file(&b, "x", "file", 0644);
        add(&b, "x", '5', NULL);
        add_file(&b, "x/inner", "i", 0644);
        add(&b, "y", '5', NULL);
        add_file(&b, "y/z", "z", 0644);
        add_file(&b, "y", "now a file", 0644);
        finish(&b);
        struct stack_error err = {0};
        int r = unpack_buf(dir, b.buf, b.len, 0, &err);
        if (!ok(r == 0, "replacing entries unpacks"))
                diag("%s", err.msg);
        stack_error_clear(&err);
        _cleanup_free_ char *in = slurp(dir, "x/inner");
        is_str(in, "i", "a file replaced by a directory");
        _cleanup_free_ char *y = slurp(dir, "y");
        is_str(y, "now a file", "a directory replaced by a file");
        strbuf_free(&b);
        rm_rf(dir, NULL);
}

int main(void)
{
        test_attacks();
        test_formats();
        test_whiteouts();
        test_compression_and_digests();
        test_replace();
        return done_testing();
}
