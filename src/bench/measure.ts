/**
 * One method against one running server: the warm-up (none, a fixed number, or until CPU per
 * authentication settles) and the measured run, with the server's CPU time and memory read from
 * /proc around it and, when asked, its RSS sampled every N authentications.
 */
import { summarizeLatencies } from './latency.js';
import { runLoad, runOpenLoad, type LoadResult, type OpenLoadSettings } from './load.js';
import type { BenchMethod, MethodDriver } from './method.js';
import { clockTicksPerSecond, processCpuSeconds, processMemory } from './proc-stats.js';
import type { RawReferenceSummary, RssSample, TargetResult, WarmupRecord, WarmupWindow } from './report.js';
import { summarizeRoundTrips, type RoundTripRecorder } from './round-trips.js';
import { scrapeMetrics, serverTimeFromScrapes, type ServerTimeSummary } from './server-timing.js';
import { hasSettled, nextWindowSize, type SettleRule } from './settle.js';
import type { ServerTarget } from './target.js';

export type WarmupPlan =
  | { kind: 'none' }
  | { kind: 'fixed'; count: number }
  | { kind: 'settle'; window: number; maxAuthentications: number; rule: SettleRule };

export interface RunSettings {
  /** Measured authentications; Infinity with `maxSeconds` as the limit (`--duration`). */
  count: number;
  concurrency: number;
  /** No authentication starts after this long. */
  maxSeconds: number;
  authTimeoutMs: number;
  /** Sample the server's RSS every this many authentications of the measured run. */
  rssEvery?: number;
  /** Open loop: arrivals at a rate instead of `concurrency` peers (`--rate`, `--load`). */
  open?: OpenLoadSettings;
}

/** Every warm-up authentication failed: the server does not serve the method as the bench runs it. */
export class WarmupFailed extends Error {}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : NaN;
}

function cpuSeconds(target: ServerTarget): number | undefined {
  return target.pid === undefined ? undefined : processCpuSeconds(target.pid);
}

async function load(driver: MethodDriver, n: number, s: RunSettings, onComplete?: (completed: number) => void): Promise<LoadResult> {
  // Unmeasured preparation (NOOB Completion needs registrations waiting for it) comes before the
  // caller reads the server's CPU time, never inside the measured run.
  const opts = { count: n, concurrency: s.concurrency, maxSeconds: s.maxSeconds, authTimeoutMs: s.authTimeoutMs, run: (i: number, w: number) => driver.run(i, w), ...(onComplete ? { onComplete } : {}) };
  return s.open ? runOpenLoad({ ...opts, open: s.open }) : runLoad(opts);
}

/** Runs the warm-up and says what it did; throws when every warm-up authentication failed. */
export async function warmUp(method: BenchMethod, driver: MethodDriver, target: ServerTarget, plan: WarmupPlan, s: RunSettings): Promise<WarmupRecord> {
  const failedAll = (r: LoadResult): Error =>
    new WarmupFailed(`${method.name} on ${target.kind}: every warm-up authentication failed: ${JSON.stringify(r.failureReasons)}${target.tail() ? `\n${target.tail()}` : ''}`);
  if (plan.kind === 'none' || (plan.kind === 'fixed' && plan.count === 0)) return { mode: 'none', authentications: 0, windows: [] };
  if (plan.kind === 'fixed') {
    await driver.stage?.(plan.count);
    const r = await load(driver, plan.count, s);
    if (r.successes === 0) throw failedAll(r);
    return { mode: 'fixed', authentications: r.attempted, windows: [] };
  }
  // Settle on CPU per authentication when the server's CPU can be read, else on mean latency.
  const settledOn = target.pid === undefined ? 'latency' : 'cpu';
  const windows: WarmupWindow[] = [];
  let done = 0;
  let size = plan.window;
  const maxWindow = Math.max(plan.window, plan.maxAuthentications);
  while (done < plan.maxAuthentications) {
    const n = Math.min(size, plan.maxAuthentications - done);
    await driver.stage?.(n);
    const cpu0 = cpuSeconds(target);
    const r = await load(driver, n, s);
    const cpu1 = cpuSeconds(target);
    if (r.successes === 0) throw failedAll(r);
    done += r.attempted;
    const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) * 1000 : undefined;
    const mean = summarizeLatencies(r.latenciesMs).mean;
    windows.push({ authentications: r.attempted, cpuMsPerAuth: cpuMs !== undefined ? cpuMs / Math.max(1, r.attempted) : null, meanLatencyMs: mean });
    const series = windows.map((w) => (settledOn === 'cpu' ? w.cpuMsPerAuth ?? NaN : w.meanLatencyMs));
    if (hasSettled(series, plan.rule)) return { mode: 'settle', authentications: done, windows, settled: true, settledOn, rule: plan.rule };
    if (r.stoppedEarly) break;
    // Windows too short for /proc's 10 ms ticks grow; latency needs no such care.
    if (cpuMs !== undefined) size = nextWindowSize(size, (cpuMs / 1000) * clockTicksPerSecond(), maxWindow);
  }
  return { mode: 'settle', authentications: done, windows, settled: false, settledOn, rule: plan.rule };
}

