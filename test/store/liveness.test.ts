import { sharedLiveness, type StoreLiveness } from '../../src/store/liveness.js';

/** A store check that answers only when told to, counting how often it was asked. */
function gatedCheck(): { liveness: StoreLiveness; calls: () => number; settle: (err?: Error) => void } {
  let calls = 0;
  let settle: (err?: Error) => void = () => {};
  return {
    liveness: {
      check: () => {
        calls += 1;
        return new Promise<void>((resolve, reject) => {
          settle = (err) => (err ? reject(err) : resolve());
        });
      },
    },
    calls: () => calls,
    settle: (err) => settle(err),
  };
}

describe('sharedLiveness', () => {
  test('callers during a running check share it; the next caller after it starts a new one', async () => {
    const g = gatedCheck();
    const shared = sharedLiveness(g.liveness);
    const asked = Array.from({ length: 100 }, () => shared.check());
    expect(g.calls()).toBe(1);
    g.settle();
    await Promise.all(asked);
    expect(g.calls()).toBe(1);
    const next = shared.check();
    expect(g.calls()).toBe(2);
    g.settle(new Error('database connection is not open'));
    await expect(next).rejects.toThrow(/not open/);
  });

  test('a failure reaches every sharer and is not remembered', async () => {
    const g = gatedCheck();
    const shared = sharedLiveness(g.liveness);
    const a = shared.check();
    const b = shared.check();
    g.settle(new Error('refused'));
    await expect(a).rejects.toThrow('refused');
    await expect(b).rejects.toThrow('refused');
    const c = shared.check();
    expect(g.calls()).toBe(2);
    g.settle();
    await expect(c).resolves.toBeUndefined();
  });
});
