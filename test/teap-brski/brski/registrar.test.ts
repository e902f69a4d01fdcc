import { X509Certificate } from 'node:crypto';
import { Registrar, RegistrarError, type Pledge, type RegistrarFailure, type RegistrarManufacturer } from '../../../src/teap-brski/brski/registrar.js';
import type { MasaOutcome } from '../../../src/teap-brski/brski/masa-client.js';
import {
  SignedVoucherCms,
  Voucher,
  createPledgeVoucherRequest,
  signVoucherCms,
} from '../../../src/teap-brski/brski/voucher/index.js';
import { SqliteBrskiDeviceStore } from '../../../src/store/sqlite/brski-devices.js';
import { certificatesFromPkcs7 } from '../../../src/pki/ca/pkcs7.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { makeBrskiPki, makeCert, type BrskiPki, type TestCert } from './voucher/test-pki.js';
import { caFixture, makeCsr, type CaFixture } from '../../pki/ca/helpers.js';

/**
 * The registrar's checks (teap-brski.md §4) on their own, with our registrar CA. The MASA here is a
 * test double that signs vouchers with the test manufacturer's MASA key and records what it was
 * sent; the real MASA over HTTPS is exercised by test/masa and the end-to-end tests.
 */

interface MasaDouble {
  requests: Uint8Array[];
  answer: (rvr: Uint8Array) => Promise<MasaOutcome>;
  requestVoucher(url: string, rvr: Uint8Array): Promise<MasaOutcome>;
}

function masaDouble(pki: BrskiPki): MasaDouble {
  const d: MasaDouble = {
    requests: [],
    answer: async (rvr) => {
      const request = SignedVoucherCms.decode(rvr).voucherRequest();
      const voucher = new Voucher({
        assertion: 'logged',
        serialNumber: request.serialNumber,
        ...(request.nonce ? { nonce: request.nonce } : {}),
        pinnedDomainCert: pki.registrar.der,
        createdOn: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      return { kind: 'voucher', der: await signVoucherCms(voucher, { certificate: pki.masa.der, privateKey: pki.masa.key }), contentType: 'application/voucher-cms+json' };
    },
    async requestVoucher(_url, rvr) {
      d.requests.push(rvr);
      return d.answer(rvr);
    },
  };
  return d;
}

let pki: BrskiPki;
let fx: CaFixture;

beforeAll(async () => {
  pki = await makeBrskiPki('JADA-0001');
});
beforeEach(async () => {
  fx = await caFixture();
});
afterEach(() => fx.cleanup());

function registrar(masa: MasaDouble, approval: 'auto' | 'admin' = 'auto', extra: Partial<RegistrarManufacturer> = {}): { r: Registrar; devices: SqliteBrskiDeviceStore; log: MemoryLog } {
  const devices = new SqliteBrskiDeviceStore(fx.db);
  const log = new MemoryLog();
  const r = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa,
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(pki.manufacturerCa.der)], masaUrl: 'https://masa.test:9443', approval, ...extra }],
    devices,
    ca: fx.ca,
    audit: fx.audit,
    log,
  });
  return { r, devices, log };
}

async function pvr(signer: TestCert = pki.idevid, over: { serialNumber?: string; proximity?: Uint8Array } = {}): Promise<Uint8Array> {
  const request = createPledgeVoucherRequest({ serialNumber: over.serialNumber ?? pki.serialNumber, proximityRegistrarCert: over.proximity ?? pki.registrar.der });
  return signVoucherCms(request, { certificate: signer.der, privateKey: signer.key });
}

async function expectFailure(p: Promise<unknown>, failure: RegistrarFailure): Promise<RegistrarError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistrarError);
    expect((err as RegistrarError).failure).toBe(failure);
    return err as RegistrarError;
  }
  throw new Error(`expected ${failure}`);
}

const chainOf = (...c: TestCert[]): X509Certificate[] => c.map((x) => new X509Certificate(x.der));

