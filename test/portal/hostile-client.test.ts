/**
 * The portal against a hostile client, on its own over SQLite: requests that never finish, floods
 * of refused requests, a login `next` Node cannot put in a header, the framework's own error
 * answers, and the lockout as an oracle for which names exist.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { buildPortalApp, type PortalTimeouts } from '../../src/portal/app.js';
import { PortalAuth } from '../../src/portal/auth.js';
import { DeviceService } from '../../src/portal/devices.js';
import { openSqliteStores, type SqliteStores } from '../../src/store/sqlite/stores.js';
import { hashPassword } from '../../src/store/users.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { testPki } from '../helpers/pki.js';
import { PortalClient } from './harness.js';

interface Portal {
  app: FastifyInstance;
  port: number;
  url: string;
  stores: SqliteStores;
  log: MemoryLog;
  close(): Promise<void>;
}

async function startPortal(opts: { timeouts?: PortalTimeouts; reportBudget?: { windowMs: number; perWindow: number; maxKeys: number }; loginRate?: { limit: number; windowMs: number } } = {}): Promise<Portal> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-portal-'));
  const stores = openSqliteStores(join(dir, 'gangway.db'));
  await stores.users.add({ name: 'alice' });
  await stores.portalAccounts.setPassword('alice', await hashPassword('alice-portal-pw-1'));
  const log = new MemoryLog();
  const policy = { maxFailedLogins: 3, lockoutMs: 60_000, sessionMs: 3_600_000 };
  const pki = await testPki();
  const app = buildPortalApp({
    users: stores.users,
    accounts: stores.portalAccounts,
    auth: new PortalAuth({ users: stores.users, accounts: stores.portalAccounts, sessions: stores.portalSessions, audit: stores.audit, policy }),
    devices: new DeviceService({ audit: stores.audit, log }),
    audit: stores.audit,
    log,
    policy,
    https: true,
    tls: { cert: Buffer.from(pki.server.certPem), key: Buffer.from(pki.server.keyPem) },
    userPolicies: stores.userPolicies,
    ...opts,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    app,
    port,
    url: `https://127.0.0.1:${port}`,
    stores,
    log,
    async close() {
      await app.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `first`, then an octet every `everyMs`, until the server answers or closes; what it said, and when. */
function slowRequest(socket: Socket, first: string, everyMs: number, giveUpMs: number): Promise<{ answer: string; closedAfterMs: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let answer = '';
    socket.write(first);
    const drip = setInterval(() => {
      if (socket.writable) socket.write('a');
    }, everyMs);
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      resolve({ answer, closedAfterMs: Date.now() - t0 });
    });
  });
}

function tlsSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
}

const SECURITY_HEADERS = ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'cache-control', 'strict-transport-security'];

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>): void {
  for (const h of SECURITY_HEADERS) expect([h, headers[h]]).toEqual([h, expect.any(String)]);
  expect(headers['cache-control']).toBe('no-store');
  expect(headers['x-frame-options']).toBe('DENY');
}

