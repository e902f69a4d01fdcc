import { X509Certificate } from 'node:crypto';
import { createTeapPledge } from '../../../src/peer/brski/teap-pledge.js';
import { createTeapReenroller } from '../../../src/peer/brski/reenroll.js';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import { Registrar, type RegistrarDeps } from '../../../src/teap-brski/brski/registrar.js';
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

/** A device enrolled by flow B, and a server whose policy runs `brski-reenroll` for our LDevIDs. */
async function enrolledDevice(registrarOptions: Partial<RegistrarDeps> = {}) {
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
    ...registrarOptions,
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
  /** One TEAP conversation of the device with its first LDevID. */
  const reenrol = async () => {
    const serverLog = new MemoryLog();
    const device = createTeapReenroller({
      credentials: { ldevid: first.ldevid, intermediates: first.intermediates, privateKey: first.privateKey, trustAnchors: [...first.trustAnchors, pki.domainCa.der] },
      outerIdentity: 'acme:JADA-0001',
      log: new MemoryLog(),
    });
    const c = await converse(method, device.peer, methodContext(serverLog, 1020, 'acme:JADA-0001'));
    return { c, serverLog, result: device.handler()?.result, refusal: device.handler()?.refusal };
  };
  return { first, registrar, reenrol };
}

test('enrol with the IDevID, then re-enrol with the LDevID: a new certificate for a new key, same device id', async () => {
  const { first, reenrol } = await enrolledDevice();
  const { c, serverLog, result } = await reenrol();
  expect({ kind: c.server.kind, why: c.server.kind === 'failure' ? c.server.reason : '', log: c.server.kind === 'failure' ? serverLog.lines.map((l) => `${l.msg} ${JSON.stringify(l.obj)}`).join('\n') : '' }).toEqual({ kind: 'success', why: '', log: '' });
  if (c.server.kind === 'success') expect(c.server.grant.identity).toBe('acme:JADA-0001');
  const renewed = result!;
  const a = new X509Certificate(first.ldevid);
  const b = new X509Certificate(renewed.ldevid);
  expect(b.subject).toBe(a.subject);
  expect(b.serialNumber).not.toBe(a.serialNumber);
  expect(b.publicKey.equals(a.publicKey)).toBe(false);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);
});

// FAILS at a1273d8: a device could re-enrol as often as it liked, each time signing and storing a
// certificate (the store grew without bound).
test('re-enrolment when the device already had the limit\'s certificates in the interval: access on the LDevID, nothing issued; once the oldest leaves the interval, a new one', async () => {
  let now = 0;
  const { registrar, reenrol } = await enrolledDevice({ now: () => new Date(now), enrolmentLimit: { certificates: 2, intervalMs: 3600_000, store: fx.store } });
  const enrolledAt = (await fx.store.listByDevice('acme:JADA-0001'))[0]!.issuedAt.getTime();
  now = enrolledAt + 10 * 60_000;

  // Ten minutes after its enrolment: the second certificate of the hour (the limit is two here).
  const second = await reenrol();
  expect(second.c.server.kind).toBe('success');
  expect(second.result).toBeDefined();
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);

  // A third in the same hour: the device is let in on its LDevID, and nothing is signed; it may
  // have one when the enrolment's certificate is an hour old (50 minutes on).
  const third = await reenrol();
  expect(third.c.server).toMatchObject({ kind: 'success', grant: { identity: 'acme:JADA-0001' } });
  expect(third.result).toBeUndefined();
  expect(third.serverLog.lines.some((l) => l.msg === 'TEAP-BRSKI: re-enrolment not due yet; access on the LDevID, nothing issued' && (l.obj as { retryAfter?: number }).retryAfter === 50 * 60)).toBe(true);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);

  now = enrolledAt + 3600_000;
  expect((await reenrol()).result).toBeDefined();
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(3);
  expect((await reenrol()).result).toBeUndefined();

  // Revoked ones count too: they were signed and stored.
  const newest = (await fx.store.listByDevice('acme:JADA-0001'))[0]!;
  await fx.store.revoke(newest.serial, new Date(now), 'keyCompromise');
  expect(await registrar.enrolmentTooSoon('acme:JADA-0001')).toMatchObject({ failure: 'rate-limited' });
});

