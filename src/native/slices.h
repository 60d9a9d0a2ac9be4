/*
 * An array of Uint8Array slices taken into native memory, for the addon
 * functions (src/fileio) that take such an array: each slice's
 * address and length as an iovec, and, for work done on another thread, a
 * reference to an array of our own that holds the slices. Not the caller's
 * array, which it may empty or refill before the work is done: then slices it
 * alone held could be collected, and their memory freed, while a pool thread
 * still uses them.
 *
 * Header only (static functions): each addon is a module of its own.
 */
#ifndef TAPE_GATEWAY_SLICES_H
#define TAPE_GATEWAY_SLICES_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>

struct slices {
  uint32_t count;
  struct iovec *iov;
  /* Holds the slices while work on another thread uses them; NULL when not asked for. */
  napi_ref held;
};

enum slices_result { SLICES_OK = 0, SLICES_NOT_UINT8ARRAYS, SLICES_FAILED };

/* Gives back what slices_take() took (and lets the slices be collected). */
static void slices_release(napi_env env, struct slices *s) {
  if (s->held) napi_delete_reference(env, s->held);
  free(s->iov);
  s->held = NULL;
  s->iov = NULL;
  s->count = 0;
}

/*
 * Reads `array`, which must be an array of Uint8Array, into `s`; with `hold`,
 * keeps the slices alive until slices_release(). SLICES_NOT_UINT8ARRAYS: the
 * caller throws its TypeError; SLICES_FAILED: out of memory, or Node-API failed
 * (an exception may be pending). Either way nothing is left to release.
 */
static enum slices_result slices_take(napi_env env, napi_value array, bool hold, struct slices *s) {
  s->count = 0;
  s->iov = NULL;
  s->held = NULL;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &count) != napi_ok)
    return SLICES_NOT_UINT8ARRAYS;
  s->iov = calloc(count ? count : 1, sizeof *s->iov);
  if (!s->iov) return SLICES_FAILED;
  napi_value kept = NULL;
  if (hold && napi_create_array_with_length(env, count, &kept) != napi_ok) {
    slices_release(env, s);
    return SLICES_FAILED;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value slice;
    bool is_typed_array = false;
    napi_typedarray_type type;
    void *data;
    if (napi_get_element(env, array, i, &slice) != napi_ok || napi_is_typedarray(env, slice, &is_typed_array) != napi_ok || !is_typed_array ||
        napi_get_typedarray_info(env, slice, &type, &s->iov[i].iov_len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
      slices_release(env, s);
      return SLICES_NOT_UINT8ARRAYS;
    }
    s->iov[i].iov_base = data;
    if (kept && napi_set_element(env, kept, i, slice) != napi_ok) {
      slices_release(env, s);
      return SLICES_FAILED;
    }
  }
  s->count = count;
  if (kept && napi_create_reference(env, kept, 1, &s->held) != napi_ok) {
    slices_release(env, s);
    return SLICES_FAILED;
  }
  return SLICES_OK;
}

#endif
