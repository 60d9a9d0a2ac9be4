/*
 * The CRC32C (Castagnoli) computation, shared by the addons that take
 * checksums: crc32c, and fileio, whose readChecksummed() checks what it reads
 * in the same job on libuv's pool. crc32c_init() once when an addon loads;
 * then crc_best(previous, bytes, length) continues a CRC (unsigned, as
 * crc32c() in src/crc32c/crc32c.c documents).
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

/* x^(8n) mod POLY: multiplying a CRC by it appends n zero bytes. */
static uint32_t zeros_operator(size_t n) {
  uint32_t result = 0x80000000u, square = 0x00800000u; /* 1 and x^8 */
  for (; n; n >>= 1) {
    if (n & 1) result = multiply(result, square);
    square = multiply(square, square);
  }
  return result;
}

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
#endif

static uint32_t (*crc_best)(uint32_t, const uint8_t *, size_t) = crc_software;

static void crc32c_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? POLY : 0);
    table[i] = c;
  }
#if defined(__x86_64__)
  skip_stride = zeros_operator(STRIDE);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) crc_best = crc_hardware;
#else
  (void)zeros_operator;
#endif
}

#endif
