/**
 * The deadline of a process that has decided to exit (native/exit-watchdog.c). Node's exit waits
 * for every worker thread to stop, and one blocked in native code (a deadlock inside Node or
 * OpenSSL, a long synchronous call) never notices it was told to: the process would then neither
 * serve nor exit, and a service manager restarts only a process that has ended. Armed, a thread of
 * the addon's ends the process with `code` once `graceMs` have passed, whatever JavaScript is doing.
 */
import { nativeAddonPart } from './native-addon.js';

interface ExitWatchdogAddon {
  armExitWatchdog(graceMs: number, code: number): boolean;
}

export type ExitWatchdogArming = 'armed' | 'too-many' | 'unavailable';

/**
 * Adds a deadline; the earliest of those armed ends the process ('too-many' after eight). Throws
 * what thread creation threw (EAGAIN, ENOMEM): callers on their way out must not let that stop
 * them. 'unavailable' without the native addon (or with GANGWAY_NATIVE_WATCHDOG=0): an exit then
 * waits as long as the stuck thread does.
 */
export function armExitWatchdog(graceMs: number, code: number): ExitWatchdogArming {
  if (!Number.isInteger(graceMs) || graceMs < 0 || graceMs > 0xffff_ffff) throw new RangeError(`exit watchdog: ${graceMs} is no whole number of milliseconds`);
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new RangeError(`exit watchdog: ${code} is no exit status (0 to 255)`);
  const addon = nativeAddonPart<ExitWatchdogAddon>('GANGWAY_NATIVE_WATCHDOG', ['armExitWatchdog']);
  if (!addon) return 'unavailable';
  return addon.armExitWatchdog(graceMs, code) ? 'armed' : 'too-many';
}
