/* Small Node-API values shared by the addon's files. */
#ifndef GANGWAY_NAPI_VALUES_H
#define GANGWAY_NAPI_VALUES_H
#include <node_api.h>

static inline napi_value undefined_value(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* A string, or undefined when Node-API could not make one (an exception is then pending). */
static inline napi_value string_value(napi_env env, const char *s) {
  napi_value v;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) return undefined_value(env);
  return v;
}

#endif
