import type { Log } from '../util/log.js';

/** EX_SOFTWARE (sysexits.h): an internal software error. */
export const CRASH_EXIT_CODE = 70;

/**
 * What `gangway serve` does with an error nothing else caught. Every call into a method or plugin
 * is guarded where it is made; what still escapes (a plugin's stray timer, a bug of ours) leaves
 * the process in an unknown state, so it is logged and the process exits non-zero for the service
 * manager to restart it. Carrying on could keep serving with a half-updated conversation or store.
 * Returns a function that removes the handlers.
 */
export function installCrashPolicy(log: Log, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  let exiting = false;
  const die = (kind: string, err: unknown): void => {
    if (exiting) return;
    exiting = true;
    log.error({ err, kind }, `${kind}: exiting so that the service manager starts a clean process`);
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
