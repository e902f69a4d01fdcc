import { X509Certificate } from 'node:crypto';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { TeapPeer, type TeapPeerConfig } from '../../../src/peer/teap/teap-peer.js';
import { classifyCertificate, selectPolicyRule } from '../../../src/teap-brski/teap/policy-rules.js';
import { parseTeapMethodConfig } from '../../../src/teap-brski/teap/config.js';
import { ConfigError } from '../../../src/config/config-error.js';
import { testPki, roguePki } from '../../helpers/pki.js';
import { generateDemoPki } from '../../../src/pki/demo-pki.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, converse, methodContext, userWithPassword } from '../helpers.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import type { TlsEngineName } from '../../../src/eap-methods/tls-tunnel.js';
import { ALICE_PASSWORD } from '../../helpers/test-secrets.js';

/** The server's TLS engine, set per engine by the describe.each blocks below. */
let engine: TlsEngineName = 'node';

/**
 * One TEAP configuration serving three kinds of client (issue 10 point 4): a laptop with a password
 * (default policy), a device with a certificate from our CA (certificate-only), and a pledge with a
 * manufacturer's IDevID (its own policy). The "manufacturer" here is a second, unrelated demo PKI.
 */
async function setup() {
  const pki = await testPki();
  const maker = await roguePki();
  const users = new MemoryUserStore();
  await userWithPassword(users, 'alice', ALICE_PASSWORD);
  const mschap = createMschapV2Method({ users, serverName: 'gangway-test' });
  const method = createTeapMethod({
    tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem },
    users,
    innerMethods: [mschap],
    policy: { sequence: [{ methods: ['eap-mschapv2'] }] },
    policies: {
      device: { clientCertificate: 'required', certificateOnly: true, sequence: [] },
      pledge: { clientCertificate: 'required', sequence: [{ identityType: 'machine', methods: ['client-certificate'] }] },
      guests: { sequence: [{ methods: ['basic-password'] }] },
    },
    rules: [
      { certificate: 'manufacturer:acme', policy: 'pledge' },
      { certificate: 'domain', policy: 'device' },
      { realm: 'guest.example', policy: 'guests' },
    ],
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(maker.ca.certPem)] }],
  });
  return { pki, maker, method };
}

async function peer(cfg: Partial<TeapPeerConfig>): Promise<TeapPeer> {
  const pki = await testPki();
  return new TeapPeer({ outerIdentity: 'anonymous@example.com', ...cfg, tls: { ca: pki.ca.certPem, servername: 'radius.test.example', ...cfg.tls } });
}

const logged = (log: MemoryLog, re: RegExp): boolean => log.lines.some((l) => re.test(`${l.msg ?? ''} ${Object.values(l.obj).map((v) => JSON.stringify(v)).join(' ')}`));

