/**
 * Password lockout through the whole server over UDP RADIUS (issue 8.3): EAP-MSCHAPv2 and TEAP
 * Basic-Password-Auth share one lockout; a locked account or NAS is answered exactly as a wrong
 * password is, the lockout is audited, and it ends after its time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { TeapPeer } from '../../src/peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../src/peer/teap/radius-runner.js';
import { RadiusCode } from '../../src/radius/index.js';
import type { TeapTlv } from '../../src/teap-brski/teap/tlv-codec.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { UdpNas } from '../helpers/udp-nas.js';
import { mschapv2 } from '../helpers/mschapv2-over-radius.js';
import { parseExposition, value } from '../helpers/prometheus-text.js';
import { userWithPassword } from '../teap-brski/helpers.js';

describe('password lockout over RADIUS', () => {
  let g: TestGangway;
  let nasA: UdpNas;
  let nasB: UdpNas;
  let station = 0;
  const mac = () => `02-00-00-00-10-${(station++ & 0xff).toString(16).padStart(2, '0')}`;
  const audits = async () => (await g.running.stores.audit.recent(100)).filter((e) => e.event === 'password.lockout');
  /** gangway_password_lockouts_total by scope, scraped from GET /metrics. */
  const lockouts = async (): Promise<{ account: number; nas: number }> => {
    const { host, port } = g.running.health!;
    const text = await (await fetch(`http://${host}:${port}/metrics`)).text();
    for (const name of ['alice', 'bob', 'sprayed-', '127.0.0.2']) expect([name, text.includes(name)]).toEqual([name, false]);
    const e = parseExposition(text);
    return { account: value(e, 'gangway_password_lockouts_total', { scope: 'account' }), nas: value(e, 'gangway_password_lockouts_total', { scope: 'nas' }) };
  };

  beforeAll(async () => {
    g = await startTestGangway({
      configure: (doc) => {
        doc.health = { listen: '127.0.0.1:0' };
        doc.eap = { defaultMethods: ['eap-mschapv2'], rules: [{ realm: 'teap.example', methods: ['teap'] }] };
        doc.tls = { ...(doc.tls as object), maxVersion: 'TLSv1.2' };
        doc.methods = { teap: { policy: { sequence: [{ methods: ['basic-password'] }] } } };
        doc.passwordLockout = {
          account: { maxFailures: 3, windowSeconds: 60, lockoutSeconds: 2 },
          nas: { maxFailures: 12, windowSeconds: 60, lockoutSeconds: 2 },
        };
      },
    });
    const users = g.running.stores.users;
    for (const name of ['alice', 'bob', 'mallory', 'dave']) await userWithPassword(users, name, `${name}-password`);
    nasA = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    nasB = await UdpNas.bind('127.0.0.2', g.secret, g.port);
  });

  afterAll(async () => {
    nasA.close();
    nasB.close();
    await g.close();
  });

  test('EAP-MSCHAPv2: three wrong passwords lock the account; the right one is then refused exactly like a wrong one', async () => {
    const before = await lockouts();
    const wrong = await mschapv2(nasA, 'alice', 'guess-1', mac());
    expect(wrong).toEqual({ code: RadiusCode.AccessReject, answer: 'E=691 R=0 C=… V=3 M=FAILED' });
    await mschapv2(nasA, 'alice', 'guess-2', mac());
    await mschapv2(nasA, 'alice', 'guess-3', mac());
    const locked = await mschapv2(nasA, 'alice', 'alice-password', mac());
    expect(locked).toEqual(wrong);
    expect(g.log.lines.some((l) => /account "alice" is locked out until/.test(String((l.obj as { reason?: string }).reason)))).toBe(true);
    const audit = (await audits()).find((e) => e.subject === 'alice');
    expect(audit?.detail).toMatchObject({ scope: 'account', failures: 3, nas: 'localhost/127.0.0.1' });
    expect(await lockouts()).toEqual({ account: before.account + 1, nas: before.nas });
    // Another account through the same NAS is not affected.
    expect(await mschapv2(nasA, 'mallory', 'mallory-password', mac())).toEqual({ code: RadiusCode.AccessAccept, answer: 'success' });
    // The lockout ends after its time.
    await new Promise((r) => setTimeout(r, 2100));
    expect(await mschapv2(nasA, 'alice', 'alice-password', mac())).toEqual({ code: RadiusCode.AccessAccept, answer: 'success' });
  }, 30_000);

  test('TEAP Basic-Password-Auth shares the lockout, and a locked account gets the wrong password\'s TLVs', async () => {
    const teap = async (password: string): Promise<{ outcome: string; last: TeapTlv[] }> => {
      const seen: TeapTlv[][] = [];
      const peer = new TeapPeer({
        outerIdentity: 'anonymous@teap.example',
        tls: { ca: readFileSync(join(g.init.dataDir, 'pki', 'ca.pem')), servername: 'radius.test.example', maxVersion: 'TLSv1.2' },
        user: { identity: 'bob', password },
        phase2Interceptor: { incoming: (t) => { seen.push(t); return t; } },
      });
      const r = await runTeapOverRadius(peer, { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'anonymous@teap.example', callingStationId: mac() });
      return { outcome: r.outcome, last: seen[seen.length - 1] ?? [] };
    };
    const before = await lockouts();
    // Two guesses through bare MSCHAPv2, one through TEAP: bob is locked for both.
    await mschapv2(nasA, 'bob', 'guess-1', mac());
    await mschapv2(nasA, 'bob', 'guess-2', mac());
    const wrong = await teap('guess-3');
    expect(wrong.outcome).toBe('reject');
    const locked = await teap('bob-password');
    expect(locked.outcome).toBe('reject');
    expect(locked.last).toEqual(wrong.last);
    expect((await audits()).find((e) => e.subject === 'bob')?.detail).toMatchObject({ scope: 'account', failures: 3 });
    expect(await lockouts()).toEqual({ account: before.account + 1, nas: before.nas });
    await new Promise((r) => setTimeout(r, 2100));
    expect((await teap('bob-password')).outcome).toBe('accept');
  }, 60_000);

  test('a spray of names from one NAS locks that NAS for password methods; another NAS is unaffected', async () => {
    const before = await lockouts();
    for (let i = 0; i < 12; i++) {
      expect((await mschapv2(nasB, `sprayed-${i}`, 'Winter2024!', mac())).code).toBe(RadiusCode.AccessReject);
    }
    const refused = await mschapv2(nasB, 'dave', 'dave-password', mac());
    expect(refused).toEqual({ code: RadiusCode.AccessReject, answer: 'E=691 R=0 C=… V=3 M=FAILED' });
    expect(await mschapv2(nasA, 'dave', 'dave-password', mac())).toEqual({ code: RadiusCode.AccessAccept, answer: 'success' });
    expect((await audits()).find((e) => e.detail?.scope === 'nas')).toMatchObject({ subject: 'localhost/127.0.0.2', detail: { failures: 12 } });
    expect(g.log.lines.some((l) => l.msg === 'password lockout: NAS locked')).toBe(true);
    expect(await lockouts()).toEqual({ account: before.account, nas: before.nas + 1 });
  }, 30_000);
});

