/**
 * `eap.maxSessions` split over worker threads (src/server/eap-build.ts `sessionsOfWorker`): the parts
 * add up to the total exactly and differ by one at most, so the workers together never hold more
 * than the configuration allows.
 */
import fc from 'fast-check';
import { sessionsOfWorker } from '../../../src/server/eap-build.js';

describe('sessionsOfWorker', () => {
  test('100 sessions over 64 workers: 36 hold two, 28 hold one, 100 in all', () => {
    const parts = Array.from({ length: 64 }, (_, index) => sessionsOfWorker(100, { index, count: 64 }));
    expect(parts.filter((p) => p === 2)).toHaveLength(36);
    expect(parts.filter((p) => p === 1)).toHaveLength(28);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(100);
  });

  test('property: the parts add up to the total, each at least one, differing by one at most', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 0, max: 100_000 }), (count, extra) => {
      const total = count + extra;
      const parts = Array.from({ length: count }, (_, index) => sessionsOfWorker(total, { index, count }));
      return parts.reduce((a, b) => a + b, 0) === total && Math.min(...parts) >= 1 && Math.max(...parts) - Math.min(...parts) <= 1;
    }));
  });
});
