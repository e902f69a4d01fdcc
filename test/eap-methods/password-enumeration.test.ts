/**
 * Enumeration timing (issue 8.3): answering an unknown account costs what answering a known one
 * with a wrong password costs, for TEAP Basic-Password-Auth (one scrypt each) and EAP-MSCHAPv2 (one
 * NT-Response each). Measured in-process against the real SQLite user store, with accounts hashed
 * as `gangway users add` hashes them. To stay robust on a shared machine the two kinds are measured
 * side by side and compared by medians: Basic-Password-Auth's long attempts in groups back to back
 * as ABBA or BAAB, MSCHAPv2's short `step` calls in thousands of interleaved pairs. CPU time (the
 * work done) is checked for every kind of account; wall time too where a guesser could time it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMschapV2Method } from '../../src/eap-methods/mschapv2/method.js';
import { MschapV2Peer } from '../../src/eap-methods/mschapv2/peer.js';
import { ntPasswordHash } from '../../src/eap-methods/mschapv2/ms-chap-v2.js';
import { PasswordLockout } from '../../src/eap-methods/password-lockout.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqliteUserStore } from '../../src/store/sqlite/users.js';
import { dummyPasswordHash, hashPassword, type UserStore } from '../../src/store/users.js';
import { verifyBasicPassword } from '../../src/teap-brski/teap/basic-password.js';
import type { BasicPasswordAuthRespTlv } from '../../src/teap-brski/teap/basic-password-tlv.js';
import type { EapMethod, Step } from '../../src/eap-methods/method.js';
import type { Log } from '../../src/util/log.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** No lockout during the measurement: a locked attempt is measured on its own below. */
const noLockout = () => new PasswordLockout({ account: { maxFailures: 1e6, windowMs: 1000, lockoutMs: 1000 }, nas: { maxFailures: 1e6, windowMs: 1000, lockoutMs: 1000 }, maxTracked: 1000 });

/** What one timed call cost: wall time in milliseconds, CPU time of the process in milliseconds. */
interface Timing { wall: number; cpu: number }

/** What a measurement kept, so that two can be pooled: each group's ratios, or each call's times. */
type Measured =
  | { kind: 'groups'; wall: number[]; cpu: number[]; as: number[]; bs: number[] }
  | { kind: 'pairs'; as: Timing[]; bs: Timing[] };

interface Ratios {
  /** b's wall time over a's: the median of the groups' ratios, or the ratio of the calls' medians. */
  wall: number;
  /** The same for the process's CPU time (all threads: scrypt runs on libuv's pool). */
  cpu: number;
  medianWallMs: { a: number; b: number };
  measured: Measured;
}

/** Passing ratios, and the wider band in which a first measurement is taken again. */
interface Bounds { pass: readonly [number, number]; again: readonly [number, number] }

/** The 20 %, for whole attempts. */
const WITHIN_20: Bounds = { pass: [0.8, 1.2], again: [0.7, 1.4] };
/**
 * Tighter for the server's `step` alone, which measures 0.97–1.00 here and in CI: the SQLite
 * lookup that returned no row for an unknown name measured 0.82–0.86 this way, inside 20 %.
 */
const STEP: Bounds = { pass: [0.9, 1.1], again: [0.8, 1.25] };

const median = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;

function ratiosOf(m: Measured): Ratios {
  if (m.kind === 'groups') return { wall: median(m.wall), cpu: median(m.cpu), medianWallMs: { a: median(m.as), b: median(m.bs) }, measured: m };
  const medianOf = (v: Timing[], k: keyof Timing) => median(v.map((x) => x[k]));
  // CPU time comes in whole microseconds; the mean of the middle half keeps that rounding out of the ratio.
  const middleMean = (v: Timing[]) => {
    const sorted = v.map((x) => x.cpu).sort((x, y) => x - y);
    const mid = sorted.slice(Math.floor(sorted.length / 4), Math.ceil((sorted.length * 3) / 4));
    return mid.reduce((x, y) => x + y, 0) / mid.length;
  };
  return {
    wall: medianOf(m.bs, 'wall') / medianOf(m.as, 'wall'),
    cpu: middleMean(m.bs) / middleMean(m.as),
    medianWallMs: { a: medianOf(m.as, 'wall'), b: medianOf(m.bs, 'wall') },
    measured: m,
  };
}

