#include <string.h>

#include "core/base/sha256.h"

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
 * primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Section 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
        return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
        p[0] = v >> 24;
        p[1] = v >> 16;
        p[2] = v >> 8;
        p[3] = v;
}

/* The functions of section 4.1.2. Ch and Maj are written with one operation fewer than the standard's
 * formulas; they are equal bit for bit. */
#define BSIG0(x) (ror(x, 2) ^ ror(x, 13) ^ ror(x, 22))
#define BSIG1(x) (ror(x, 6) ^ ror(x, 11) ^ ror(x, 25))
#define SSIG0(x) (ror(x, 7) ^ ror(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ror(x, 17) ^ ror(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

/* The message schedule is kept as a ring of its last 16 words, which stays in registers or L1, and the
 * eight working variables are not shifted after each round: the round macro is called with its arguments
 * rotated instead, so round t writes the variable that plays `h` in round t and `a` in round t + 1. */
#define EXPAND(t) (w[(t) &15] += SSIG1(w[((t) -2) & 15]) + w[((t) -7) & 15] + SSIG0(w[((t) -15) & 15]))
#define ROUND(a, b, c, d, e, f, g, h, t, wt)                              \
        do {                                                              \
                uint32_t t1 = (h) + BSIG1(e) + CH(e, f, g) + K[t] + (wt); \
                (d) += t1;                                                \
                (h) = t1 + BSIG0(a) + MAJ(a, b, c);                       \
        } while (0)
#define EIGHT(t, W)                                                 \
        do {                                                        \
                ROUND(a, b, c, d, e, f, g, h, (t) + 0, W((t) + 0)); \
                ROUND(h, a, b, c, d, e, f, g, (t) + 1, W((t) + 1)); \
                ROUND(g, h, a, b, c, d, e, f, (t) + 2, W((t) + 2)); \
                ROUND(f, g, h, a, b, c, d, e, (t) + 3, W((t) + 3)); \
                ROUND(e, f, g, h, a, b, c, d, (t) + 4, W((t) + 4)); \
                ROUND(d, e, f, g, h, a, b, c, (t) + 5, W((t) + 5)); \
                ROUND(c, d, e, f, g, h, a, b, (t) + 6, W((t) + 6)); \
                ROUND(b, c, d, e, f, g, h, a, (t) + 7, W((t) + 7)); \
        } while (0)
#define LOADED(t) (w[t])
#define EXPANDED(t) EXPAND(t)

/* Section 6.2.2 for each of n whole blocks, in portable C. */
static void compress_c(uint32_t state[8], const uint8_t *p, size_t n)
{
        for (; n > 0; n--, p += SHA256_BLOCK_SIZE) {
                uint32_t w[16];
                for (int i = 0; i < 16; i++)
                        w[i] = load_be32(p + 4 * i);

                uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
                uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
                EIGHT(0, LOADED);
                EIGHT(8, LOADED);
                EIGHT(16, EXPANDED);
                EIGHT(24, EXPANDED);
                EIGHT(32, EXPANDED);
                EIGHT(40, EXPANDED);
                EIGHT(48, EXPANDED);
                EIGHT(56, EXPANDED);

                state[0] += a;
                state[1] += b;
                state[2] += c;
                state[3] += d;
                state[4] += e;
                state[5] += f;
                state[6] += g;
                state[7] += h;
        }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

/* The same compression through the x86 SHA extensions, about six times faster than the C above on one core:
 * a pull hashes every blob twice (compressed and as its diff_id), which made the hash a third of a pull's
 * CPU time. The instructions keep the eight working variables as two vectors, {a,b,e,f} and {c,d,g,h} (a
 * and c in the top lanes), do two rounds per sha256rnds2 and four words of the message schedule per
 * msg1/msg2 pair. */
__attribute__((target("sha,sse4.1"))) static void compress_shani(uint32_t state[8], const uint8_t *p, size_t n)
{
        /* Big-endian words from the block: reverse the bytes of each 32-bit lane. */
        const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
        __m128i dcba = _mm_loadu_si128((const __m128i *) &state[0]);
        __m128i hgfe = _mm_loadu_si128((const __m128i *) &state[4]);
        dcba = _mm_shuffle_epi32(dcba, 0xB1);                /* lanes b a d c */
        hgfe = _mm_shuffle_epi32(hgfe, 0x1B);                /* lanes h g f e */
        __m128i abef = _mm_alignr_epi8(dcba, hgfe, 8);       /* lanes f e b a */
        __m128i cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);    /* lanes h g d c */

        for (; n > 0; n--, p += SHA256_BLOCK_SIZE) {
                const __m128i abef_in = abef, cdgh_in = cdgh;
                __m128i m[4]; /* m[i % 4]: the schedule's words 4i .. 4i+3 */
                /* Unrolled, the ring m[] lives in registers. */
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                        __m128i *cur = &m[i & 3];
                        if (i < 4)
                                *cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (p + 16 * i)), bswap);
                        else {
                                /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time: cur
                                 * holds words t-16.., m[(i+1)&3] t-12.., m[(i+2)&3] t-8.., m[(i+3)&3] t-4.. */
                                __m128i prev = m[(i + 3) & 3];
                                __m128i w7 = _mm_alignr_epi8(prev, m[(i + 2) & 3], 4);
                                __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(*cur, m[(i + 1) & 3]), w7);
                                *cur = _mm_sha256msg2_epu32(x, prev);
                        }
                        __m128i wk = _mm_add_epi32(*cur, _mm_loadu_si128((const __m128i *) &K[4 * i]));
                        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
                        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
                }
                abef = _mm_add_epi32(abef, abef_in);
                cdgh = _mm_add_epi32(cdgh, cdgh_in);
        }

        __m128i feba = _mm_shuffle_epi32(abef, 0x1B);      /* lanes a b e f */
        __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);      /* lanes g h c d */
        _mm_storeu_si128((__m128i *) &state[0], _mm_blend_epi16(feba, dchg, 0xF0));
        _mm_storeu_si128((__m128i *) &state[4], _mm_alignr_epi8(dchg, feba, 8));
}

