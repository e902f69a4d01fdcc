import fc from 'fast-check';
import type { Conversation } from '../../src/eap-methods/conversation.js';
import { SessionTable, type SessionTableLimits } from '../../src/eap-methods/session-table.js';

const LIMITS: SessionTableLimits = { maxSessions: 4, idleTimeoutMs: 60_000, clientShare: 1, stationConversations: 1, protectAfterRounds: 10 };

function init(clientName: string, station?: string, clientAddress = '192.0.2.1'): Omit<Conversation, 'id' | 'state' | 'createdAt' | 'lastSeen'> {
  return {
    clientName,
    nas: { clientName, clientAddress, ...(station !== undefined ? { callingStationId: station } : {}) },
    ...(station !== undefined ? { callingStationId: station } : {}),
    outstandingId: 0,
    lastRequest: new Uint8Array(0),
    rounds: 0,
    methodRounds: 0,
    triedMethods: [],
    invalidPackets: 0,
    allowed: [],
    methodAnswered: false,
    busy: false,
    maxEapPacket: 1020,
  };
}

function table(limits: Partial<SessionTableLimits> = {}): { t: SessionTable; gone: { id: string; why: string }[] } {
  const gone: { id: string; why: string }[] = [];
  const t = new SessionTable({ ...LIMITS, ...limits }, (c, why) => gone.push({ id: c.id, why }));
  return { t, gone };
}

function admit(t: SessionTable, nas: string, station: string | undefined, now = 0): Conversation {
  const a = t.create(init(nas, station), now);
  if (a.kind !== 'admitted') throw new Error(`refused: ${a.reason}`);
  return a.conversation;
}

describe('session admission: progress decides who gives way', () => {
  test('the oldest conversation without a Response goes first, even when a progressing one is older', () => {
    const { t, gone } = table();
    const a = admit(t, 'ap', 's1', 0);
    const b = admit(t, 'ap', 's2', 1);
    admit(t, 'ap', 's3', 2);
    admit(t, 'ap', 's4', 3);
    t.touch(a, 4);
    const e = t.create(init('ap', 's5'), 5);
    expect(e).toMatchObject({ kind: 'admitted', evicted: 1 });
    expect(gone).toEqual([{ id: b.id, why: 'evicted for a new conversation (no Response yet)' }]);
    expect(t.progressOf(a)).toBe('progressing');
    expect(t.stats).toMatchObject({ conversations: 4, fresh: 3, progressing: 1, evicted: 1 });
  });

  test('without fresh ones, the progressing conversation idle longest goes', () => {
    const { t, gone } = table({ maxSessions: 2 });
    const a = admit(t, 'ap', 's1', 0);
    const b = admit(t, 'ap', 's2', 1);
    t.touch(a, 2);
    t.touch(b, 3);
    t.touch(a, 4);
    expect(t.create(init('ap', 's3'), 5).kind).toBe('admitted');
    expect(gone).toEqual([{ id: b.id, why: 'evicted for a new conversation (idle longest)' }]);
  });

  test('an established conversation never gives way; a table of them refuses the newcomer', () => {
    const { t, gone } = table({ maxSessions: 2, clientShare: 0.5 });
    const a = admit(t, 'ap1', 's1');
    const b = admit(t, 'ap2', 's2');
    t.establish(a);
    t.touch(b, 1);
    // ap3 holds nothing, so only the whole table is short of room: b is progressing, a established.
    const c = t.create(init('ap3', 's3'), 2);
    expect(c.kind).toBe('admitted');
    expect(gone.map((g) => g.id)).toEqual([b.id]);
    t.establish((c as { conversation: Conversation }).conversation);
    expect(t.create(init('ap4', 's4'), 3)).toEqual({ kind: 'refused', reason: 'session table full (2 conversations), none of which may give way' });
    expect(t.get(a.state)).toBe(a);
    expect(t.stats).toMatchObject({ established: 2, refused: 1, evicted: 1 });
  });

  test('a conversation busy with a Response is never evicted', () => {
    const { t, gone } = table({ maxSessions: 2 });
    const a = admit(t, 'ap', 's1');
    const b = admit(t, 'ap', 's2');
    a.busy = true;
    expect(t.create(init('ap', 's3'), 1).kind).toBe('admitted');
    expect(gone.map((g) => g.id)).toEqual([b.id]);
  });

  test('a conversation past its idle time goes before any live one, and is not counted as shed', () => {
    const { t, gone } = table({ maxSessions: 2, idleTimeoutMs: 100 });
    const a = admit(t, 'ap', 's1', 0);
    t.touch(a, 10);
    admit(t, 'ap', 's2', 150);
    const r = t.create(init('ap', 's3'), 200);
    expect(r).toMatchObject({ kind: 'admitted', evicted: 0 });
    expect(gone).toEqual([{ id: a.id, why: 'idle timeout' }]);
  });

  test('expire walks each list only to its first conversation still in time', () => {
    const { t, gone } = table({ maxSessions: 10, idleTimeoutMs: 100 });
    const a = admit(t, 'ap', 's1', 0);
    const b = admit(t, 'ap', 's2', 50);
    const c = admit(t, 'ap', 's3', 60);
    t.touch(c, 70);
    t.establish(c);
    expect(t.expire(140)).toBe(1);
    expect(gone.map((g) => g.id)).toEqual([a.id]);
    expect(t.expire(1000)).toBe(2);
    expect(gone.map((g) => g.id)).toEqual([a.id, b.id, c.id]);
    expect(t.size).toBe(0);
  });

  test('rounds or the method promote; touching an established conversation keeps it established', () => {
    const { t } = table();
    const a = admit(t, 'ap', 's1');
    expect(t.progressOf(a)).toBe('fresh');
    t.touch(a, 1);
    expect(t.progressOf(a)).toBe('progressing');
    t.establish(a);
    t.touch(a, 2);
    expect(t.progressOf(a)).toBe('established');
  });
});

