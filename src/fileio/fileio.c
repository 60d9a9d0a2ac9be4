/*
 * File I/O that Node's fs does not offer, as a Node-API addon.
 *
 * readCached(fd, buffer, position): reads buffer.length bytes at position only
 * if the page cache already holds them (preadv2 with RWF_NOWAIT, Linux 4.14),
 * without blocking. A 4 KiB read from the page cache takes about 2 us on the
 * calling thread, against a libuv thread-pool round trip of tens of
 * microseconds that bounded a block LUN's random reads at queue depth 1.
 * Returns the bytes read, or -1 when the read would block, is not supported
 * here, or fails: the caller then reads through the thread pool, which reports
 * any real error. A short count is returned as it is.
 *
 * duplicateDescriptor(fd): a new descriptor for the same open file or socket
 * (fcntl F_DUPFD_CLOEXEC), or an Error carrying the errno. The iSCSI portal
 * uses it to take an accepted connection into a socket of its own making,
 * one that reads into a buffer it reuses (Node offers that only to sockets
 * it did not accept).
 *
 * writeInPieces(fd, slices, position, piece): writes the slices laid end to
 * end from position, in system calls of at most `piece` bytes each, on a
 * thread of libuv's pool; a promise that resolves when all of it is written,
 * or rejects with an Error carrying the errno (code, errno). The page cache
 * sizes the folios it makes for a file's new pages by the write that makes
 * them, and ext4 walks every block of a folio on each later write into it: a
 * 4 KiB write into a page of a 1 MiB folio cost 50-90 us here, into a 16 KiB
 * folio 13 us. Files that take small random writes later (a volume's chunks)
 * are written in small pieces from the start, without a pool round trip per
 * piece.
 *
 * With `uncached` true (writeInPieces only), each call is a pwritev2 with
 * RWF_DONTCACHE (Linux 6.14): the pages it dirties leave the page cache once
 * written back, for data not read again soon (a tape's records). A page the
 * page cache takes from free memory costs more than the copy into it, most of
 * all in a virtual machine whose host backs a page only on first touch and
 * takes freed memory back (free page reporting): 1 GiB written into a new file
 * here cost 1.65-1.98 s of system time, 0.27-0.52 s uncached, whose pages are
 * taken again by the next write before the host takes them. Where the kernel
 * or the file system does not offer it (EOPNOTSUPP), writes are made as
 * without it, and every later one too.
 *
 * readUncached(fd, slices, position): one preadv2 with RWF_DONTCACHE into the
 * slices laid end to end, on a thread of libuv's pool: the pages it brings in
 * leave the page cache once copied (a plain read where the flag is not
 * offered); a promise of the bytes read, short at the end of the file, or a
 * rejection with an Error carrying the errno. An upload reads a tape's
 * records this way after writeInPieces(..., uncached) let their pages go: a
 * buffered read would take new pages from free memory again, which cost here
 * as much as the write saved (1.6-1.8 s/GiB; uncached 0.08).
 *
 * readChecksummed(fd, [buffer], position, slices, uncached): fills buffer
 * from position (reading again after a short count, until the file ends),
 * then takes the CRC32C of each slice (views of buffer), all in one job on a
 * thread of libuv's pool; a promise of { bytes, crcs }, the CRCs only when the
 * buffer was filled, or a rejection with an Error carrying the errno. A read
 * and then its checksums as two jobs took two round trips through the pool,
 * each of which waits for a pool thread and then for the event loop's thread
 * to be scheduled: on a busy machine most of a cached 1 MiB read's time.
 * `uncached`: each call as readUncached() makes it.
 *
 * writeInPiecesSync(fd, slices, position, piece): the same on the calling
 * thread, for the small writes an inline write gate lets through: throws
 * that Error, or returns once all of it is written. One call where Node's
 * fs.writevSync took a JavaScript wrapper's checks and copies of the array.
 *
 * writeChecksummed(fd, slices, position, piece, uncached, crcSlices, writeback):
 * takes the CRC32C of each of crcSlices, writes the slices as writeInPieces()
 * does, then, with writeback, starts writing the range's dirty pages to disk
 * (sync_file_range with SYNC_FILE_RANGE_WRITE: nothing waits for it, it only
 * lets the next fdatasync find less to do; without it the kernel keeps a
 * tape's data dirty until its sync point, a filemark, which then flushes all
 * of it while the drive waits), all in one job on a thread of libuv's pool; a
 * promise of the CRCs, or a rejection with an Error carrying the errno. A
 * cache write of 1 MiB (an NFS WRITE's, a tape record's) took three jobs for
 * these, each with its promise or callback and a wake of a pool thread: a
 * third of the event loop thread's user time of a share's sequential write
 * (0.50-0.72 s/GiB, 0.30-0.48 in one job).
 *
 * threadSleeps(): how many times the calling thread has slept in the kernel
 * (its voluntary context switches, getrusage RUSAGE_THREAD), or -1 where that
 * is unknown. A count that moves across a system call means the call blocked:
 * on a lock, on the disk, or in the kernel's throttling of writers. Being
 * preempted is an involuntary switch and does not count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stdio.h>
#include <limits.h>
#include <sys/uio.h>
#include <uv.h>

#include "../native/crc32c.h"
#include "../native/slices.h"

static napi_value read_cached(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  bool is_typed_array = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  int64_t position;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_is_typedarray(env, argv[1], &is_typed_array) != napi_ok || !is_typed_array ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      napi_get_value_int64(env, argv[2], &position) != napi_ok || position < 0) {
    napi_throw_type_error(env, NULL, "readCached(fd: number, buffer: Uint8Array, position: number >= 0)");
    return NULL;
  }
  int64_t bytes = -1;
#if defined(__linux__) && defined(RWF_NOWAIT)
  /* Any failure, EAGAIN or another, sends the caller to the thread pool: a failed call costs well under a microsecond. */
  struct iovec iov = {data, length};
  ssize_t r = preadv2(fd, &iov, 1, position, RWF_NOWAIT);
  if (r >= 0) bytes = r;
