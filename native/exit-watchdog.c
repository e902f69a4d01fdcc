/*
 * A last resort for a process that has decided to exit and cannot: Node's exit waits for every
 * worker thread to stop, and a thread blocked inside native code (a deadlock, a long OpenSSL call)
 * never returns to V8 to notice it was told to. Nothing in JavaScript runs any more at that point,
 * so the deadline is kept by a thread of its own, which ends the process with _exit: no atexit
 * handlers, no waiting for other threads. The service manager then sees the exit status the
 * process meant to leave with and starts a clean one.
 */
#define _POSIX_C_SOURCE 200809L
#include "exit-watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "napi_values.h"

typedef struct {
  unsigned int grace_ms;
  int code;
} watchdog_order;

/*
 * Each arming is a thread of its own with its own deadline, so the earliest deadline ends the
 * process whichever order they were armed in (a crash during a slow stop keeps its short one).
 * A handful is all any caller needs; the cap keeps a caller in a loop from making threads without end.
 */
#define MAX_ARMINGS 8
static atomic_int armings = 0;
static watchdog_order orders[MAX_ARMINGS];

static void *watch(void *arg) {
  const watchdog_order *order = arg;
  struct timespec left = { .tv_sec = order->grace_ms / 1000, .tv_nsec = (long)(order->grace_ms % 1000) * 1000000L };
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
  char line[160];
  int n = snprintf(line, sizeof line, "gangway: the process did not finish exiting within %u ms (a thread is stuck); ending it with status %d\n", order->grace_ms, order->code);
  if (n > 0) {
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
  }
  _exit(order->code);
  return NULL;
}

/* armExitWatchdog(graceMs, code): true when this call added its deadline, false when the cap was reached. */
static napi_value arm_exit_watchdog(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t grace_ms = 0;
  int32_t code = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_uint32(env, argv[0], &grace_ms) != napi_ok || napi_get_value_int32(env, argv[1], &code) != napi_ok ||
      code < 0 || code > 255) {
    napi_throw_type_error(env, NULL, "armExitWatchdog(graceMs, code): two integers, code 0 to 255");
    return NULL;
  }
  napi_value result;
  /* Compare and swap, so that refused calls do not count on towards an overflow. */
  int slot = atomic_load(&armings);
  do {
    if (slot >= MAX_ARMINGS) break;
  } while (!atomic_compare_exchange_weak(&armings, &slot, slot + 1));
  if (slot >= MAX_ARMINGS) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  /* The slot is this call's alone, and pthread_create orders these writes before the thread reads them. */
  orders[slot].grace_ms = grace_ms;
  orders[slot].code = code;
  pthread_attr_t attr;
  pthread_t thread;
  int err = pthread_attr_init(&attr);
  if (err == 0) err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (err == 0) err = pthread_create(&thread, &attr, watch, &orders[slot]);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    napi_throw_error(env, NULL, strerror(err));
    return NULL;
  }
  napi_get_boolean(env, true, &result);
  return result;
}

int register_exit_watchdog(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
    { "armExitWatchdog", NULL, arm_exit_watchdog, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) == napi_ok;
}
