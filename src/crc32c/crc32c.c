/*
 * CRC32C (Castagnoli) as a Node-API addon: every byte the gateway stores is
 * checksummed on its way in and out, and the library we used ran at about
 * 3.5 GB/s, about a tenth of the tape data path's main-thread time. The
 * implementations in src/native/crc32c.h (carry-less multiply folding on
 * AVX-512, the SSE4.2 crc32 instruction, a table) run at about 50, 9-20 and
 * 0.4 GB/s; the best the CPU can run is used.
 *
 * crc32c(data: Uint8Array, previous = 0): number continues a CRC: the CRC of
 * a followed by b is crc32c(b, crc32c(a)). implementation: string names the
 * one in use. The cache's large writes and reads take their CRCs on a thread
 * of libuv's pool, in the same job as the system call (src/fileio).
 */
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "../native/crc32c.h"

static napi_value crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  bool is_typed_array = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_typed_array) != napi_ok || !is_typed_array) {
    napi_throw_type_error(env, NULL, "crc32c: data must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "crc32c: data must be a Uint8Array");
    return NULL;
  }
  uint32_t previous = 0;
  if (argc > 1 && napi_get_value_uint32(env, argv[1], &previous) != napi_ok) {
    napi_throw_type_error(env, NULL, "crc32c: previous must be a number");
    return NULL;
  }
  napi_value result;
  napi_create_uint32(env, crc_best(previous, (const uint8_t *)data, length), &result);
  return result;
}

NAPI_MODULE_INIT() {
  crc32c_init();
  napi_value fn, implementation;
  if (napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, crc32c, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "crc32c", fn) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, crc_implementation, NAPI_AUTO_LENGTH, &implementation) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "implementation", implementation) != napi_ok) return NULL;
  return exports;
}