#endif
  napi_value result;
  napi_create_int64(env, bytes, &result);
  return result;
}

/*
 * Writes the iovecs laid end to end from `position`, in system calls of at
 * most `piece` bytes each (uncached: see writeInPieces() above); 0, or the errno of the call that failed.
 */
#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080
#endif

/* Set once a write with RWF_DONTCACHE failed with EOPNOTSUPP: the flag is not offered here. */
static int dontcache_unsupported;

static ssize_t write_call(int fd, const struct iovec *call, int n, int64_t at, bool uncached) {
  if (uncached && !__atomic_load_n(&dontcache_unsupported, __ATOMIC_RELAXED)) {
    ssize_t r = pwritev2(fd, call, n, at, RWF_DONTCACHE);
    if (r >= 0 || errno != EOPNOTSUPP) return r;
    __atomic_store_n(&dontcache_unsupported, 1, __ATOMIC_RELAXED);
  }
  return pwritev(fd, call, n, at);
}

/* The same for readUncached(): its pages leave the page cache once copied, where the flag is offered. */
static ssize_t read_call(int fd, const struct iovec *iov, int n, int64_t at) {
  if (!__atomic_load_n(&dontcache_unsupported, __ATOMIC_RELAXED)) {
    ssize_t r = preadv2(fd, iov, n, at, RWF_DONTCACHE);
    if (r >= 0 || errno != EOPNOTSUPP) return r;
    __atomic_store_n(&dontcache_unsupported, 1, __ATOMIC_RELAXED);
  }
  return preadv(fd, iov, n, at);
}

static int write_iov_in_pieces(int fd, const struct iovec *iov, uint32_t count, int64_t position, size_t piece, bool uncached) {
  uint32_t first = 0;
  size_t skip = 0; /* bytes of iov[first] already written */
  int64_t at = position;
  while (first < count) {
    /* The next system call: up to `piece` bytes from iov[first] + skip on. */
    struct iovec call[64];
    int n = 0;
    size_t want = 0;
    for (uint32_t i = first; i < count && n < 64 && want < piece; i++) {
      size_t from = i == first ? skip : 0;
      size_t len = iov[i].iov_len - from;
      if (len > piece - want) len = piece - want;
      if (len == 0) continue;
      call[n].iov_base = (uint8_t *)iov[i].iov_base + from;
      call[n].iov_len = len;
      n++;
      want += len;
    }
    if (n == 0) break;
    ssize_t r = write_call(fd, call, n, at, uncached);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return EIO;
    at += r;
    size_t moved = (size_t)r;
    while (moved > 0 && first < count) {
      size_t left = iov[first].iov_len - skip;
      if (moved < left) {
        skip += moved;
        moved = 0;
      } else {
        moved -= left;
        first++;
        skip = 0;
      }
    }
    while (first < count && iov[first].iov_len == 0) first++;
  }
  return 0;
}

