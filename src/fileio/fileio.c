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

/* One readUncached() call; the slices are held until it is done. */
struct uncached_read {
  napi_async_work work;
  napi_deferred deferred;
  struct slices slices;
  int fd;
  int64_t position;
  ssize_t bytes;
  int error;
};

static void uncached_read_execute(napi_env env, void *arg) {
  (void)env;
  struct uncached_read *u = arg;
  int n = u->slices.count > IOV_MAX ? IOV_MAX : (int)u->slices.count;
  do u->bytes = read_call(u->fd, u->slices.iov, n, u->position);
  while (u->bytes < 0 && errno == EINTR);
  u->error = u->bytes < 0 ? errno : 0;
}

static void uncached_read_complete(napi_env env, napi_status status, void *arg) {
  struct uncached_read *u = arg;
  if (status == napi_ok && u->error == 0) {
    napi_value bytes;
    napi_create_int64(env, u->bytes, &bytes);
    napi_resolve_deferred(env, u->deferred, bytes);
  } else {
    napi_reject_deferred(env, u->deferred, errno_error(env, u->error ? u->error : EIO));
  }
  if (u->work) napi_delete_async_work(env, u->work);
  slices_release(env, &u->slices);
  free(u);
}

static napi_value read_uncached(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t position;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[2], &position) != napi_ok || position < 0) {
    napi_throw_type_error(env, NULL, "readUncached(fd: number, slices: Uint8Array[], position: number >= 0)");
    return NULL;
  }
  struct uncached_read *u = calloc(1, sizeof *u);
  if (!u) {
    napi_throw_error(env, NULL, "readUncached: out of memory");
    return NULL;
  }
  enum slices_result taken = slices_take(env, argv[1], true, &u->slices);
  if (taken != SLICES_OK) {
    free(u);
    if (taken == SLICES_NOT_UINT8ARRAYS) napi_throw_type_error(env, NULL, "readUncached(fd: number, slices: Uint8Array[], position: number >= 0)");
    else napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  u->fd = fd;
  u->position = position;
  napi_value promise, name;
  if (napi_create_promise(env, &u->deferred, &promise) != napi_ok) {
    slices_release(env, &u->slices);
    free(u);
    return NULL;
  }
  napi_create_string_utf8(env, "readUncached", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, uncached_read_execute, uncached_read_complete, u, &u->work) != napi_ok ||
      napi_queue_async_work(env, u->work) != napi_ok) {
    u->error = EAGAIN;
    uncached_read_complete(env, napi_generic_failure, u);
  }
  return promise;
}

/* One readChecksummed() call; the buffer and the slices are held until it is done. */
struct checksummed_read {
  napi_async_work work;
  napi_deferred deferred;
  struct slices buffer;
  struct slices slices;
  int fd;
  int64_t position;
  bool uncached;
  size_t bytes;
  int error;
  uint32_t *crcs;
};

static void checksummed_read_execute(napi_env env, void *arg) {
  (void)env;
  struct checksummed_read *c = arg;
  uint8_t *into = c->buffer.iov[0].iov_base;
  size_t length = c->buffer.iov[0].iov_len;
  while (c->bytes < length) {
    struct iovec rest = {into + c->bytes, length - c->bytes};
    int64_t at = c->position + (int64_t)c->bytes;
    ssize_t r = c->uncached ? read_call(c->fd, &rest, 1, at) : preadv(c->fd, &rest, 1, at);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      c->error = errno;
      return;
    }
    if (r == 0) return;
    c->bytes += (size_t)r;
  }
  for (uint32_t i = 0; i < c->slices.count; i++) c->crcs[i] = crc_best(0, c->slices.iov[i].iov_base, c->slices.iov[i].iov_len);
}

static void checksummed_read_free(napi_env env, struct checksummed_read *c) {
  if (c->work) napi_delete_async_work(env, c->work);
  slices_release(env, &c->buffer);
  slices_release(env, &c->slices);
  free(c->crcs);
  free(c);
}