describe('session admission: shares', () => {
  test('past its share a NAS only displaces its own conversations', () => {
    const { t, gone } = table({ maxSessions: 10, clientShare: 0.5 });
    expect(t.perClientLimit).toBe(5);
    const others = [0, 1, 2, 3, 4].map((i) => admit(t, 'other-ap', `o${i}`));
    const flood = Array.from({ length: 50 }, (_, i) => t.create(init('flooding-ap', `f${i}`), i));
    expect(flood.every((a) => a.kind === 'admitted')).toBe(true);
    expect(t.size).toBe(10);
    for (const o of others) expect(t.get(o.state)).toBe(o);
    expect(gone).toHaveLength(45);
    expect(new Set(gone.map((g) => g.why))).toEqual(new Set(['evicted for a new conversation (no Response yet)']));
  });

  test('a NAS whose share is all established is refused while the table still has room', () => {
    const { t } = table({ maxSessions: 10, clientShare: 0.2 });
    for (let i = 0; i < 2; i++) t.establish(admit(t, 'ap', `s${i}`));
    expect(t.create(init('ap', 's9'), 1)).toEqual({ kind: 'refused', reason: 'this NAS holds its share of the session table (2 conversations), none of which may give way' });
    expect(t.create(init('another-ap', 's9'), 1).kind).toBe('admitted');
  });

  test('the same client entry from another source address is another NAS', () => {
    const { t } = table({ maxSessions: 4, clientShare: 0.5 });
    for (const addr of ['10.0.0.1', '10.0.0.2']) {
      for (let i = 0; i < 2; i++) {
        const c = t.create(init('campus', `s${i}`, addr), 0);
        if (c.kind !== 'admitted') throw new Error('refused');
        t.establish(c.conversation);
      }
    }
    expect(t.size).toBe(4);
    expect(t.stats.clients).toBe(2);
  });

  test('a station holds its share per NAS; the newcomer replaces its oldest, whatever its progress', () => {
    const { t, gone } = table({ maxSessions: 10, stationConversations: 2 });
    const a = admit(t, 'ap', 'mac-1');
    const b = admit(t, 'ap', 'mac-1');
    t.establish(a);
    admit(t, 'other-ap', 'mac-1');
    expect(gone).toEqual([]);
    admit(t, 'ap', 'mac-1');
    expect(gone).toEqual([{ id: a.id, why: 'replaced by a new conversation from the same station' }]);
    expect(t.get(b.state)).toBe(b);
  });

  test('settings outside their range are refused', () => {
    expect(() => table({ clientShare: 0 })).toThrow(RangeError);
    expect(() => table({ clientShare: 1.5 })).toThrow(RangeError);
    expect(() => table({ stationConversations: 0 })).toThrow(RangeError);
  });
});

describe('session admission cost', () => {
  // The old table scanned every entry on each refused create; 20,000 refusals against 100,000
  // entries were 2·10⁹ steps. Looking at list heads keeps them to milliseconds.
  test('refusing against a full table of 100,000 established conversations does not scan it', () => {
    const { t } = table({ maxSessions: 100_000, clientShare: 1, stationConversations: 1 });
    for (let i = 0; i < 100_000; i++) t.establish(admit(t, `ap${i % 50}`, `s${i}`));
    const started = performance.now();
    let refused = 0;
    for (let i = 0; i < 20_000; i++) if (t.create(init('ap1', `n${i}`), 1).kind === 'refused') refused++;
    const elapsed = performance.now() - started;
    expect(refused).toBe(20_000);
    expect(elapsed).toBeLessThan(2000);
  });
});

/** A model of the rules, to compare the table with after every operation of a random sequence. */
interface ModelEntry {
  c: Conversation;
  nas: string;
  station: string;
  progress: 'fresh' | 'progressing' | 'established';
  /** Position in its recency list: set on creation and whenever the entry is placed again. */
  seq: number;
  stationSeq: number;
}

type Op =
  | { op: 'create'; nas: number; station: number }
  | { op: 'touch'; pick: number }
  | { op: 'establish'; pick: number }
  | { op: 'end'; pick: number }
  | { op: 'busy'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('create' as const), nas: fc.nat(3), station: fc.nat(5) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('touch' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('establish' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('end' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('busy' as const), pick: fc.nat() }) },
);

