/*
 * The CRC32C (Castagnoli) computation, shared by the addons that take
 * checksums: crc32c, and fileio, whose readChecksummed() checks what it reads
 * in the same job on libuv's pool. crc32c_init() once when an addon loads;
 * then crc_best(previous, bytes, length) continues a CRC (unsigned, as
 * crc32c() in src/crc32c/crc32c.c documents) with the fastest implementation
 * the CPU runs, named by crc_implementation. scripts/bench/crcbench.c times
 * each.
 *
 * Header only (static functions): each addon is a module of its own.
 */
#ifndef TAPE_GATEWAY_CRC32C_H
#define TAPE_GATEWAY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#define POLY 0x82F63B78u /* reflected */

static uint32_t table[256];

static uint32_t crc_software(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* a * b in GF(2)[x] mod POLY, both reflected. */
static uint32_t multiply(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 32; i++) {
    if (b & 0x80000000u) product ^= a;
    b <<= 1;
    a = (a >> 1) ^ ((a & 1) ? POLY : 0);
  }
  return product;
}

/* x^n mod POLY, reflected. */
static uint32_t x_to_the(uint64_t n) {
  uint32_t result = 0x80000000u, square = 0x40000000u; /* 1 and x */
  for (; n; n >>= 1) {
    if (n & 1) result = multiply(result, square);
    square = multiply(square, square);
  }
  return result;
}

/* x^(8n) mod POLY: multiplying a CRC by it appends n zero bytes. */
static uint32_t zeros_operator(size_t n) { return x_to_the((uint64_t)n * 8); }

#if defined(__x86_64__)
#include <nmmintrin.h>

/* Three streams of STRIDE bytes run side by side to hide the instruction's latency. */
#define STRIDE 4096
static uint32_t skip_stride;

__attribute__((target("sse4.2"))) static uint32_t crc_hardware(uint32_t crc, const uint8_t *p, size_t n) {
  uint64_t c0 = ~crc;
  while (n && ((uintptr_t)p & 7)) {
    c0 = _mm_crc32_u8((uint32_t)c0, *p++);
    n--;
  }
  while (n >= 3 * STRIDE) {
    const uint64_t *a = (const uint64_t *)p, *b = (const uint64_t *)(p + STRIDE), *c = (const uint64_t *)(p + 2 * STRIDE);
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < STRIDE / 8; i++) {
      c0 = _mm_crc32_u64(c0, a[i]);
      c1 = _mm_crc32_u64(c1, b[i]);
      c2 = _mm_crc32_u64(c2, c[i]);
    }
    c0 = multiply((uint32_t)c0, skip_stride) ^ (uint32_t)c1;
    c0 = multiply((uint32_t)c0, skip_stride) ^ (uint32_t)c2;
    p += 3 * STRIDE;
    n -= 3 * STRIDE;
  }
  while (n >= 8) {
    c0 = _mm_crc32_u64(c0, *(const uint64_t *)p);
    p += 8;
    n -= 8;
  }
  while (n--) c0 = _mm_crc32_u8((uint32_t)c0, *p++);
  return ~(uint32_t)c0;
}

#include <immintrin.h>

/*
 * Folding with carry-less multiplies (VPCLMULQDQ on 512-bit registers): each
 * 128-bit lane A of the data so far is carried D bits ahead as A * x^D mod
 * POLY, no wider than 128 bits, and added (xor) to the lane D bits on. A
 * lane's low quadword L holds the terms x^127..x^64 and its high quadword H
 * x^63..x^0 (reflected), so A * x^D = L * x^(D+64) + H * x^D. A reflected
 * carry-less product of two quadwords comes out divided by x, and a 32-bit
 * constant in the low half of a quadword reads as multiplied by x^32, so the
 * constants are x^(D+31) and x^(D-33). The last 128 bits go through the crc32
 * instruction, which does the final reduction mod POLY. On 256-bit registers
 * the same folding ran at half the speed (AMD EPYC, Zen 5).
 *
 * For each 128-bit lane, the constants that fold it by a distance D: x^(D+31), 0, x^(D-33), 0.
 */
static struct {
  uint32_t by_2048[16], by_1536[16], by_1024[16], by_512[16];
  uint32_t lanes[16]; /* 384, 256 and 128 bits, then zeros: the four lanes of a register into one */
} fold_constants __attribute__((aligned(64)));

