/**
 * Store latency measured at the composition root: a store is handed out wrapped, each of its
 * methods timed, and the store files know nothing of it. Synchronous and promise-returning methods
 * alike; a call that throws or rejects is timed and counted as failed.
 */
import { performance } from 'node:perf_hooks';

/** Where one operation's timings go (resolved once per store method, not per call). */
export interface OperationTimer {
  /** `startedAt` is performance.now() at the call; `err` what a failed one threw. */
  done(startedAt: number, ok: boolean, err?: unknown): void;
}

export type OperationTimers = (store: string, operation: string) => OperationTimer;

/** Wraps a store for timing; the identity when no one counts (`gangway check`, the CLI). */
export type StoreWrapper = <T extends object>(store: string, target: T) => T;

export const UNTIMED: StoreWrapper = (_store, target) => target;

/**
 * `target` with each of its methods (up to Object.prototype) timed. The result
 * inherits from `target`, so fields and `instanceof` still answer; the methods run with `target`
 * as `this`, so a method calling another is timed once.
 */
export function timedStore<T extends object>(store: string, target: T, timers: OperationTimers): T {
  const timed = Object.create(target) as Record<string, unknown>;
  for (const name of methodNames(target)) {
    const method = (target as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
    const timer = timers(store, name);
    timed[name] = function timedOperation(...args: unknown[]): unknown {
      const startedAt = performance.now();
      let result: unknown;
      try {
        result = method.apply(target, args);
      } catch (err) {
        timer.done(startedAt, false, err);
        throw err;
      }
      if (!isThenable(result)) {
        timer.done(startedAt, true);
        return result;
      }
      return result.then(
        (value) => {
          timer.done(startedAt, true);
          return value;
        },
        (err: unknown) => {
          timer.done(startedAt, false, err);
          throw err;
        },
      );
    };
  }
  return timed as T;
}

/**
 * A class instance's methods are on its prototypes; functions it holds in fields (a prepared
 * transaction) are its workings, not operations. A plain object's own functions are its methods.
 */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  const proto = Object.getPrototypeOf(target) as object | null;
  const first = proto === null || proto === Object.prototype ? target : proto;
  for (let o: object | null = first; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (d && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
