import { X509Certificate } from 'node:crypto';
import { createEapTlsMethod } from '../../../src/eap-methods/eap-tls/method.js';
import { issueCrl } from '../../../src/pki/crl.js';
import type { EapMethodSession, MethodContext, Step } from '../../../src/eap-methods/method.js';
import { EapTlsPeer } from '../../../src/peer/eap-tls/eap-tls-peer.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { roguePki, testPki } from '../../helpers/pki.js';
import { issueOddClientCert, type OddNames } from '../../helpers/odd-certs.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';

function context(maxEapPacket = 1020): MethodContext {
  return { identity: 'alice', conversationId: 't', maxEapPacket, nas: { clientName: 'test' }, log: new MemoryLog() };
}

/** Drives server and peer until the server ends; returns the final step and the rounds used. */
async function converse(session: EapMethodSession, peer: EapTlsPeer): Promise<{ step: Step; rounds: number }> {
  let step = await session.start();
  let rounds = 0;
  while (step.kind === 'request') {
    rounds++;
    if (rounds > 60) throw new Error('no end in sight');
    let response: Uint8Array;
    try {
      response = await peer.respond(step.data);
    } catch (err) {
      if (process.env.DEBUG_EAP) console.log('peer error', err);
      response = new Uint8Array([0]);
    }
    step = await session.step(response);
  }
  if (process.env.DEBUG_EAP) console.log(step);
  return { step, rounds };
}

