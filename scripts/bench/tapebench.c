/*
 * tapebench: drives iSCSI tape LUNs the way Linux's st driver does, one command at a time, and
 * reports throughput as one JSON object on stdout.
 *
 *   tapebench --url iscsi://127.0.0.1:PORT/IQN/LUN [--url ...] --block-size 262144 --bytes 2G
 *             [--no-verify] [--phases write,read] [--initiator IQN] [--selftest]
 *
 * Per drive (one thread and one iSCSI session each): TEST UNIT READY until ready (unit attentions
 * are consumed), MODE SELECT(6) to variable block mode, REWIND, WRITE(6) variable blocks of
 * --block-size bytes until --bytes are written, WRITE FILEMARKS(6) 1 (the sync point: counted in
 * the write time), REWIND, READ(6) every block back, checking its length and every byte, one more
 * READ(6) that must report the filemark, REWIND. Drives run their phases together (a barrier
 * between phases), so the aggregate rate is all bytes over the wall time of the slowest drive.
 *
 * Data: block i of drive d is a 16-byte header (magic, d, i) followed by a slice of a
 * pseudo-random pattern that starts at an offset depending on i; writes send the header and the
 * slice as two iovecs (no copy), reads land straight in one buffer (no copy in libiscsi) and are
 * checked with memcmp, so a block in the wrong place or stale bytes cannot pass.
 *
 * "per_drive" gives each drive's own write and read rate over its own time (how evenly drives share).
 *
 * The client's own ceiling: each phase reports the thread CPU time the client spent (libiscsi,
 * the kernel's socket work on its side, the verification); bytes / client CPU seconds is the rate
 * the client could reach if the target answered in no time. --selftest measures the pattern and
 * verification cost alone, without a target.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "bench-util.h"

#define MAX_DRIVES 64
#define HEADER 16
#define MAGIC 0x54415045u /* "TAPE" */
#define PATTERN_SLACK 4096

struct phase {
  double seconds;
  double cpu_seconds;
  uint64_t bytes;
  uint64_t commands;
  double max_latency_us;
  /* Write phase: the WRITE FILEMARKS at its end, the sync point that makes the data durable. */
  double sync_seconds;
};

struct drive {
  int index;
  const char *url;
  struct iscsi_context *iscsi;
  int lun;
  struct phase write, read;
  double write_start, write_end, read_start, read_end;
  char error[512];
  uint64_t verified_blocks;
  bool filemark_seen;
};

static size_t block_size = 256 * 1024;
static uint64_t total_bytes = 1ull << 30;
static bool verify = true;
static bool do_write = true, do_read = true;
static const char *initiator = "iqn.2026-11.io.tapegateway:tapebench";
static unsigned char *pattern;
static int ndrives;
static struct drive drives[MAX_DRIVES];
static pthread_barrier_t barrier;
static volatile int failed;

static double thread_cpu(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

static void make_pattern(void) {
  size_t len = block_size + PATTERN_SLACK;
  pattern = malloc(len);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i + 8 <= len; i += 8) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    memcpy(pattern + i, &x, 8);
  }
}

static inline size_t body_offset(uint64_t block) { return (block * 136) % PATTERN_SLACK; }

static void make_header(unsigned char *h, uint32_t drive, uint64_t block) {
  uint32_t magic = MAGIC;
  memcpy(h, &magic, 4);
  memcpy(h + 4, &drive, 4);
  memcpy(h + 8, &block, 8);
}

static const char *sense_text(struct scsi_task *t, char *buf, size_t len) {
  snprintf(buf, len, "status 0x%02x sense key 0x%x ascq 0x%04x", t->status, t->sense.key, t->sense.ascq);
  return buf;
}

