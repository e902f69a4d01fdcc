import { X509Certificate } from 'node:crypto';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { TeapPeer, type TeapPeerConfig } from '../../../src/peer/teap/teap-peer.js';
import { testPki, roguePki } from '../../helpers/pki.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, converse, methodContext, userWithPassword } from '../helpers.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import type { TlsEngineName } from '../../../src/eap-methods/tls-tunnel.js';
import { ALICE_PASSWORD, MACHINE_PASSWORD } from '../../helpers/test-secrets.js';

/** The server's TLS engine, set per engine by the describe.each blocks below. */
let engine: TlsEngineName = 'node';

/**
 * Review of issue 7 (attacks on per-conversation policy selection). The corporate default policy
 * demands two steps (user by EAP-MSCHAPv2, then machine by EAP-MSCHAPv2); a guest policy chosen by
 * realm or NAS asks for one Basic-Password. Both share the one user store, as the documented
 * example in docs/teap.md does.
 */
async function setup() {
  const pki = await testPki();
  const maker = await roguePki();
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  await userWithPassword(users, 'host/m1', MACHINE_PASSWORD);
  const mschap = createMschapV2Method({ users, serverName: 'gangway-test' });
  const method = createTeapMethod({
    tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem },
    users,
    innerMethods: [mschap],
    policy: {
      sequence: [
        { identityType: 'user', methods: ['eap-mschapv2'] },
        { identityType: 'machine', methods: ['eap-mschapv2'] },
      ],
    },
    policies: { guests: { sequence: [{ methods: ['basic-password'] }] } },
    rules: [
      { realm: 'guest.example', policy: 'guests' },
      { nas: 'ap-lobby', policy: 'guests' },
    ],
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(maker.ca.certPem)] }],
  });
  return { method };
}

async function peer(cfg: Partial<TeapPeerConfig>): Promise<TeapPeer> {
  const pki = await testPki();
  return new TeapPeer({ outerIdentity: 'anonymous@example.com', ...cfg, tls: { ca: pki.ca.certPem, servername: 'radius.test.example', ...cfg.tls } });
}

describe.each(serverTlsEngines())('review: policy rules chosen by peer- or NAS-controlled facts, %s TLS engine', (e: TlsEngineName) => {
  beforeAll(() => {
    engine = e;
  });
  test('baseline: a corporate user with only a password (no machine credentials) is refused by the two-step default policy', async () => {
    const { method } = await setup();
    const c = await converse(method, await peer({ user: { identity: 'alice', password: ALICE_PASSWORD } }), methodContext(new MemoryLog(), 1400, 'anonymous@corp.example'));
    expect(c.server.kind).toBe('failure');
  });

  // FAILS at 915639d: the realm comes from the outer identity, which the peer chooses freely, and
  // nothing ties the inner identity to that realm. alice skips the machine step of her policy by
  // claiming to be a guest, and is accepted as "alice".
  test('a realm rule cannot be used to authenticate a non-guest account under the guest policy', async () => {
    const { method } = await setup();
    const log = new MemoryLog();
    const c = await converse(method, await peer({ user: { identity: 'alice', password: ALICE_PASSWORD } }), methodContext(log, 1400, 'anonymous@guest.example'));
    // Either refused, or at least not accepted as the corporate account alice.
    const verdict = c.server.kind === 'success' ? { kind: 'success', identity: c.server.grant.identity } : { kind: c.server.kind };
    expect(verdict).not.toEqual({ kind: 'success', identity: 'alice' });
  });

  // FAILS at 915639d: NAS-Identifier is a claim of whichever RADIUS client sends it; a client that
  // is not ap-lobby selects ap-lobby's policy by sending NAS-Identifier "ap-lobby".
  test('a RADIUS client cannot select another client\'s policy by sending its name as NAS-Identifier', async () => {
    const { method } = await setup();
    const log = new MemoryLog();
    const ctx = { ...methodContext(log, 1400, 'anonymous@corp.example'), nas: { clientName: 'ap-corp-3', nasIdentifier: 'ap-lobby' } };
    const c = await converse(method, await peer({ user: { identity: 'alice', password: ALICE_PASSWORD } }), ctx);
    expect(c.server.kind).toBe('failure');
  });
});