describe('Registrar (RFC 8995 §5, teap-brski.md §4)', () => {
  test('identify: manufacturer by IDevID issuer, serial-number from the subject serialNumber, device id manufacturer:serial', () => {
    const { r } = registrar(masaDouble(pki));
    const p = r.identify(chainOf(pki.idevid));
    expect(p).toMatchObject({ serialNumber: 'JADA-0001', deviceId: 'acme:JADA-0001', masaUrl: 'https://masa.test:9443' });
  });

  test('identify refuses a certificate of no trusted manufacturer, one without serialNumber, and one without any MASA URL', async () => {
    const { r } = registrar(masaDouble(pki));
    const stranger = await makeBrskiPki('X-1');
    expect(() => r.identify(chainOf(stranger.idevid))).toThrow(expect.objectContaining({ failure: 'unknown-manufacturer' }) as Error);
    const noSerial = await makeCert({ subject: 'CN=no serial', issuer: pki.manufacturerCa });
    expect(() => r.identify(chainOf(noSerial))).toThrow(expect.objectContaining({ failure: 'no-serial-number' }) as Error);
    const { r: noUrl } = (() => {
      const devices = new SqliteBrskiDeviceStore(fx.db);
      return { r: new Registrar({ signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key }, masa: masaDouble(pki), manufacturers: [{ name: 'acme', anchors: [new X509Certificate(pki.manufacturerCa.der)], approval: 'auto' }], devices, ca: fx.ca, audit: fx.audit, log: new MemoryLog() }) };
    })();
    expect(() => noUrl.identify(chainOf(pki.idevid))).toThrow(/no MASA URL/);
  });

  test('voucher obtained: the RVR is signed by us, carries the PVR verbatim, its nonce and serial, no proximity cert; the voucher is forwarded unchanged', async () => {
    const masa = masaDouble(pki);
    let sent: Uint8Array | undefined;
    const inner = masa.answer;
    masa.answer = async (rvr) => {
      const out = await inner(rvr);
      if (out.kind === 'voucher') sent = out.der;
      return out;
    };
    const { r } = registrar(masa);
    const request = await pvr();
    const grant = await r.requestVoucher(r.identify(chainOf(pki.idevid)), request, pki.registrar.der);
    expect(Buffer.from(grant.voucher).equals(Buffer.from(sent!))).toBe(true);
    const rvr = SignedVoucherCms.decode(masa.requests[0]!);
    const signer = await rvr.verify({ trustAnchors: [pki.domainCa.der] });
    expect(Buffer.from(signer.signerCertificate!).equals(Buffer.from(pki.registrar.der))).toBe(true);
    const content = rvr.voucherRequest();
    const pledgeRequest = SignedVoucherCms.decode(request).voucherRequest();
    expect(content.serialNumber).toBe('JADA-0001');
    expect(Buffer.from(content.nonce!).equals(Buffer.from(pledgeRequest.nonce!))).toBe(true);
    expect(Buffer.from(content.priorSignedVoucherRequest!).equals(Buffer.from(request))).toBe(true);
    expect(content.proximityRegistrarCert).toBeUndefined();
    expect(content.idevidIssuer).toBeDefined();
    expect((await fx.audit.recent(10)).some((e) => e.event === 'brski.voucher' && e.subject === 'acme:JADA-0001')).toBe(true);
  });

  test('§4.2.1: a voucher-request signed by another certificate than the tunnel\'s IDevID is refused', async () => {
    const { r } = registrar(masaDouble(pki));
    const other = await makeCert({ subject: `CN=Other, 2.5.4.5=${pki.serialNumber}`, issuer: pki.manufacturerCa });
    await expectFailure(r.requestVoucher(r.identify(chainOf(pki.idevid)), await pvr(other), pki.registrar.der), 'bad-voucher-request');
  });

  test('§4.2.4: a proximity-registrar-cert other than our TLS certificate is a MITM: refused', async () => {
    const { r } = registrar(masaDouble(pki));
    const rogue = await makeCert({ subject: 'CN=rogue registrar', issuer: pki.domainCa });
    await expectFailure(r.requestVoucher(r.identify(chainOf(pki.idevid)), await pvr(pki.idevid, { proximity: rogue.der }), pki.registrar.der), 'proximity-mismatch');
  });

  test('§4.2.6: a voucher-request for another serial-number is refused; junk bytes too', async () => {
    const { r } = registrar(masaDouble(pki));
    const p = r.identify(chainOf(pki.idevid));
    await expectFailure(r.requestVoucher(p, await pvr(pki.idevid, { serialNumber: 'JADA-9999' }), pki.registrar.der), 'bad-voucher-request');
    await expectFailure(r.requestVoucher(p, new Uint8Array([0x30, 0x03, 0x01, 0x01, 0xff]), pki.registrar.der), 'bad-voucher-request');
  });

  test('ownership: with admin approval an unknown pledge is recorded pending and refused, then served once approved; a denied one never', async () => {
    const masa = masaDouble(pki);
    const { r, devices } = registrar(masa, 'admin');
    const p = r.identify(chainOf(pki.idevid));
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'pending-approval');
    expect((await devices.get('acme', 'JADA-0001'))?.status).toBe('pending');
    expect(masa.requests).toHaveLength(0);
    expect((await fx.audit.recent(10)).some((e) => e.event === 'brski.approval-needed')).toBe(true);
    await devices.decide('acme', 'JADA-0001', 'approved', 'admin', new Date());
    await r.requestVoucher(p, await pvr(), pki.registrar.der);
    await devices.decide('acme', 'JADA-0001', 'denied', 'admin', new Date());
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'not-authorized');
  });

  // FAILS at 8a6e92b (a hostile review): enrolment after the voucher did not look at the
  // administrator's decision again, so a device denied within an HTTPS voucher grant's 15 minutes
  // (or during a flow-B conversation) was issued LDevIDs, then told "too soon" with a Retry-After.
  test('enrolment judges the administrator\'s decision again: a device denied or sent back to pending after its voucher gets no LDevID, audited within its budget', async () => {
    const masa = masaDouble(pki);
    const { r, devices } = registrar(masa, 'admin');
    const p = r.identify(chainOf(pki.idevid));
    await devices.decide('acme', 'JADA-0001', 'approved', 'admin', new Date());
    await r.requestVoucher(p, await pvr(), pki.registrar.der);
    const device = { deviceId: p.deviceId, authenticatedBy: 'idevid:acme', manufacturer: 'acme', serialNumber: 'JADA-0001' };
    await devices.decide('acme', 'JADA-0001', 'denied', 'admin', new Date());
    for (let i = 0; i < 4; i++) await expectFailure(r.enroll(device, (await makeCsr({ subject: 'CN=x' })).der), 'not-authorized');
    await devices.decide('acme', 'JADA-0001', 'pending', 'admin', new Date());
    for (let i = 0; i < 4; i++) await expectFailure(r.enroll(device, (await makeCsr({ subject: 'CN=x' })).der), 'pending-approval');
    // A manufacturer no longer configured (a reload since the voucher) vouches for nothing.
    await expectFailure(r.enroll({ ...device, manufacturer: 'gone', deviceId: 'gone:JADA-0001' }, (await makeCsr({ subject: 'CN=x' })).der), 'unknown-manufacturer');
    expect(await fx.store.listByDevice(p.deviceId)).toHaveLength(0);
    const audited = (await fx.audit.recent(50)).reverse().filter((e) => e.event === 'brski.enrolment-refused' || e.event === 'brski.approval-needed');
    expect(audited.map((e) => [e.event, e.detail])).toEqual([
      ['brski.enrolment-refused', { during: 'enrolment', why: 'denied by an administrator', retryAfter: null }],
      ['brski.approval-needed', { manufacturer: 'acme', serialNumber: 'JADA-0001' }],
    ]);
  });

  test('MASA refuses, is unavailable, answers garbage, a voucher for another serial, or another nonce: refused, nothing forwarded', async () => {
    const masa = masaDouble(pki);
    const { r } = registrar(masa);
    const p: Pledge = r.identify(chainOf(pki.idevid));
    masa.answer = async () => ({ kind: 'refused', status: 404, message: 'unknown device' });
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'masa-refused');
    masa.answer = async () => ({ kind: 'unavailable', reason: 'timeout after 8000 ms' });
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'masa-unavailable');
    masa.answer = async () => ({ kind: 'voucher', der: new Uint8Array(Buffer.from('<html>oops</html>')), contentType: 'text/html' });
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'bad-voucher');
    const sign = async (v: Voucher): Promise<MasaOutcome> => ({ kind: 'voucher', der: await signVoucherCms(v, { certificate: pki.masa.der, privateKey: pki.masa.key }), contentType: '' });
    masa.answer = async () => sign(new Voucher({ assertion: 'logged', serialNumber: 'JADA-0002', pinnedDomainCert: pki.registrar.der }));
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'bad-voucher');
    masa.answer = async () => sign(new Voucher({ assertion: 'logged', serialNumber: 'JADA-0001', nonce: new Uint8Array(16), pinnedDomainCert: pki.registrar.der }));
    await expectFailure(r.requestVoucher(p, await pvr(), pki.registrar.der), 'bad-voucher');
    expect((await fx.audit.recent(20)).filter((e) => e.event === 'brski.masa-refused' || e.event === 'brski.masa-unavailable')).toHaveLength(2);
  });

  test('enrolment: the LDevID names the device as our policy says, ships with our CA in a certs-only PKCS#7; a bad CSR is 1025 and issues nothing', async () => {
    const { r, devices } = registrar(masaDouble(pki));
    const p = r.identify(chainOf(pki.idevid));
    await r.requestVoucher(p, await pvr(), pki.registrar.der);
    const csr = await makeCsr({ subject: 'CN=acme:JADA-0001' });
    const issued = await r.enroll({ deviceId: p.deviceId, authenticatedBy: 'idevid:acme', manufacturer: 'acme', serialNumber: 'JADA-0001' }, csr.der);
    const certs = certificatesFromPkcs7(issued.pkcs7).map((d) => new X509Certificate(d));
    expect(certs).toHaveLength(2);
    expect(certs[0]!.subject).toContain('CN=acme:JADA-0001');
    expect(Buffer.from(certs[1]!.raw).equals(Buffer.from(fx.ca.certificateDer))).toBe(true);
    expect(certs[0]!.verify(certs[1]!.publicKey)).toBe(true);
    expect((await devices.get('acme', 'JADA-0001'))?.ldevidSerial).toBe(issued.serial);
    const bad = new Uint8Array(csr.der);
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x01;
    const err = await expectFailure(r.enroll({ deviceId: p.deviceId, authenticatedBy: 'idevid:acme' }, bad), 'bad-csr');
    expect(err.teapErrorCode).toBe(1025);
    const mismatch = await makeCsr({ subject: 'CN=someone-else' });
    expect((await expectFailure(r.enroll({ deviceId: p.deviceId, authenticatedBy: 'idevid:acme' }, mismatch.der), 'bad-csr')).teapErrorCode).toBe(1024);
    expect(await fx.store.listByDevice(p.deviceId)).toHaveLength(1);
  });
});

describe('Registrar: voucher-request bytes that asn1js itself chokes on', () => {
  test('an empty GeneralizedTime inside a SEQUENCE (asn1js throws a plain Error) is a typed refusal', async () => {
    const { r } = registrar(masaDouble(pki));
    await expectFailure(r.requestVoucher(r.identify(chainOf(pki.idevid)), new Uint8Array([0x30, 0x02, 0x18, 0x00]), pki.registrar.der), 'bad-voucher-request');
  });
});