/* Runs one CDB synchronously; returns the task (caller frees) or NULL on a transport error. */
static struct scsi_task *run(struct drive *d, unsigned char *cdb, int cdb_len, int dir, int xfer,
                             struct scsi_iovec *iov, int niov) {
  struct scsi_task *t = scsi_create_task(cdb_len, cdb, dir, xfer);
  if (!t) { snprintf(d->error, sizeof d->error, "out of memory"); return NULL; }
  if (dir == SCSI_XFER_WRITE && iov) scsi_task_set_iov_out(t, iov, niov);
  if (dir == SCSI_XFER_READ && iov) scsi_task_set_iov_in(t, iov, niov);
  if (iscsi_scsi_command_sync(d->iscsi, d->lun, t, NULL) == NULL) {
    snprintf(d->error, sizeof d->error, "transport error: %s", iscsi_get_error(d->iscsi));
    scsi_free_scsi_task(t);
    return NULL;
  }
  return t;
}

/* A command that must answer GOOD. */
static bool simple(struct drive *d, const char *name, unsigned char *cdb, int cdb_len, int dir, int xfer,
                   struct scsi_iovec *iov, int niov) {
  struct scsi_task *t = run(d, cdb, cdb_len, dir, xfer, iov, niov);
  if (!t) return false;
  bool ok = t->status == SCSI_STATUS_GOOD;
  if (!ok) {
    char s[128];
    snprintf(d->error, sizeof d->error, "%s: %s", name, sense_text(t, s, sizeof s));
  }
  scsi_free_scsi_task(t);
  return ok;
}

static bool rewind_tape(struct drive *d) {
  unsigned char cdb[6] = {0x01, 0, 0, 0, 0, 0};
  return simple(d, "REWIND", cdb, 6, SCSI_XFER_NONE, 0, NULL, 0);
}

static bool wait_ready(struct drive *d) {
  double deadline = now() + 30;
  for (;;) {
    unsigned char cdb[6] = {0};
    struct scsi_task *t = run(d, cdb, 6, SCSI_XFER_NONE, 0, NULL, 0);
    if (!t) return false;
    int status = t->status;
    int key = t->sense.key;
    int ascq = t->sense.ascq;
    scsi_free_scsi_task(t);
    if (status == SCSI_STATUS_GOOD) return true;
    if (now() > deadline) {
      snprintf(d->error, sizeof d->error, "TEST UNIT READY: not ready after 30 s (key 0x%x ascq 0x%04x)", key, ascq);
      return false;
    }
    if (key != 0x6) usleep(100000); /* UNIT ATTENTION answers at once; NOT READY: wait */
  }
}

static bool variable_mode(struct drive *d) {
  /* MODE SELECT(6), PF=1: header (4) + block descriptor (8) with block length 0. */
  unsigned char param[12] = {0, 0, 0x10 /* buffered mode 1 */, 8, 0, 0, 0, 0, 0, 0, 0, 0};
  unsigned char cdb[6] = {0x15, 0x10, 0, 0, sizeof param, 0};
  struct scsi_iovec iov = {param, sizeof param};
  return simple(d, "MODE SELECT(6)", cdb, 6, SCSI_XFER_WRITE, sizeof param, &iov, 1);
}

static bool write_phase(struct drive *d) {
  uint64_t blocks = total_bytes / block_size;
  unsigned char header[HEADER];
  double cpu0 = thread_cpu();
  d->write_start = now();
  for (uint64_t i = 0; i < blocks; i++) {
    make_header(header, d->index, i);
    struct scsi_iovec iov[2] = {{header, HEADER}, {pattern + body_offset(i), block_size - HEADER}};
    unsigned char cdb[6] = {0x0A, 0, block_size >> 16, block_size >> 8, block_size, 0};
    double t0 = now();
    struct scsi_task *t = run(d, cdb, 6, SCSI_XFER_WRITE, block_size, iov, 2);
    if (!t) return false;
    double us = (now() - t0) * 1e6;
    if (us > d->write.max_latency_us) d->write.max_latency_us = us;
    if (t->status != SCSI_STATUS_GOOD) {
      char s[128];
      snprintf(d->error, sizeof d->error, "WRITE(6) block %" PRIu64 ": %s", i, sense_text(t, s, sizeof s));
      scsi_free_scsi_task(t);
      return false;
    }
    scsi_free_scsi_task(t);
    d->write.bytes += block_size;
    d->write.commands++;
  }
  unsigned char wfm[6] = {0x10, 0, 0, 0, 1, 0};
  double sync_start = now();
  if (!simple(d, "WRITE FILEMARKS(6)", wfm, 6, SCSI_XFER_NONE, 0, NULL, 0)) return false;
  d->write_end = now();
  d->write.sync_seconds = d->write_end - sync_start;
  d->write.seconds = d->write_end - d->write_start;
  d->write.cpu_seconds = thread_cpu() - cpu0;
  return true;
}

