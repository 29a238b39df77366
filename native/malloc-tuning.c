/*
 * mallopt for Node: a long-running Cairn process (gateway, mount, datanode)
 * receives every block into a fresh 1 MiB buffer, and glibc's defaults hand
 * freed memory back to the kernel at once, so each block's buffer is new
 * pages to fault in. On this project's VMs those faults cost more than the
 * copy into them: the gateway spent a third of its CPU there. glibc reads
 * MALLOC_* variables only at start-up; mallopt changes the same settings in
 * a running process.
 */
#include <malloc.h>
#include <node_api.h>

static napi_value tune_malloc(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int64_t trim = 0, pad = 0, mmap_threshold = 0;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int64(env, argv[0], &trim) != napi_ok ||
      napi_get_value_int64(env, argv[1], &pad) != napi_ok ||
      napi_get_value_int64(env, argv[2], &mmap_threshold) != napi_ok) {
    napi_throw_type_error(env, NULL, "tuneMalloc(trimThreshold, topPad, mmapThreshold) takes three byte counts");
    return NULL;
  }
  int ok = mallopt(M_TRIM_THRESHOLD, (int)trim) == 1 &&
           mallopt(M_TOP_PAD, (int)pad) == 1 &&
           mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1;
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "tuneMalloc", NAPI_AUTO_LENGTH, tune_malloc, NULL, &fn);
  napi_set_named_property(env, exports, "tuneMalloc", fn);
  return exports;
}
