/**
 * The primary's choice of worker (src/server/workers/routing.ts): by State's first octet, else the
 * station's worker while it may still hold a conversation, else the least loaded in turn.
 */
import fc from 'fast-check';
import { ConversationRouter, WORKER_STATE_OCTETS } from '../../../src/server/workers/routing.js';

const state = (worker: number): Uint8Array => Uint8Array.of(worker, ...new Array<number>(WORKER_STATE_OCTETS - 1).fill(7));
const idle = (): number => 0;

describe('ConversationRouter', () => {
  test('a State naming a worker goes to it, whatever the station or the load', () => {
    const r = new ConversationRouter(4, 60_000, 100);
    expect(r.route(state(3), 'station-a', () => 100)).toBe(3);
    expect(r.route(state(0), 'station-a', idle)).toBe(0);
  });

  test('a State naming no worker, or of another length, is routed as a new conversation', () => {
    const r = new ConversationRouter(2, 60_000, 100);
    const load = (w: number): number => (w === 0 ? 5 : 0);
    expect(r.route(state(9), undefined, load)).toBe(1);
    expect(r.route(state(0).subarray(1), undefined, load)).toBe(1);
  });

  test('without a station, new conversations take turns when idle and go to the least loaded when not', () => {
    const r = new ConversationRouter(3, 60_000, 100);
    expect([0, 1, 2, 3, 4, 5].map(() => r.route(undefined, undefined, idle))).toEqual([0, 1, 2, 0, 1, 2]);
    const load = (w: number): number => [4, 1, 3][w]!;
    expect(r.route(undefined, undefined, load)).toBe(1);
  });

  test('a station stays with its worker while it may hold a conversation there, then is placed afresh', () => {
    let now = 0;
    const r = new ConversationRouter(2, 1000, 100, () => now);
    const first = r.route(undefined, 'station-a', idle);
    expect(r.route(undefined, 'station-b', idle)).not.toBe(first);
    now = 900;
    // Continuing packets keep it alive too.
    expect(r.route(state(first), 'station-a', idle)).toBe(first);
    now = 1800;
    expect(r.route(undefined, 'station-a', (w) => (w === first ? 10 : 0))).toBe(first);
    now = 2900;
    expect(r.route(undefined, 'station-a', (w) => (w === first ? 10 : 0))).toBe(1 - first);
  });

  test('stations remembered are bounded: the least recently seen goes first', () => {
    const r = new ConversationRouter(2, 60_000, 3);
    for (const s of ['a', 'b', 'c', 'd']) r.route(undefined, s, idle);
    expect(r.remembered).toBe(3);
  });

  test('property: spread is even (counts differ by at most one) for idle workers', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 200 }), (count, n) => {
      const r = new ConversationRouter(count, 60_000, 10);
      const seen = new Array<number>(count).fill(0);
      for (let i = 0; i < n; i++) seen[r.route(undefined, undefined, idle)]!++;
      return Math.max(...seen) - Math.min(...seen) <= 1;
    }));
  });

  test('a worker count outside 1..256 is refused', () => {
    expect(() => new ConversationRouter(0, 1, 1)).toThrow(RangeError);
    expect(() => new ConversationRouter(257, 1, 1)).toThrow(RangeError);
  });
});
