import { createTeapMethod, type TeapMethodDeps } from '../../../src/teap-brski/teap/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { createEapTlsMethod } from '../../../src/eap-methods/eap-tls/method.js';
import { TeapPeer, type TeapPeerConfig } from '../../../src/peer/teap/teap-peer.js';
import { testPki, roguePki } from '../../helpers/pki.js';
import { issueOddClientCert } from '../../helpers/odd-certs.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, converse, hex, methodContext, userWithPassword } from '../helpers.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import type { TlsEngineName } from '../../../src/eap-methods/tls-tunnel.js';
import { ALICE_PASSWORD, MACHINE_PASSWORD, WRONG_PASSWORD } from '../../helpers/test-secrets.js';

/** The server's TLS engine, set per engine by the describe.each blocks below. */
let engine: TlsEngineName = 'node';

async function setup(overrides: Partial<TeapMethodDeps> = {}, tlsVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2') {
  const pki = await testPki();
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  await userWithPassword(users, 'host/machine1', MACHINE_PASSWORD);
  const mschap = createMschapV2Method({ users, serverName: 'gangway-test' });
  const eapTls = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2' });
  const method = createTeapMethod({
    tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: tlsVersion, maxVersion: tlsVersion },
    users,
    innerMethods: [mschap, eapTls],
    ...overrides,
  });
  return { pki, users, method };
}

async function peerFor(cfg: Partial<TeapPeerConfig> = {}, tlsVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2'): Promise<TeapPeer> {
  const pki = await testPki();
  return new TeapPeer({
    outerIdentity: 'anonymous@example.com',
    user: { identity: 'alice', password: ALICE_PASSWORD },
    ...cfg,
    tls: { ca: pki.ca.certPem, servername: 'radius.test.example', minVersion: tlsVersion, maxVersion: tlsVersion, ...cfg.tls },
  });
}

function expectSuccess(c: Awaited<ReturnType<typeof converse>>): { msk: Uint8Array; emsk: Uint8Array } {
  if (c.server.kind !== 'success') throw new Error(`server did not succeed: ${JSON.stringify(c.server)}`);
  if (c.peer.kind !== 'success') throw new Error(`peer did not succeed: ${JSON.stringify(c.peer)}`);
  expect(c.server.msk).toHaveLength(64);
  expect(hex(c.server.msk)).toBe(hex(c.peer.msk));
  expect(hex(c.server.emsk!)).toBe(hex(c.peer.emsk));
  expect(hex(c.server.sessionId!)).toBe(hex(c.peer.sessionId));
  return { msk: c.peer.msk, emsk: c.peer.emsk };
}

