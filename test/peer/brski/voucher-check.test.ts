import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { acceptVoucher, type VoucherExpectations } from '../../../src/peer/brski/voucher-check.js';
import { Voucher, VoucherError, VoucherRequest, idevidIssuerOf, signVoucherCms, type VoucherContent } from '../../../src/teap-brski/brski/voucher/index.js';
import { toDateAndTime } from '../../../src/teap-brski/brski/voucher/yang-types.js';
import { makeCert } from '../../teap-brski/brski/voucher/test-pki.js';
import { brskiPki, flipLastByte, rogueSigner, signedVoucher } from './brski-world.js';

/** ../shared/specs/teap-brski.md §8 item by item, without TEAP around it. */
async function setup() {
  const pki = await brskiPki();
  const nonce = new Uint8Array(randomBytes(16));
  const expect: VoucherExpectations = {
    manufacturerAnchors: [pki.manufacturerCa.der],
    serialNumber: pki.serialNumber,
    idevid: pki.idevid.der,
    nonce,
    serverChain: [pki.registrar.der, pki.domainCa.der],
  };
  const content: VoucherContent = { createdOn: toDateAndTime(new Date()), assertion: 'proximity', serialNumber: pki.serialNumber, nonce, pinnedDomainCert: pki.registrar.der };
  return { pki, expect, content };
}

async function refusal(p: Promise<unknown>): Promise<VoucherError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VoucherError);
  return err as VoucherError;
}