static bool cpu_has_shani(void)
{
        unsigned a, b, c, d;
        /* Leaf 7: EBX bit 29 is SHA; the shuffles also need SSSE3 and SSE4.1 (leaf 1, ECX bits 9 and 19). */
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
                return false;
        if (!__get_cpuid(1, &a, &b, &c, &d))
                return false;
        return (c & (1u << 9)) && (c & (1u << 19));
}

/* 0 unknown, 1 yes, -1 no. Racing threads compute the same answer. */
static int use_shani;

void sha256_force_portable(bool on)
{
        __atomic_store_n(&use_shani, on ? -1 : 0, __ATOMIC_RELAXED);
}

static void compress(uint32_t state[8], const uint8_t *p, size_t n)
{
        int v = __atomic_load_n(&use_shani, __ATOMIC_RELAXED);
        if (v == 0) {
                v = cpu_has_shani() ? 1 : -1;
                __atomic_store_n(&use_shani, v, __ATOMIC_RELAXED);
        }
        if (v > 0)
                compress_shani(state, p, n);
        else
                compress_c(state, p, n);
}
#else
void sha256_force_portable(bool on)
{
}

static void compress(uint32_t state[8], const uint8_t *p, size_t n)
{
        compress_c(state, p, n);
}
#endif

void sha256_init(struct sha256 *s)
{
        *s = (struct sha256){0};
        memcpy(s->state, H0, sizeof(H0));
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
        const uint8_t *p = data;
        if (n == 0)
                return; /* data may be NULL then, which memcpy must not see */
        s->length += n;

        if (s->fill > 0) {
                size_t take = SHA256_BLOCK_SIZE - s->fill;
                if (take > n)
                        take = n;
                memcpy(s->block + s->fill, p, take);
                s->fill += take;
                p += take;
                n -= take;
                if (s->fill < SHA256_BLOCK_SIZE)
                        return;
                compress(s->state, s->block, 1);
                s->fill = 0;
        }
        /* Whole blocks straight from the caller's buffer: no copy for the bulk of a stream. */
        if (n >= SHA256_BLOCK_SIZE) {
                size_t blocks = n / SHA256_BLOCK_SIZE;
                compress(s->state, p, blocks);
                p += blocks * SHA256_BLOCK_SIZE;
                n -= blocks * SHA256_BLOCK_SIZE;
        }
        if (n > 0) {
                memcpy(s->block, p, n);
                s->fill = n;
        }
}

void sha256_final(struct sha256 *s, uint8_t ret[SHA256_DIGEST_SIZE])
{
        /* Section 5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then the length in bits, big-endian. */
        uint64_t bits = s->length * 8;
        s->block[s->fill++] = 0x80;
        if (s->fill > SHA256_BLOCK_SIZE - 8) {
                memset(s->block + s->fill, 0, SHA256_BLOCK_SIZE - s->fill);
                compress(s->state, s->block, 1);
                s->fill = 0;
        }
        memset(s->block + s->fill, 0, SHA256_BLOCK_SIZE - 8 - s->fill);
        store_be32(s->block + 56, bits >> 32);
        store_be32(s->block + 60, (uint32_t) bits);
        compress(s->state, s->block, 1);

        for (int i = 0; i < 8; i++)
                store_be32(ret + 4 * i, s->state[i]);
}

void sha256(const void *data, size_t n, uint8_t ret[SHA256_DIGEST_SIZE])
{
        struct sha256 s;
        sha256_init(&s);
        sha256_update(&s, data, n);
        sha256_final(&s, ret);
}

void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char ret[2 * SHA256_DIGEST_SIZE + 1])
{
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 15];
        }
        ret[2 * SHA256_DIGEST_SIZE] = 0;
}
