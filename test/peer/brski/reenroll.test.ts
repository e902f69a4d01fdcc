import { X509Certificate } from 'node:crypto';
import { createTeapPledge } from '../../../src/peer/brski/teap-pledge.js';
import { createTeapReenroller } from '../../../src/peer/brski/reenroll.js';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import { Registrar } from '../../../src/teap-brski/brski/registrar.js';
import { createBrskiTlvMethods } from '../../../src/teap-brski/brski/registrar-tlv-method.js';
import { BrskiTlvCodec } from '../../../src/teap-brski/brski/tlvs.js';
import type { TlvMethodContext } from '../../../src/teap-brski/teap/tlv-method.js';
import { MemoryBrskiDeviceStore } from '../../../src/store/brski-devices.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, converse, methodContext } from '../../teap-brski/helpers.js';
import { caFixture, type CaFixture } from '../../pki/ca/helpers.js';
import { brskiPki, brskiWorld, TestMasa } from './brski-world.js';

/**
 * Flow C (teap-brski.md §3.4): a device enrolled by TEAP-BRSKI comes back with its LDevID; the policy
 * for our own certificates runs `brski-reenroll`, and the device leaves with a new LDevID for a new key.
 */
let fx: CaFixture;
beforeEach(async () => {
  fx = await caFixture();
});
afterEach(() => fx.cleanup());

test('enrol with the IDevID, then re-enrol with the LDevID: a new certificate for a new key, same device id', async () => {
  const world = await brskiWorld({ realCa: fx.ca });
  const { peer, pledge } = createTeapPledge({ credentials: world.credentials, maxVersion: 'TLSv1.2', log: new MemoryLog() });
  expect((await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid'))).server.kind).toBe('success');
  const first = pledge.enrollment!;

  const pki = await brskiPki();
  const registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa: new TestMasa(pki),
    manufacturers: [],
    devices: new MemoryBrskiDeviceStore(),
    ca: fx.ca,
    audit: fx.audit,
    log: new MemoryLog(),
  });
  const method = createTeapMethod({
    tls: { cert: `${pki.registrar.pem}\n${pki.domainCa.pem}`, key: pki.registrar.keyPem, ca: fx.ca.certificatePem },
    users: new MemoryUserStore(),
    innerMethods: [],
    policy: { sequence: [{ methods: ['basic-password'] }] },
    policies: { enrolled: { clientCertificate: 'required', sequence: [{ methods: ['brski-reenroll'] }] } },
    rules: [{ certificate: 'domain', policy: 'enrolled' }],
    tlvMethods: createBrskiTlvMethods({ registrar, tlvs: new BrskiTlvCodec() }),
  });
  const serverLog = new MemoryLog();
  const device = createTeapReenroller({
    credentials: { ldevid: first.ldevid, intermediates: first.intermediates, privateKey: first.privateKey, trustAnchors: [...first.trustAnchors, pki.domainCa.der] },
    outerIdentity: 'acme:JADA-0001',
    log: new MemoryLog(),
  });
  const c = await converse(method, device.peer, methodContext(serverLog, 1020, 'acme:JADA-0001'));
  expect({ kind: c.server.kind, why: c.server.kind === 'failure' ? c.server.reason : '', log: c.server.kind === 'failure' ? serverLog.lines.map((l) => `${l.msg} ${JSON.stringify(l.obj)}`).join('\n') : '' }).toEqual({ kind: 'success', why: '', log: '' });
  if (c.server.kind === 'success') expect(c.server.grant.identity).toBe('acme:JADA-0001');
  const renewed = device.handler()!.result!;
  const a = new X509Certificate(first.ldevid);
  const b = new X509Certificate(renewed.ldevid);
  expect(b.subject).toBe(a.subject);
  expect(b.serialNumber).not.toBe(a.serialNumber);
  expect(b.publicKey.equals(a.publicKey)).toBe(false);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);
});

