import fc from 'fast-check';
import { MIN_TICKS_PER_WINDOW, hasSettled, nextWindowSize } from '../../src/bench/settle.js';

describe('hasSettled', () => {
  test('the last windows within the tolerance of their mean', () => {
    expect(hasSettled([9, 5, 2.0, 2.1, 1.95])).toBe(true);
    expect(hasSettled([2.0, 2.1])).toBe(false); // fewer windows than compared
    expect(hasSettled([3.0, 2.5, 2.0])).toBe(false); // still falling by more than 10 %
    expect(hasSettled([2.0, 2.0, 2.6])).toBe(false); // one outlier
    expect(hasSettled([2.0, 2.0, 2.6], { windows: 3, tolerance: 0.3 })).toBe(true);
    expect(hasSettled([1, 0, 1])).toBe(false); // a window without CPU ticks tells nothing
    expect(hasSettled([1, NaN, 1])).toBe(false);
  });

  test('a series falling by more than twice the tolerance per window never settles', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 100, noNaN: true }), fc.double({ min: 0.01, max: 0.3, noNaN: true }), fc.integer({ min: 3, max: 30 }), (start, tol, n) => {
        const series = Array.from({ length: n }, (_, i) => start * (1 - 2.5 * tol) ** i);
        return !hasSettled(series, { windows: 3, tolerance: tol });
      }),
    );
  });

  test('a constant series settles once there are enough windows', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 1000, noNaN: true }), fc.integer({ min: 2, max: 6 }), (x, k) => {
        const series = Array.from({ length: k }, () => x);
        return hasSettled(series, { windows: k, tolerance: 0.01 }) && !hasSettled(series.slice(1), { windows: k, tolerance: 0.01 });
      }),
    );
  });
});

describe('nextWindowSize', () => {
  test('grows while a window spans too few CPU ticks, up to the limit', () => {
    expect(nextWindowSize(100, MIN_TICKS_PER_WINDOW - 1, 1000)).toBe(200);
    expect(nextWindowSize(800, 3, 1000)).toBe(1000);
    expect(nextWindowSize(100, MIN_TICKS_PER_WINDOW, 1000)).toBe(100);
  });
});