function pool(x: Measured, y: Measured): Measured {
  if (x.kind === 'groups' && y.kind === 'groups') return { kind: 'groups', wall: [...x.wall, ...y.wall], cpu: [...x.cpu, ...y.cpu], as: [...x.as, ...y.as], bs: [...x.bs, ...y.bs] };
  if (x.kind === 'pairs' && y.kind === 'pairs') return { kind: 'pairs', as: [...x.as, ...y.as], bs: [...x.bs, ...y.bs] };
  throw new Error('pooling two kinds of measurement');
}

const timed = async (f: () => Promise<unknown>): Promise<Timing> => {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  await f();
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  const used = process.cpuUsage(c);
  return { wall, cpu: (used.user + used.system) / 1000 };
};

/**
 * Each group measures a and b twice, back to back, in the order ABBA or BAAB. CPU time measures the
 * work and hardly moves when other processes load the machine; wall time is what a guesser sees.
 */
async function medianRatio(groups: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<Ratios> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  const sum = (x: Timing, y: Timing): Timing => ({ wall: x.wall + y.wall, cpu: x.cpu + y.cpu });
  for (let i = 0; i < groups; i++) {
    // ABBA (or BAAB): whatever the first or last place of a group costs (a collection, a cache
    // refill) lands on both kinds alike, and so does a machine slowing down over the group.
    const [first, second] = Math.random() < 0.5 ? [a, b] : [b, a];
    const t1 = await timed(first);
    const t2 = await timed(second);
    const t3 = await timed(second);
    const t4 = await timed(first);
    const [ta, tb] = first === a ? [sum(t1, t4), sum(t2, t3)] : [sum(t2, t3), sum(t1, t4)];
    wall.push(tb.wall / ta.wall);
    cpu.push(tb.cpu / ta.cpu);
    as.push(ta.wall / 2);
    bs.push(tb.wall / 2);
  }
  return ratiosOf({ kind: 'groups', wall, cpu, as, bs });
}

/**
 * `pairs` pairs of single calls (each timing the part of itself that matters), one of each kind in
 * random order, and the ratio of the medians of each kind's times. Neighbouring calls share
 * whatever the machine is doing (another process, a collection on a background thread), and the
 * median of thousands ignores the calls that a pause landed on; groups of 100 whole conversations once let a loaded CI machine skew a ratio to 0.63
 * and another to 1.43 for paths that measure 1.0 alone.
 */
async function interleavedMedianRatio(pairs: number, a: () => Promise<Timing>, b: () => Promise<Timing>): Promise<Ratios> {
  const as: Timing[] = [];
  const bs: Timing[] = [];
  for (let i = 0; i < pairs; i++) {
    if (Math.random() < 0.5) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return ratiosOf({ kind: 'pairs', as, bs });
}

const within = (r: Ratios, which: readonly ('wall' | 'cpu')[], [low, high]: readonly [number, number]): boolean => which.every((w) => r[w] > low && r[w] < high);

function expectWithin(r: Ratios, which: 'wall' | 'cpu', [low, high]: readonly [number, number]): void {
  expect(r[which]).toBeGreaterThan(low);
  expect(r[which]).toBeLessThan(high);
}

/**
 * One measurement; when it falls outside the passing band but inside the wider one, a second
 * one, and both measurements' samples together decide. Pooling keeps every sample of the first
 * measurement, so a real difference is not measured away as a best-of-two would, and a far-out
 * first measurement fails at once.
 */
async function measureAgainIfOut(figures: Record<string, unknown>, key: string, which: readonly ('wall' | 'cpu')[], bounds: Bounds, measure: () => Promise<Ratios>): Promise<Ratios> {
  const first = await measure();
  const brief = (r: Ratios) => ({
    wall: r.wall, cpu: r.cpu, medianWallMs: r.medianWallMs,
    ...(r.measured.kind === 'pairs' ? { pairs: r.measured.as.length } : { groups: r.measured.wall.length }),
  });
  figures[key] = brief(first);
  if (within(first, which, bounds.pass) || !within(first, which, bounds.again)) return first;
  const second = await measure();
  const pooled = ratiosOf(pool(first.measured, second.measured));
  figures[key] = { first: brief(first), second: brief(second), pooled: brief(pooled) };
  return pooled;
}

/** A Log that keeps nothing: the timed conversations should not also time a growing array of lines. */
const discard: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => discard };