static bool read_phase(struct drive *d) {
  uint64_t blocks = total_bytes / block_size;
  unsigned char *buf = aligned_alloc(4096, block_size + 4096);
  double cpu0 = thread_cpu();
  d->read_start = now();
  for (uint64_t i = 0; i < blocks; i++) {
    struct scsi_iovec iov = {buf, block_size};
    unsigned char cdb[6] = {0x08, 0, block_size >> 16, block_size >> 8, block_size, 0};
    double t0 = now();
    struct scsi_task *t = run(d, cdb, 6, SCSI_XFER_READ, block_size, &iov, 1);
    if (!t) { free(buf); return false; }
    double us = (now() - t0) * 1e6;
    if (us > d->read.max_latency_us) d->read.max_latency_us = us;
    if (t->status != SCSI_STATUS_GOOD || t->residual_status != SCSI_RESIDUAL_NO_RESIDUAL) {
      char s[128];
      snprintf(d->error, sizeof d->error, "READ(6) block %" PRIu64 ": %s residual %d/%zu", i,
               sense_text(t, s, sizeof s), t->residual_status, t->residual);
      scsi_free_scsi_task(t);
      free(buf);
      return false;
    }
    scsi_free_scsi_task(t);
    if (verify) {
      unsigned char header[HEADER];
      make_header(header, d->index, i);
      if (memcmp(buf, header, HEADER) != 0 ||
          memcmp(buf + HEADER, pattern + body_offset(i), block_size - HEADER) != 0) {
        uint64_t got_block;
        uint32_t got_drive;
        memcpy(&got_drive, buf + 4, 4);
        memcpy(&got_block, buf + 8, 8);
        snprintf(d->error, sizeof d->error,
                 "READ(6) block %" PRIu64 ": data differ (header says drive %u block %" PRIu64 ")", i, got_drive,
                 got_block);
        free(buf);
        return false;
      }
      d->verified_blocks++;
    }
    d->read.bytes += block_size;
    d->read.commands++;
  }
  d->read_end = now();
  d->read.seconds = d->read_end - d->read_start;
  d->read.cpu_seconds = thread_cpu() - cpu0;
  if (do_write) {
    /* The next read meets the filemark written above: CHECK CONDITION, NO SENSE, FILEMARK DETECTED. */
    struct scsi_iovec iov = {buf, block_size};
    unsigned char cdb[6] = {0x08, 0, block_size >> 16, block_size >> 8, block_size, 0};
    struct scsi_task *t = run(d, cdb, 6, SCSI_XFER_READ, block_size, &iov, 1);
    if (!t) { free(buf); return false; }
    d->filemark_seen = t->status == SCSI_STATUS_CHECK_CONDITION && t->sense.key == 0 && t->sense.ascq == 0x0001;
    if (!d->filemark_seen) {
      char s[128];
      fprintf(stderr, "tapebench: drive %d: read after the last block did not report the filemark: %s\n",
              d->index, sense_text(t, s, sizeof s));
    }
    scsi_free_scsi_task(t);
  }
  free(buf);
  return true;
}

