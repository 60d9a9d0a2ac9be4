/*
 * NFSv3 benchmark client on libnfs (Debian libnfs-dev), one request at a time, as `cp` does:
 *
 *   sharebench --url 'nfs://127.0.0.1/EXPORT?nfsport=N&mountport=M' --test TEST [options]
 *
 * Tests (in the directory --dir NAME under the export, default "bench", made by the test):
 *   seqwrite     --bytes SIZE --bs SIZE: one file written from start to end, then fsync (COMMIT)
 *   seqread      --bytes SIZE --bs SIZE: the file seqwrite left, read from start to end, every
 *                byte checked against the pattern written
 *   smallfiles   --files N --file-size SIZE: N files created, written and closed (each fsync-ed),
 *                then each stat-ed, then each read back and checked
 *   readdirplus  --files N: the directory smallfiles made, listed (libnfs lists with READDIRPLUS)
 *
 * Prints one JSON object: ok, the figures (MBps or per-second rates), seconds, and the client's
 * own CPU seconds (its ceiling: what it could do were the server infinitely fast).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/time.h>
#include <nfsc/libnfs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench-util.h"

static const char *program = "sharebench";

static void fail(struct nfs_context *nfs, const char *what, int rc) {
  printf("{\"ok\":false,\"error\":\"%s: %s (%d)\"}\n", what, nfs ? nfs_get_error(nfs) : strerror(-rc), rc);
  exit(1);
}

/* A pattern that differs for every 8 bytes of every file, so a misplaced block is caught. */
static void fill(uint8_t *buf, uint64_t offset, uint64_t len, uint64_t seed) {
  for (uint64_t i = 0; i < len; i += 8) {
    uint64_t v = (offset + i) * 0x9E3779B97F4A7C15ull ^ seed;
    memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
  }
}

