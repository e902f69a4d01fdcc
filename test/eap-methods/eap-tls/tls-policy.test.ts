/**
 * The TLS policy of the EAP methods (issue 8.6, src/eap-methods/tls-policy.ts): TLS 1.2 at least,
 * and with TLS 1.2 only ECDHE with AEAD ciphers. A peer offering anything else is refused by the
 * server's handshake, not by the peer's own settings.
 */
import { createEapTlsMethod } from '../../../src/eap-methods/eap-tls/method.js';
import type { EapMethodSession, Step } from '../../../src/eap-methods/method.js';
import { TLS12_CIPHERS } from '../../../src/eap-methods/tls-policy.js';
import { EapTlsPeer } from '../../../src/peer/eap-tls/eap-tls-peer.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { testPki } from '../../helpers/pki.js';

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

describe('EAP-TLS TLS policy', () => {
  async function attempt(client: Record<string, unknown>): Promise<{ step: Step; protocol: string | null; log: MemoryLog }> {
    const pki = await testPki();
    const method = createEapTlsMethod({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem });
    const log = new MemoryLog();
    const session = method.createSession({ identity: 'alice', conversationId: 't', maxEapPacket: 1020, nas: { clientName: 'test' }, log });
    const peer = new EapTlsPeer({ cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example', ...client });
    try {
      const step = await converse(session, peer);
      return { step, protocol: peer.protocol, log };
    } finally {
      session.dispose();
      peer.dispose();
    }
  }

  test('a TLS 1.2 peer with default settings negotiates ECDHE with an AEAD cipher from the list', async () => {
    const { step, protocol } = await attempt({ maxVersion: 'TLSv1.2' });
    expect(step.kind).toBe('success');
    expect(protocol).toBe('TLSv1.2');
  });

  test.each([
    ['CBC with ECDHE', 'ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA'],
    ['RSA key transport with AES-GCM', 'AES128-GCM-SHA256:AES256-GCM-SHA384'],
    ['finite-field DHE', 'DHE-RSA-AES128-GCM-SHA256'],
  ])('a TLS 1.2 peer offering only %s is refused', async (_what, ciphers) => {
    const { step, log } = await attempt({ maxVersion: 'TLSv1.2', ciphers });
    expect(step.kind).toBe('failure');
    expect(JSON.stringify(log.lines)).toMatch(/no shared cipher|handshake failure/i);
  });

  test('a TLS 1.1 peer is refused by the server (the client would allow it)', async () => {
    const { step, log } = await attempt({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(step.kind).toBe('failure');
    expect(JSON.stringify(log.lines)).toMatch(/unsupported protocol|version/i);
  });

  test('the list holds only ECDHE AEAD suites; a minimum below TLS 1.2 is a configuration error', async () => {
    for (const suite of TLS12_CIPHERS.split(':')) expect(suite).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    const pki = await testPki();
    expect(() => createEapTlsMethod({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: 'TLSv1.1' })).toThrow(/TLS 1.2 or later/);
  });
});