/* An Error for the system's error `code`, with `errno` and `code` as Node's fs gives them. */
static napi_value errno_error(napi_env env, int code) {
  napi_value message, error, errno_value, code_value;
  napi_create_string_utf8(env, strerror(code), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, -code, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, uv_err_name(-code), NAPI_AUTO_LENGTH, &code_value);
  napi_set_named_property(env, error, "code", code_value);
  return error;
}

/* Throws the TypeError that says how to call `name`. */
static void throw_pieces_usage(napi_env env, const char *name) {
  char usage[160];
  snprintf(usage, sizeof usage, "%s(fd: number, slices: Uint8Array[], position: number >= 0, piece: number > 0, uncached?: boolean)", name);
  napi_throw_type_error(env, NULL, usage);
}

/*
 * The promise of one asynchronous call, settled by a job on a thread of libuv's
 * pool. Each call's struct begins with one: `run` does the work on the pool
 * thread (an errno in `error` on failure), `value` makes what the promise
 * resolves with on the event loop's thread (NULL when it cannot: the promise
 * rejects), and `release` gives back the slices and memory the call held.
 */
struct pool_job {
  napi_async_work work;
  napi_deferred deferred;
  int error;
  void (*run)(struct pool_job *job);
  napi_value (*value)(napi_env env, struct pool_job *job);
  void (*release)(napi_env env, struct pool_job *job);
};

static void pool_job_execute(napi_env env, void *arg) {
  (void)env;
  struct pool_job *job = arg;
  job->run(job);
}

static void pool_job_complete(napi_env env, napi_status status, void *arg) {
  struct pool_job *job = arg;
  napi_value value = status == napi_ok && job->error == 0 ? job->value(env, job) : NULL;
  if (value) napi_resolve_deferred(env, job->deferred, value);
  else napi_reject_deferred(env, job->deferred, errno_error(env, job->error ? job->error : EIO));
  if (job->work) napi_delete_async_work(env, job->work);
  job->release(env, job);
}

/* The promise of `job`, queued on libuv's pool; NULL (the job released) when not even the promise could be made. */
static napi_value pool_job_start(napi_env env, struct pool_job *job, const char *name) {
  napi_value promise, resource;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    job->release(env, job);
    return NULL;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (napi_create_async_work(env, NULL, resource, pool_job_execute, pool_job_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    job->error = EAGAIN;
    pool_job_complete(env, napi_generic_failure, job);
  }
  return promise;
}

/* One readUncached() call; the slices are held until it is done. */
struct uncached_read {
  struct pool_job job;
  struct slices slices;
  int fd;
  int64_t position;
  ssize_t bytes;
};

static void uncached_read_run(struct pool_job *job) {
  struct uncached_read *u = (struct uncached_read *)job;
  int n = u->slices.count > IOV_MAX ? IOV_MAX : (int)u->slices.count;
  do u->bytes = read_call(u->fd, u->slices.iov, n, u->position);
  while (u->bytes < 0 && errno == EINTR);
  job->error = u->bytes < 0 ? errno : 0;
}

static napi_value uncached_read_value(napi_env env, struct pool_job *job) {
  napi_value bytes;
  return napi_create_int64(env, ((struct uncached_read *)job)->bytes, &bytes) == napi_ok ? bytes : NULL;
}

static void uncached_read_release(napi_env env, struct pool_job *job) {
  struct uncached_read *u = (struct uncached_read *)job;
  slices_release(env, &u->slices);
  free(u);
}

#define READ_UNCACHED_USAGE "readUncached(fd: number, slices: Uint8Array[], position: number >= 0)"

static napi_value read_uncached(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t position;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[2], &position) != napi_ok || position < 0) {
    napi_throw_type_error(env, NULL, READ_UNCACHED_USAGE);
    return NULL;
  }
  struct uncached_read *u = calloc(1, sizeof *u);
  if (!u) {
    napi_throw_error(env, NULL, "readUncached: out of memory");
    return NULL;
  }
  *u = (struct uncached_read){.job = {.run = uncached_read_run, .value = uncached_read_value, .release = uncached_read_release}, .fd = fd, .position = position};
  enum slices_result taken = slices_take(env, argv[1], true, &u->slices);
  if (taken != SLICES_OK) {
    free(u);
    if (taken == SLICES_NOT_UINT8ARRAYS) napi_throw_type_error(env, NULL, READ_UNCACHED_USAGE);
    else napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  return pool_job_start(env, &u->job, "readUncached");
}