static void checksummed_read_complete(napi_env env, napi_status status, void *arg) {
  struct checksummed_read *c = arg;
  napi_value result, bytes, crcs;
  if (status == napi_ok && c->error == 0 && napi_create_object(env, &result) == napi_ok) {
    bool whole = c->bytes == c->buffer.iov[0].iov_len;
    uint32_t count = whole ? c->slices.count : 0;
    napi_create_array_with_length(env, count, &crcs);
    for (uint32_t i = 0; i < count; i++) {
      napi_value crc;
      napi_create_uint32(env, c->crcs[i], &crc);
      napi_set_element(env, crcs, i, crc);
    }
    napi_create_int64(env, (int64_t)c->bytes, &bytes);
    napi_set_named_property(env, result, "bytes", bytes);
    napi_set_named_property(env, result, "crcs", crcs);
    napi_resolve_deferred(env, c->deferred, result);
  } else {
    napi_reject_deferred(env, c->deferred, errno_error(env, c->error ? c->error : EIO));
  }
  checksummed_read_free(env, c);
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
  enum slices_result taken = slices_take(env, argv[1], true, &c->buffer);
  if (taken == SLICES_OK && c->buffer.count != 1) taken = SLICES_NOT_UINT8ARRAYS;
  if (taken == SLICES_OK) taken = slices_take(env, argv[3], true, &c->slices);
  if (taken == SLICES_OK && !(c->crcs = calloc(c->slices.count ? c->slices.count : 1, sizeof *c->crcs))) taken = SLICES_FAILED;
  if (taken != SLICES_OK) {
    checksummed_read_free(env, c);
    if (taken == SLICES_NOT_UINT8ARRAYS) napi_throw_type_error(env, NULL, READ_CHECKSUMMED_USAGE);
    else napi_throw_error(env, NULL, "readChecksummed: out of memory");
    return NULL;
  }
  c->fd = fd;
  c->position = position;
  c->uncached = uncached;
  napi_value promise, name;
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok) {
    checksummed_read_free(env, c);
    return NULL;
  }
  napi_create_string_utf8(env, "readChecksummed", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, checksummed_read_execute, checksummed_read_complete, c, &c->work) != napi_ok ||
      napi_queue_async_work(env, c->work) != napi_ok) {
    c->error = EAGAIN;
    checksummed_read_complete(env, napi_generic_failure, c);
  }
  return promise;
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
  napi_async_work work;
  napi_deferred deferred;
  struct slices slices;
  int fd;
  int64_t position;
  size_t piece;
  bool uncached;
  int error;
};

static void pieces_free(napi_env env, struct pieces *p) {
  if (p->work) napi_delete_async_work(env, p->work);
  slices_release(env, &p->slices);
  free(p);
}

static void pieces_execute(napi_env env, void *arg) {
  (void)env;
  struct pieces *p = arg;
  p->error = write_iov_in_pieces(p->fd, p->slices.iov, p->slices.count, p->position, p->piece, p->uncached);
}

static void pieces_complete(napi_env env, napi_status status, void *arg) {
  struct pieces *p = arg;
  if (status == napi_ok && p->error == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, p->deferred, undefined);
  } else {
    napi_reject_deferred(env, p->deferred, errno_error(env, p->error ? p->error : EIO));
  }
  pieces_free(env, p);
}

