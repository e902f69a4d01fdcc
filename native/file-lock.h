#ifndef GANGWAY_FILE_LOCK_H
#define GANGWAY_FILE_LOCK_H
#include <node_api.h>
int register_file_lock(napi_env env, napi_value exports);
#endif
