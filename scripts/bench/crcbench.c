/*
 * GB/s of each CRC32C implementation in src/native/crc32c.h this machine can
 * run, on buffers of a few sizes (printed, not asserted: the tests check that
 * they agree).
 *   .bench/bin/crcbench [sizes...]    # default 64 256 1K 4K 64K 1M
 */
#include "../../src/native/crc32c.h"

#include "bench-util.h"

struct implementation {
  const char *name;
  uint32_t (*crc)(uint32_t, const uint8_t *, size_t);
  int usable;
};

int main(int argc, char **argv) {
  crc32c_init();
  struct implementation implementations[] = {
    {"software", crc_software, 1},
#if defined(__x86_64__)
    {"sse4.2", crc_hardware, __builtin_cpu_supports("sse4.2")},
    {"vpclmulqdq-avx512", crc_folding, crc_best == crc_folding},
#endif
  };
  const char *defaults[] = {"64", "256", "1K", "4K", "64K", "1M"};
  const char **sizes = argc > 1 ? (const char **)argv + 1 : defaults;
  int count = argc > 1 ? argc - 1 : (int)(sizeof defaults / sizeof *defaults);
  size_t buffer_bytes = 64 << 20;
  uint8_t *buffer = malloc(buffer_bytes);
  for (size_t i = 0; i < buffer_bytes; i++) buffer[i] = (uint8_t)(i * 2654435761u >> 13);
  printf("%-20s", "GB/s");
  for (int s = 0; s < count; s++) printf("%10s", sizes[s]);
  printf("\n");
  uint32_t sink = 0;
  for (size_t k = 0; k < sizeof implementations / sizeof *implementations; k++) {
    if (!implementations[k].usable) continue;
    printf("%-20s", implementations[k].name);
    for (int s = 0; s < count; s++) {
      size_t size = parse_size(argv[0], sizes[s]);
      if (size == 0 || size > buffer_bytes) {
        fprintf(stderr, "%s: a size from 1 to 64M\n", argv[0]);
        return 2;
      }
      /* Walk a 64 MiB buffer so the large sizes come from memory as the cache's reads would, the small from cache. */
      size_t span = size >= (1 << 20) ? buffer_bytes : 1 << 20, bytes = 0, at = 0;
      double start = now(), elapsed;
      do {
        for (int i = 0; i < 64; i++) {
          sink += implementations[k].crc(sink, buffer + at, size);
          bytes += size;
          at = at + 2 * size <= span ? at + size : 0;
        }
      } while ((elapsed = now() - start) < 0.3);
      printf("%10.1f", bytes / elapsed / 1e9);
    }
    printf("\n");
  }
  free(buffer);
  return sink == 42; /* keeps the work from being optimized away */
}
