/**
 * The load generator's loop: N authentications in total, C in flight, each bounded by a timeout,
 * and no new one started after the deadline. It knows nothing about EAP: a method supplies `run`.
 */
import { ownCpuSeconds } from './proc-stats.js';

export interface AuthOutcome {
  ok: boolean;
  /** Why it failed; failures are counted by reason. */
  reason?: string;
  /** RADIUS round trips the conversation took. */
  rounds: number;
}

export interface LoadOptions {
  /** Authentications in total; Infinity runs until `maxSeconds` (`--duration`). */
  count: number;
  concurrency: number;
  /** No new authentication starts after this much wall time. */
  maxSeconds: number;
  /** One authentication's limit; past it the attempt counts as failed (its RADIUS client is closed later). */
  authTimeoutMs: number;
  /** `worker` (0..C-1) lets a method give each in-flight slot its own device or station. */
  run: (index: number, worker: number) => Promise<AuthOutcome>;
  /** Called after each authentication ends, with how many have ended (memory sampling). */
  onComplete?: (completed: number) => void;
}

export interface LoadResult {
  attempted: number;
  successes: number;
  failures: number;
  failureReasons: Record<string, number>;
  latenciesMs: number[];
  totalRounds: number;
  wallSeconds: number;
  /** CPU time of this (load) process during the run. */
  loadCpuSeconds: number;
  /** True when the deadline stopped the run before `count` authentications (always, with count Infinity). */
  stoppedEarly: boolean;
}

/** Failure reasons are free text; cap how many distinct ones a report carries. */
const MAX_REASONS = 20;

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = {
    attempted: 0, successes: 0, failures: 0, failureReasons: {}, latenciesMs: [], totalRounds: 0, wallSeconds: 0, loadCpuSeconds: 0, stoppedEarly: false,
  };
  const fail = (reason: string): void => {
    result.failures++;
    const key = reason.length > 160 ? `${reason.slice(0, 157)}...` : reason;
    if (key in result.failureReasons || Object.keys(result.failureReasons).length < MAX_REASONS) result.failureReasons[key] = (result.failureReasons[key] ?? 0) + 1;
    else result.failureReasons['(other reasons)'] = (result.failureReasons['(other reasons)'] ?? 0) + 1;
  };
  const start = performance.now();
  const cpuStart = ownCpuSeconds();
  const deadline = start + opts.maxSeconds * 1000;
  let next = 0;

  const worker = async (w: number): Promise<void> => {
    while (next < opts.count) {
      if (performance.now() >= deadline) {
        result.stoppedEarly = true;
        return;
      }
      const index = next++;
      result.attempted++;
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<AuthOutcome>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, reason: `no result within ${opts.authTimeoutMs} ms`, rounds: 0 }), opts.authTimeoutMs);
      });
      let outcome: AuthOutcome;
      try {
        outcome = await Promise.race([opts.run(index, w), timeout]);
      } catch (err) {
        outcome = { ok: false, reason: `exception: ${(err as Error).message}`, rounds: 0 };
      } finally {
        clearTimeout(timer);
      }
      result.latenciesMs.push(performance.now() - t0);
      result.totalRounds += outcome.rounds;
      if (outcome.ok) result.successes++;
      else fail(outcome.reason ?? 'failed');
      opts.onComplete?.(result.successes + result.failures);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.count)) }, (_, w) => worker(w)));
  result.wallSeconds = (performance.now() - start) / 1000;
  result.loadCpuSeconds = ownCpuSeconds() - cpuStart;
  return result;
}
