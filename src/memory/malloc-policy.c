/*
 * The C allocator's policy for the whole process, as a Node-API addon.
 *
 * holdMmapThreshold(bytes): sets glibc's M_MMAP_THRESHOLD with mallopt(3),
 * which also stops glibc from moving it, and returns true; or returns false
 * where the C library is not glibc.
 *
 * Why, and the figures: malloc-policy.ts.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value hold_mmap_threshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &bytes) != napi_ok || bytes <= 0) {
    napi_throw_type_error(env, NULL, "holdMmapThreshold(bytes: number > 0)");
    return NULL;
  }
  bool held = false;
#if defined(__GLIBC__)
  held = mallopt(M_MMAP_THRESHOLD, bytes) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, held, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "holdMmapThreshold", NAPI_AUTO_LENGTH, hold_mmap_threshold, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "holdMmapThreshold", fn) != napi_ok) return NULL;
  return exports;
}