/* An array of the first `count` of `crcs`; NULL when it cannot be made. */
static napi_value crc_array(napi_env env, const uint32_t *crcs, uint32_t count) {
  napi_value array;
  if (napi_create_array_with_length(env, count, &array) != napi_ok) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_value crc;
    napi_create_uint32(env, crcs[i], &crc);
    napi_set_element(env, array, i, crc);
  }
  return array;
}

/* One readChecksummed() call; the buffer and the slices are held until it is done. */
struct checksummed_read {
  struct pool_job job;
  struct slices buffer;
  struct slices slices;
  int fd;
  int64_t position;
  bool uncached;
  size_t bytes;
  uint32_t *crcs;
};

static void checksummed_read_run(struct pool_job *job) {
  struct checksummed_read *c = (struct checksummed_read *)job;
  uint8_t *into = c->buffer.iov[0].iov_base;
  size_t length = c->buffer.iov[0].iov_len;
  while (c->bytes < length) {
    struct iovec rest = {into + c->bytes, length - c->bytes};
    int64_t at = c->position + (int64_t)c->bytes;
    ssize_t r = c->uncached ? read_call(c->fd, &rest, 1, at) : preadv(c->fd, &rest, 1, at);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      job->error = errno;
      return;
    }
    if (r == 0) return;
    c->bytes += (size_t)r;
  }
  for (uint32_t i = 0; i < c->slices.count; i++) c->crcs[i] = crc_best(0, c->slices.iov[i].iov_base, c->slices.iov[i].iov_len);
}

static napi_value checksummed_read_value(napi_env env, struct pool_job *job) {
  struct checksummed_read *c = (struct checksummed_read *)job;
  bool whole = c->bytes == c->buffer.iov[0].iov_len;
  napi_value result, bytes, crcs = crc_array(env, c->crcs, whole ? c->slices.count : 0);
  if (!crcs || napi_create_object(env, &result) != napi_ok) return NULL;
  napi_create_int64(env, (int64_t)c->bytes, &bytes);
  napi_set_named_property(env, result, "bytes", bytes);
  napi_set_named_property(env, result, "crcs", crcs);
  return result;
}

static void checksummed_read_release(napi_env env, struct pool_job *job) {
  struct checksummed_read *c = (struct checksummed_read *)job;
  slices_release(env, &c->buffer);
  slices_release(env, &c->slices);
  free(c->crcs);
  free(c);
}

#define READ_CHECKSUMMED_USAGE "readChecksummed(fd: number, buffer: [Uint8Array], position: number >= 0, slices: Uint8Array[], uncached: boolean)"

static napi_value read_checksummed(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd;
  int64_t position;
  bool uncached;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[2], &position) != napi_ok || position < 0 ||
      napi_get_value_bool(env, argv[4], &uncached) != napi_ok) {
    napi_throw_type_error(env, NULL, READ_CHECKSUMMED_USAGE);
    return NULL;
  }
  struct checksummed_read *c = calloc(1, sizeof *c);
  if (!c) {
    napi_throw_error(env, NULL, "readChecksummed: out of memory");
    return NULL;
  }
  *c = (struct checksummed_read){.job = {.run = checksummed_read_run, .value = checksummed_read_value, .release = checksummed_read_release},
                                 .fd = fd,
                                 .position = position,
                                 .uncached = uncached};
  enum slices_result taken = slices_take(env, argv[1], true, &c->buffer);
  if (taken == SLICES_OK && c->buffer.count != 1) taken = SLICES_NOT_UINT8ARRAYS;
  if (taken == SLICES_OK) taken = slices_take(env, argv[3], true, &c->slices);
  if (taken == SLICES_OK && !(c->crcs = calloc(c->slices.count ? c->slices.count : 1, sizeof *c->crcs))) taken = SLICES_FAILED;
  if (taken != SLICES_OK) {
    checksummed_read_release(env, &c->job);
    if (taken == SLICES_NOT_UINT8ARRAYS) napi_throw_type_error(env, NULL, READ_CHECKSUMMED_USAGE);
    else napi_throw_error(env, NULL, "readChecksummed: out of memory");
    return NULL;
  }
  return pool_job_start(env, &c->job, "readChecksummed");
}

