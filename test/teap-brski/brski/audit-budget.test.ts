import fc from 'fast-check';
import { AuditBudget, DEVICE_AUDIT_BUDGET } from '../../../src/teap-brski/brski/audit-budget.js';

/** What a device's own retries may write to the audit trail (telemetry, refusals). */

function budget(opts: Partial<{ windowMs: number; perWindow: number; maxKeys: number }> = {}) {
  let now = 1_000_000;
  const b = new AuditBudget({ ...DEVICE_AUDIT_BUDGET, ...opts, now: () => now });
  return { b, advance: (ms: number) => { now += ms; } };
}

test('three different entries a minute per key; a repeat of the last one is not recorded again; what was not recorded is counted into the next', () => {
  const { b, advance } = budget();
  expect(b.admit('d1', 'a')).toBe(0);
  expect(b.admit('d1', 'a')).toBeUndefined();
  expect(b.admit('d1', 'b')).toBe(1);
  expect(b.admit('d1', 'c')).toBe(0);
  expect(b.admit('d1', 'd')).toBeUndefined();
  expect(b.admit('d2', 'a')).toBe(0);
  advance(59_999);
  expect(b.admit('d1', 'e')).toBeUndefined();
  advance(1);
  // A new window: its first entry is recorded, a repeat of the last one too, with the two not
  // recorded before it; a repeat within the window is not.
  expect(b.admit('d1', 'c')).toBe(2);
  expect(b.admit('d1', 'c')).toBeUndefined();
});

test('past maxKeys the memory starts over, so a flood of keys can only cost entries, never memory or silence', () => {
  const { b } = budget({ maxKeys: 3 });
  for (const k of ['k1', 'k2', 'k3']) expect(b.admit(k, 'x')).toBe(0);
  expect(b.admit('k1', 'x')).toBeUndefined();
  expect(b.admit('k4', 'x')).toBe(0);
  expect(b.admit('k1', 'x')).toBe(0);
});

test('property: per key and window at most perWindow entries are recorded, and every admit is either recorded or counted into a later entry', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('d1', 'd2', 'd3'), fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 30_000 })), { maxLength: 200 }),
      (calls) => {
        const { b, advance } = budget();
        let t = 0;
        const windows = new Map<string, { start: number; n: number }>();
        const unaccounted = new Map<string, number>();
        for (const [key, entry, dt] of calls) {
          advance(dt);
          t += dt;
          const r = b.admit(key, entry);
          if (r === undefined) {
            unaccounted.set(key, (unaccounted.get(key) ?? 0) + 1);
            continue;
          }
          expect(r).toBe(unaccounted.get(key) ?? 0);
          unaccounted.set(key, 0);
          let w = windows.get(key);
          if (!w || t - w.start >= 60_000) windows.set(key, (w = { start: t, n: 0 }));
          w.n++;
          expect(w.n).toBeLessThanOrEqual(3);
        }
      },
    ),
  );
});
