import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { createEapTlsMethod, type EapTlsConfig } from '../../../src/eap-methods/eap-tls/method.js';
import type { EapMethodSession, MethodContext, Step } from '../../../src/eap-methods/method.js';
import type { PresentedCertificate, TlsEngineName } from '../../../src/eap-methods/tls-tunnel.js';
import { EapTlsPeer } from '../../../src/peer/eap-tls/eap-tls-peer.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { testPki } from '../../helpers/pki.js';
import { caFixture, makeCsr } from '../../pki/ca/helpers.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';

function context(): MethodContext {
  return { identity: 'dev', conversationId: 't', maxEapPacket: 1020, nas: { clientName: 'test' }, log: new MemoryLog() };
}

async function converse(session: EapMethodSession, peer: EapTlsPeer): Promise<Step> {
  let step = await session.start();
  for (let rounds = 0; step.kind === 'request'; rounds++) {
    if (rounds > 60) throw new Error('no end in sight');
    let response: Uint8Array;
    try {
      response = await peer.respond(step.data);
    } catch {
      response = new Uint8Array([0]);
    }
    step = await session.step(response);
  }
  return step;
}

/** Set per engine by the describe.each blocks below. */
let engine: TlsEngineName = 'node';

async function run(config: EapTlsConfig, client: { certPem: string; keyPem: string }, caPem: string): Promise<Step> {
  const session = createEapTlsMethod({ ...config, engine }).createSession(context());
  const peer = new EapTlsPeer({ cert: client.certPem, key: client.keyPem, ca: caPem, servername: 'radius.test.example' });
  try {
    return await converse(session, peer);
  } finally {
    session.dispose();
    peer.dispose();
  }
}

describe.each(serverTlsEngines())('EAP-TLS isRevoked hook, %s TLS engine', (e) => {
  beforeAll(() => {
    engine = e;
  });
  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: consulted with the client certificate; true refuses, false admits', async (version) => {
    const pki = await testPki();
    const seen: string[] = [];
    const objects: PresentedCertificate[] = [];
    const base = { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: version, maxVersion: version };
    for (const [answer, expected] of [[true, 'failure'], [false, 'success']] as const) {
      const step = await run({ ...base, isRevoked: async (c) => { seen.push(new X509Certificate(c.der).serialNumber); objects.push(c); return answer; } }, pki.client, pki.ca.certPem);
      expect(step.kind).toBe(expected);
      if (step.kind === 'failure') expect(step.reason).toBe('certificate revoked');
    }
    // Refused at the handshake: asked once. Admitted: asked at the handshake and again before success.
    const serial = new X509Certificate(pki.client.certPem).serialNumber;
    expect(seen).toEqual([serial, serial, serial]);
    // Both checks of the admitted exchange ask about one object, which the hook may remember things of.
    expect(objects[2]).toBe(objects[1]);
  });

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: revoked while the peer takes its time over the last round trip: refused at the end, not granted', async (version) => {
    const pki = await testPki();
    let asked = 0;
    const step = await run(
      { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: version, maxVersion: version, isRevoked: async () => ++asked > 1 },
      pki.client, pki.ca.certPem,
    );
    expect(step).toEqual({ kind: 'failure', reason: 'certificate revoked' });
    expect(asked).toBe(2);
  });

  test('a check that throws refuses (fail closed)', async () => {
    const pki = await testPki();
    const step = await run(
      { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, isRevoked: () => { throw new Error('store down'); } },
      pki.client, pki.ca.certPem,
    );
    expect(step).toEqual({ kind: 'failure', reason: 'certificate revocation check failed' });
  });
});

describe.each(serverTlsEngines())('EAP-TLS with LDevIDs of the registrar CA, %s TLS engine', (e) => {
  beforeAll(() => {
    engine = e;
  });
  test('an LDevID authenticates; once revoked it is refused, through the hook and through the CRL', async () => {
    const pki = await testPki();
    const f = await caFixture();
    try {
      const csr = await makeCsr();
      const ldevid = await f.ca.issueLdevid({ csrDer: csr.der, deviceId: 'SN-1001' });
      const { pem: crlBefore } = await f.ca.crl();
      const client = { certPem: ldevid.pem, keyPem: csr.keyPem };
      const config: EapTlsConfig = {
        cert: pki.server.certPem, key: pki.server.keyPem, ca: f.ca.certificatePem, isRevoked: (c) => f.ca.isRevoked(c),
      };
      const before = await run(config, client, pki.ca.certPem);
      expect(before.kind).toBe('success');
      if (before.kind === 'success') expect(before.grant).toMatchObject({ identity: 'SN-1001', deviceId: `serial:${ldevid.serial.toUpperCase()}` });

      expect(await f.ca.revokeDevice('SN-1001', 'keyCompromise')).toEqual([ldevid.serial]);
      expect(await run(config, client, pki.ca.certPem)).toEqual({ kind: 'failure', reason: 'certificate revoked' });

      // A TLS stack that only reads CRLs refuses it too, in the handshake: the CRL from before the
      // revocation admits the LDevID and the one after refuses it: the same CA, certificate and key,
      // only the CRL entry differs (openssl verify -crl_check names the reason in registrar-ca.test.ts).
      const crlOnly = { cert: pki.server.certPem, key: pki.server.keyPem, ca: f.ca.certificatePem };
      expect((await run({ ...crlOnly, crl: crlBefore }, client, pki.ca.certPem)).kind).toBe('success');
      const { pem: crlAfter } = await f.ca.crl();
      expect((await run({ ...crlOnly, crl: crlAfter }, client, pki.ca.certPem)).kind).toBe('failure');
    } finally {
      f.cleanup();
    }
  });
});
