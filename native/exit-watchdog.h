#ifndef GANGWAY_EXIT_WATCHDOG_H
#define GANGWAY_EXIT_WATCHDOG_H

#include <node_api.h>

/* Adds armExitWatchdog to the addon's exports (POSIX threads); 0 when it could not. */
int register_exit_watchdog(napi_env env, napi_value exports);

#endif