/* The arguments of writeInPieces() and writeInPiecesSync() (whose writes are small: it ignores `uncached`); false with an exception pending when they are wrong. */
static bool pieces_arguments(napi_env env, napi_callback_info info, const char *name, bool hold, int32_t *fd, struct slices *slices,
                             int64_t *position, int64_t *piece, bool *uncached) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  napi_valuetype fifth = napi_undefined;
  if (argc > 4 && napi_typeof(env, argv[4], &fifth) != napi_ok) return false;
  *uncached = false;
  if (argc < 4 || napi_get_value_int32(env, argv[0], fd) != napi_ok || napi_get_value_int64(env, argv[2], position) != napi_ok ||
      napi_get_value_int64(env, argv[3], piece) != napi_ok || *position < 0 || *piece <= 0 ||
      (fifth != napi_undefined && napi_get_value_bool(env, argv[4], uncached) != napi_ok)) {
    throw_pieces_usage(env, name);
    return false;
  }
  enum slices_result taken = slices_take(env, argv[1], hold, slices);
  if (taken == SLICES_NOT_UINT8ARRAYS) throw_pieces_usage(env, name);
  else if (taken != SLICES_OK) napi_throw_error(env, NULL, "out of memory");
  return taken == SLICES_OK;
}

/* One writeInPieces() call; the slices are held until it is done (see slices.h). */
struct pieces {
  struct pool_job job;
  struct slices slices;
  int fd;
  int64_t position;
  size_t piece;
  bool uncached;
};

static void pieces_run(struct pool_job *job) {
  struct pieces *p = (struct pieces *)job;
  job->error = write_iov_in_pieces(p->fd, p->slices.iov, p->slices.count, p->position, p->piece, p->uncached);
}

static napi_value pieces_value(napi_env env, struct pool_job *job) {
  (void)job;
  napi_value undefined;
  return napi_get_undefined(env, &undefined) == napi_ok ? undefined : NULL;
}

static void pieces_release(napi_env env, struct pool_job *job) {
  struct pieces *p = (struct pieces *)job;
  slices_release(env, &p->slices);
  free(p);
}

static napi_value write_in_pieces(napi_env env, napi_callback_info info) {
  struct pieces *p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, NULL, "writeInPieces: out of memory");
    return NULL;
  }
  p->job = (struct pool_job){.run = pieces_run, .value = pieces_value, .release = pieces_release};
  int32_t fd;
  int64_t piece;
  if (!pieces_arguments(env, info, "writeInPieces", true, &fd, &p->slices, &p->position, &piece, &p->uncached)) {
    free(p);
    return NULL;
  }
  p->fd = fd;
  p->piece = (size_t)piece;
  return pool_job_start(env, &p->job, "writeInPieces");
}

static napi_value write_in_pieces_sync(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t position, piece;
  bool uncached;
  struct slices slices;
  if (!pieces_arguments(env, info, "writeInPiecesSync", false, &fd, &slices, &position, &piece, &uncached)) return NULL;
  int error = write_iov_in_pieces(fd, slices.iov, slices.count, position, (size_t)piece, false);
  slices_release(env, &slices);
  if (error) napi_throw(env, errno_error(env, error));
  return NULL;
}

/* One writeChecksummed() call; the slices to write and those to checksum are held until it is done. */
struct checksummed_write {
  struct pool_job job;
  struct slices slices;
  struct slices crc_slices;
  int fd;
  int64_t position;
  size_t piece;
  bool uncached;
  bool writeback;
  uint32_t *crcs;
};

static void checksummed_write_run(struct pool_job *job) {
  struct checksummed_write *c = (struct checksummed_write *)job;
  /* Checksummed first: the write then copies bytes the CRC just brought into this core's cache. */
  for (uint32_t i = 0; i < c->crc_slices.count; i++) c->crcs[i] = crc_best(0, c->crc_slices.iov[i].iov_base, c->crc_slices.iov[i].iov_len);
  job->error = write_iov_in_pieces(c->fd, c->slices.iov, c->slices.count, c->position, c->piece, c->uncached);
#if defined(__linux__)
  if (job->error == 0 && c->writeback) {
    size_t length = 0;
    for (uint32_t i = 0; i < c->slices.count; i++) length += c->slices.iov[i].iov_len;
    sync_file_range(c->fd, c->position, (off_t)length, SYNC_FILE_RANGE_WRITE);
  }
#endif
}

