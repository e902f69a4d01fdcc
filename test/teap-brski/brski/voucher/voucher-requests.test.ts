/**
 * The pledge and registrar voucher-requests (../shared/specs/teap-brski.md §5.2, §6.3), the
 * registrar's content checks on a pledge request (§4.2), the pledge's checks on a voucher (§8), and
 * the IDevID fields they use.
 */
import { X509Certificate, createHash } from 'node:crypto';
import {
  SignedVoucherCms, Voucher, VoucherRequest, checkPledgeVoucherRequest, checkVoucherForPledge, createPledgeVoucherRequest,
  createRegistrarVoucherRequest, idevidIssuerMatches, idevidIssuerOf, serialNumberOf, serializeVoucherJson, signVoucherCms,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { type BrskiPki, makeBrskiPki, makeCert } from './test-pki.js';
import { rfc8995 } from './vectors.js';

let pki: BrskiPki;
beforeAll(async () => {
  pki = await makeBrskiPki('REQ-0099');
});

const code = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

describe('pledge voucher-request', () => {
  it('carries proximity, a fresh 16-octet nonce, the registrar certificate and created-on', () => {
    const a = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der, createdOn: new Date('2026-01-01T00:00:00Z') });
    const b = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der });
    expect(a.toContent()).toEqual({
      assertion: 'proximity',
      createdOn: '2026-01-01T00:00:00.000Z',
      nonce: expect.any(Uint8Array),
      proximityRegistrarCert: pki.registrar.der,
      serialNumber: pki.serialNumber,
    });
    expect(a.nonce).toHaveLength(16);
    expect(hex(a.nonce)).not.toBe(hex(b.nonce));
    expect(createPledgeVoucherRequest({ serialNumber: 'x', proximityRegistrarCert: pki.registrar.der, createdOn: null }).createdOn).toBeUndefined();
  });

  it('passes the registrar checks, and each broken rule fails with its code', () => {
    const expect_ = { registrarCertificate: pki.registrar.der, serialNumber: pki.serialNumber };
    const good = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der });
    expect(code(() => checkPledgeVoucherRequest(good, expect_))).toBe('accepted');
    const withContent = (c: Partial<ConstructorParameters<typeof VoucherRequest>[0]>): VoucherRequest =>
      new VoucherRequest({ ...good.toContent(), ...c });
    expect(code(() => checkPledgeVoucherRequest(withContent({ assertion: 'logged' }), expect_))).toBe('invalid-content');
    expect(code(() => checkPledgeVoucherRequest(withContent({ proximityRegistrarCert: pki.domainCa.der }), expect_))).toBe('proximity-mismatch');
    expect(code(() => checkPledgeVoucherRequest(withContent({ nonce: undefined }), expect_))).toBe('invalid-content');
    expect(code(() => checkPledgeVoucherRequest(withContent({ serialNumber: 'REQ-0100' }), expect_))).toBe('not-for-this-device');
    expect(code(() => checkPledgeVoucherRequest(withContent({ proximityRegistrarCert: undefined }), expect_))).toBe('invalid-content');
    // cBRSKI names the registrar by public key or its hash.
    const spki = new Uint8Array(new X509Certificate(pki.registrar.der).publicKey.export({ type: 'spki', format: 'der' }));
    const bySpki = withContent({ proximityRegistrarCert: undefined, proximityRegistrarPubk: spki });
    const byHash = withContent({ proximityRegistrarCert: undefined, proximityRegistrarPubkSha256: new Uint8Array(createHash('sha256').update(spki).digest()) });
    expect(code(() => checkPledgeVoucherRequest(bySpki, expect_))).toBe('accepted');
    expect(code(() => checkPledgeVoucherRequest(byHash, expect_))).toBe('accepted');
    expect(code(() => checkPledgeVoucherRequest(bySpki, { ...expect_, registrarCertificate: pki.domainCa.der }))).toBe('proximity-mismatch');
  });
});