static bool connect_drive(struct drive *d) {
  d->iscsi = iscsi_create_context(initiator);
  if (!d->iscsi) { snprintf(d->error, sizeof d->error, "iscsi_create_context failed"); return false; }
  /* A distinct ISID per drive: the target sees N sessions from one initiator. */
  iscsi_set_isid_random(d->iscsi, (uint32_t)(d->index * 7919 + getpid()), 0);
  struct iscsi_url *url = iscsi_parse_full_url(d->iscsi, d->url);
  if (!url) { snprintf(d->error, sizeof d->error, "bad URL %s: %s", d->url, iscsi_get_error(d->iscsi)); return false; }
  iscsi_set_targetname(d->iscsi, url->target);
  iscsi_set_session_type(d->iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(d->iscsi, ISCSI_HEADER_DIGEST_NONE);
  d->lun = url->lun;
  int rc = iscsi_full_connect_sync(d->iscsi, url->portal, url->lun);
  iscsi_destroy_url(url);
  if (rc != 0) { snprintf(d->error, sizeof d->error, "login to %s: %s", d->url, iscsi_get_error(d->iscsi)); return false; }
  return true;
}

static void fail(struct drive *d) {
  fprintf(stderr, "tapebench: drive %d (%s): %s\n", d->index, d->url, d->error);
  failed = 1;
}

/* Every drive reaches every barrier, failed or not, so the others never hang. */
static void *drive_main(void *arg) {
  struct drive *d = arg;
  bool ok = connect_drive(d) && wait_ready(d) && variable_mode(d) && rewind_tape(d);
  if (!ok) fail(d);
  pthread_barrier_wait(&barrier);
  if (ok && do_write && !failed) { ok = write_phase(d) && rewind_tape(d); if (!ok) fail(d); }
  pthread_barrier_wait(&barrier);
  if (ok && do_read && !failed) { ok = read_phase(d) && rewind_tape(d); if (!ok) fail(d); }
  if (d->iscsi) {
    iscsi_logout_sync(d->iscsi);
    iscsi_destroy_context(d->iscsi);
  }
  return NULL;
}

static void print_phase(const char *name, struct phase *p, double start, double end, bool last) {
  double secs = end - start;
  double mbps = secs > 0 ? p->bytes / secs / 1e6 : 0;
  double ceiling = p->cpu_seconds > 0 ? p->bytes / p->cpu_seconds / 1e6 : 0;
  printf("  \"%s\": {\"bytes\": %" PRIu64 ", \"seconds\": %.4f, \"MBps\": %.1f, \"commands\": %" PRIu64
         ", \"us_per_command\": %.1f, \"client_cpu_seconds\": %.4f, \"client_ceiling_MBps\": %.1f, \"sync_seconds\": %.4f}%s\n",
         name, p->bytes, secs, mbps, p->commands, p->commands ? secs * 1e6 / p->commands * ndrives : 0,
         p->cpu_seconds, ceiling, p->sync_seconds, last ? "" : ",");
}

static void selftest(void) {
  /* The verification and pattern cost alone: what the client could check per CPU second. */
  unsigned char *buf = aligned_alloc(4096, block_size + 4096);
  uint64_t blocks = total_bytes / block_size;
  double cpu0 = thread_cpu();
  uint64_t bad = 0;
  for (uint64_t i = 0; i < blocks; i++) {
    make_header(buf, 0, i);
    memcpy(buf + HEADER, pattern + body_offset(i), block_size - HEADER); /* stands in for the socket's copy */
    unsigned char header[HEADER];
    make_header(header, 0, i);
    bad += memcmp(buf, header, HEADER) != 0 || memcmp(buf + HEADER, pattern + body_offset(i), block_size - HEADER) != 0;
  }
  double cpu = thread_cpu() - cpu0;
  printf("{\"selftest\": {\"block_size\": %zu, \"bytes\": %" PRIu64 ", \"cpu_seconds\": %.4f, \"copy_and_verify_MBps\": %.1f, \"bad\": %" PRIu64 "}}\n",
         block_size, blocks * block_size, cpu, blocks * block_size / cpu / 1e6, bad);
  free(buf);
}

static void usage(void) {
  fprintf(stderr,
          "usage: tapebench --url iscsi://HOST:PORT/IQN/LUN [--url ...] [--block-size N] [--bytes N]\n"
          "                 [--phases write,read] [--no-verify] [--initiator IQN] [--selftest]\n");
  exit(2);
}

int main(int argc, char **argv) {
  bool self = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--url") && v) {
      if (ndrives == MAX_DRIVES) usage();
      drives[ndrives].index = ndrives;
      drives[ndrives++].url = v;
      i++;
    } else if (!strcmp(a, "--block-size") && v) { block_size = parse_size("tapebench", v); i++; }
    else if (!strcmp(a, "--bytes") && v) { total_bytes = parse_size("tapebench", v); i++; }
    else if (!strcmp(a, "--initiator") && v) { initiator = v; i++; }
    else if (!strcmp(a, "--phases") && v) {
      do_write = strstr(v, "write") != NULL;
      do_read = strstr(v, "read") != NULL;
      i++;
    } else if (!strcmp(a, "--no-verify")) verify = false;
    else if (!strcmp(a, "--selftest")) self = true;
    else usage();
  }
  if (block_size < 64 || block_size > 0xFFFFFF) { fprintf(stderr, "tapebench: block size must be 64..16 MiB-1\n"); return 2; }
  if (total_bytes < block_size) total_bytes = block_size;
  make_pattern();
  if (self) { selftest(); return 0; }
  if (ndrives == 0) usage();

  pthread_barrier_init(&barrier, NULL, ndrives);
  pthread_t threads[MAX_DRIVES];
  for (int i = 0; i < ndrives; i++) pthread_create(&threads[i], NULL, drive_main, &drives[i]);
  for (int i = 0; i < ndrives; i++) pthread_join(threads[i], NULL);

  /* Aggregate: all drives' bytes over the span from the first start to the last end. */
  struct phase w = {0}, r = {0};
  double ws = 1e300, we = 0, rs = 1e300, re = 0;
  for (int i = 0; i < ndrives; i++) {
    struct drive *d = &drives[i];
    w.bytes += d->write.bytes; w.commands += d->write.commands; w.cpu_seconds += d->write.cpu_seconds;
    r.bytes += d->read.bytes; r.commands += d->read.commands; r.cpu_seconds += d->read.cpu_seconds;
    if (d->write.max_latency_us > w.max_latency_us) w.max_latency_us = d->write.max_latency_us;
    if (d->write.sync_seconds > w.sync_seconds) w.sync_seconds = d->write.sync_seconds;
    if (d->read.max_latency_us > r.max_latency_us) r.max_latency_us = d->read.max_latency_us;
    if (d->write.bytes) { if (d->write_start < ws) ws = d->write_start; if (d->write_end > we) we = d->write_end; }
    if (d->read.bytes) { if (d->read_start < rs) rs = d->read_start; if (d->read_end > re) re = d->read_end; }
  }
  if (!w.bytes) ws = we = 0;
  if (!r.bytes) rs = re = 0;
  bool filemarks = true;
  for (int i = 0; i < ndrives; i++) filemarks &= drives[i].filemark_seen || !do_write || !do_read;
  printf("{\n  \"ok\": %s,\n  \"drives\": %d,\n  \"block_size\": %zu,\n  \"bytes_per_drive\": %" PRIu64
         ",\n  \"verified\": %s,\n  \"filemark_seen\": %s,\n",
         failed ? "false" : "true", ndrives, block_size, (total_bytes / block_size) * block_size,
         verify && do_read ? "true" : "false", filemarks ? "true" : "false");
  printf("  \"max_latency_us\": {\"write\": %.0f, \"read\": %.0f},\n", w.max_latency_us, r.max_latency_us);
  if (failed) {
    printf("  \"errors\": [");
    bool first = true;
    for (int i = 0; i < ndrives; i++) {
      if (!drives[i].error[0]) continue;
      printf("%s\"drive %d: ", first ? "" : ", ", i);
      for (const char *c = drives[i].error; *c; c++) putchar(*c == '"' || *c == '\\' ? '\'' : *c);
      printf("\"");
      first = false;
    }
    printf("],\n");
  }
  /* Each drive's own rate over its own time, for how evenly the drives share the target. */
  printf("  \"per_drive\": [");
  for (int i = 0; i < ndrives; i++) {
    struct drive *d = &drives[i];
    double wt = d->write_end - d->write_start, rt = d->read_end - d->read_start;
    printf("%s{\"write_MBps\": %.1f, \"read_MBps\": %.1f}", i ? ", " : "",
           d->write.bytes && wt > 0 ? d->write.bytes / wt / 1e6 : 0, d->read.bytes && rt > 0 ? d->read.bytes / rt / 1e6 : 0);
  }
  printf("],\n");
  print_phase("write", &w, ws, we, false);
  print_phase("read", &r, rs, re, true);
  printf("}\n");
  return failed ? 1 : 0;
}
