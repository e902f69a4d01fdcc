import { armExitWatchdog, type ExitWatchdogArming } from '../util/exit-watchdog.js';
import type { Log } from '../util/log.js';

/** EX_SOFTWARE (sysexits.h): an internal software error. */
export const CRASH_EXIT_CODE = 70;

/**
 * How long the exit may take before the watchdog ends the process (src/util/exit-watchdog.ts).
 * A healthy process with worker threads exits in well under a second.
 */
export const CRASH_EXIT_GRACE_MS = 5000;

/**
 * What `gangway serve` does with an error nothing else caught. Every call into a method or plugin
 * is guarded where it is made; what still escapes (a plugin's stray timer, a bug of ours) leaves
 * the process in an unknown state, so it is logged and the process exits non-zero for the service
 * manager to restart it. Carrying on could keep serving with a half-updated conversation or store.
 * The exit itself is given CRASH_EXIT_GRACE_MS: a worker thread stuck in native code (the fault
 * that brought us here, often) would otherwise hold it up for good.
 * Returns a function that removes the handlers.
 */
export function installCrashPolicy(
  log: Log,
  exit: (code: number) => void = (code) => process.exit(code),
  watchdog: (graceMs: number, code: number) => ExitWatchdogArming = armExitWatchdog,
): () => void {
  let exiting = false;
  const die = (kind: string, err: unknown): void => {
    if (exiting) return;
    exiting = true;
    log.error({ err, kind }, `${kind}: exiting so that the service manager starts a clean process`);
    try {
      if (watchdog(CRASH_EXIT_GRACE_MS, CRASH_EXIT_CODE) === 'unavailable') {
        log.warn({}, 'no exit watchdog (native addon not loaded, or GANGWAY_NATIVE_WATCHDOG=0): a thread stuck in native code can hold up this exit');
      }
    } catch (watchdogErr) {
      // Whatever the watchdog's trouble, the exit must still happen.
      log.warn({ err: (watchdogErr as Error).message }, 'the exit watchdog could not be armed');
    }
    // pino flushes its destination synchronously on process exit.
    exit(CRASH_EXIT_CODE);
  };
  const onException = (err: Error): void => die('uncaught exception', err);
  const onRejection = (reason: unknown): void => die('unhandled promise rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
