/**
 * Enumeration timing (issue 8.3): answering an unknown account costs what answering a known one
 * with a wrong password costs, for TEAP Basic-Password-Auth (one scrypt each) and EAP-MSCHAPv2 (one
 * NT-Response each). Measured in-process against the real SQLite user store, with accounts hashed
 * as `gangway users add` hashes them. To stay robust on a shared machine the two kinds are measured
 * in pairs, back to back in random order, and the median of the pairs' ratios is compared: slow
 * spells of the machine hit both halves of a pair alike. CPU time (the work done) is checked for
 * every kind of account; wall time too for the unknown account, the case enumeration is about.
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
import { dummyPasswordHash, hashPassword } from '../../src/store/users.js';
import { verifyBasicPassword } from '../../src/teap-brski/teap/basic-password.js';
import type { BasicPasswordAuthRespTlv } from '../../src/teap-brski/teap/basic-password-tlv.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** No lockout during the measurement: a locked attempt is measured on its own below. */
const noLockout = () => new PasswordLockout({ account: { maxFailures: 1e6, windowMs: 1000, lockoutMs: 1000 }, nas: { maxFailures: 1e6, windowMs: 1000, lockoutMs: 1000 }, maxTracked: 1000 });

interface Ratios {
  /** Median over the pairs of wall time(b) / wall time(a). */
  wall: number;
  /** The same for the process's CPU time (all threads: scrypt runs on libuv's pool). */
  cpu: number;
  medianWallMs: { a: number; b: number };
}

/**
 * Each pair measures a and b back to back in random order. CPU time measures the work and hardly
 * moves when other processes load the machine; wall time is what a guesser sees.
 */
async function medianRatio(pairs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<Ratios> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  const time = async (f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> => {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    await f();
    const used = process.cpuUsage(c);
    return { wall: Number(process.hrtime.bigint() - t) / 1e6, cpu: (used.user + used.system) / 1000 };
  };
  for (let i = 0; i < pairs; i++) {
    let ta: { wall: number; cpu: number };
    let tb: { wall: number; cpu: number };
    if (Math.random() < 0.5) {
      ta = await time(a);
      tb = await time(b);
    } else {
      tb = await time(b);
      ta = await time(a);
    }
    wall.push(tb.wall / ta.wall);
    cpu.push(tb.cpu / ta.cpu);
    as.push(ta.wall);
    bs.push(tb.wall);
  }
  const median = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  return { wall: median(wall), cpu: median(cpu), medianWallMs: { a: median(as), b: median(bs) } };
}

function expectWithin20(r: Ratios, which: 'wall' | 'cpu'): void {
  expect(r[which]).toBeGreaterThan(0.8);
  expect(r[which]).toBeLessThan(1.2);
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
    const r = await medianRatio(31, known, () => verifyBasicPassword(users, resp('nobody-here', 'wrong-guess'), { lockout, nas: 'n' }));
    figures['basic-unknown'] = r;
    expectWithin20(r, 'cpu');
    expectWithin20(r, 'wall');
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
      const r = await medianRatio(15, known, attempt);
      figures[`basic-${name}`] = r;
      expectWithin20(r, 'cpu');
    }
  }, 120_000);

  test('EAP-MSCHAPv2: unknown, disabled and scrypt-only accounts within 20 % of a known account\'s wrong password', async () => {
    await users.add({ name: 'scryptonly', passwordHash: await hashPassword('s-password') });
    const method = createMschapV2Method({ users, lockout: noLockout() });
    const log = new MemoryLog();
    /** `batch` whole conversations (Challenge, Response, Failure-Request), so each sample is long enough to time. */
    const attempts = (user: string, password: string, batch = 50) => async () => {
      for (let i = 0; i < batch; i++) {
        const session = method.createSession({ identity: user, conversationId: 't', maxEapPacket: 1400, nas: { clientName: 'nas' }, log });
        const challenge = await session.start();
        const peer = new MschapV2Peer({ username: user, password });
        const answer = peer.process((challenge as { data: Uint8Array }).data);
        const out = await session.step(answer.response);
        if (out.kind !== 'request') throw new Error('expected a Failure-Request');
        session.dispose();
      }
    };
    const known = attempts('alice', 'wrong-guess');
    const others = [['unknown', 'nobody-here'], ['disabled', 'carol'], ['scrypt-only', 'scryptonly']] as const;
    // Every path compiled and warm before anything is timed.
    for (let i = 0; i < 3; i++) for (const f of [known, ...others.map(([, user]) => attempts(user, 'wrong-guess'))]) await f();
    for (const [name, user] of others) {
      const r = await medianRatio(61, known, attempts(user, 'wrong-guess'));
      figures[`mschapv2-${name}`] = r;
      expectWithin20(r, 'cpu');
      expectWithin20(r, 'wall');
    }
  }, 120_000);
});