// FAILS at 46d89a8: both conversations passed the count before either recorded its certificate.
test('two re-enrolments of one device at once with one place left: one is issued, the other refused (Retry-PKCS#10, reconnect); the limit holds', async () => {
  const registrarLog = new MemoryLog();
  const { reenrol } = await enrolledDevice({ log: registrarLog, enrolmentLimit: { certificates: 2, intervalMs: 3600_000, store: fx.store } });
  const [a, b] = await Promise.all([reenrol(), reenrol()]);
  const outcomes = [a, b].map((r) => (r.result ? 'issued' : r.c.server.kind === 'failure' ? r.c.server.reason : 'nothing issued'));
  expect(outcomes).toContain('issued');
  expect(outcomes).toContainEqual(expect.stringMatching(/^TEAP: Error\(2906\): brski-reenroll: rate-limited: acme:JADA-0001 was issued 2 certificate\(s\) in the last 3600 s, the most a device gets \(next in 3\d{3} s\)$/));
  expect(registrarLog.lines.map((l) => l.msg)).toContain('BRSKI: certificate refused, another request of the device took the last place');
  // Audited under the device. FAILS at fbf4bcc: logged only.
  const audited = (await fx.audit.recent(50)).filter((e) => e.event === 'brski.enrolment-refused');
  expect(audited).toEqual([{ at: expect.any(Date), event: 'brski.enrolment-refused', subject: 'acme:JADA-0001', detail: { during: 're-enrolment', why: 'another request of the device took the last place', retryAfter: expect.any(Number) } }]);
  // The device is told why and when, in the draft's terms.
  const refused = a.result ? b : a;
  expect(refused.refusal).toEqual({ errors: ['Retry-PKCS#10, reconnect later (2906)'], retryAfterSeconds: expect.any(Number) });
  expect(refused.refusal!.retryAfterSeconds).toBeGreaterThan(3500);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);
});