// FAILS at a1273d8: a device could re-enrol as often as it liked, each time signing and storing a
// certificate (the store grew without bound).
test('a re-enrolment within the interval of the device\'s newest certificate is refused with Retry-PKCS#10 (reconnect) and a Retry-After; after it, served', async () => {
  const world = await brskiWorld({ realCa: fx.ca });
  const { peer, pledge } = createTeapPledge({ credentials: world.credentials, maxVersion: 'TLSv1.2', log: new MemoryLog() });
  expect((await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid'))).server.kind).toBe('success');
  const first = pledge.enrollment!;
  const enrolledAt = (await fx.store.listByDevice('acme:JADA-0001'))[0]!.issuedAt.getTime();

  const pki = await brskiPki();
  let now = enrolledAt + 10 * 60_000;
  const tlvs = new BrskiTlvCodec();
  const registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa: new TestMasa(pki),
    manufacturers: [],
    devices: new MemoryBrskiDeviceStore(),
    ca: fx.ca,
    audit: fx.audit,
    log: new MemoryLog(),
    now: () => new Date(now),
    reenrolmentLimit: { intervalMs: 3600_000, certificates: fx.store },
  });
  const tlvMethods = createBrskiTlvMethods({ registrar, tlvs });

  // What the method sends: Error(Retry-PKCS#10, reconnect: 2906 by default) with Retry-After, the
  // seconds left until an hour after the enrolment.
  const session = tlvMethods.find((m) => m.name === 'brski-reenroll')!.createSession({
    conversationId: 'c', nas: { clientName: 'test' }, log: new MemoryLog(),
    tunnel: { peerCertificate: new X509Certificate(first.ldevid) } as unknown as TlvMethodContext['tunnel'],
  });
  const refused = await session.start();
  expect(refused).toMatchObject({ kind: 'failure', code: 2906, tlvs: [tlvs.retryAfter(50 * 60)] });
  expect(refused.kind === 'failure' && refused.reason).toMatch(/acme:JADA-0001 was issued certificate [0-9a-f]+ at .*; it may re-enrol once every 3600 s \(in 3000 s\)/);

  const method = createTeapMethod({
    tls: { cert: `${pki.registrar.pem}\n${pki.domainCa.pem}`, key: pki.registrar.keyPem, ca: fx.ca.certificatePem },
    users: new MemoryUserStore(),
    innerMethods: [],
    policy: { sequence: [{ methods: ['basic-password'] }] },
    policies: { enrolled: { clientCertificate: 'required', sequence: [{ methods: ['brski-reenroll'] }] } },
    rules: [{ certificate: 'domain', policy: 'enrolled' }],
    tlvMethods,
  });
  const reenrol = async () => {
    const peerLog = new MemoryLog();
    const device = createTeapReenroller({
      credentials: { ldevid: first.ldevid, intermediates: first.intermediates, privateKey: first.privateKey, trustAnchors: [...first.trustAnchors, pki.domainCa.der] },
      outerIdentity: 'acme:JADA-0001',
      log: peerLog,
    });
    const c = await converse(method, device.peer, methodContext(new MemoryLog(), 1020, 'acme:JADA-0001'));
    return { c, peerLog, result: device.handler()?.result };
  };
  const early = await reenrol();
  expect(early.c.server).toMatchObject({ kind: 'failure', reason: expect.stringContaining('may re-enrol once every 3600 s') });
  expect(early.peerLog.lines.some((l) => l.msg === 'TEAP peer: server reported an error' && /2906/.test(JSON.stringify(l.obj)))).toBe(true);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(1);

  now = enrolledAt + 3600_000;
  const onTime = await reenrol();
  expect(onTime.c.server.kind).toBe('success');
  expect(onTime.result).toBeDefined();
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);
  // And the interval now runs from the new certificate.
  expect((await reenrol()).c.server.kind).toBe('failure');
});
