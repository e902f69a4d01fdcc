/**
 * Open-loop offered load: new conversations start at a fixed mean rate whatever the server's pace,
 * as independent stations joining a network do, instead of each of C peers starting its next one
 * when its last one ends (closed loop, where a slow server slows its own load and hides its queue).
 *
 * Arrivals are Poisson by default: the superposition of many independent stations is one, and its
 * bursts are what make a p99 at a given mean load honest. Even spacing (`even`) offers the same
 * mean with no bursts, a lower bound on queueing. The number of conversations in flight is bounded:
 * an arrival that finds every slot busy is skipped and counted, so that an overloaded server cannot
 * make the generator hold ever more of them.
 */

export const ARRIVAL_PROCESSES = ['poisson', 'even'] as const;
export type ArrivalProcess = (typeof ARRIVAL_PROCESSES)[number];

/** Time as the scheduler sees it; tests drive it by hand. */
export interface ArrivalClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolves at or after `at` (milliseconds on the same clock). */
  sleepUntil(at: number): Promise<void>;
}

export const realClock: ArrivalClock = {
  now: () => performance.now(),
  sleepUntil: (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now()))),
};

/** A small seeded generator (mulberry32) in [0, 1), so that a run's arrival times can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Milliseconds between one arrival and the next: exponential (Poisson arrivals) or constant. */
export function arrivalGapMs(process: ArrivalProcess, ratePerSecond: number, random: () => number): number {
  const mean = 1000 / ratePerSecond;
  if (process === 'even') return mean;
  // −ln(1 − u): 1 − u lies in (0, 1], so the logarithm is finite (and u = 0 gives +0, not −0).
  return Math.log(1 / (1 - random())) * mean;
}

export interface OpenLoopOptions {
  ratePerSecond: number;
  process: ArrivalProcess;
  /** Arrivals offered in total; Infinity: until `maxSeconds`. */
  count: number;
  /** No arrival is offered at or after this long from the start. */
  maxSeconds: number;
  /** Conversations in flight at most: slots 0 … maxOutstanding − 1. */
  maxOutstanding: number;
  clock: ArrivalClock;
  random: () => number;
  /**
   * Starts conversation `index` (0, 1, … over the started ones) in `slot`; the promise settles when
   * it ends, and only then is the slot given to another. `scheduledAt` is the arrival's time on the
   * clock, from which its latency counts (a late start is the generator's delay, not the server's
   * gain).
   */
  start: (index: number, slot: number, scheduledAt: number) => Promise<void>;
}

export interface OpenLoopResult {
  /** Arrivals that came due. */
  offered: number;
  started: number;
  /** Arrivals that found every slot busy. */
  skipped: number;
  peakOutstanding: number;
  /** Per started conversation: how late the generator started it (ms). */
  startLagMs: number[];
  /** From the first arrival to the last one offered (the drain after it not included). */
  offerSeconds: number;
  /** The time limit, not the count, ended the offering. */
  stoppedByTime: boolean;
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(o.ratePerSecond > 0) || !Number.isFinite(o.ratePerSecond)) throw new RangeError(`arrival rate must be a positive number, got ${o.ratePerSecond}`);
  if (!Number.isInteger(o.maxOutstanding) || o.maxOutstanding < 1) throw new RangeError(`maxOutstanding must be a positive integer, got ${o.maxOutstanding}`);
  const { clock } = o;
  const t0 = clock.now();
  const end = t0 + o.maxSeconds * 1000;
  // Lowest slot first, so that a lightly loaded run keeps using the same few stations.
  const free = Array.from({ length: o.maxOutstanding }, (_, i) => o.maxOutstanding - 1 - i);
  const running = new Set<Promise<void>>();
  const r: OpenLoopResult = { offered: 0, started: 0, skipped: 0, peakOutstanding: 0, startLagMs: [], offerSeconds: 0, stoppedByTime: false };
  let due = t0;
  let last = t0;
  for (let i = 0; i < o.count; i++) {
    if (i > 0) due += arrivalGapMs(o.process, o.ratePerSecond, o.random);
    if (due >= end) {
      r.stoppedByTime = true;
      break;
    }
    // Arrivals already due (the generator fell behind) start back to back, keeping the offered rate.
    if (clock.now() < due) await clock.sleepUntil(due);
    r.offered++;
    last = due;
    const slot = free.pop();
    if (slot === undefined) {
      r.skipped++;
      continue;
    }
    r.startLagMs.push(Math.max(0, clock.now() - due));
    const conversation: Promise<void> = o
      .start(r.started++, slot, due)
      .catch(() => undefined)
      .finally(() => {
        running.delete(conversation);
        free.push(slot);
      });
    running.add(conversation);
    r.peakOutstanding = Math.max(r.peakOutstanding, running.size);
  }
  r.offerSeconds = (last - t0) / 1000;
  await Promise.all(running);
  return r;
}