static napi_value write_in_pieces(napi_env env, napi_callback_info info) {
  struct pieces *p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, NULL, "writeInPieces: out of memory");
    return NULL;
  }
  int32_t fd;
  int64_t piece;
  if (!pieces_arguments(env, info, "writeInPieces", true, &fd, &p->slices, &p->position, &piece, &p->uncached)) {
    free(p);
    return NULL;
  }
  p->fd = fd;
  p->piece = (size_t)piece;
  napi_value promise, name;
  if (napi_create_promise(env, &p->deferred, &promise) != napi_ok) {
    pieces_free(env, p);
    return NULL;
  }
  napi_create_string_utf8(env, "writeInPieces", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, pieces_execute, pieces_complete, p, &p->work) != napi_ok || napi_queue_async_work(env, p->work) != napi_ok) {
    p->error = EAGAIN;
    pieces_complete(env, napi_generic_failure, p);
  }
  return promise;
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
  napi_async_work work;
  napi_deferred deferred;
  struct slices slices;
  struct slices crc_slices;
  int fd;
  int64_t position;
  size_t piece;
  bool uncached;
  bool writeback;
  int error;
  uint32_t *crcs;
};

static void checksummed_write_execute(napi_env env, void *arg) {
  (void)env;
  struct checksummed_write *c = arg;
  /* Checksummed first: the write then copies bytes the CRC just brought into this core's cache. */
  for (uint32_t i = 0; i < c->crc_slices.count; i++) c->crcs[i] = crc_best(0, c->crc_slices.iov[i].iov_base, c->crc_slices.iov[i].iov_len);
  c->error = write_iov_in_pieces(c->fd, c->slices.iov, c->slices.count, c->position, c->piece, c->uncached);
#if defined(__linux__)
  if (c->error == 0 && c->writeback) {
    size_t length = 0;
    for (uint32_t i = 0; i < c->slices.count; i++) length += c->slices.iov[i].iov_len;
    sync_file_range(c->fd, c->position, (off_t)length, SYNC_FILE_RANGE_WRITE);
  }
#endif
}

static void checksummed_write_free(napi_env env, struct checksummed_write *c) {
  if (c->work) napi_delete_async_work(env, c->work);
  slices_release(env, &c->slices);
  slices_release(env, &c->crc_slices);
  free(c->crcs);
  free(c);
}

static void checksummed_write_complete(napi_env env, napi_status status, void *arg) {
  struct checksummed_write *c = arg;
  napi_value crcs;
  if (status == napi_ok && c->error == 0 && napi_create_array_with_length(env, c->crc_slices.count, &crcs) == napi_ok) {
    for (uint32_t i = 0; i < c->crc_slices.count; i++) {
      napi_value crc;
      napi_create_uint32(env, c->crcs[i], &crc);
      napi_set_element(env, crcs, i, crc);
    }
    napi_resolve_deferred(env, c->deferred, crcs);
  } else {
    napi_reject_deferred(env, c->deferred, errno_error(env, c->error ? c->error : EIO));
  }
  checksummed_write_free(env, c);
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
  enum slices_result taken = slices_take(env, argv[1], true, &c->slices);
  if (taken == SLICES_OK) taken = slices_take(env, argv[5], true, &c->crc_slices);
  if (taken == SLICES_OK && !(c->crcs = calloc(c->crc_slices.count ? c->crc_slices.count : 1, sizeof *c->crcs))) taken = SLICES_FAILED;
  if (taken != SLICES_OK) {
    checksummed_write_free(env, c);
    if (taken == SLICES_NOT_UINT8ARRAYS) napi_throw_type_error(env, NULL, WRITE_CHECKSUMMED_USAGE);
    else napi_throw_error(env, NULL, "writeChecksummed: out of memory");
    return NULL;
  }
  c->fd = fd;
  c->position = position;
  c->piece = (size_t)piece;
  c->uncached = uncached;
  c->writeback = writeback;
  napi_value promise, name;
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok) {
    checksummed_write_free(env, c);
    return NULL;
  }
  napi_create_string_utf8(env, "writeChecksummed", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, checksummed_write_execute, checksummed_write_complete, c, &c->work) != napi_ok ||
      napi_queue_async_work(env, c->work) != napi_ok) {
    c->error = EAGAIN;
    checksummed_write_complete(env, napi_generic_failure, c);
  }
  return promise;
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
