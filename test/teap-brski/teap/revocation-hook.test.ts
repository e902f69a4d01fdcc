import { createTeapMethod, type TeapMethodDeps } from '../../../src/teap-brski/teap/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { createEapTlsMethod } from '../../../src/eap-methods/eap-tls/method.js';
import { TeapPeer } from '../../../src/peer/teap/teap-peer.js';
import type { PresentedCertificate, TlsEngineName } from '../../../src/eap-methods/tls-tunnel.js';
import { testPki } from '../../helpers/pki.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import { ALICE_PASSWORD } from '../../helpers/test-secrets.js';
import { MemoryUserStore, converse, methodContext, userWithPassword } from '../helpers.js';

/**
 * TEAP asks the same revocation hook as EAP-TLS (the registrar CA's revocations, newer than any CRL
 * file) about a Phase-1 certificate that chained: when Phase 1 ends, and again before Success,
 * since Phase 2 lasts as long as the peer likes.
 */
let engine: TlsEngineName = 'node';

type Hook = NonNullable<TeapMethodDeps['tls']['isRevoked']>;

async function run(policy: TeapMethodDeps['policy'], isRevoked: Hook | undefined, withCertificate = true) {
  const pki = await testPki();
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  const method = createTeapMethod({
    tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2', ...(isRevoked ? { isRevoked } : {}) },
    users,
    innerMethods: [createMschapV2Method({ users, serverName: 'gangway-test' })],
    policy,
  });
  const peer = new TeapPeer({
    outerIdentity: 'anonymous@example.com',
    user: { identity: 'alice', password: ALICE_PASSWORD },
    tls: { ca: pki.ca.certPem, servername: 'radius.test.example', maxVersion: 'TLSv1.2', ...(withCertificate ? { cert: pki.client.certPem, key: pki.client.keyPem } : {}) },
  });
  const log = new MemoryLog();
  const c = await converse(method, peer, methodContext(log));
  return { ...c, log };
}

type Policy = NonNullable<TeapMethodDeps['policy']>;
const certificateOnly: Policy = { clientCertificate: 'required', certificateOnly: true, sequence: [] };
/** The certificate counts and a password follows (machine, then user). */
const certificateThenPassword: Policy = { clientCertificate: 'optional', sequence: [{ methods: ['eap-mschapv2'] }] };

describe.each(serverTlsEngines())('TEAP Phase-1 certificate and the revocation hook, %s TLS engine', (e) => {
  beforeAll(() => {
    engine = e;
  });

  test('not revoked: asked when Phase 1 ends and again before Success, about one certificate object', async () => {
    const seen: PresentedCertificate[] = [];
    const c = await run(certificateOnly, (cert) => { seen.push(cert); return false; });
    expect(c.server.kind).toBe('success');
    expect(c.peer.kind).toBe('success');
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[0]!.certificate.subject).toMatch(/CN=alice/);
  });

  test('revoked: Error 1020 in Phase 2, EAP-Failure, the reason logged', async () => {
    let asked = 0;
    const c = await run(certificateOnly, async () => { asked++; return true; });
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/ClientCertificateRejected\(1020\)/);
    expect(c.peer.kind).toBe('failure');
    expect(asked).toBe(1);
    expect(c.log.lines.some((l) => l.msg === 'TEAP: Phase-1 certificate revoked')).toBe(true);
  });

  test('revoked, where a password could follow the certificate: refused, no fall-back to the password', async () => {
    const admitted = await run(certificateThenPassword, () => false);
    expect(admitted.server.kind).toBe('success');
    const c = await run(certificateThenPassword, () => true);
    expect(c.server.kind).toBe('failure');
    if (c.server.kind === 'failure') expect(c.server.reason).toMatch(/ClientCertificateRejected\(1020\)/);
  });

  test('revoked while Phase 2 runs (an inner password method): no Success at the end', async () => {
    let asked = 0;
    const c = await run(certificateThenPassword, () => ++asked > 1);
    expect(asked).toBe(2);
    expect(c.server).toEqual({ kind: 'failure', reason: 'TEAP: certificate revoked' });
  });

  test('a check that throws refuses (fail closed)', async () => {
    const c = await run(certificateOnly, () => { throw new Error('store down'); });
    expect(c.server.kind).toBe('failure');
    expect(c.log.lines.some((l) => l.msg === 'TEAP: revocation check of the Phase-1 certificate failed')).toBe(true);
  });

  test('no Phase-1 certificate: nothing to ask', async () => {
    let asked = 0;
    const c = await run(certificateThenPassword, () => { asked++; return true; }, false);
    expect(c.server.kind).toBe('success');
    expect(asked).toBe(0);
  });
});