static double cpu(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv) {
  const char *url_text = NULL, *test = NULL, *dir_name = "bench";
  uint64_t bytes = 1ull << 30, bs = 1 << 20, files = 10000, file_size = 4096;
  static struct option options[] = {
      {"url", required_argument, 0, 'u'}, {"test", required_argument, 0, 't'},   {"bytes", required_argument, 0, 'b'},
      {"bs", required_argument, 0, 's'},  {"files", required_argument, 0, 'n'}, {"file-size", required_argument, 0, 'f'},
      {"dir", required_argument, 0, 'd'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (c) {
      case 'u': url_text = optarg; break;
      case 't': test = optarg; break;
      case 'b': bytes = parse_size(program, optarg); break;
      case 's': bs = parse_size(program, optarg); break;
      case 'n': files = strtoull(optarg, NULL, 10); break;
      case 'f': file_size = parse_size(program, optarg); break;
      case 'd': dir_name = optarg; break;
      default: fprintf(stderr, "usage: %s --url URL --test seqwrite|seqread|smallfiles|readdirplus [...]\n", program); return 2;
    }
  }
  if (!url_text || !test) { fprintf(stderr, "%s: --url and --test are required\n", program); return 2; }

  struct nfs_context *nfs = nfs_init_context();
  if (!nfs) fail(NULL, "nfs_init_context", -ENOMEM);
  struct nfs_url *url = nfs_parse_url_dir(nfs, url_text);
  if (!url) fail(nfs, "parse url", -EINVAL);
  int rc = nfs_mount(nfs, url->server, url->path);
  if (rc) fail(nfs, "mount", rc);

  char dir[200], data_path[256];
  snprintf(dir, sizeof dir, "/%s", dir_name);
  snprintf(data_path, sizeof data_path, "%s/data", dir);
  uint8_t *buf = malloc(bs > file_size ? bs : file_size);
  uint8_t *expect = malloc(bs > file_size ? bs : file_size);
  double t0 = now(), c0 = cpu();

  if (!strcmp(test, "seqwrite") || !strcmp(test, "seqread")) {
    int writing = !strcmp(test, "seqwrite");
    struct nfsfh *fh;
    if (writing) {
      nfs_mkdir(nfs, dir);
      rc = nfs_open(nfs, data_path, O_WRONLY | O_CREAT | O_TRUNC, &fh);
    } else {
      rc = nfs_open(nfs, data_path, O_RDONLY, &fh);
    }
    if (rc) fail(nfs, "open the data file", rc);
    t0 = now();
    c0 = cpu();
    for (uint64_t off = 0; off < bytes; off += bs) {
      uint64_t n = bytes - off < bs ? bytes - off : bs;
      if (writing) {
        fill(buf, off, n, 1);
        for (uint64_t done = 0; done < n;) {
          rc = nfs_pwrite(nfs, fh, off + done, n - done, buf + done);
          if (rc <= 0) fail(nfs, "pwrite", rc);
          done += rc;
        }
      } else {
        for (uint64_t done = 0; done < n;) {
          rc = nfs_pread(nfs, fh, off + done, n - done, buf + done);
          if (rc <= 0) fail(nfs, "pread", rc);
          done += rc;
        }
        fill(expect, off, n, 1);
        if (memcmp(buf, expect, n)) fail(NULL, "read back differs from what was written", -EIO);
      }
    }
    if (writing && (rc = nfs_fsync(nfs, fh))) fail(nfs, "fsync", rc);
    nfs_close(nfs, fh);
    double s = now() - t0;
    printf("{\"ok\":true,\"test\":\"%s\",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"MBps\":%.1f,\"client_cpu_s\":%.3f}\n", test, bytes, s, bytes / s / 1e6, cpu() - c0);
  } else if (!strcmp(test, "smallfiles")) {
    nfs_mkdir(nfs, dir);
    char path[256];
    double create_s, stat_s, read_s;
    for (uint64_t i = 0; i < files; i++) {
      struct nfsfh *fh;
      snprintf(path, sizeof path, "%s/f%06" PRIu64, dir, i);
      if ((rc = nfs_creat(nfs, path, 0644, &fh))) fail(nfs, "creat", rc);
      fill(buf, 0, file_size, i);
      if ((rc = nfs_pwrite(nfs, fh, 0, file_size, buf)) != (int)file_size) fail(nfs, "pwrite", rc);
      if ((rc = nfs_fsync(nfs, fh))) fail(nfs, "fsync", rc);
      nfs_close(nfs, fh);
    }
    create_s = now() - t0;
    double t1 = now();
    for (uint64_t i = 0; i < files; i++) {
      struct nfs_stat_64 st;
      snprintf(path, sizeof path, "%s/f%06" PRIu64, dir, i);
      if ((rc = nfs_stat64(nfs, path, &st))) fail(nfs, "stat", rc);
      if (st.nfs_size != file_size) fail(NULL, "stat gave the wrong size", -EIO);
    }
    stat_s = now() - t1;
    t1 = now();
    for (uint64_t i = 0; i < files; i++) {
      struct nfsfh *fh;
      snprintf(path, sizeof path, "%s/f%06" PRIu64, dir, i);
      if ((rc = nfs_open(nfs, path, O_RDONLY, &fh))) fail(nfs, "open", rc);
      if ((rc = nfs_pread(nfs, fh, 0, file_size, buf)) != (int)file_size) fail(nfs, "pread", rc);
      fill(expect, 0, file_size, i);
      if (memcmp(buf, expect, file_size)) fail(NULL, "a small file reads back wrong", -EIO);
      nfs_close(nfs, fh);
    }
    read_s = now() - t1;
    printf("{\"ok\":true,\"test\":\"smallfiles\",\"files\":%" PRIu64 ",\"create_per_s\":%.1f,\"stat_per_s\":%.1f,\"read_per_s\":%.1f,\"seconds\":%.3f,\"client_cpu_s\":%.3f}\n",
           files, files / create_s, files / stat_s, files / read_s, now() - t0, cpu() - c0);
  } else if (!strcmp(test, "readdirplus")) {
    struct nfsdir *listing;
    if ((rc = nfs_opendir(nfs, dir, &listing))) fail(nfs, "opendir", rc);
    uint64_t n = 0;
    while (nfs_readdir(nfs, listing)) n++;
    nfs_closedir(nfs, listing);
    double s = now() - t0;
    if (n < files) fail(NULL, "the listing lacks entries", -EIO);
    printf("{\"ok\":true,\"test\":\"readdirplus\",\"entries\":%" PRIu64 ",\"seconds\":%.3f,\"entries_per_s\":%.1f,\"client_cpu_s\":%.3f}\n", n, s, n / s, cpu() - c0);
  } else {
    fprintf(stderr, "%s: unknown test %s\n", program, test);
    return 2;
  }
  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  free(buf);
  free(expect);
  return 0;
}