describe('password lockout across a reload', () => {
  test('a SIGHUP reload with the same lockout policy keeps the counters; a new policy starts afresh', async () => {
    const g = await startTestGangway({
      configure: (doc) => {
        doc.eap = { defaultMethods: ['eap-mschapv2'] };
        doc.passwordLockout = { account: { maxFailures: 2, windowSeconds: 600, lockoutSeconds: 600 } };
      },
    });
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    try {
      await userWithPassword(g.running.stores.users, 'erin', 'erin-password');
      let station = 0;
      const mac = () => `02-00-00-00-20-${(station++ & 0xff).toString(16).padStart(2, '0')}`;
      await mschapv2(nas, 'erin', 'guess-1', mac());
      await mschapv2(nas, 'erin', 'guess-2', mac());
      expect((await mschapv2(nas, 'erin', 'erin-password', mac())).code).toBe(RadiusCode.AccessReject);
      // Reloading rebuilds every method (a CRL change does the same): a guesser gains nothing from it.
      await g.running.reload(loadConfig(g.init.dataDir));
      expect((await mschapv2(nas, 'erin', 'erin-password', mac())).code).toBe(RadiusCode.AccessReject);
      const doc = parse(readFileSync(g.init.config, 'utf8')) as Record<string, unknown>;
      doc.passwordLockout = { account: { maxFailures: 3, windowSeconds: 600, lockoutSeconds: 600 } };
      writeFileSync(g.init.config, stringify(doc));
      await g.running.reload(loadConfig(g.init.dataDir));
      expect(await mschapv2(nas, 'erin', 'erin-password', mac())).toEqual({ code: RadiusCode.AccessAccept, answer: 'success' });
    } finally {
      nas.close();
      await g.close();
    }
  }, 60_000);
});