/**
 * An inner EAP-TLS asks the hook before its own success; TEAP then waits for the peer's answer to
 * the Intermediate-Result and Crypto-Binding, or runs further steps, as long as the peer likes.
 */
describe.each(serverTlsEngines())('TEAP inner EAP-TLS certificates and the revocation hook, %s TLS engine', (e) => {
  beforeAll(() => {
    engine = e;
  });

  async function runInner(policy: Policy, machineThenUser: boolean, isRevoked: Hook) {
    const pki = await testPki();
    const users = new MemoryUserStore();
    await userWithPassword(users, 'alice', ALICE_PASSWORD);
    const innerEapTls = createEapTlsMethod({ engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2', isRevoked });
    const method = createTeapMethod({
      tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2', isRevoked },
      users,
      innerMethods: [createMschapV2Method({ users, serverName: 'gangway-test' }), innerEapTls],
      policy,
    });
    const certificate = { identity: 'alice', tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' } };
    const peer = new TeapPeer({
      outerIdentity: 'anonymous@example.com',
      ...(machineThenUser ? { machine: certificate, user: { identity: 'alice', password: ALICE_PASSWORD } } : { user: certificate }),
      tls: { ca: pki.ca.certPem, servername: 'radius.test.example', maxVersion: 'TLSv1.2' },
    });
    return converse(method, peer, methodContext(new MemoryLog()));
  }

  const eapTlsOnly: Policy = { clientCertificate: 'none', sequence: [{ methods: ['eap-tls'] }] };
  const machineEapTlsThenUserPassword: Policy = { clientCertificate: 'none', sequence: [{ identityType: 'machine', methods: ['eap-tls'] }, { identityType: 'user', methods: ['eap-mschapv2'] }] };

  test('not revoked: the grant carries the inner certificate, asked three times (inner handshake, inner success, TEAP success)', async () => {
    let asked = 0;
    const c = await runInner(eapTlsOnly, false, () => { asked++; return false; });
    expect(c.server.kind).toBe('success');
    expect(asked).toBe(3);
    if (c.server.kind === 'success') expect(c.server.grant.innerCertificates).toHaveLength(1);
  });

  // FAILS at 3f30aba: TEAP's last check looked at the Phase-1 certificate only (review finding).
  test.each([
    ['one EAP-TLS step', eapTlsOnly, false],
    ['machine EAP-TLS, then a user password', machineEapTlsThenUserPassword, true],
  ] as const)('revoked after the inner EAP-TLS succeeded (%s): no Success', async (_name, policy, machineThenUser) => {
    let asked = 0;
    const c = await runInner(policy, machineThenUser, () => ++asked > 2);
    expect(asked).toBe(3);
    expect(c.server).toEqual({ kind: 'failure', reason: 'TEAP: certificate revoked' });
  });
});

// Review of 43387d0: only an inner EAP-TLS proves a certificate. Another inner method (a plugin) that
// names one in its grant proves nothing, and its bytes are neither asked about nor parsed.
test('a certificate named by an inner method that is not EAP-TLS is not carried, asked about or parsed', async () => {
  const pki = await testPki();
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  const mschap = createMschapV2Method({ users, serverName: 'gangway-test' });
  const naming: typeof mschap = {
    ...mschap,
    createSession: (ctx) => {
      const inner = mschap.createSession(ctx);
      return {
        start: () => inner.start(),
        step: async (data) => {
          const step = await inner.step(data);
          return step.kind === 'success' ? { ...step, grant: { ...step.grant, certificate: Uint8Array.of(1, 2, 3) } } : step;
        },
        dispose: () => inner.dispose(),
      };
    },
  };
  let asked = 0;
  const method = createTeapMethod({
    tls: { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2', isRevoked: () => { asked++; return true; } },
    users,
    innerMethods: [naming],
    policy: { clientCertificate: 'none', sequence: [{ methods: ['eap-mschapv2'] }] },
  });
  const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, tls: { ca: pki.ca.certPem, servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
  const c = await converse(method, peer, methodContext(new MemoryLog()));
  expect(c.server.kind).toBe('success');
  if (c.server.kind === 'success') expect(c.server.grant.innerCertificates).toBeUndefined();
  expect(asked).toBe(0);
});
