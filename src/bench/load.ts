/**
 * The load generator's loops. Closed: N authentications in total, C in flight, each starting when
 * another ends. Open: authentications arriving at a rate (src/bench/arrivals.ts), at most M in
 * flight. Each is bounded by a timeout, and none starts after the deadline. They know nothing
 * about EAP: a method supplies `run`.
 */
import { realClock, runOpenLoop, seededRandom, type ArrivalProcess } from './arrivals.js';
import { summarizeLatencies, type LatencySummary } from './latency.js';
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
  /** Open loop only: what was offered and what the generator could not start. */
  offered?: OfferedLoad;
}

export interface OpenLoadSettings {
  ratePerSecond: number;
  process: ArrivalProcess;
  /** Conversations in flight at most; arrivals beyond are skipped. */
  maxOutstanding: number;
  /** Seeds the Poisson arrival times. */
  seed: number;
}

/** What the command line asks for: a fixed rate, or a share of the closed-loop maximum measured first. */
export type OpenLoadOptions = Omit<OpenLoadSettings, 'ratePerSecond'> & ({ rate: number } | { load: number });

export interface OfferedLoad extends OpenLoadSettings {
  /** Arrivals that came due. */
  offered: number;
  /** Arrivals that found `maxOutstanding` conversations in flight and were not started. */
  skipped: number;
  peakOutstanding: number;
  /** How late the generator started conversations after their arrival time (its own lag). */
  startLagMs: LatencySummary;
  /** Offered arrivals ÷ the time over which they were offered. */
  achievedRatePerSecond: number;
}

/** Failure reasons are free text; cap how many distinct ones a report carries. */
const MAX_REASONS = 20;

function emptyResult(): LoadResult {
  return { attempted: 0, successes: 0, failures: 0, failureReasons: {}, latenciesMs: [], totalRounds: 0, wallSeconds: 0, loadCpuSeconds: 0, stoppedEarly: false };
}

/**
 * One authentication, bounded by the timeout, added to the result. Its latency counts from
 * `since` (the open loop's arrival time), so a late start is not hidden.
 */
async function attempt(opts: Pick<LoadOptions, 'run' | 'authTimeoutMs' | 'onComplete'>, result: LoadResult, index: number, worker: number, since: number): Promise<void> {
  result.attempted++;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<AuthOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no result within ${opts.authTimeoutMs} ms`, rounds: 0 }), opts.authTimeoutMs);
  });
  let outcome: AuthOutcome;
  try {
    outcome = await Promise.race([opts.run(index, worker), timeout]);
  } catch (err) {
    outcome = { ok: false, reason: `exception: ${(err as Error).message}`, rounds: 0 };
  } finally {
    clearTimeout(timer);
  }
  result.latenciesMs.push(performance.now() - since);
  result.totalRounds += outcome.rounds;
  if (outcome.ok) result.successes++;
  else {
    result.failures++;
    const reason = outcome.reason ?? 'failed';
    const key = reason.length > 160 ? `${reason.slice(0, 157)}...` : reason;
    if (key in result.failureReasons || Object.keys(result.failureReasons).length < MAX_REASONS) result.failureReasons[key] = (result.failureReasons[key] ?? 0) + 1;
    else result.failureReasons['(other reasons)'] = (result.failureReasons['(other reasons)'] ?? 0) + 1;
  }
  opts.onComplete?.(result.successes + result.failures);
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const result = emptyResult();
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
      await attempt(opts, result, next++, w, performance.now());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.count)) }, (_, w) => worker(w)));
  result.wallSeconds = (performance.now() - start) / 1000;
  result.loadCpuSeconds = ownCpuSeconds() - cpuStart;
  return result;
}

/**
 * Open loop: `count` arrivals (or until `maxSeconds`) at `ratePerSecond`; `concurrency` is unused,
 * the worker passed to `run` is the slot (0 … maxOutstanding − 1). `attempted` counts the started
 * ones; the skipped ones are in `offered`.
 */
export async function runOpenLoad(opts: LoadOptions & { open: OpenLoadSettings }): Promise<LoadResult> {
  const result = emptyResult();
  const start = performance.now();
  const cpuStart = ownCpuSeconds();
  const o = opts.open;
  const r = await runOpenLoop({
    ratePerSecond: o.ratePerSecond, process: o.process, count: opts.count, maxSeconds: opts.maxSeconds, maxOutstanding: o.maxOutstanding, clock: realClock, random: seededRandom(o.seed),
    start: (index, slot, scheduledAt) => attempt(opts, result, index, slot, scheduledAt),
  });
  result.wallSeconds = (performance.now() - start) / 1000;
  result.loadCpuSeconds = ownCpuSeconds() - cpuStart;
  result.stoppedEarly = r.stoppedByTime;
  result.offered = {
    ...o, offered: r.offered, skipped: r.skipped, peakOutstanding: r.peakOutstanding, startLagMs: summarizeLatencies(r.startLagMs),
    achievedRatePerSecond: r.offerSeconds > 0 ? (r.offered - 1) / r.offerSeconds : 0,
  };
  return result;
}