describe.each(serverTlsEngines())('TEAP server method against our TEAP peer (in memory), %s TLS engine', (e: TlsEngineName) => {
  beforeAll(() => {
    engine = e;
  });
  test.each(['TLSv1.2', 'TLSv1.3'] as const)('inner EAP-MSCHAPv2 over %s: matching MSKs and Session-Id', async (v) => {
    const { method } = await setup({}, v);
    const peer = await peerFor({}, v);
    const c = await converse(method, peer);
    expectSuccess(c);
    expect(peer.tlsProtocol).toBe(v);
    expect(peer.detectedMschapV2Order).toBe('hostapd-2.10');
    if (c.server.kind === 'success') {
      expect(c.server.grant).toMatchObject({ identity: 'alice', method: 'teap' });
      expect(c.server.sessionId![0]).toBe(0x37);
      // TLS 1.2: 0x37 ‖ 12-octet Finished; TLS 1.3 (hostapd profile): 0x37 ‖ Finished of the suite hash.
      expect([v === 'TLSv1.2' ? 13 : 33, v === 'TLSv1.2' ? 13 : 49]).toContain(c.server.sessionId!.length);
    }
  });

  test('TLS 1.3 with the RFC 9427 key schedule on both sides', async () => {
    const { method } = await setup({ compat: { tls13KeySchedule: 'rfc9427' } }, 'TLSv1.3');
    const peer = await peerFor({ compat: { tls13KeySchedule: 'rfc9427' } }, 'TLSv1.3');
    const c = await converse(method, peer);
    expectSuccess(c);
    if (c.server.kind === 'success') expect(c.server.sessionId).toHaveLength(65);
  });

  test('TLS 1.3 key schedule mismatch is caught by the Crypto-Binding', async () => {
    const { method } = await setup({ compat: { tls13KeySchedule: 'rfc9427' } }, 'TLSv1.3');
    const peer = await peerFor({}, 'TLSv1.3');
    const c = await converse(method, peer);
    expect(c.server.kind).toBe('failure');
    expect(c.peer.kind).toBe('failure');
  });

  test('server with the RFC 9930 MSCHAPv2 key order: the peer detects it (compat auto)', async () => {
    const { method } = await setup({ compat: { mschapv2ImskOrder: 'rfc9930' } });
    const peer = await peerFor();
    const c = await converse(method, peer);
    expectSuccess(c);
    expect(peer.detectedMschapV2Order).toBe('rfc9930');
  });

  test('a peer fixed to the other MSCHAPv2 key order fails with a Crypto-Binding error on both sides', async () => {
    const log = new MemoryLog();
    const { method } = await setup({ compat: { mschapv2ImskOrder: 'rfc9930' } });
    const peer = await peerFor({ compat: { mschapv2ImskOrder: 'hostapd-2.10' } });
    const c = await converse(method, peer, methodContext(log));
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/Result=Failure.*MskCompoundMacInvalid\(2006\)/);
    expect(c.peer.kind).toBe('failure');
  });

  test('inner EAP-TLS: EMSK chain, Flags 3, hostapd final chain and RFC 9930 final chain', async () => {
    const pki = await testPki();
    const peerCfg = { user: { identity: 'alice', tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' } } };
    for (const finalKeyChain of ['msk-always', 'rfc9930'] as const) {
      const { method } = await setup({ policy: { sequence: [{ methods: ['eap-tls'] }] }, compat: { finalKeyChain } });
      const peer = await peerFor({ ...peerCfg, compat: { finalKeyChain } });
      const c = await converse(method, peer);
      expectSuccess(c);
      if (c.server.kind === 'success') expect(c.server.grant.identity).toBe('alice');
    }
  });

  test('the peer Naks inner EAP-MSCHAPv2 and gets EAP-TLS', async () => {
    const pki = await testPki();
    const { method } = await setup();
    const peer = await peerFor({ user: { identity: 'alice', tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' } } });
    expectSuccess(await converse(method, peer));
  });

  test.each([false, true])('Basic-Password-Auth (zeroImskAdvancesChain=%s)', async (zeroImskAdvancesChain) => {
    const { method } = await setup({ policy: { sequence: [{ methods: ['basic-password'] }] }, compat: { zeroImskAdvancesChain } });
    const peer = await peerFor({ compat: { zeroImskAdvancesChain } });
    const c = await converse(method, peer);
    expectSuccess(c);
  });

  test('Basic-Password-Auth mismatch of zeroImskAdvancesChain gives different MSKs (CMK is the same)', async () => {
    const { method } = await setup({ policy: { sequence: [{ methods: ['basic-password'] }] }, compat: { zeroImskAdvancesChain: true } });
    const peer = await peerFor();
    const c = await converse(method, peer);
    expect(c.server.kind).toBe('success');
    expect(c.peer.kind).toBe('success');
    if (c.server.kind === 'success' && c.peer.kind === 'success') expect(hex(c.server.msk)).not.toBe(hex(c.peer.msk));
  });

  test('certificate-only (Phase-1 client certificate, no inner method)', async () => {
    const pki = await testPki();
    const { method } = await setup({ policy: { clientCertificate: 'required', certificateOnly: true, sequence: [] } });
    const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', tls: { ca: pki.ca.certPem, servername: 'radius.test.example', cert: pki.client.certPem, key: pki.client.keyPem, maxVersion: 'TLSv1.2' } });
    const c = await converse(method, peer);
    expectSuccess(c);
    if (c.server.kind === 'success') expect(c.server.grant).toMatchObject({ identity: 'alice', method: 'teap' });
  });

  test('certificate-only is refused under TLS 1.3 unless certificateOnlyTls13', async () => {
    const pki = await testPki();
    const tls = { ca: pki.ca.certPem, servername: 'radius.test.example', cert: pki.client.certPem, key: pki.client.keyPem, minVersion: 'TLSv1.3' as const, maxVersion: 'TLSv1.3' as const };
    const { method } = await setup({ policy: { clientCertificate: 'required', certificateOnly: true, sequence: [{ methods: ['eap-mschapv2'] }] } }, 'TLSv1.3');
    // Without certificateOnlyTls13 the inner method still runs.
    const c1 = await converse(method, new TeapPeer({ outerIdentity: 'a@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, tls }));
    expectSuccess(c1);
    const { method: m2 } = await setup({ policy: { clientCertificate: 'required', certificateOnly: true, certificateOnlyTls13: true, sequence: [] } }, 'TLSv1.3');
    expectSuccess(await converse(m2, new TeapPeer({ outerIdentity: 'a@example.com', tls })));
  });

  test('a client certificate from another CA is rejected (optional certificate ⇒ Error 1020 in Phase 2)', async () => {
    const rogue = await roguePki();
    const pki = await testPki();
    const log = new MemoryLog();
    const { method } = await setup({ policy: { clientCertificate: 'optional', certificateOnly: true, sequence: [] } });
    const peer = new TeapPeer({ outerIdentity: 'x@example.com', tls: { ca: pki.ca.certPem, servername: 'radius.test.example', cert: rogue.client.certPem, key: rogue.client.keyPem, maxVersion: 'TLSv1.2' } });
    const c = await converse(method, peer, methodContext(log));
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/ClientCertificateRejected\(1020\)/);
    expect(c.peer.kind).toBe('failure');
  });

  test('a Phase-1 certificate that names no one is rejected (Error 1020, reason named); a SAN-only one names its holder', async () => {
    const pki = await testPki();
    const { method } = await setup({ policy: { clientCertificate: 'required', certificateOnly: true, sequence: [] } });
    const peerWith = (cert: { certPem: string; keyPem: string }): TeapPeer =>
      new TeapPeer({ outerIdentity: 'ceo@corp.example', tls: { ca: pki.ca.certPem, servername: 'radius.test.example', cert: cert.certPem, key: cert.keyPem, maxVersion: 'TLSv1.2' } });

    const unnamed = await issueOddClientCert(pki.ca.certPem, pki.ca.keyPem, { subject: 'CN=' });
    const c = await converse(method, peerWith(unnamed), methodContext(new MemoryLog(), 1400, 'ceo@corp.example'));
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/ClientCertificateRejected\(1020\).*client certificate has no usable name/);
    expect(c.peer.kind).toBe('failure');

    const sanOnly = await issueOddClientCert(pki.ca.certPem, pki.ca.keyPem, { subject: '', san: [{ type: 'email', value: 'sensor@devices.example' }] });
    const ok = await converse(method, peerWith(sanOnly));
    expectSuccess(ok);
    if (ok.server.kind === 'success') expect(ok.server.grant).toMatchObject({ identity: 'sensor@devices.example', method: 'teap' });
  });

  test('user then machine (Identity-Type 1 then 2), two Crypto-Binding rounds', async () => {
    const log = new MemoryLog();
    const { method } = await setup({
      policy: { sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['eap-mschapv2'] }] },
    });
    const peer = await peerFor({ machine: { identity: 'host/machine1', password: MACHINE_PASSWORD } });
    const c = await converse(method, peer, methodContext(log));
    expectSuccess(c);
    if (c.server.kind === 'success') expect(c.server.grant).toMatchObject({ identity: 'alice', deviceId: 'host/machine1' });
    const succeeded = log.lines.filter((l) => l.msg === 'TEAP: inner method succeeded');
    expect(succeeded.map((l) => (l.obj as { identityType: string }).identityType)).toEqual(['user', 'machine']);
  });

  test('optional machine step the peer cannot do is skipped', async () => {
    const { method } = await setup({
      policy: { sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['basic-password'], optional: true }] },
    });
    const log = new MemoryLog();
    const peer = await peerFor({ machine: { identity: 'host/machine1', password: MACHINE_PASSWORD, methods: ['eap-mschapv2'] } });
    expectSuccess(await converse(method, peer, methodContext(log)));
    expect(log.lines.some((l) => l.msg === 'TEAP: inner method failed' && /declined Basic-Password-Auth/.test(String((l.obj as { reason: string }).reason)))).toBe(true);
  });

  test('a small MTU fragments both directions', async () => {
    const { method } = await setup();
    const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, fragmentSize: 120, tls: { ca: (await testPki()).ca.certPem, servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
    const c = await converse(method, peer, methodContext(new MemoryLog(), 200));
    expectSuccess(c);
    expect(c.rounds).toBeGreaterThan(12);
    for (const r of c.requests) expect(r.length).toBeLessThanOrEqual(200);
    for (const r of c.responses) expect(r.length).toBeLessThanOrEqual(126);
  });

  test('wrong password: MSCHAPv2 Failure, then Result=Failure, EAP-Failure on both sides, cause logged', async () => {
    const log = new MemoryLog();
    const { method } = await setup();
    const peer = await peerFor({ user: { identity: 'alice', password: WRONG_PASSWORD } });
    const c = await converse(method, peer, methodContext(log));
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/InnerMethodError\(1001\).*wrong password for "alice"/);
    expect(c.peer.kind).toBe('failure');
    expect(log.lines.some((l) => l.msg === 'EAP-MSCHAPv2 authentication failed' && /wrong password/.test(String((l.obj as { reason: string }).reason)))).toBe(true);
  });

  test('a peer that trusts another CA fails the handshake (TLS alert, then EAP-Failure)', async () => {
    const rogue = await roguePki();
    const { method } = await setup();
    const peer = new TeapPeer({ outerIdentity: 'a@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, tls: { ca: rogue.ca.certPem, servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
    const c = await converse(method, peer);
    expect(c.server.kind).toBe('failure');
    expect(c.peer.kind).toBe('failure');
  });

  test('forbidden order EAP-TLS after EAP-MSCHAPv2 is refused at runtime with Error 2004', async () => {
    const pki = await testPki();
    const log = new MemoryLog();
    const { method } = await setup({
      policy: { sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['eap-mschapv2', 'eap-tls'] }] },
    });
    const peer = await peerFor({ machine: { identity: 'alice', tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' } } });
    const c = await converse(method, peer, methodContext(log));
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/FirstInnerMethodDidNotDeriveEmsk\(2004\).*forbidden inner method order/);
    expect(c.peer.kind).toBe('failure');
  });

  test('with emskAfterMskOnly=msk-mac-only the same order succeeds with MSK MACs only', async () => {
    const pki = await testPki();
    const { method } = await setup({
      policy: { emskAfterMskOnly: 'msk-mac-only', sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['eap-tls'] }] },
    });
    const peer = await peerFor({ machine: { identity: 'alice', tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' } } });
    expectSuccess(await converse(method, peer));
  });

  test('a statically forbidden order is a configuration error', async () => {
    await expect(setup({ policy: { sequence: [{ methods: ['eap-mschapv2'] }, { methods: ['eap-tls'] }] } })).rejects.toThrow(/forbidden inner-method order/);
  });

  test('compat "auto" is refused on the server', async () => {
    await expect(setup({ compat: { mschapv2ImskOrder: 'auto' } })).rejects.toThrow(/auto/);
  });
});

describe.each(serverTlsEngines())('TEAP server method: bad outer input, %s TLS engine', (e: TlsEngineName) => {
  beforeAll(() => {
    engine = e;
  });
  async function session(log = new MemoryLog()) {
    const { method } = await setup();
    const s = method.createSession(methodContext(log, 300));
    const start = await s.start();
    // TEAP/Start of our server: S+O, version 1, Outer TLV Length 20, one Authority-ID TLV.
    expect(start.kind === 'request' && hex(start.data).slice(0, 18)).toBe('31000000140001' + '0010');
    return { s, log };
  }
  const b = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

  test('a peer answering with TEAP version 0 fails (RFC 9930 §3.1)', async () => {
    const { s } = await session();
    const step = await s.step(b('00160301'));
    expect(step).toMatchObject({ kind: 'failure' });
    if (step.kind === 'failure') expect(step.reason).toMatch(/version 0/);
    s.dispose();
  });

  test('an inconsistent packet is silently discarded (RFC 9930 §3.9.1)', async () => {
    const { s } = await session();
    expect((await s.step(b('81'))).kind).toBe('discard');
    s.dispose();
  });

  test('a Message Length beyond the cap: failure before allocating, cause logged', async () => {
    const log = new MemoryLog();
    const { s } = await session(log);
    const step = await s.step(b('c1ffffffff16'));
    expect(step.kind).toBe('failure');
    if (step.kind === 'failure') expect(step.reason).toMatch(/Message Length 4294967295 exceeds 65536/);
    expect(log.lines.some((l) => l.msg === 'TEAP: authentication failed')).toBe(true);
    s.dispose();
  });

  test('endless fragments: ACKs until the fragment cap, then failure', async () => {
    const { s } = await session();
    let step = await s.step(b('c10000ffff16'));
    let acks = 0;
    while (step.kind === 'request' && acks < 200) {
      expect(hex(step.data)).toBe('01');
      acks++;
      step = await s.step(b('4100'));
    }
    expect(step.kind).toBe('failure');
    if (step.kind === 'failure') expect(step.reason).toMatch(/more than 64 fragments/);
    expect(acks).toBe(64);
    s.dispose();
  });

  test('data instead of an ACK while our fragments are pending: failure', async () => {
    const pki = await testPki();
    const { s } = await session();
    const peer = new TeapPeer({ outerIdentity: 'a@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, tls: { ca: pki.ca.certPem, servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
    peer.identityResponse(1);
    const start = await s.start();
    const hello = await peer.receive(new Uint8Array([1, 2, 0, 5 + (start.kind === 'request' ? start.data.length : 0), 55, ...(start.kind === 'request' ? start.data : [])]));
    expect(hello.kind).toBe('send');
    const flight = await s.step(hello.kind === 'send' ? hello.eap.subarray(5) : new Uint8Array(0));
    expect(flight.kind === 'request' && (flight.data[0]! & 0x40) !== 0).toBe(true); // M: more fragments follow
    expect((await s.step(b('0116030300'))).kind).toBe('failure');
    s.dispose();
    peer.dispose();
  });
});