describe('registrar voucher-request', () => {
  it('copies nonce and assertion, takes serial and idevid-issuer from the IDevID, embeds the PVR verbatim', async () => {
    const pvr = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der });
    const pvrBytes = await signVoucherCms(pvr, { certificate: pki.idevid.der, privateKey: pki.idevid.key });
    const rvr = createRegistrarVoucherRequest({
      idevid: pki.idevid.der,
      priorSigned: { bytes: pvrBytes, request: SignedVoucherCms.decode(pvrBytes).voucherRequest() },
      createdOn: new Date('2026-02-02T02:02:02.002Z'),
    });
    expect(rvr.toContent()).toEqual({
      assertion: 'proximity',
      createdOn: '2026-02-02T02:02:02.002Z',
      idevidIssuer: idevidIssuerOf(pki.idevid.der),
      nonce: pvr.nonce,
      priorSignedVoucherRequest: pvrBytes,
      serialNumber: pki.serialNumber,
    });
    expect(rvr.proximityRegistrarCert).toBeUndefined();
    // AKI extnValue with its OCTET STRING header: 04 16 30 14 80 12 ... or 04 18 30 16 80 14 <20-octet keyId>.
    expect(hex(rvr.idevidIssuer).slice(0, 12)).toBe('041830168014');
  });

  it('keeps the pledge\'s base64url nonce spelling (RFC 8995 example request)', () => {
    const pvr = SignedVoucherCms.decode(rfc8995.vr);
    const idevid = pvr.cms.certificates[0] as Uint8Array;
    expect(serialNumberOf(idevid)).toBe('00-D0-E5-F2-00-02');
    const rvr = createRegistrarVoucherRequest({ idevid, priorSigned: { bytes: pvr.raw, request: pvr.voucherRequest() } });
    expect(rvr.base64Spelling).toEqual({ nonce: '43l_359_7RkcqWGcZR8tgQ' });
    expect(new TextDecoder().decode(serializeVoucherJson(rvr))).toContain('"nonce":"43l_359_7RkcqWGcZR8tgQ"');
  });

  it('builds idevid-issuer from the key when the IDevID has no AKI (RFC 8995\'s example IDevID)', () => {
    const idevid = SignedVoucherCms.decode(rfc8995.vr).cms.certificates[0] as Uint8Array;
    // That certificate's SKI is the SHA-1 of its key (RFC 5280 method 1): our keyId must equal it.
    const ski = '4588cc9696006437b0ba236564645408066c56ad';
    expect(hex(idevidIssuerOf(idevid))).toBe(`041830168014${ski}`);
    expect(idevidIssuerMatches(idevidIssuerOf(idevid), idevid)).toBe(true);
    expect(idevidIssuerMatches(new Uint8Array(Buffer.from(`30168014${ski}`, 'hex')), idevid)).toBe(true);
    expect(idevidIssuerMatches(new Uint8Array(Buffer.from(`30168014${'00'.repeat(20)}`, 'hex')), idevid)).toBe(false);
  });

  it('refuses a PVR whose serial-number is not the IDevID\'s, and builds nonceless requests', async () => {
    const pvr = createPledgeVoucherRequest({ serialNumber: 'SOMEONE-ELSE', proximityRegistrarCert: pki.registrar.der });
    expect(code(() => createRegistrarVoucherRequest({ idevid: pki.idevid.der, priorSigned: { bytes: new Uint8Array([1]), request: pvr } }))).toBe('not-for-this-device');
    const nonceless = createRegistrarVoucherRequest({ idevid: pki.idevid.der });
    expect(Object.keys(nonceless.toContent()).sort()).toEqual(['createdOn', 'idevidIssuer', 'serialNumber']);
    const noSerial = await makeCert({ subject: 'CN=no serial', issuer: pki.manufacturerCa });
    expect(serialNumberOf(noSerial.der)).toBeUndefined();
    expect(code(() => createRegistrarVoucherRequest({ idevid: noSerial.der }))).toBe('invalid-content');
    expect(createRegistrarVoucherRequest({ idevid: noSerial.der, serialNumber: 'FROM-POLICY' }).serialNumber).toBe('FROM-POLICY');
  });
});

describe('checkVoucherForPledge', () => {
  const nonce = new Uint8Array(16).fill(5);
  const base = (): ConstructorParameters<typeof Voucher>[0] => ({
    assertion: 'logged', serialNumber: pki.serialNumber, nonce, pinnedDomainCert: pki.domainCa.der, idevidIssuer: idevidIssuerOf(pki.idevid.der),
  });
  const me = () => ({ serialNumber: pki.serialNumber, idevid: pki.idevid.der, nonce });

  it('accepts the voucher made for this pledge and this request', () => {
    expect(code(() => checkVoucherForPledge(new Voucher(base()), me()))).toBe('accepted');
  });

  it.each<[string, Partial<ConstructorParameters<typeof Voucher>[0]>, Record<string, unknown>, string]>([
    ['another serial-number', { serialNumber: 'OTHER' }, {}, 'not-for-this-device'],
    ['another idevid-issuer', { idevidIssuer: new Uint8Array([4, 1, 0]) }, {}, 'not-for-this-device'],
    ['another nonce', { nonce: new Uint8Array(16).fill(6) }, {}, 'not-for-this-device'],
    ['a nonce when the pledge sent none', {}, { nonce: undefined }, 'not-for-this-device'],
    ['no nonce, nonceless not accepted', { nonce: undefined }, {}, 'not-for-this-device'],
    ['no nonce, nonceless accepted', { nonce: undefined }, { acceptNonceless: true }, 'accepted'],
    ['expired', { expiresOn: '2020-01-01T00:00:00Z' }, {}, 'expired'],
    ['expired, but no clock', { expiresOn: '2020-01-01T00:00:00Z' }, { at: 'ignore-time' }, 'accepted'],
    ['not yet expired', { expiresOn: '2999-01-01T00:00:00Z' }, {}, 'accepted'],
    ['an assertion policy refuses', {}, { acceptedAssertions: ['verified'] }, 'invalid-content'],
    ['an assertion policy accepts', {}, { acceptedAssertions: ['verified', 'logged'] }, 'accepted'],
    ['no pin', { pinnedDomainCert: undefined }, {}, 'no-pin'],
    ['an idevid-issuer without IDevID to compare', {}, { idevid: undefined }, 'not-for-this-device'],
  ])('%s', (_what, change, identity, expected) => {
    expect(code(() => checkVoucherForPledge(new Voucher({ ...base(), ...change }), { ...me(), ...identity }))).toBe(expected);
  });
});