describe('a request that never finishes', () => {
  const timeouts: PortalTimeouts = { handshakeMs: 600, headersMs: 500, requestMs: 1_000, checkEveryMs: 100 };
  let p: Portal;
  beforeAll(async () => {
    p = await startPortal({ timeouts });
  });
  afterAll(() => p.close());

  test('a body sent one octet at a time gets 408, with the security headers, and its connection closed', async () => {
    const socket = await tlsSocket(p.port);
    const r = await slowRequest(socket, 'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\na', 200, 10_000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.answer).toMatch(/\r\ncontent-security-policy: default-src 'none'/i);
    expect(r.answer).toMatch(/\r\nx-frame-options: DENY/i);
    expect(r.answer).toMatch(/\r\nstrict-transport-security: /i);
    expect(r.answer).not.toMatch(/FST_|ERR_|\{/);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(timeouts.requestMs - 50);
    expect(r.closedAfterMs).toBeLessThan(timeouts.requestMs + 1_500);
    // A client's slowness is not the server's failure.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(p.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  test('headers sent one line at a time get 408 after the headers timeout', async () => {
    const socket = await tlsSocket(p.port);
    const r = await slowRequest(socket, 'GET /login HTTP/1.1\r\nHost: x\r\nX-a: ', 150, 10_000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.closedAfterMs).toBeLessThan(timeouts.headersMs + 1_500);
  });

  test('a TLS handshake never begun is dropped after the handshake timeout', async () => {
    const socket = connectTcp({ host: '127.0.0.1', port: p.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const r = await slowRequest(socket, '', 60_000, 10_000);
    expect(r.closedAfterMs).toBeLessThan(timeouts.handshakeMs + 1_500);
  });

  test('a request in time is answered as before', async () => {
    const c = new PortalClient(p.url);
    expect((await c.login('alice', 'alice-portal-pw-1')).status).toBe(303);
    expect((await c.get('/devices')).status).toBe(200);
  });
});

describe('refused requests write within a budget', () => {
  let p: Portal;
  beforeEach(async () => {
    p = await startPortal({ loginRate: { limit: 2, windowMs: 60_000 }, reportBudget: { windowMs: 60_000, perWindow: 100, maxKeys: 100 } });
  });
  afterEach(() => p.close());

  const entries = async (event: string) => (await p.stores.audit.recent(1000)).filter((e) => e.event === event);

  test('POSTs without a CSRF token, to any path: one audit entry and one warning per address and window', async () => {
    const c = new PortalClient(p.url);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await c.post(i % 2 === 0 ? '/devices/remove' : `/no-such-page-${i}`, { a: 'b' })).status);
    expect(new Set(statuses)).toEqual(new Set([403]));
    expect(await entries('portal.csrf.rejected')).toHaveLength(1);
    expect(p.log.lines.filter((l) => l.msg?.includes('CSRF'))).toHaveLength(1);
  });

  test('login attempts refused by the rate limit: one audit entry per address and window', async () => {
    const c = new PortalClient(p.url);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await c.login(`nobody-${i}`, 'wrong')).status);
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(new Set(statuses.slice(2))).toEqual(new Set([429]));
    const failed = await entries('portal.login.failed');
    expect(failed.map((e) => e.detail?.reason)).toEqual(['rate-limited', 'unknown-user', 'unknown-user']);
  });
});

describe('what is not written is counted into the next entry', () => {
  test('the next window\'s entry says how many were not written', async () => {
    const p = await startPortal({ reportBudget: { windowMs: 300, perWindow: 100, maxKeys: 100 } });
    try {
      const c = new PortalClient(p.url);
      for (let i = 0; i < 5; i++) await c.post('/logout', {});
      await new Promise((r) => setTimeout(r, 350));
      await c.post('/logout', {});
      const rows = (await p.stores.audit.recent(100)).filter((e) => e.event === 'portal.csrf.rejected');
      expect(rows.map((e) => e.detail?.suppressed)).toEqual([4, undefined]);
      expect(p.log.lines.filter((l) => l.msg?.includes('CSRF')).map((l) => (l.obj as { suppressed?: number }).suppressed)).toEqual([undefined, 4]);
    } finally {
      await p.close();
    }
  });
});

describe('a login next path outside Latin-1', () => {
  let p: Portal;
  beforeAll(async () => {
    p = await startPortal();
  });
  afterAll(() => p.close());

  test('POST /login with next=/日本 signs in: 303 to the percent-encoded path, with the session cookie', async () => {
    const c = new PortalClient(p.url);
    const page = await c.get('/login');
    const r = await c.post('/login', { csrf: PortalClient.csrfOf(page), user: 'alice', password: 'alice-portal-pw-1', next: '/日本?q=é' });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/%E6%97%A5%E6%9C%AC?q=%C3%A9');
    expect(c.cookies.has('gangway_session')).toBe(true);
    expectSecurityHeaders(r.headers);
    // Signed in: GET /login with such a next sends them on too.
    const again = await c.get(`/login?next=${encodeURIComponent('/日本')}`);
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/%E6%97%A5%E6%9C%AC');
  });
});