/**
 * One EAP-MSCHAPv2 conversation with a wrong password up to the server's answer to the
 * Response, timing only `step`: the one call whose work could depend on the account (lockout,
 * lookup, NT-Response). Challenge and the peer's answer are built untimed.
 */
function mschapV2Step(method: EapMethod, user: string, log: Log = discard, name = user): () => Promise<Timing> {
  return async () => {
    const session = method.createSession({ identity: user, conversationId: 't', maxEapPacket: 1400, nas: { clientName: 'nas' }, log });
    const challenge = await session.start();
    const answer = new MschapV2Peer({ username: name, password: 'wrong-guess' }).process((challenge as { data: Uint8Array }).data);
    let out: Step | undefined;
    const timing = await timed(async () => (out = await session.step(answer.response)));
    session.dispose();
    if (out?.kind !== 'request') throw new Error('expected a Failure-Request');
    return timing;
  };
}

async function lastReason(log: MemoryLog, conversation: () => Promise<Timing>): Promise<string> {
  await conversation();
  return String((log.lines.at(-1)?.obj as { reason?: unknown } | undefined)?.reason);
}

const resp = (username: string, password: string): BasicPasswordAuthRespTlv => ({
  kind: 'basic-password-auth-resp', mandatory: false, username: Buffer.from(username), password: Buffer.from(password),
});