describe.each(serverTlsEngines())('EAP-TLS server method (in memory, our EAP-TLS peer), %s TLS engine', (engine) => {
  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: success with equal keys on both sides', async (version) => {
    const pki = await testPki();
    const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: version, maxVersion: version });
    const session = method.createSession(context());
    const peer = new EapTlsPeer({ cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' });
    const { step } = await converse(session, peer);
    expect(peer.protocol).toBe(version);
    expect(step.kind).toBe('success');
    if (step.kind !== 'success') return;
    expect(step.grant).toMatchObject({ identity: 'alice', method: 'eap-tls' });
    expect(step.msk).toHaveLength(64);
    expect(Buffer.from(step.msk).equals(Buffer.from(peer.keys!.msk))).toBe(true);
    expect(Buffer.from(step.emsk!).equals(Buffer.from(peer.keys!.emsk))).toBe(true);
    expect(Buffer.from(step.sessionId!).equals(Buffer.from(peer.keys!.sessionId))).toBe(true);
    expect(step.sessionId![0]).toBe(13);
    session.dispose();
    peer.dispose();
  });

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: the Request after the verified handshake says "established", none before it', async (version) => {
    const pki = await testPki();
    const method = createEapTlsMethod({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: version, maxVersion: version });
    const session = method.createSession(context());
    const peer = new EapTlsPeer({ cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' });
    const marks: boolean[] = [];
    let step = await session.start();
    while (step.kind === 'request') {
      marks.push(step.established === true);
      step = await session.step(await peer.respond(step.data));
    }
    expect(step.kind).toBe('success');
    // Start, the server's handshake flight(s), then the final flight that follows the client's Finished.
    expect(marks.indexOf(true)).toBe(marks.length - 1);
    expect(marks.filter(Boolean)).toHaveLength(1);
    session.dispose();
    peer.dispose();
  });

  test('a session whose peer never answers Start holds no TLS state, and disposing it is safe', async () => {
    const pki = await testPki();
    const method = createEapTlsMethod({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem });
    const session = method.createSession(context());
    expect((session as unknown as { tunnelInstance?: unknown }).tunnelInstance).toBeUndefined();
    await session.start();
    expect((session as unknown as { tunnelInstance?: unknown }).tunnelInstance).toBeUndefined();
    session.dispose();
  });

  test('a small EAP packet size forces fragmentation both ways and still succeeds', async () => {
    const pki = await testPki();
    const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2' });
    const session = method.createSession(context(100));
    const peer = new EapTlsPeer({ cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' }, 90);
    const { step, rounds } = await converse(session, peer);
    expect(step.kind).toBe('success');
    expect(rounds).toBeGreaterThan(10);
    session.dispose();
    peer.dispose();
  });

  test('a client certificate from another CA is refused', async () => {
    const pki = await testPki();
    const rogue = await roguePki();
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: version, maxVersion: version });
      const session = method.createSession(context());
      const peer = new EapTlsPeer({ cert: rogue.client.certPem, key: rogue.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' });
      const { step } = await converse(session, peer);
      expect(step).toMatchObject({ kind: 'failure' });
      session.dispose();
      peer.dispose();
    }
  });

  test('a revoked client certificate is refused when a CRL is configured; an unrevoked one passes', async () => {
    const pki = await testPki();
    const serial = new X509Certificate(pki.client.certPem).serialNumber.toLowerCase();
    for (const [revoked, expected] of [[[serial], 'failure'], [['01'], 'success']] as const) {
      const crl = await issueCrl(pki.ca.certPem, pki.ca.keyPem, [...revoked]);
      const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, crl });
      const session = method.createSession(context());
      const peer = new EapTlsPeer({ cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' });
      const { step } = await converse(session, peer);
      expect(step.kind).toBe(expected);
      session.dispose();
      peer.dispose();
    }
  });

  test('no client certificate is refused', async () => {
    const pki = await testPki();
    const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem });
    const session = method.createSession(context());
    const peer = new EapTlsPeer({ ca: pki.ca.certPem, servername: 'radius.test.example' });
    const { step } = await converse(session, peer);
    expect(step).toMatchObject({ kind: 'failure' });
    session.dispose();
    peer.dispose();
  });

  test('TLS garbage ends in failure with a reason, not a throw', async () => {
    const pki = await testPki();
    const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem });
    const session = method.createSession(context());
    await session.start();
    let step = await session.step(Uint8Array.from([0x00, 0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    if (step.kind === 'request') step = await session.step(new Uint8Array([0]));
    expect(step.kind).toBe('failure');
    session.dispose();
  });

  test('a TLS Message Length over the cap is refused before allocation', async () => {
    const pki = await testPki();
    const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxTlsMessage: 16384 });
    const session = method.createSession(context());
    await session.start();
    const step = await session.step(Uint8Array.from([0xc0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(step).toMatchObject({ kind: 'failure', reason: expect.stringContaining('fragment-overflow') as string });
    session.dispose();
  });

  describe('the granted identity comes from the certificate\'s names only', () => {
    const run = async (names: OddNames, version: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3'): Promise<{ step: Step; log: MemoryLog }> => {
      const pki = await testPki();
      const client = await issueOddClientCert(pki.ca.certPem, pki.ca.keyPem, names);
      const method = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: version, maxVersion: version });
      const log = new MemoryLog();
      // The peer's EAP-Response/Identity claims someone else: it must never become the identity.
      const session = method.createSession({ ...context(), identity: 'ceo@corp.example', log });
      const peer = new EapTlsPeer({ cert: client.certPem, key: client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' });
      try {
        return { step: (await converse(session, peer)).step, log };
      } finally {
        session.dispose();
        peer.dispose();
      }
    };

    test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: an empty subject with a SAN (RFC 5280 §4.1.2.6) authenticates as the SAN name', async (version) => {
      const { step } = await run({ subject: '', san: [{ type: 'ip', value: '192.0.2.7' }, { type: 'dns', value: 'sensor-7.devices.example' }] }, version);
      expect(step).toMatchObject({ kind: 'success', grant: { identity: 'sensor-7.devices.example', method: 'eap-tls' } });
      expect((step as { grant: { deviceId: string } }).grant.deviceId).toMatch(/^serial:[0-9A-F]+$/);
    });

    test('an empty CN with a SAN e-mail authenticates as the e-mail address', async () => {
      const { step } = await run({ subject: 'CN=', san: [{ type: 'email', value: 'dev@corp.example' }] });
      expect(step).toMatchObject({ kind: 'success', grant: { identity: 'dev@corp.example' } });
    });

    test('an empty CN with another subject attribute authenticates as that subject', async () => {
      const { step } = await run({ subject: 'CN=, O=Corp' });
      expect(step).toMatchObject({ kind: 'success', grant: { identity: 'O=Corp' } });
    });

    test.each([
      ['an empty CN and nothing else', { subject: 'CN=' }, /a subject with no usable value \(CN\) and no subjectAltName/],
      ['an empty subject and a SAN with only an IP address', { subject: '', san: [{ type: 'ip', value: '192.0.2.7' }] }, /an empty subject and no usable e-mail, UPN, DNS or URI subjectAltName \(IP Address\)/],
      ['no names at all', { subject: '' }, /an empty subject and no subjectAltName/],
    ] as [string, OddNames, RegExp][])('%s: refused with the reason, logged', async (_, names, reason) => {
      const { step, log } = await run(names);
      expect(step).toMatchObject({ kind: 'failure', reason: expect.stringMatching(reason) as string });
      expect((step as { reason: string }).reason).toMatch(/^client certificate has no usable name: /);
      const line = log.lines.find((l) => l.msg === 'EAP-TLS: client certificate refused');
      expect(line?.level).toBe('warn');
      expect(line?.obj).toMatchObject({ reason: expect.stringMatching(reason) as string });
    });
  });
});
