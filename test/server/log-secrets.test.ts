/**
 * No secret in any log line (issue 8.6): a representative run of the whole server at trace level,
 * through pino exactly as `gangway serve` logs — EAP-TLS, TEAP with Basic-Password-Auth and inner
 * EAP-MSCHAPv2, bare EAP-MSCHAPv2 with wrong passwords and a lockout, an EAP-NOOB registration
 * (Initial, OOB delivery, Completion, Reconnect), and hostile input (a 4,002-octet Nak, an
 * over-long identity) — and every line scanned for the secrets the run used or derived: the RADIUS
 * secret, passwords, private keys, MSKs and EMSKs, EAP-NOOB Noob, Z and Kz.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { initDataDir } from '../../src/cli/init.js';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/config.js';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { MschapV2Peer } from '../../src/eap-methods/mschapv2/peer.js';
import { deliverOobFromUrl } from '../../src/noob/oob.js';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import { runTeapOverRadius } from '../../src/peer/teap/radius-runner.js';
import { TeapPeer } from '../../src/peer/teap/teap-peer.js';
import { AttributeType, RadiusClient, RadiusCode, getAttribute, joinEapMessage, splitEapMessage, stringAttribute } from '../../src/radius/index.js';
import { startGangway, type RunningGangway } from '../../src/server.js';
import { hashPassword } from '../../src/store/users.js';
import { ntPasswordHash } from '../../src/eap-methods/mschapv2/ms-chap-v2.js';
import { createLog } from '../../src/util/log.js';
import { NoobDevice } from '../helpers/noob-device.js';

const SECRET = 'log-scan-secret-8c1d2e';
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
const PASSWORDS = { alice: 'alice-Password-4f1a', machine: 'machine-Password-77b2', mallory: 'mallory-Password-0c9e', wrong: 'wrong-Guess-5d3a' };

/** The forms a byte secret could take in a log line: hex, base64 and base64url, whole and in 16-octet slices. */
function forms(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  const out = [b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
  for (let i = 0; i + 16 <= b.length; i += 16) {
    const part = b.subarray(i, i + 16);
    out.push(part.toString('hex'), part.toString('hex').toUpperCase(), part.toString('base64').slice(0, 20), part.toString('base64url').slice(0, 20));
  }
  return out;
}

describe('log scan of a representative run', () => {
  let dir: string;
  let running: RunningGangway;
  let port: number;
  const captured: string[] = [];
  const secrets = new Map<string, string>(); // form -> what it is
  const add = (what: string, values: string[]) => { for (const v of values) if (v.length >= 8) secrets.set(v, what); };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-logscan-'));
    const init = await initDataDir(dir, { radiusPort: 0, secret: SECRET, serverName: 'radius.test.example', portalPort: 0 });
    const doc = loadConfigDoc(init.config);
    doc.eap = { defaultMethods: ['eap-tls'], rules: [{ realm: 'teap.example', methods: ['teap'] }, { identity: '^(alice|mallory)$', methods: ['eap-mschapv2'] }] };
    doc.tls = { ...(doc.tls as object), maxVersion: 'TLSv1.3' };
    doc.methods = {
      ...(doc.methods as object),
      teap: { policy: { sequence: [{ identityType: 'user', methods: ['basic-password'] }, { identityType: 'machine', methods: ['eap-mschapv2'] }] } },
    };
    doc.passwordLockout = { account: { maxFailures: 2 } };
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { captured.push(chunk.toString()); cb(); } });
    // The same logger `gangway serve` builds, at its most talkative level.
    running = await startGangway(parseConfig(doc, dir), createLog('trace', sink));
    port = running.addresses[0]!.port;
    const users = running.stores.users;
    for (const [name, password] of [['alice', PASSWORDS.alice], ['host/machine1', PASSWORDS.machine], ['mallory', PASSWORDS.mallory]] as const) {
      await users.add({ name, passwordHash: await hashPassword(password, { N: 1024, r: 8, p: 1 }), ntHash: ntPasswordHash(password) });
    }
    add('RADIUS secret', [SECRET]);
    for (const [who, p] of Object.entries(PASSWORDS)) add(`password of ${who}`, [p]);
    for (const f of [init.files.serverKey, init.files.clientKey, init.files.caKey]) {
      const pem = readFileSync(f, 'utf8');
      const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
      add(`private key ${f}`, body.filter((l) => l.length >= 32));
      add(`private key ${f} (DER)`, forms(createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' })).filter((s) => s.length >= 32));
    }
  }, 60_000);

  afterAll(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function loadConfigDoc(path: string): Record<string, unknown> {
    return parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  }

  test('the run succeeds where it should', async () => {
    const ca = readFileSync(join(dir, 'pki', 'ca.pem'));
    // EAP-TLS, TLS 1.2 and 1.3.
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const peer = new EapTlsEapPeer({ identity: 'demo-client', tls: { cert: readFileSync(join(dir, 'pki', 'client.pem')), key: readFileSync(join(dir, 'pki', 'client.key')), ca, servername: 'radius.test.example', maxVersion } });
      const r = await runEapOverRadius(peer, { host: '127.0.0.1', port, secret: SECRET, userName: 'demo-client', callingStationId: '02-00-00-00-20-01' });
      expect(r.outcome).toBe('accept');
      if (r.peer?.kind === 'success') add(`EAP-TLS ${maxVersion} MSK/EMSK`, [...forms(r.peer.msk), ...forms(r.peer.emsk)]);
    }
    // TEAP: Basic-Password-Auth for the user, inner EAP-MSCHAPv2 for the machine.
    const teap = new TeapPeer({
      outerIdentity: 'anonymous@teap.example',
      tls: { ca, servername: 'radius.test.example', maxVersion: 'TLSv1.2' },
      user: { identity: 'alice', password: PASSWORDS.alice },
      machine: { identity: 'host/machine1', password: PASSWORDS.machine },
    });
    const t = await runTeapOverRadius(teap, { host: '127.0.0.1', port, secret: SECRET, userName: 'anonymous@teap.example', callingStationId: '02-00-00-00-20-02' });
    expect(t.outcome).toBe('accept');
    if (t.peer?.kind === 'success') add('TEAP MSK/EMSK', [...forms(t.peer.msk), ...forms(t.peer.emsk)]);
    // Bare EAP-MSCHAPv2: a success, then wrong passwords until the lockout.
    const m = await mschapv2('mallory', PASSWORDS.mallory);
    expect(m.code).toBe(RadiusCode.AccessAccept);
    add('EAP-MSCHAPv2 MSK', forms(m.msk!));
    for (let i = 0; i < 3; i++) expect((await mschapv2('alice', PASSWORDS.wrong)).code).toBe(RadiusCode.AccessReject);
    expect((await running.stores.audit.recent(50)).some((e) => e.event === 'password.lockout')).toBe(true);
    // EAP-NOOB: Initial, the OOB step as `gangway noob-oob` does it (with a logger of the same kind), Completion, Reconnect.
    const device = new NoobDevice({ name: 'scan-device', host: '127.0.0.1', port, secret: SECRET, callingStationId: '02-00-00-00-20-03' });
    expect((await device.connect()).state.state).toBe(1);
    const oob = (await device.shownOob())!;
    const oobLog = createLog('trace', new Writable({ write(chunk: Buffer, _enc, cb) { captured.push(chunk.toString()); cb(); } }));
    const delivered = await deliverOobFromUrl(running.stores.noobPeers, oob.url, 'alice', { log: oobLog, audit: running.stores.audit });
    expect(delivered.ok).toBe(true);
    add('EAP-NOOB Noob', [oob.noob, ...forms(b64(oob.noob))]);
    const z = (await device.state()).ephemeral!.z;
    add('EAP-NOOB Z', [z, ...forms(b64(z))]);
    const completion = await device.connect();
    expect(completion.result).toBe('success');
    const kz = (await device.state()).association!.kz;
    add('EAP-NOOB Kz', [kz, ...forms(b64(kz))]);
    if (completion.keys) add('EAP-NOOB MSK/EMSK', [...forms(completion.keys.msk), ...forms(completion.keys.emsk)]);
    const reconnect = await device.connect();
    expect(reconnect.result).toBe('success');
    if (reconnect.keys) add('EAP-NOOB Reconnect MSK/EMSK', [...forms(reconnect.keys.msk), ...forms(reconnect.keys.emsk)]);
    // Hostile input: a 4,002-octet Nak after the Identity, and a 3,000-character identity.
    const client = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 2000, maxRetransmissions: 0 });
    try {
      const first = await client.send({ attributes: [stringAttribute(AttributeType.UserName, 'x'), ...splitEapMessage(encodeEap({ code: 2, identifier: 1, type: 1, data: Buffer.from('x@teap.example') }))] });
      const req = decodeEap(joinEapMessage(first.packet)!);
      const nak = encodeEap({ code: 2, identifier: req.identifier, type: EapType.Nak, data: new Uint8Array(3997).map((_, i) => 100 + (i % 100)) });
      expect(nak.length).toBe(4002);
      const second = await client.send({ attributes: [...splitEapMessage(nak), { type: AttributeType.State, value: getAttribute(first.packet, AttributeType.State)! }] });
      expect(second.packet.code).toBe(RadiusCode.AccessReject);
      const long = await client.send({ attributes: [...splitEapMessage(encodeEap({ code: 2, identifier: 1, type: 1, data: Buffer.from(`${'A'.repeat(3000)}@nowhere.example`) }))] });
      expect(long.packet.code).not.toBe(RadiusCode.AccessAccept);
    } finally {
      await client.close();
    }
    expect(secrets.size).toBeGreaterThan(100);
  }, 120_000);

  test('no line holds any of them, and no line is unbounded', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const text = captured.join('');
    const lines = text.split('\n').filter((l) => l.length > 0);
    if (process.env.SHOW_LOG) process.stdout.write(text);
    expect(lines.length).toBeGreaterThan(25);
    const found = [...secrets.entries()].filter(([form]) => text.includes(form)).map(([form, what]) => `${what}: ${form}`);
    expect(found).toEqual([]);
    // The hostile lines are there, clipped.
    const nakLine = lines.find((l) => l.includes('Nak') && l.includes('more]'));
    expect(nakLine).toBeDefined();
    expect(nakLine!.length).toBeLessThan(1200);
    const longest = Math.max(...lines.filter((l) => !l.includes('"stack"')).map((l) => l.length));
    expect(longest).toBeLessThan(2048);
    process.stdout.write(`log-scan figures: ${JSON.stringify({ lines: lines.length, octets: text.length, secretForms: secrets.size, found: found.length, longestLine: longest, nakLine: nakLine!.length })}\n`);
  });

  async function mschapv2(user: string, password: string): Promise<{ code: number; msk?: Uint8Array }> {
    const client = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET });
    try {
      const attrs = (eap: Uint8Array, state?: Uint8Array) => [stringAttribute(AttributeType.UserName, user), stringAttribute(AttributeType.CallingStationId, '02-00-00-00-20-04'), ...splitEapMessage(eap), ...(state ? [{ type: AttributeType.State, value: state }] : [])];
      let r = await client.send({ attributes: attrs(encodeEap({ code: 2, identifier: 0, type: 1, data: Buffer.from(user) })) });
      const peer = new MschapV2Peer({ username: user, password });
      let msk: Uint8Array | undefined;
      while (r.packet.code === RadiusCode.AccessChallenge) {
        const req = decodeEap(joinEapMessage(r.packet)!);
        if (req.code !== 1) break;
        const step = peer.process(req.data);
        if (step.kind === 'success') msk = step.msk;
        r = await client.send({ attributes: attrs(encodeEap({ code: 2, identifier: req.identifier, type: EapType.MsChapV2, data: step.response }), getAttribute(r.packet, AttributeType.State)) });
      }
      return { code: r.packet.code, ...(msk ? { msk } : {}) };
    } finally {
      await client.close();
    }
  }
});
