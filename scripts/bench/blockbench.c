/*
 * blockbench: block-LUN load from libiscsi's async API, one session, N commands in flight.
 *
 *   blockbench --url iscsi://127.0.0.1:PORT/IQN/LUN --test randread|randwrite|seqread|seqwrite
 *              [--bs 4096] [--qd 32] [--seconds 5] [--span BYTES] [--bytes BYTES] [--stride BYTES]
 *
 * Random tests pick aligned offsets uniformly in the first --span bytes of the LUN (default
 * 256 MiB; write the span sequentially first so reads hit real data) and run for --seconds.
 * Sequential tests walk the span from offset 0 (wrapping) until --bytes are moved or --seconds
 * pass; with --stride, each command starts that many bytes after the one before (a sparse
 * pattern: --bs 1M --stride 10M writes a tenth of the span). READ(16)/WRITE(16) with the data in
 * the client's own buffers (no copy in libiscsi).
 * Prints one JSON object: IOPS, MB/s, mean and p99 latency, and the client's CPU time
 * (bytes or commands per client CPU second is the client's own ceiling).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "bench-util.h"

struct slot {
  unsigned char *buf;
  struct scsi_iovec iov;
  double started;
  int busy;
};

static struct iscsi_context *iscsi;
static int lun;
static uint32_t lba_size = 512;
static uint64_t lun_bytes;
static size_t bs = 4096;
static int qd = 1;
static double seconds = 5;
static uint64_t span = 256ull << 20;
static uint64_t want_bytes;
static uint64_t stride;
static bool is_write, is_random;
static double deadline;
static uint64_t done_commands, done_bytes, issued_bytes, seq_next;
static int inflight;
static int errors;
static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double *latencies;
static size_t nlat, caplat;
static struct slot *slots;

static double cpu_now(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

static uint64_t next_offset(void) {
  if (is_random) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (rng % (span / bs)) * bs;
  }
  uint64_t off = seq_next;
  seq_next += stride;
  if (seq_next + bs > span) seq_next = 0;
  return off;
}

static void submit(struct slot *s);

static void done(struct iscsi_context *ctx, int status, void *command_data, void *private_data) {
  (void)ctx;
  struct slot *s = private_data;
  struct scsi_task *task = command_data;
  inflight--;
  s->busy = 0;
  if (status != SCSI_STATUS_GOOD) {
    if (errors++ < 5)
      fprintf(stderr, "blockbench: command failed: status %d %s\n", status,
              task ? scsi_sense_key_str(task->sense.key) : iscsi_get_error(iscsi));
  } else {
    done_commands++;
    done_bytes += bs;
    if (nlat == caplat) {
      caplat = caplat ? caplat * 2 : 1 << 16;
      latencies = realloc(latencies, caplat * sizeof *latencies);
    }
    latencies[nlat++] = now() - s->started;
  }
  if (task) scsi_free_scsi_task(task);
  if (!errors && now() < deadline && (!want_bytes || issued_bytes < want_bytes)) submit(s);
}

static void submit(struct slot *s) {
  uint64_t off = next_offset();
  uint64_t lba = off / lba_size;
  uint32_t nblocks = bs / lba_size;
  struct scsi_task *t;
  s->started = now();
  s->busy = 1;
  if (is_write) {
    memcpy(s->buf, &off, sizeof off); /* each block says where it belongs */
    t = iscsi_write16_iov_task(iscsi, lun, lba, NULL, bs, lba_size, 0, 0, 0, 0, 0, done, s, &s->iov, 1);
  } else {
    t = iscsi_read16_iov_task(iscsi, lun, lba, bs, lba_size, 0, 0, 0, 0, 0, done, s, &s->iov, 1);
  }
  (void)nblocks;
  if (!t) {
    fprintf(stderr, "blockbench: could not queue: %s\n", iscsi_get_error(iscsi));
    errors++;
    s->busy = 0;
    return;
  }
  inflight++;
  issued_bytes += bs;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void usage(void) {
  fprintf(stderr,
          "usage: blockbench --url URL --test randread|randwrite|seqread|seqwrite [--bs N] [--qd N]\n"
          "                  [--seconds S] [--span BYTES] [--bytes BYTES] [--stride BYTES] [--initiator IQN]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *url_text = NULL, *test = NULL, *initiator = "iqn.2026-11.io.tapegateway:blockbench";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    if (!strcmp(a, "--url")) url_text = v;
    else if (!strcmp(a, "--test")) test = v;
    else if (!strcmp(a, "--bs")) bs = parse_size("blockbench", v);
    else if (!strcmp(a, "--qd")) qd = atoi(v);
    else if (!strcmp(a, "--seconds")) seconds = atof(v);
    else if (!strcmp(a, "--span")) span = parse_size("blockbench", v);
    else if (!strcmp(a, "--bytes")) want_bytes = parse_size("blockbench", v);
    else if (!strcmp(a, "--stride")) stride = parse_size("blockbench", v);
    else if (!strcmp(a, "--initiator")) initiator = v;
    else usage();
    i++;
  }
  if (!url_text || !test || qd < 1 || qd > 256) usage();
  if (stride == 0) stride = bs;
  if (stride < bs) { fprintf(stderr, "blockbench: --stride must be at least --bs\n"); return 2; }
  is_write = strstr(test, "write") != NULL;
  is_random = strncmp(test, "rand", 4) == 0;

  iscsi = iscsi_create_context(initiator);
  struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
  if (!url) { fprintf(stderr, "blockbench: %s\n", iscsi_get_error(iscsi)); return 1; }
  iscsi_set_targetname(iscsi, url->target);
  iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
  lun = url->lun;
  if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
    fprintf(stderr, "blockbench: login: %s\n", iscsi_get_error(iscsi));
    return 1;
  }
  iscsi_destroy_url(url);
  /* Unit attentions after login are consumed by the first commands. */
  for (int i = 0; i < 5; i++) {
    struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
    int ok = t && t->status == SCSI_STATUS_GOOD;
    if (t) scsi_free_scsi_task(t);
    if (ok) break;
  }
  struct scsi_task *cap = iscsi_readcapacity16_sync(iscsi, lun);
  if (!cap || cap->status != SCSI_STATUS_GOOD) { fprintf(stderr, "blockbench: READ CAPACITY(16) failed\n"); return 1; }
  struct scsi_readcapacity16 *rc16 = scsi_datain_unmarshall(cap);
  lba_size = rc16->block_length;
  lun_bytes = (rc16->returned_lba + 1) * (uint64_t)lba_size;
  scsi_free_scsi_task(cap);
  if (span > lun_bytes) span = lun_bytes;
  if (bs % lba_size || span < bs) { fprintf(stderr, "blockbench: bad block size for LBA size %u\n", lba_size); return 1; }

  slots = calloc(qd, sizeof *slots);
  for (int i = 0; i < qd; i++) {
    slots[i].buf = aligned_alloc(4096, (bs + 4095) / 4096 * 4096);
    for (size_t j = 0; j < bs; j++) slots[i].buf[j] = (unsigned char)(j * 31 + i);
    slots[i].iov.iov_base = slots[i].buf;
    slots[i].iov.iov_len = bs;
  }

  double cpu0 = cpu_now();
  double start = now();
  deadline = start + seconds;
  for (int i = 0; i < qd; i++) submit(&slots[i]);
  while (inflight > 0) {
    struct pollfd pfd = {.fd = iscsi_get_fd(iscsi), .events = iscsi_which_events(iscsi)};
    if (poll(&pfd, 1, 1000) < 0) { perror("poll"); return 1; }
    if (iscsi_service(iscsi, pfd.revents) < 0) {
      fprintf(stderr, "blockbench: iscsi_service: %s\n", iscsi_get_error(iscsi));
      return 1;
    }
  }
  double elapsed = now() - start;
  double cpu = cpu_now() - cpu0;

  if (is_write) {
    struct scsi_task *t = iscsi_synchronizecache10_sync(iscsi, lun, 0, 0, 0, 0);
    if (t) scsi_free_scsi_task(t);
  }
  qsort(latencies, nlat, sizeof *latencies, cmp);
  double sum = 0;
  for (size_t i = 0; i < nlat; i++) sum += latencies[i];
  printf("{\"ok\": %s, \"test\": \"%s\", \"bs\": %zu, \"qd\": %d, \"span\": %" PRIu64 ", \"seconds\": %.3f, "
         "\"commands\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"IOPS\": %.0f, \"MBps\": %.1f, "
         "\"lat_mean_us\": %.1f, \"lat_p99_us\": %.1f, \"client_cpu_seconds\": %.3f, "
         "\"client_ceiling_IOPS\": %.0f}\n",
         errors ? "false" : "true", test, bs, qd, span, elapsed, done_commands, done_bytes,
         done_commands / elapsed, done_bytes / elapsed / 1e6, nlat ? sum / nlat * 1e6 : 0,
         nlat ? latencies[(size_t)(nlat * 0.99)] * 1e6 : 0, cpu, cpu > 0 ? done_commands / cpu : 0);
  iscsi_logout_sync(iscsi);
  iscsi_destroy_context(iscsi);
  return errors ? 1 : 0;
}