describe('session admission: property', () => {
  test('the table evicts exactly whom the rules name, never an established one for a newcomer, and keeps every bound', () => {
    fc.assert(
      fc.property(
        fc.record({ maxSessions: fc.integer({ min: 1, max: 8 }), clientShare: fc.constantFrom(0.25, 0.5, 1), stationConversations: fc.integer({ min: 1, max: 3 }) }),
        fc.array(opArb, { maxLength: 120 }),
        (limits, ops) => {
          const gone: { id: string; why: string }[] = [];
          const t = new SessionTable({ ...LIMITS, ...limits }, (c, why) => gone.push({ id: c.id, why }));
          const cap = Math.max(1, Math.floor(limits.maxSessions * limits.clientShare));
          let live: ModelEntry[] = [];
          let seq = 0;
          const oldest = (pool: ModelEntry[]): ModelEntry | undefined => {
            for (const kind of ['fresh', 'progressing'] as const) {
              const c = pool.filter((e) => e.progress === kind && !e.c.busy).sort((x, y) => x.seq - y.seq)[0];
              if (c) return c;
            }
            return undefined;
          };
          for (const o of ops) {
            const before = gone.length;
            if (o.op === 'create') {
              const nas = `nas${o.nas}`;
              const station = `st${o.station}`;
              const expected: { id: string; why: string }[] = [];
              let pool = live;
              const sameStation = pool.filter((e) => e.nas === nas && e.station === station).sort((x, y) => x.stationSeq - y.stationSeq);
              while (sameStation.length >= limits.stationConversations) {
                const v = sameStation.shift()!;
                expected.push({ id: v.c.id, why: 'replaced by a new conversation from the same station' });
                pool = pool.filter((e) => e !== v);
              }
              let refused = false;
              if (pool.filter((e) => e.nas === nas).length >= cap) {
                const v = oldest(pool.filter((e) => e.nas === nas));
                if (v) {
                  expected.push({ id: v.c.id, why: v.progress === 'fresh' ? 'evicted for a new conversation (no Response yet)' : 'evicted for a new conversation (idle longest)' });
                  pool = pool.filter((e) => e !== v);
                } else refused = true;
              }
              if (!refused && pool.length >= limits.maxSessions) {
                const v = oldest(pool);
                if (v) {
                  expected.push({ id: v.c.id, why: v.progress === 'fresh' ? 'evicted for a new conversation (no Response yet)' : 'evicted for a new conversation (idle longest)' });
                  pool = pool.filter((e) => e !== v);
                } else refused = true;
              }
              const a = t.create(init(nas, station), 0);
              expect(a.kind).toBe(refused ? 'refused' : 'admitted');
              expect(gone.slice(before)).toEqual(expected);
              live = pool;
              if (a.kind === 'admitted') live.push({ c: a.conversation, nas, station, progress: 'fresh', seq: seq++, stationSeq: seq });
            } else if (live.length > 0) {
              const e = live[o.pick % live.length]!;
              if (o.op === 'touch') {
                t.touch(e.c, 0);
                if (e.progress === 'fresh') e.progress = 'progressing';
                e.seq = seq++;
              } else if (o.op === 'establish') {
                t.establish(e.c);
                if (e.progress !== 'established') e.seq = seq++;
                e.progress = 'established';
              } else if (o.op === 'end') {
                t.end(e.c, 'finished');
                expect(gone.slice(before)).toEqual([{ id: e.c.id, why: 'finished' }]);
                live = live.filter((x) => x !== e);
              } else {
                e.c.busy = !e.c.busy;
              }
            }
            // Bounds and bookkeeping after every step.
            expect(t.size).toBe(live.length);
            expect(t.size).toBeLessThanOrEqual(limits.maxSessions);
            const stats = t.stats;
            expect(stats.fresh + stats.progressing + stats.established).toBe(live.length);
            for (const n of new Set(live.map((e) => e.nas))) expect(live.filter((e) => e.nas === n).length).toBeLessThanOrEqual(cap);
            for (const e of live) expect(t.progressOf(e.c)).toBe(e.progress);
          }
          // Established conversations left only by their own end or a station's restart.
          t.clear();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('State naming a worker thread (statePrefix)', () => {
  test('each State is the worker\'s octet and 16 random ones, and finds its conversation', () => {
    const { t } = table({ statePrefix: 5 });
    const c = admit(t, 'ap', 's1');
    const d = admit(t, 'ap', 's2');
    expect(c.state.length).toBe(17);
    expect(c.state[0]).toBe(5);
    expect(Buffer.from(c.state.subarray(1))).not.toEqual(Buffer.from(d.state.subarray(1)));
    expect(t.get(c.state)).toBe(c);
    // Without the octet it is another State.
    expect(t.get(c.state.subarray(1))).toBeUndefined();
  });

  test('without statePrefix, States stay 16 octets; a prefix that is not an octet is refused', () => {
    expect(admit(table().t, 'ap', 's1').state.length).toBe(16);
    expect(() => table({ statePrefix: 256 })).toThrow(RangeError);
    expect(() => table({ statePrefix: -1 })).toThrow(RangeError);
  });
});