describe.each(serverTlsEngines())('per-conversation TEAP policy, %s TLS engine', (e: TlsEngineName) => {
  beforeAll(() => {
    engine = e;
  });
  test('laptop with a password: default policy, EAP-MSCHAPv2', async () => {
    const { method } = await setup();
    const log = new MemoryLog();
    const c = await converse(method, await peer({ user: { identity: 'alice', password: ALICE_PASSWORD } }), methodContext(log));
    expect(c.server.kind).toBe('success');
    expect(logged(log, /policy selected.*"default"/)).toBe(true);
  });

  test('device with a certificate from our CA: certificate-only policy, no password', async () => {
    const { pki, method } = await setup();
    const log = new MemoryLog();
    const c = await converse(method, await peer({ tls: { cert: pki.client.certPem, key: pki.client.keyPem } }), methodContext(log));
    expect(c.server.kind).toBe('success');
    if (c.server.kind === 'success') expect(c.server.grant.identity).toBe('alice');
    if (c.server.kind === 'success') expect(c.server.grant.manufacturer).toBeUndefined();
    if (c.server.kind === 'success') expect(c.server.grant.certificate).toEqual(new Uint8Array(new X509Certificate(pki.client.certPem).raw));
    expect(logged(log, /policy selected.*"device".*"domain"/)).toBe(true);
  });

  test('pledge with a manufacturer IDevID: the pledge policy, its client-certificate step satisfied', async () => {
    const { maker, method } = await setup();
    const log = new MemoryLog();
    const c = await converse(method, await peer({ tls: { cert: maker.client.certPem, key: maker.client.keyPem } }), methodContext(log));
    expect(c.server.kind).toBe('success');
    if (c.server.kind === 'success') expect(c.server.grant.identity).toBe('acme:mallory');
    // For the credential policy: the manufacturer, the device id in its manufacturer:serial form, the IDevID itself.
    if (c.server.kind === 'success') expect(c.server.grant).toMatchObject({ manufacturer: 'acme', deviceId: 'acme:mallory', certificate: new Uint8Array(new X509Certificate(maker.client.certPem).raw) });
    expect(logged(log, /policy selected.*"pledge".*"manufacturer:acme"/)).toBe(true);
  });

  test('an IDevID never counts for a policy its rule did not select: realm rule first, certificate ignored', async () => {
    const { maker } = await setup();
    const pki = await testPki();
    const users = new MemoryUserStore();
    await userWithPassword(users, 'alice', ALICE_PASSWORD);
    const method = createTeapMethod({
      tls: { engine, cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem },
      users,
      innerMethods: [createMschapV2Method({ users })],
      policies: { certs: { clientCertificate: 'optional', certificateOnly: true, sequence: [{ methods: ['eap-mschapv2'] }] } },
      rules: [{ realm: 'example.com', policy: 'certs' }],
      manufacturers: [{ name: 'acme', anchors: [new X509Certificate(maker.ca.certPem)] }],
    });
    const log = new MemoryLog();
    // The pledge has no password: with its IDevID ignored, certificate-only cannot apply and MSCHAPv2 is declined.
    const c = await converse(method, await peer({ tls: { cert: maker.client.certPem, key: maker.client.keyPem } }), methodContext(log));
    expect(c.server.kind).toBe('failure');
    expect(logged(log, /not from an issuer this policy accepts/)).toBe(true);
  });

  test('a certificate from nobody we trust selects no certificate rule and authenticates nothing', async () => {
    const { method } = await setup();
    const stranger = await generateDemoPki('stranger.example', 'eve');
    const log = new MemoryLog();
    const c = await converse(method, await peer({ tls: { cert: stranger.client.certPem, key: stranger.client.keyPem } }), methodContext(log));
    expect(c.server.kind).toBe('failure');
    expect(logged(log, /policy selected.*"default".*null/)).toBe(true);
  });

  test('realm rule: guest.example uses the Basic-Password policy', () => {
    const rule = selectPolicyRule([{ realm: 'guest.example', policy: 'guests' }], { outerIdentity: 'bob@Guest.Example', nas: { clientName: 'ap' } });
    expect(rule?.policy).toBe('guests');
    expect(selectPolicyRule([{ nas: 'ap-2', policy: 'x' }], { outerIdentity: 'bob', nas: { clientName: 'ap' } })).toBeUndefined();
  });

  test('classifyCertificate: domain anchors win; unknown issuers have no class', async () => {
    const pki = await testPki();
    const maker = await roguePki();
    const mf = [{ name: 'acme', anchors: [new X509Certificate(maker.ca.certPem)] }];
    expect(classifyCertificate([new X509Certificate(pki.client.certPem)], [new X509Certificate(pki.ca.certPem)], mf)).toEqual({ kind: 'domain' });
    expect(classifyCertificate([new X509Certificate(maker.client.certPem)], [new X509Certificate(pki.ca.certPem)], mf)).toEqual({ kind: 'manufacturer', name: 'acme' });
    expect(classifyCertificate([new X509Certificate(maker.client.certPem)], [new X509Certificate(pki.ca.certPem)], [])).toBeUndefined();
  });

  test('configuration: rules name existing policies and known certificate classes', () => {
    expect(() => parseTeapMethodConfig({ rules: [{ realm: 'x', policy: 'nope' }] })).toThrow(ConfigError);
    expect(() => parseTeapMethodConfig({ policies: { p: {} }, rules: [{ policy: 'p' }] })).toThrow(/needs at least one of realm, nas, certificate/);
    expect(() => parseTeapMethodConfig({ policies: { p: {} }, rules: [{ certificate: 'vendor', policy: 'p' }] })).toThrow(/domain, manufacturer/);
    const ok = parseTeapMethodConfig({ policies: { p: { certificateOnly: true, clientCertificate: 'required' } }, rules: [{ certificate: 'domain', policy: 'p' }] });
    expect(ok.rules).toEqual([{ certificate: 'domain', policy: 'p' }]);
  });
});
