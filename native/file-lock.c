/*
 * An exclusive lock on an open file that the kernel holds for the process (flock): it ends when the
 * file is closed or the process ends, however it ends, so no lock is ever left behind by a process
 * that was killed, and no taker has to judge whether another's lock is stale.
 */
#define _DEFAULT_SOURCE
#include "file-lock.h"

#include <errno.h>
#include <string.h>
#include <sys/file.h>

/* tryLockFile(fd): true when this process now holds the lock, false when another holds it; throws otherwise. */
static napi_value try_lock_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "tryLockFile(fd): an open file descriptor");
    return NULL;
  }
  int r;
  do {
    r = flock(fd, LOCK_EX | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  napi_value result;
  if (r == 0) {
    napi_get_boolean(env, true, &result);
    return result;
  }
  if (errno == EWOULDBLOCK) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  /* A file system that cannot lock files answers with one of these: named, so the caller can go on unlocked. */
  const char *code = errno == ENOLCK ? "ENOLCK" : errno == EOPNOTSUPP ? "EOPNOTSUPP" : errno == EINVAL ? "EINVAL" : NULL;
  napi_throw_error(env, code, strerror(errno));
  return NULL;
}

int register_file_lock(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
    { "tryLockFile", NULL, try_lock_file, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) == napi_ok;
}