/* Constants for the four lanes of a register to fold by `distances` bits; a distance of 0 gives zeros. */
static void set_fold_constants(uint32_t constants[16], unsigned d0, unsigned d1, unsigned d2, unsigned d3) {
  const unsigned distances[4] = {d0, d1, d2, d3};
  for (int i = 0; i < 4; i++) {
    constants[4 * i] = distances[i] ? x_to_the(distances[i] + 31) : 0;
    constants[4 * i + 2] = distances[i] ? x_to_the(distances[i] - 33) : 0;
  }
}

#define FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,sse4.2")))

FOLD_TARGET static inline __m512i fold(__m512i lanes, __m512i constants, __m512i onto) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(lanes, constants, 0x00), _mm512_clmulepi64_epi128(lanes, constants, 0x11), onto, 0x96);
}

/* Below this crc_hardware() is faster (measured with scripts/bench/crcbench.c). */
#define FOLD_MIN 128

FOLD_TARGET static uint32_t crc_folding(uint32_t crc, const uint8_t *p, size_t n) {
  if (n < FOLD_MIN) return crc_hardware(crc, p, n);
  const __m512i by_512 = _mm512_load_si512(fold_constants.by_512);
  __m512i x = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
  p += 64;
  n -= 64;
  if (n >= 192) {
    /* Four registers side by side, each folded 256 bytes on, to hide the multiplies' latency. */
    const __m512i by_2048 = _mm512_load_si512(fold_constants.by_2048);
    __m512i x1 = _mm512_loadu_si512(p), x2 = _mm512_loadu_si512(p + 64), x3 = _mm512_loadu_si512(p + 128);
    p += 192;
    n -= 192;
    for (; n >= 256; p += 256, n -= 256) {
      x = fold(x, by_2048, _mm512_loadu_si512(p));
      x1 = fold(x1, by_2048, _mm512_loadu_si512(p + 64));
      x2 = fold(x2, by_2048, _mm512_loadu_si512(p + 128));
      x3 = fold(x3, by_2048, _mm512_loadu_si512(p + 192));
    }
    x = fold(x, _mm512_load_si512(fold_constants.by_1536), fold(x1, _mm512_load_si512(fold_constants.by_1024), fold(x2, by_512, x3)));
  }
  for (; n >= 64; p += 64, n -= 64) x = fold(x, by_512, _mm512_loadu_si512(p));
  __m512i folded = fold(x, _mm512_load_si512(fold_constants.lanes), _mm512_maskz_mov_epi64(0xc0, x));
  __m128i last = _mm_xor_si128(_mm_xor_si128(_mm512_extracti32x4_epi32(folded, 0), _mm512_extracti32x4_epi32(folded, 1)),
                               _mm_xor_si128(_mm512_extracti32x4_epi32(folded, 2), _mm512_extracti32x4_epi32(folded, 3)));
  uint64_t state = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(last));
  state = _mm_crc32_u64(state, (uint64_t)_mm_extract_epi64(last, 1));
  return crc_hardware(~(uint32_t)state, p, n);
}
#endif

static uint32_t (*crc_best)(uint32_t, const uint8_t *, size_t) = crc_software;
/* Which of them crc_best is, for tests and benchmarks. */
static const char *crc_implementation = "software";

static void crc32c_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? POLY : 0);
    table[i] = c;
  }
#if defined(__x86_64__)
  skip_stride = zeros_operator(STRIDE);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) {
    crc_best = crc_hardware;
    crc_implementation = "sse4.2";
    /* The folding ends on the crc32 instruction, so it needs sse4.2 too. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq")) {
      set_fold_constants(fold_constants.by_2048, 2048, 2048, 2048, 2048);
      set_fold_constants(fold_constants.by_1536, 1536, 1536, 1536, 1536);
      set_fold_constants(fold_constants.by_1024, 1024, 1024, 1024, 1024);
      set_fold_constants(fold_constants.by_512, 512, 512, 512, 512);
      set_fold_constants(fold_constants.lanes, 384, 256, 128, 0);
      crc_best = crc_folding;
      crc_implementation = "vpclmulqdq-avx512";
    }
  }
#else
  (void)zeros_operator;
#endif
}

#endif