describe('password methods take the same time for unknown and known accounts', () => {
  let dir: string;
  let db: SqliteDatabase;
  let users: SqliteUserStore;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-enum-'));
    db = openSqlite(join(dir, 'gangway.db'));
    users = new SqliteUserStore(db);
    // As `gangway users add --password` stores them: the default scrypt cost and the NT hash.
    await users.add({ name: 'alice', passwordHash: await hashPassword('alice-password'), ntHash: ntPasswordHash('alice-password') });
    await users.add({ name: 'ntonly', ntHash: ntPasswordHash('nt-password') });
    await users.add({ name: 'carol', passwordHash: await hashPassword('carol-password'), ntHash: ntPasswordHash('carol-password'), enabled: false });
    await dummyPasswordHash();
  }, 30_000);

  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
    // The figures docs/security.md quotes.
    process.stdout.write(`password-enumeration figures: ${JSON.stringify(figures)}\n`);
  });

  test('Basic-Password-Auth: an unknown account within 20 % of a known account\'s wrong password, in wall time and CPU time', async () => {
    const lockout = noLockout();
    const known = () => verifyBasicPassword(users, resp('alice', 'wrong-guess'), { lockout, nas: 'n' });
    const r = await measureAgainIfOut(figures, 'basic-unknown', ['cpu', 'wall'], WITHIN_20, () => medianRatio(21, known, () => verifyBasicPassword(users, resp('nobody-here', 'wrong-guess'), { lockout, nas: 'n' })));
    expectWithin(r, 'cpu', WITHIN_20.pass);
    expectWithin(r, 'wall', WITHIN_20.pass);
  }, 180_000);

  test('Basic-Password-Auth: disabled, NT-hash-only and locked accounts cost what a known account costs', async () => {
    const lockout = noLockout();
    const known = () => verifyBasicPassword(users, resp('alice', 'wrong-guess'), { lockout, nas: 'n' });
    // A locked account: the same scrypt again, and the same refusal.
    const locking = new PasswordLockout({ account: { maxFailures: 1, windowMs: 60_000, lockoutMs: 60_000 }, nas: { maxFailures: 1e6, windowMs: 1000, lockoutMs: 1000 }, maxTracked: 100 });
    await verifyBasicPassword(users, resp('alice', 'x'), { lockout: locking, nas: 'n' });
    const locked = () => verifyBasicPassword(users, resp('alice', 'alice-password'), { lockout: locking, nas: 'n' });
    expect(await locked()).toMatchObject({ ok: false, reason: expect.stringMatching(/locked out/) });
    for (const [name, attempt] of [
      ['disabled', () => verifyBasicPassword(users, resp('carol', 'carol-password'), { lockout, nas: 'n' })],
      ['nt-only', () => verifyBasicPassword(users, resp('ntonly', 'wrong-guess'), { lockout, nas: 'n' })],
      ['locked', locked],
    ] as const) {
      const r = await measureAgainIfOut(figures, `basic-${name}`, ['cpu'], WITHIN_20, () => medianRatio(11, known, attempt));
      expectWithin(r, 'cpu', WITHIN_20.pass);
    }
  }, 120_000);

  test('EAP-MSCHAPv2: the server\'s step for unknown, disabled and scrypt-only accounts within 10 % of a known account\'s wrong password', async () => {
    await users.add({ name: 'scryptonly', passwordHash: await hashPassword('s-password') });
    const reasons = new MemoryLog();
    const method = createMschapV2Method({ users, lockout: noLockout() });
    const known = mschapV2Step(method, 'alice');
    const others = [['unknown', 'nobody-here', /unknown user/], ['disabled', 'carol', /is disabled/], ['scrypt-only', 'scryptonly', /has no NT hash/]] as const;
    // Each kind takes the path it is meant to (and every path is compiled) before anything is timed.
    expect(await lastReason(reasons, mschapV2Step(method, 'alice', reasons))).toMatch(/wrong password/);
    for (const [, user, reason] of others) expect(await lastReason(reasons, mschapV2Step(method, user, reasons))).toMatch(reason);
    for (let i = 0; i < 500; i++) for (const f of [known, ...others.map(([, user]) => mschapV2Step(method, user))]) await f();
    for (const [name, user] of others) {
      const r = await measureAgainIfOut(figures, `mschapv2-${name}`, ['cpu', 'wall'], STEP, () => interleavedMedianRatio(4000, known, mschapV2Step(method, user)));
      expectWithin(r, 'cpu', STEP.pass);
      expectWithin(r, 'wall', STEP.pass);
    }

    // The measurement sees the difference it guards against: the lookup as it was before
    // 2026-12-06, a row (and a record) only for a known name, measures below the band.
    const rowOnlyWhenFound = db.prepare('SELECT name, nt_hash, password_hash, enabled, created_at FROM users WHERE name = ?');
    const leaky: UserStore = {
      get: async (name) => {
        const row = rowOnlyWhenFound.get(name) as { name: string; nt_hash: Buffer | null; password_hash: string | null; enabled: number; created_at: string } | undefined;
        if (!row) return undefined;
        return {
          name: row.name, enabled: row.enabled !== 0, created: new Date(row.created_at),
          ...(row.nt_hash ? { ntHash: new Uint8Array(row.nt_hash) } : {}), ...(row.password_hash ? { passwordHash: row.password_hash } : {}),
        };
      },
      add: (u) => users.add(u), remove: (n) => users.remove(n), list: () => users.list(), setEnabled: (n, e) => users.setEnabled(n, e),
    };
    const leakyMethod = createMschapV2Method({ users: leaky, lockout: noLockout() });
    for (let i = 0; i < 500; i++) for (const f of [mschapV2Step(leakyMethod, 'alice'), mschapV2Step(leakyMethod, 'nobody-here')]) await f();
    const leak = await interleavedMedianRatio(4000, mschapV2Step(leakyMethod, 'alice'), mschapV2Step(leakyMethod, 'nobody-here'));
    figures['mschapv2-old-lookup'] = { wall: leak.wall, cpu: leak.cpu, medianWallMs: leak.medianWallMs };
    expect(leak.wall).toBeLessThan(STEP.pass[0]);
  }, 180_000);
});