describe('acceptVoucher (the pledge\'s checks)', () => {
  test('a good voucher: EE pin, idevid-issuer, nonce', async () => {
    const { pki, expect: e, content } = await setup();
    const v = await acceptVoucher(await signedVoucher(pki, { ...content, idevidIssuer: idevidIssuerOf(pki.idevid.der) }), e);
    expect(v.pin.kind).toBe('cert');
    expect(v.path).toHaveLength(1);
    expect(v.voucher.assertion).toBe('proximity');
  });

  test('pins: the domain CA (path through it), the server key\'s SHA-256', async () => {
    const { pki, expect: e, content } = await setup();
    const byCa = await acceptVoucher(await signedVoucher(pki, { ...content, pinnedDomainCert: pki.domainCa.der }), e);
    expect(byCa.path).toHaveLength(2);
    const spki = new X509Certificate(pki.registrar.der).publicKey.export({ type: 'spki', format: 'der' });
    const { pinnedDomainCert: _c, ...rest } = content;
    const byHash = await acceptVoucher(await signedVoucher(pki, { ...rest, pinnedDomainPubkSha256: new Uint8Array(createHash('sha256').update(spki).digest()) }), e);
    expect(byHash.pin.kind).toBe('pubk-sha256');
  });

  test('signature: tampered bytes, an unknown signer → Invalid-Signature', async () => {
    const { pki, expect: e, content } = await setup();
    expect((await refusal(acceptVoucher(flipLastByte(await signedVoucher(pki, content)), e))).teapError).toBe('Invalid-Signature');
    expect((await refusal(acceptVoucher(await signedVoucher(pki, content, await rogueSigner()), e))).teapError).toBe('Invalid-Signature');
  });

  test('content: another serial, another idevid-issuer, another nonce, no nonce, no pin, a voucher-request → Invalid-Voucher', async () => {
    const { pki, expect: e, content } = await setup();
    const { nonce: _n, ...nonceless } = content;
    const { pinnedDomainCert: _p, ...pinless } = content;
    const bad: VoucherContent[] = [
      { ...content, serialNumber: 'OTHER' },
      { ...content, idevidIssuer: idevidIssuerOf(pki.registrar.der) },
      { ...content, nonce: new Uint8Array(16) },
      nonceless,
      pinless,
    ];
    for (const c of bad) expect((await refusal(acceptVoucher(await signedVoucher(pki, c), e))).teapError).toBe('Invalid-Voucher');
    const pvr = await signVoucherCms(new VoucherRequest({ ...content, proximityRegistrarCert: pki.registrar.der }), { certificate: pki.masa.der, privateKey: pki.masa.key });
    expect((await refusal(acceptVoucher(pvr, e))).teapError).toBe('Invalid-Voucher');
    expect((await refusal(acceptVoucher(Uint8Array.of(0x30, 0x03, 1, 2, 3), e))).teapError).toBe('Invalid-Voucher');
  });

  test('nonceless: only with reduced security allowed, and only before expires-on (unless the pledge has no clock)', async () => {
    const { pki, expect: e, content } = await setup();
    const { nonce: _n, ...nonceless } = content;
    const fresh = await signedVoucher(pki, { ...nonceless, expiresOn: toDateAndTime(new Date(Date.now() + 600_000)) });
    await expect(acceptVoucher(fresh, { ...e, acceptNonceless: true })).resolves.toBeDefined();
    const stale = await signedVoucher(pki, { ...nonceless, expiresOn: toDateAndTime(new Date(Date.now() - 600_000)) });
    expect((await refusal(acceptVoucher(stale, { ...e, acceptNonceless: true }))).code).toBe('expired');
    await expect(acceptVoucher(stale, { ...e, acceptNonceless: true, at: 'ignore-time' })).resolves.toBeDefined();
  });

  test('the pin does not validate the server: another EE pin, another CA, a chain the server did not send → Invalid-TLS-Signer', async () => {
    const { pki, expect: e, content } = await setup();
    const otherCa = await makeCert({ subject: 'CN=Other CA', ca: true });
    const otherEe = await makeCert({ subject: 'CN=other.example', issuer: pki.domainCa });
    for (const pin of [otherCa.der, otherEe.der]) {
      expect((await refusal(acceptVoucher(await signedVoucher(pki, { ...content, pinnedDomainCert: pin }), e))).teapError).toBe('Invalid-TLS-Signer');
    }
    // A CA pin needs the path: here the manufacturer CA, which did not issue the server certificate.
    expect((await refusal(acceptVoucher(await signedVoucher(pki, { ...content, pinnedDomainCert: pki.manufacturerCa.der }), e))).teapError).toBe('Invalid-TLS-Signer');
    expect((await refusal(acceptVoucher(await signedVoucher(pki, content), { ...e, serverChain: [] }))).teapError).toBe('Invalid-TLS-Signer');
  });

  test('domain-cert-revocation-checks true: the pledge cannot check, so it refuses (Invalid-TLS-Signer)', async () => {
    const { pki, expect: e, content } = await setup();
    const err = await refusal(acceptVoucher(await signedVoucher(pki, { ...content, domainCertRevocationChecks: true }), e));
    expect(err.teapError).toBe('Invalid-TLS-Signer');
    expect(err.message).toMatch(/revocation/);
  });

  test('a voucher signed by another device\'s IDevID (same manufacturer CA) is refused: devices are no voucher signers', async () => {
    const { pki, expect: e, content } = await setup();
    const otherDevice = await makeCert({ subject: 'CN=Other Pledge, 2.5.4.5=JADA-9999', issuer: pki.manufacturerCa, eku: ['1.3.6.1.5.5.7.3.2'] });
    const forged = await signVoucherCms(new Voucher(content), { certificate: otherDevice.der, privateKey: otherDevice.key });
    const err = await refusal(acceptVoucher(forged, e));
    expect(err.code).toBe('signer-untrusted');
    expect(err.teapError).toBe('Invalid-Signature');
    const noSerialButClientAuth = await makeCert({ subject: 'CN=Other Pledge', issuer: pki.manufacturerCa, eku: ['1.3.6.1.5.5.7.3.2'] });
    const forged2 = await signVoucherCms(new Voucher(content), { certificate: noSerialButClientAuth.der, privateKey: noSerialButClientAuth.key });
    expect((await refusal(acceptVoucher(forged2, e))).code).toBe('signer-untrusted');
  });
});