/** The server's metrics page, or why there is none (the run goes on without server-side time). */
async function scrape(target: ServerTarget): Promise<{ text: string } | { error: string } | undefined> {
  if (target.metricsUrl === undefined) return undefined;
  try {
    return { text: await scrapeMetrics(target.metricsUrl) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * The measured run after the warm-up. `roundTrips` is the recorder of the driver's RADIUS client:
 * what it holds from earlier runs is dropped first.
 */
export async function measureRun(
  method: BenchMethod, driver: MethodDriver, target: ServerTarget, phase: 'cold' | 'steady', warmup: WarmupRecord, s: RunSettings, reference: RawReferenceSummary,
  roundTrips: RoundTripRecorder,
): Promise<TargetResult> {
  if (Number.isFinite(s.count)) await driver.stage?.(s.count);
  roundTrips.take();
  const metricsBefore = await scrape(target);
  const pid = target.pid;
  const rssSamples: RssSample[] = [];
  const t0 = performance.now();
  const sample = (authentications: number): void => {
    if (pid !== undefined) rssSamples.push({ authentications, seconds: Math.round(performance.now() - t0) / 1000, rssKb: processMemory(pid).rssKb });
  };
  const every = s.rssEvery;
  if (every !== undefined) sample(0);
  const memBefore = pid !== undefined ? processMemory(pid) : undefined;
  const cpuBefore = cpuSeconds(target);
  const r = await load(driver, s.count, s, every !== undefined ? (n) => n % every === 0 && sample(n) : undefined);
  const cpuAfter = cpuSeconds(target);
  const memAfter = pid !== undefined ? processMemory(pid) : undefined;
  const trips = roundTrips.take();
  const metricsAfter = await scrape(target);
  let serverTime: ServerTimeSummary | { error: string } | undefined;
  if (metricsBefore && metricsAfter) {
    if ('error' in metricsBefore) serverTime = metricsBefore;
    else if ('error' in metricsAfter) serverTime = metricsAfter;
    else {
      try {
        serverTime = serverTimeFromScrapes(metricsBefore.text, metricsAfter.text);
      } catch (err) {
        serverTime = { error: (err as Error).message };
      }
    }
  }
  if (every !== undefined && r.attempted % every !== 0) sample(r.attempted);
  const completed = Math.max(1, r.attempted);
  const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : null;
  const serverCpuMsPerAuth = cpu !== null ? (cpu * 1000) / completed : null;
  return {
    method: method.name,
    server: target.kind,
    ...(target.engine ? { engine: target.engine } : {}),
    phase,
    warmup,
    attempted: r.attempted,
    successes: r.successes,
    failures: r.failures,
    failureReasons: r.failureReasons,
    // With --duration the clock, not a count, ends the run: that is no early stop.
    stoppedEarly: Number.isFinite(s.count) && r.stoppedEarly,
    wallSeconds: r.wallSeconds,
    authsPerSecond: ratio(r.attempted, r.wallSeconds),
    latencyMs: summarizeLatencies(r.latenciesMs),
    roundsPerAuth: r.totalRounds / completed,
    totalRounds: r.totalRounds,
    roundTripMs: summarizeRoundTrips(trips.samplesMs, trips.unanswered),
    ...(serverTime ? { serverTime } : {}),
    loop: s.open ? 'open' : 'closed',
    ...(r.offered ? { offered: r.offered } : {}),
    serverCpuSeconds: cpu,
    serverCpuMsPerAuth,
    serverRssKb: memBefore && memAfter ? { before: memBefore.rssKb, after: memAfter.rssKb, peak: memAfter.peakRssKb } : null,
    ...(every !== undefined ? { rssSamples } : {}),
    loadCpuSeconds: r.loadCpuSeconds,
    loadCpuShare: ratio(r.loadCpuSeconds, r.wallSeconds),
    serverCpuShare: cpu !== null ? ratio(cpu, r.wallSeconds) : null,
    reference: reference.name,
    cpuPerAuthOverRaw: serverCpuMsPerAuth !== null ? ratio(serverCpuMsPerAuth, reference.cpuMsPerOp) : null,
  };
}
