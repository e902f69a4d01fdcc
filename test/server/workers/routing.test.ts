/**
 * The primary's choice of worker (src/server/workers/routing.ts): a continuing Response by its
 * State's first octet; a request that may begin a conversation by the station's worker whatever its
 * State says; else the least loaded in turn. A forged octet never moves a station.
 */
import fc from 'fast-check';
import { ConversationRouter, WORKER_STATE_OCTETS, type RoutedRequest } from '../../../src/server/workers/routing.js';

const state = (worker: number): Uint8Array => Uint8Array.of(worker, ...new Array<number>(WORKER_STATE_OCTETS - 1).fill(7));
const idle = (): number => 0;
/** A Response within a conversation (not Identity). */
const cont = (s: Uint8Array | undefined, station?: string): RoutedRequest => ({ state: s, station, begins: false });
/** EAP-Start or an EAP-Response/Identity. */
const start = (station?: string, s?: Uint8Array): RoutedRequest => ({ state: s, station, begins: true });

describe('ConversationRouter', () => {
  test('a continuing Response whose State names a worker goes to it, whatever the station or the load', () => {
    const r = new ConversationRouter(4, 60_000, 100);
    expect(r.route(cont(state(3), 'station-a'), () => 100)).toEqual({ worker: 3, byState: true });
    expect(r.route(cont(state(0), 'station-a'), idle)).toEqual({ worker: 0, byState: true });
  });

  test('a State naming no worker, or of another length, is routed as a new conversation', () => {
    const r = new ConversationRouter(2, 60_000, 100);
    const load = (w: number): number => (w === 0 ? 5 : 0);
    expect(r.route(cont(state(9)), load).worker).toBe(1);
    expect(r.route(cont(state(0).subarray(1)), load).worker).toBe(1);
  });

  test('without a station, new conversations take turns when idle and go to the least loaded when not', () => {
    const r = new ConversationRouter(3, 60_000, 100);
    expect([0, 1, 2, 3, 4, 5].map(() => r.route(start(), idle).worker)).toEqual([0, 1, 2, 0, 1, 2]);
    const load = (w: number): number => [4, 1, 3][w]!;
    expect(r.route(start(), load).worker).toBe(1);
  });

  test('a station stays with its worker while it may hold a conversation there, then is placed afresh', () => {
    let now = 0;
    const r = new ConversationRouter(2, 1000, 100, () => now);
    const first = r.route(start('station-a'), idle).worker;
    expect(r.route(start('station-b'), idle).worker).not.toBe(first);
    now = 900;
    // A continuing packet keeps it once its worker has shown the State was a live conversation.
    expect(r.route(cont(state(first), 'station-a'), idle).worker).toBe(first);
    r.continued('station-a', first);
    now = 1800;
    expect(r.route(start('station-a'), (w) => (w === first ? 10 : 0)).worker).toBe(first);
    now = 2900;
    expect(r.route(start('station-a'), (w) => (w === first ? 10 : 0)).worker).toBe(1 - first);
  });

  test('a forged State octet moves no station: its next conversation still begins on its worker', () => {
    const r = new ConversationRouter(4, 60_000, 100);
    const home = r.route(start('station-a'), idle).worker;
    const other = (home + 1) % 4;
    // The forged Response goes where its octet says; that worker knows no such State (not continued).
    expect(r.route(cont(state(other), 'station-a'), idle)).toEqual({ worker: other, byState: true });
    expect(r.route(start('station-a'), (w) => (w === home ? 50 : 0)).worker).toBe(home);
  });

  test('an Identity or EAP-Start carrying a State naming another worker goes to the station\'s worker', () => {
    const r = new ConversationRouter(4, 60_000, 100);
    const home = r.route(start('station-a'), idle).worker;
    for (let w = 0; w < 4; w++) expect(r.route(start('station-a', state(w)), idle)).toEqual({ worker: home, byState: false });
  });

  test('a station with no worker yet begins where its State names (its Identity after an EAP-Start there), and stays', () => {
    const r = new ConversationRouter(4, 60_000, 100);
    expect(r.route(start('station-a', state(2)), idle).worker).toBe(2);
    expect(r.route(start('station-a'), (w) => (w === 2 ? 50 : 0)).worker).toBe(2);
  });

  test('property: a station\'s conversations may only begin on one worker, whatever States it sends', () => {
    const step = fc.record({
      begins: fc.boolean(),
      octet: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
      continued: fc.boolean(),
      load: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    });
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const r = new ConversationRouter(4, 60_000, 100);
      // Workers where the station may hold a conversation: begun there, or known there.
      const holding = new Set<number>();
      for (const s of steps) {
        const route = r.route({ state: s.octet === undefined ? undefined : state(s.octet), station: 'station-a', begins: s.begins }, (w) => s.load[w]!);
        if (s.begins) holding.add(route.worker);
        // A worker says it continued only a conversation it holds.
        else if (route.byState && s.continued && holding.has(route.worker)) r.continued('station-a', route.worker);
      }
      return holding.size <= 1;
    }));
  });

  test('a lost worker is routed around: new conversations elsewhere, its States sent like unknown ones', () => {
    const r = new ConversationRouter(3, 60_000, 100);
    const home = r.route(start('station-a'), idle).worker;
    r.markLost(home);
    const moved = r.route(start('station-a'), idle).worker;
    expect(moved).not.toBe(home);
    expect(r.route(cont(state(home), 'station-a'), idle)).toEqual({ worker: moved, byState: false });
    for (let i = 0; i < 6; i++) expect(r.route(start(), idle).worker).not.toBe(home);
    r.markLost((home + 1) % 3);
    r.markLost((home + 2) % 3);
    expect(() => r.route(start(), idle)).toThrow(/no worker thread is left/);
  });

  test('stations remembered are bounded: the least recently seen goes first', () => {
    const r = new ConversationRouter(2, 60_000, 3);
    for (const s of ['a', 'b', 'c', 'd']) r.route(start(s), idle);
    expect(r.remembered).toBe(3);
  });

  test('property: spread is even (counts differ by at most one) for idle workers', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 200 }), (count, n) => {
      const r = new ConversationRouter(count, 60_000, 10);
      const seen = new Array<number>(count).fill(0);
      for (let i = 0; i < n; i++) seen[r.route(start(), idle).worker]!++;
      return Math.max(...seen) - Math.min(...seen) <= 1;
    }));
  });

  test('a worker count outside 1..256 is refused', () => {
    expect(() => new ConversationRouter(0, 1, 1)).toThrow(RangeError);
    expect(() => new ConversationRouter(257, 1, 1)).toThrow(RangeError);
  });
});
