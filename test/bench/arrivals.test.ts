import fc from 'fast-check';
import { arrivalGapMs, runOpenLoop, seededRandom, type ArrivalClock, type OpenLoopOptions } from '../../src/bench/arrivals.js';

/**
 * A discrete-event clock: time moves only to the next pending wake-up, and only once everything
 * runnable has run (a macrotask turn flushes the promise jobs), so a run is the same every time.
 */
class SimulatedClock implements ArrivalClock {
  private t = 0;
  private readonly wakeups: { at: number; wake: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleepUntil(at: number): Promise<void> {
    return new Promise((wake) => this.wakeups.push({ at, wake }));
  }

  /** Runs `p` to its end, advancing time whenever nothing else can run. */
  async drive<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const result = p.finally(() => {
      done = true;
    });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) return result;
      if (this.wakeups.length === 0) throw new Error('stalled: nothing to wake');
      this.wakeups.sort((a, b) => a.at - b.at);
      const next = this.wakeups.shift()!;
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
  }
}

interface Started {
  index: number;
  slot: number;
  scheduledAt: number;
  startedAt: number;
}

/** Conversations that each last `durationMs(index)` on the simulated clock. */
function simulate(clock: SimulatedClock, durationMs: (index: number) => number, overrides: Partial<OpenLoopOptions>) {
  const started: Started[] = [];
  const inFlight = new Set<number>();
  const opts: OpenLoopOptions = {
    ratePerSecond: 100, process: 'even', count: 10, maxSeconds: 1000, maxOutstanding: 4, clock, random: seededRandom(7),
    start: async (index, slot, scheduledAt) => {
      if (inFlight.has(slot)) throw new Error(`slot ${slot} given twice`);
      inFlight.add(slot);
      started.push({ index, slot, scheduledAt, startedAt: clock.now() });
      await clock.sleepUntil(clock.now() + durationMs(index));
      inFlight.delete(slot);
    },
    ...overrides,
  };
  return { started, run: clock.drive(runOpenLoop(opts)) };
}

describe('runOpenLoop', () => {
  test('even arrivals every 1/R whatever the conversations take, each in a free slot', async () => {
    const clock = new SimulatedClock();
    // 25 ms conversations at 100/s: about three in flight, under the bound of 4.
    const { started, run } = simulate(clock, () => 25, { count: 10 });
    const r = await run;
    expect(r).toMatchObject({ offered: 10, started: 10, skipped: 0, peakOutstanding: 3, stoppedByTime: false, offerSeconds: 0.09 });
    expect(started.map((s) => s.scheduledAt)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(started.map((s) => s.startedAt)).toEqual(started.map((s) => s.scheduledAt));
    expect(started.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.startLagMs.every((x) => x === 0)).toBe(true);
    // The drain: the scheduler returns only after the last conversation (started at 90) ended at 115.
    expect(clock.now()).toBe(115);
  });

  test('an arrival that finds every slot busy is skipped and counted, not queued', async () => {
    const clock = new SimulatedClock();
    // 1 s conversations at 100/s with room for 4: arrivals 0–3 start, 4–99 are skipped, then slots free up.
    const { started, run } = simulate(clock, () => 1000, { count: 110, maxOutstanding: 4 });
    const r = await run;
    expect(r.offered).toBe(110);
    expect(r.started + r.skipped).toBe(110);
    expect(r.peakOutstanding).toBe(4);
    // Slots free at 1000, 1010, 1020, 1030: the arrivals due then take them.
    expect(started.map((s) => s.scheduledAt)).toEqual([0, 10, 20, 30, 1000, 1010, 1020, 1030]);
    expect(r.skipped).toBe(102);
    expect(started.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('the time limit ends the offering; the conversations in flight still end', async () => {
    const clock = new SimulatedClock();
    const { started, run } = simulate(clock, () => 50, { count: Infinity, maxSeconds: 0.1, ratePerSecond: 50 });
    const r = await run;
    // Arrivals at 0, 20, 40, 60, 80; the one at 100 is not before the limit.
    expect(started.map((s) => s.scheduledAt)).toEqual([0, 20, 40, 60, 80]);
    expect(r).toMatchObject({ offered: 5, started: 5, skipped: 0, stoppedByTime: true });
    expect(clock.now()).toBe(130);
  });

  test('arrivals the generator was too late for start at once, with their lag counted', async () => {
    // The scheduler's wake-up for the arrival at 10 ms comes 25 ms late, as on a busy event loop.
    class LateClock extends SimulatedClock {
      private late = true;
      override sleepUntil(at: number): Promise<void> {
        const extra = this.late && at === 10 ? 25 : 0;
        if (extra > 0) this.late = false;
        return super.sleepUntil(at + extra);
      }
    }
    const clock = new LateClock();
    const { started, run } = simulate(clock, () => 5, { count: 5 });
    const r = await run;
    expect(r).toMatchObject({ offered: 5, started: 5, skipped: 0 });
    // Arrivals keep their times: 10, 20 and 30 start together at 35, then 40 on time.
    expect(started.map((s) => s.scheduledAt)).toEqual([0, 10, 20, 30, 40]);
    expect(started.map((s) => s.startedAt)).toEqual([0, 35, 35, 35, 40]);
    expect(r.startLagMs).toEqual([0, 25, 15, 5, 0]);
  });

  test('a conversation that throws frees its slot like one that ends', async () => {
    const clock = new SimulatedClock();
    const slots: number[] = [];
    const r = await clock.drive(
      runOpenLoop({
        ratePerSecond: 10, process: 'even', count: 3, maxSeconds: 10, maxOutstanding: 1, clock, random: () => 0.5,
        start: async (_i, slot) => {
          slots.push(slot);
          throw new Error('boom');
        },
      }),
    );
    expect(r).toMatchObject({ offered: 3, started: 3, skipped: 0 });
    expect(slots).toEqual([0, 0, 0]);
  });

  test('bad settings are refused', async () => {
    const clock = new SimulatedClock();
    const base = { process: 'even' as const, count: 1, maxSeconds: 1, clock, random: () => 0, start: async () => undefined };
    await expect(runOpenLoop({ ...base, ratePerSecond: 0, maxOutstanding: 1 })).rejects.toThrow(RangeError);
    await expect(runOpenLoop({ ...base, ratePerSecond: 1, maxOutstanding: 0 })).rejects.toThrow(RangeError);
  });
});

describe('arrival gaps', () => {
  test('even: the mean gap every time', () => {
    expect(arrivalGapMs('even', 200, () => 0.99)).toBe(5);
  });

  test('poisson: exponential, −ln(1 − u) × mean', () => {
    expect(arrivalGapMs('poisson', 100, () => 0)).toBe(0);
    expect(arrivalGapMs('poisson', 100, () => 1 - Math.exp(-1))).toBeCloseTo(10, 9);
    expect(arrivalGapMs('poisson', 100, () => 0.5)).toBeCloseTo(10 * Math.LN2, 9);
  });

  test('poisson: finite and non-negative for any u in [0, 1); the mean of many is near 1/R', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0.01, max: 1e5, noNaN: true }), (u, rate) => {
      const gap = arrivalGapMs('poisson', rate, () => u);
      return Number.isFinite(gap) && gap >= 0;
    }));
    const random = seededRandom(42);
    const n = 20_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += arrivalGapMs('poisson', 50, random);
    // Standard error of the mean: 20 ms / √20000 ≈ 0.14 ms.
    expect(Math.abs(sum / n - 20)).toBeLessThan(1);
  });

  test('the seeded generator repeats itself and stays in [0, 1)', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(4)()).not.toBe(seededRandom(3)());
  });
});