describe("the framework's own error answers", () => {
  let p: Portal;
  beforeAll(async () => {
    p = await startPortal();
  });
  afterAll(() => p.close());

  test('an overlong path parameter: the security headers and a plain page without internals', async () => {
    const r = await new PortalClient(p.url).get(`/static/${'a'.repeat(300)}`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expectSecurityHeaders(r.headers);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).not.toMatch(/FST_|ERR_|aaaa|\{/);
  });

  test('a malformed path: the same', async () => {
    const r = await new PortalClient(p.url).get('/static/%E0%A4%A');
    expect(r.status).toBe(400);
    expectSecurityHeaders(r.headers);
    expect(r.body).not.toMatch(/FST_|ERR_|%E0|\{/);
  });

  test('a request Node cannot parse: the same, from the raw socket', async () => {
    const socket = await tlsSocket(p.port);
    const r = await slowRequest(socket, 'GET /login HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 60_000, 5_000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(r.answer).toMatch(/\r\ncontent-security-policy: /i);
    expect(r.answer).toMatch(/\r\ncache-control: no-store/i);
    expect(r.answer).not.toMatch(/FST_|ERR_|\{/);
  });
});

describe('the lockout does not tell which names exist', () => {
  let p: Portal;
  beforeAll(async () => {
    p = await startPortal({ loginRate: { limit: 1000, windowMs: 60_000 } });
  });
  afterAll(() => p.close());

  async function statuses(user: string, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await new PortalClient(p.url).login(user, 'wrong-password')).status);
    return out;
  }

  test('an unknown name locks after as many failures as an account, and answers as slowly', async () => {
    const known = await statuses('alice', 5);
    const unknown = await statuses('no-such-person', 5);
    expect(known).toEqual([401, 401, 423, 423, 423]);
    expect(unknown).toEqual(known);
    // A locked name costs the scrypt work of a password check too: not 3 ms against 170.
    const time = async (user: string) => {
      const c = new PortalClient(p.url);
      const page = await c.get('/login');
      const t0 = process.hrtime.bigint();
      expect((await c.post('/login', { csrf: PortalClient.csrfOf(page), user, password: 'x' })).status).toBe(423);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const unlockedWrong = async () => {
      const c = new PortalClient(p.url);
      const page = await c.get('/login');
      const t0 = process.hrtime.bigint();
      expect((await c.post('/login', { csrf: PortalClient.csrfOf(page), user: `fresh-${Math.random()}`, password: 'x' })).status).toBe(401);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const locked: number[] = [];
    const lockedUnknown: number[] = [];
    const checked: number[] = [];
    for (let i = 0; i < 5; i++) {
      locked.push(await time('alice'));
      lockedUnknown.push(await time('no-such-person'));
      checked.push(await unlockedWrong());
    }
    expect(median(locked)).toBeGreaterThan(median(checked) / 3);
    expect(median(lockedUnknown)).toBeGreaterThan(median(checked) / 3);
  }, 60_000);

  test('the names counted are bounded: past the limit the one tried least recently starts afresh', async () => {
    const policy = { maxFailedLogins: 3, lockoutMs: 60_000, sessionMs: 60_000 };
    const s = p.stores;
    const auth = new PortalAuth({ users: s.users, accounts: s.portalAccounts, sessions: s.portalSessions, audit: s.audit, policy, maxUnknownNames: 2 });
    const reason = async (name: string) => {
      const r = await auth.login(name, 'x', '192.0.2.9');
      return r.ok ? 'ok' : r.reason;
    };
    expect([await reason('n1'), await reason('n1'), await reason('n2'), await reason('n3')]).toEqual(['bad-credentials', 'bad-credentials', 'bad-credentials', 'bad-credentials']);
    // n1 was forgotten when n3 came: its third failure is its first again.
    expect(await reason('n1')).toBe('bad-credentials');
    expect((auth as unknown as { unknownNames: { names: Map<string, unknown> } }).unknownNames.names.size).toBe(2);
    expect([await reason('n1'), await reason('n1')]).toEqual(['bad-credentials', 'locked']);
    // A name of any length is kept clipped.
    await reason('x'.repeat(5000));
    expect([...(auth as unknown as { unknownNames: { names: Map<string, unknown> } }).unknownNames.names.keys()].every((k) => k.length <= 253)).toBe(true);
  }, 30_000);
});