static napi_value checksummed_write_value(napi_env env, struct pool_job *job) {
  struct checksummed_write *c = (struct checksummed_write *)job;
  return crc_array(env, c->crcs, c->crc_slices.count);
}

static void checksummed_write_release(napi_env env, struct pool_job *job) {
  struct checksummed_write *c = (struct checksummed_write *)job;
  slices_release(env, &c->slices);
  slices_release(env, &c->crc_slices);
  free(c->crcs);
  free(c);
}

#define WRITE_CHECKSUMMED_USAGE                                                                                                                  \
  "writeChecksummed(fd: number, slices: Uint8Array[], position: number >= 0, piece: number > 0, uncached: boolean, crcSlices: Uint8Array[], " \
  "writeback: boolean)"

static napi_value write_checksummed(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  int32_t fd;
  int64_t position, piece;
  bool uncached, writeback;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 7 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[2], &position) != napi_ok || position < 0 ||
      napi_get_value_int64(env, argv[3], &piece) != napi_ok || piece <= 0 || napi_get_value_bool(env, argv[4], &uncached) != napi_ok ||
      napi_get_value_bool(env, argv[6], &writeback) != napi_ok) {
    napi_throw_type_error(env, NULL, WRITE_CHECKSUMMED_USAGE);
    return NULL;
  }
  struct checksummed_write *c = calloc(1, sizeof *c);
  if (!c) {
    napi_throw_error(env, NULL, "writeChecksummed: out of memory");
    return NULL;
  }
  *c = (struct checksummed_write){.job = {.run = checksummed_write_run, .value = checksummed_write_value, .release = checksummed_write_release},
                                  .fd = fd,
                                  .position = position,
                                  .piece = (size_t)piece,
                                  .uncached = uncached,
                                  .writeback = writeback};
  enum slices_result taken = slices_take(env, argv[1], true, &c->slices);
  if (taken == SLICES_OK) taken = slices_take(env, argv[5], true, &c->crc_slices);
  if (taken == SLICES_OK && !(c->crcs = calloc(c->crc_slices.count ? c->crc_slices.count : 1, sizeof *c->crcs))) taken = SLICES_FAILED;
  if (taken != SLICES_OK) {
    checksummed_write_release(env, &c->job);
    if (taken == SLICES_NOT_UINT8ARRAYS) napi_throw_type_error(env, NULL, WRITE_CHECKSUMMED_USAGE);
    else napi_throw_error(env, NULL, "writeChecksummed: out of memory");
    return NULL;
  }
  return pool_job_start(env, &c->job, "writeChecksummed");
}

static napi_value duplicate_descriptor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "duplicateDescriptor(fd: number >= 0)");
    return NULL;
  }
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, copy, &result);
  return result;
}

static napi_value thread_sleeps(napi_env env, napi_callback_info info) {
  (void)info;
  int64_t sleeps = -1;
#if defined(RUSAGE_THREAD)
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) == 0) sleeps = usage.ru_nvcsw;
#endif
  napi_value result;
  napi_create_int64(env, sleeps, &result);
  return result;
}

NAPI_MODULE_INIT() {
  crc32c_init();
  napi_value fn;
  if (napi_create_function(env, "readCached", NAPI_AUTO_LENGTH, read_cached, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "readCached", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "duplicateDescriptor", NAPI_AUTO_LENGTH, duplicate_descriptor, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "duplicateDescriptor", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "writeInPieces", NAPI_AUTO_LENGTH, write_in_pieces, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "writeInPieces", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "readUncached", NAPI_AUTO_LENGTH, read_uncached, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "readUncached", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "readChecksummed", NAPI_AUTO_LENGTH, read_checksummed, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "readChecksummed", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "writeChecksummed", NAPI_AUTO_LENGTH, write_checksummed, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "writeChecksummed", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "writeInPiecesSync", NAPI_AUTO_LENGTH, write_in_pieces_sync, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "writeInPiecesSync", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "threadSleeps", NAPI_AUTO_LENGTH, thread_sleeps, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "threadSleeps", fn) != napi_ok) return NULL;
  return exports;
}
