import { timedStore, type OperationTimer } from '../../src/server/store-timing.js';

class Counter {
  private n = 0;
  readonly label = 'c';

  add(by: number): number {
    this.n += by;
    return this.total();
  }

  total(): number {
    return this.n;
  }

  async later(by: number): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.add(by);
  }

  boom(): never {
    throw new Error('sync failure');
  }

  async rejected(): Promise<never> {
    throw new Error('async failure');
  }
}

function recorder(): { timers: (store: string, op: string) => OperationTimer; calls: string[]; resolved: string[] } {
  const calls: string[] = [];
  const resolved: string[] = [];
  return {
    calls,
    resolved,
    timers: (store, op) => {
      resolved.push(`${store}.${op}`);
      return {
        done(startedAt, ok) {
          expect(typeof startedAt).toBe('number');
          calls.push(`${store}.${op}:${ok ? 'ok' : 'failed'}`);
        },
      };
    },
  };
}

describe('timedStore: store latency measured at the composition root', () => {
  test('every method is timed once, sync and async, with results and `this` as before', async () => {
    const rec = recorder();
    const inner = new Counter();
    const store = timedStore('counter', inner, rec.timers);
    expect(rec.resolved.sort()).toEqual(['counter.add', 'counter.boom', 'counter.later', 'counter.rejected', 'counter.total']);
    expect(store.add(2)).toBe(2);
    expect(await store.later(3)).toBe(5);
    // add() calls total() on the real store: one timing, not two.
    expect(rec.calls).toEqual(['counter.add:ok', 'counter.later:ok']);
    expect(store).toBeInstanceOf(Counter);
    expect(store.label).toBe('c');
    expect(inner.total()).toBe(5);
  });

  test('a throw and a rejection are timed as failures and reach the caller unchanged', async () => {
    const rec = recorder();
    const store = timedStore('counter', new Counter(), rec.timers);
    expect(() => store.boom()).toThrow('sync failure');
    await expect(store.rejected()).rejects.toThrow('async failure');
    expect(rec.calls).toEqual(['counter.boom:failed', 'counter.rejected:failed']);
  });

  test('a plain object: its own functions are its operations', () => {
    const rec = recorder();
    const store = timedStore('plain', { get: (k: string) => k.length, name: 'x' }, rec.timers);
    expect(store.get('abc')).toBe(3);
    expect(store.name).toBe('x');
    expect(rec.calls).toEqual(['plain.get:ok']);
  });
});
