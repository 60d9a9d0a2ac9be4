/* Shared by the benchmark clients: clocks and sizes as people type them. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double clock_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double now(void) { return clock_seconds(CLOCK_MONOTONIC); }

/* Bytes from "4K", "1M", "2G", "1T" or a plain number; exits with a message naming `program` otherwise. */
static inline uint64_t parse_size(const char *program, const char *s) {
  char *end;
  double v = strtod(s, &end);
  uint64_t mul = 1;
  switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; break;
    case 'm': case 'M': mul = 1ull << 20; break;
    case 'g': case 'G': mul = 1ull << 30; break;
    case 't': case 'T': mul = 1ull << 40; break;
    case 0: break;
    default: fprintf(stderr, "%s: bad size %s\n", program, s); exit(2);
  }
  return (uint64_t)(v * mul);
}

#endif