test('flow B too soon after the device\'s last certificate: refused before the MASA is asked, with Retry-PKCS#10 (reconnect) and a Retry-After of at most the interval', async () => {
  const world = await brskiWorld({ realCa: fx.ca, enrolmentLimit: { certificates: 1, intervalMs: 3600_000, store: fx.store } });
  const enrol = async () => {
    const peerLog = new MemoryLog();
    const { peer, pledge } = createTeapPledge({ credentials: world.credentials, maxVersion: 'TLSv1.2', log: peerLog });
    return { c: await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid')), peerLog, pledge };
  };
  expect((await enrol()).c.server.kind).toBe('success');
  const vouchers = world.masa.calls;
  const again = await enrol();
  expect(again.c.server).toMatchObject({ kind: 'failure', reason: expect.stringContaining('acme:JADA-0001 was issued 1 certificate(s) in the last 3600 s, the most a device gets (next in') });
  expect(again.peerLog.lines.some((l) => l.msg === 'TEAP peer: server reported an error' && /2906/.test(JSON.stringify(l.obj)))).toBe(true);
  expect(world.masa.calls).toBe(vouchers);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(1);
  // Audited under the device, and a device coming back again and again writes one entry a minute,
  // the rest counted into its next one. FAILS at fbf4bcc: logged only.
  for (let i = 0; i < 4; i++) expect((await enrol()).c.server.kind).toBe('failure');
  const refusals = world.audit.entries.filter((e) => e.event === 'brski.enrolment-refused');
  expect(refusals).toEqual([{ at: expect.any(Date), event: 'brski.enrolment-refused', subject: 'acme:JADA-0001', detail: { during: 'voucher', why: 'too soon after the last one', retryAfter: expect.any(Number) } }]);
  // The registrar's own line is held to the same budget: one at info, the four repeats at debug. FAILS
  // at 05c902c, where every refusal wrote an info line.
  const refusedLines = world.serverLog.lines.filter((l) => l.msg === 'BRSKI: certificate refused, too soon after the last one');
  expect(refusedLines.map((l) => l.level)).toEqual(['info', 'debug', 'debug', 'debug', 'debug']);
  // Two minutes on, the next refusal is recorded with the count of those not recorded (a registrar on an injected clock).
  let clock = Date.now();
  const later = new Registrar({
    signer: { certificate: world.pki.registrar.der, privateKey: world.pki.registrar.key },
    masa: world.masa, manufacturers: [], devices: new MemoryBrskiDeviceStore(), ca: fx.ca, audit: world.audit, log: world.serverLog,
    now: () => new Date(clock),
    enrolmentLimit: { certificates: 1, intervalMs: 3600_000, store: fx.store },
  });
  for (let i = 0; i < 3; i++) expect(await later.refuseIfTooSoon('acme:JADA-0001', 'enrolment')).toMatchObject({ failure: 'rate-limited' });
  clock += 120_000;
  expect(await later.refuseIfTooSoon('acme:JADA-0001', 'enrolment')).toMatchObject({ failure: 'rate-limited' });
  expect(world.audit.entries.filter((e) => e.event === 'brski.enrolment-refused').slice(1).map((e) => e.detail)).toEqual([
    { during: 'enrolment', why: 'too soon after the last one', retryAfter: expect.any(Number) },
    { during: 'enrolment', why: 'too soon after the last one', retryAfter: expect.any(Number), earlierNotRecorded: 2 },
  ]);
  // The pledge can say why, in the draft's terms, and when to come back. FAILS at 46d89a8: it could not.
  expect(again.pledge.refusal).toEqual({ errors: ['Retry-PKCS#10, reconnect later (2906)'], retryAfterSeconds: expect.any(Number) });
  expect(again.pledge.refusal!.retryAfterSeconds).toBeGreaterThan(3500);
  expect(again.pledge.refusal!.retryAfterSeconds).toBeLessThanOrEqual(3600);

  // What the method sends with the Error, and the wait for a certificate dated ahead of our clock.
  const tlvs = new BrskiTlvCodec();
  const ahead = new Registrar({
    signer: { certificate: world.pki.registrar.der, privateKey: world.pki.registrar.key },
    masa: world.masa, manufacturers: [], devices: new MemoryBrskiDeviceStore(), ca: fx.ca, audit: fx.audit, log: new MemoryLog(),
    now: () => new Date(Date.now() - 7 * 86_400_000),
    enrolmentLimit: { certificates: 1, intervalMs: 3600_000, store: fx.store },
  });
  const refusal = await ahead.enrolmentTooSoon('acme:JADA-0001');
  expect(refusal).toMatchObject({ failure: 'rate-limited', retryAfterSeconds: 3600, httpStatus: 429 });
  const step = await createBrskiTlvMethods({ registrar: ahead, tlvs }).find((m) => m.name === 'brski-reenroll')!.createSession({
    conversationId: 'c', nas: { clientName: 'test' }, log: new MemoryLog(),
    tunnel: { peerCertificate: new X509Certificate((await fx.store.listByDevice('acme:JADA-0001'))[0]!.der) } as unknown as TlvMethodContext['tunnel'],
  }).step([{ kind: 'pkcs10', mandatory: false, der: new Uint8Array(8) }]);
  expect(step).toMatchObject({ kind: 'failure', code: 2906, tlvs: [tlvs.retryAfter(3600)] });
});

// FAILS at e3af32f: a denied or unapproved device holding a recent certificate was refused and
// audited as "too soon", told to come back after the Retry-After, before `authorize` saw it.
test('flow B for a device denied, or back to pending, after its enrolment: refused for what it is, not as too soon, and only an admitted device is audited as too soon', async () => {
  const world = await brskiWorld({ realCa: fx.ca, approval: 'admin', enrolmentLimit: { certificates: 1, intervalMs: 3600_000, store: fx.store } });
  const enrol = async () => {
    const { peer, pledge } = createTeapPledge({ credentials: world.credentials, maxVersion: 'TLSv1.2', log: new MemoryLog() });
    return { c: await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid')), pledge };
  };
  await world.devices.decide('acme', 'JADA-0001', 'approved', 'alice', new Date());
  expect((await enrol()).c.server.kind).toBe('success');
  const vouchers = world.masa.calls;
  const events = () => world.audit.entries.map((e) => e.event);

  await world.devices.decide('acme', 'JADA-0001', 'denied', 'alice', new Date());
  const denied = await enrol();
  expect(denied.c.server).toMatchObject({ kind: 'failure', reason: expect.stringContaining('acme:JADA-0001 was denied by alice') });
  expect(denied.pledge.refusal?.retryAfterSeconds).toBeUndefined();

  await world.devices.decide('acme', 'JADA-0001', 'pending', 'alice', new Date());
  const pending = await enrol();
  expect(pending.c.server).toMatchObject({ kind: 'failure', reason: expect.stringContaining('acme:JADA-0001 awaits an administrator\'s approval') });
  // Each audited for what it is, within the device's budget: the denial as a refusal without a
  // time to come back, the pending device for the administrator to decide on.
  expect(events()).toEqual(['brski.voucher', 'brski.enrolment-refused', 'brski.approval-needed']);
  expect(world.audit.entries.find((e) => e.event === 'brski.enrolment-refused')?.detail).toEqual({ during: 'voucher', why: 'denied by an administrator', retryAfter: null });
  expect(world.masa.calls).toBe(vouchers);

  await world.devices.decide('acme', 'JADA-0001', 'approved', 'alice', new Date());
  const tooSoon = await enrol();
  expect(tooSoon.c.server).toMatchObject({ kind: 'failure', reason: expect.stringContaining('the most a device gets') });
  expect(world.audit.entries.filter((e) => e.event === 'brski.enrolment-refused').map((e) => e.detail)).toEqual([
    { during: 'voucher', why: 'denied by an administrator', retryAfter: null },
    { during: 'voucher', why: 'too soon after the last one', retryAfter: expect.any(Number) },
  ]);
  expect(world.masa.calls).toBe(vouchers);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(1);
});
