import { isDeepStrictEqual } from 'node:util';
import { Voucher, VoucherError, VoucherRequest, SignedVoucherCms, SignedVoucherCose, checkPledgeVoucherRequest, checkVoucherForPledge, decodeVoucherArtifactCbor, domainPinOf, encodeVoucherCbor, parseVoucherArtifactJson, serializeVoucherJson, type AnyVoucherArtifact } from '../../../src/teap-brski/brski/voucher/index.js';
import { generateDemoPki } from '../../../src/pki/demo-pki.js';
import { invariant, type FuzzTarget, type Seed } from '../engine/target.js';
import { tolerate, tolerateAsync } from './tolerate.js';

const expected = (err: unknown): boolean => err instanceof VoucherError;

/**
 * Where a decoded artefact goes next, whichever container it came in: the content checks of the
 * registrar (pledge voucher-request) and the pledge (voucher), the pin, and both serializations,
 * which must give back the same leaves.
 */
async function artifactChecks(a: AnyVoucherArtifact, registrarCertificate: Uint8Array): Promise<void> {
  if (a instanceof VoucherRequest) tolerate(expected, () => checkPledgeVoucherRequest(a, { registrarCertificate, serialNumber: 'JADA-0001' }));
  if (a instanceof Voucher) {
    tolerate(expected, () => checkVoucherForPledge(a, { serialNumber: a.serialNumber, acceptNonceless: true, at: 'ignore-time' }));
    tolerate(expected, () => domainPinOf(a));
  }
  const json = tolerate(expected, () => parseVoucherArtifactJson(serializeVoucherJson(a)));
  invariant(json !== undefined, 'a decoded artefact does not survive JSON serialization');
  const cbor = tolerate(expected, () => decodeVoucherArtifactCbor(encodeVoucherCbor(a)));
  invariant(cbor !== undefined, 'a decoded artefact does not survive CBOR serialization');
  // Leaves, not text: CBOR keeps no record of how the JSON spelled a base64 value.
  invariant(json.kind === a.kind && isDeepStrictEqual(json.toContent(), a.toContent()), 'JSON round trip changed the artefact');
  invariant(cbor.kind === a.kind && isDeepStrictEqual(cbor.toContent(), a.toContent()), 'CBOR round trip changed the artefact');
}

let registrar: Promise<Uint8Array> | undefined;
const registrarCertificate = (): Promise<Uint8Array> => (registrar ??= generateDemoPki('registrar.fuzz.example').then((p) => new Uint8Array(Buffer.from(p.server.certPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'))));

/**
 * Signed JSON vouchers and voucher-requests (RFC 8366/8366bis in CMS SignedData, RFC 8995): the CMS
 * structure, the JSON inside, the signature check and the path to a trust anchor; the same bytes as
 * bare JSON too. Only `VoucherError` may come out (its code says which HTTP status and TEAP-BRSKI
 * error class follow).
 */
export const voucherCms: FuzzTarget = {
  name: 'voucher-cms',
  description: 'BRSKI voucher / voucher-request in CMS SignedData (JSON inside), signature and chain checks',
  maxLength: 12_000,
  dependencies: ['asn1js', 'pkijs'],
  expected,
  hints: {
    dictionary: ['"ietf-voucher:voucher"', '"ietf-voucher-request:voucher"', '"assertion"', '"serial-number"', '"nonce"', '"pinned-domain-cert"', '"proximity-registrar-cert"', '"created-on"', '"expires-on"', '"idevid-issuer"', '"prior-signed-voucher-request"']
      .map((s) => new Uint8Array(Buffer.from(s)))
      .concat([Uint8Array.of(0x30, 0x82), Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02), Uint8Array.of(0xa0, 0x80), Uint8Array.of(0x04, 0x82)]),
  },
  async setup() {
    const cert = await registrarCertificate();
    return async (data) => {
      const json = tolerate(expected, () => parseVoucherArtifactJson(data));
      if (json) await artifactChecks(json, cert);
      const cms = SignedVoucherCms.decode(data);
      const artifact = tolerate(expected, () => cms.artifact());
      if (artifact) await artifactChecks(artifact, cert);
      await tolerateAsync(expected, () => cms.verify());
      await tolerateAsync(expected, () => cms.verify({ trustAnchors: [cert], at: new Date('2020-02-03T06:51:04Z') }));
    };
  },
};

/**
 * Signed CBOR vouchers and voucher-requests (cBRSKI, COSE_Sign1): the COSE structure and headers,
 * the CBOR inside, signature checks (carried certificates, a given key); the same bytes as bare
 * CBOR too. Only `VoucherError` may come out.
 */
export const voucherCose: FuzzTarget = {
  name: 'voucher-cose',
  description: 'cBRSKI voucher / voucher-request in COSE_Sign1 (CBOR inside), header and signature checks',
  maxLength: 8000,
  dependencies: ['cbor-x'],
  expected,
  hints: { dictionary: [Uint8Array.of(0xd2, 0x84), Uint8Array.of(0xa1, 0x01, 0x26), Uint8Array.of(0x18, 0x20), Uint8Array.of(0x18, 0x21), Uint8Array.of(0x19, 0x09, 0x93), Uint8Array.of(0x19, 0x09, 0xc5), Uint8Array.of(0x02), Uint8Array.of(0xf6), Uint8Array.of(0x9f), Uint8Array.of(0xbf), Uint8Array.of(0xff)] },
  async setup() {
    const cert = await registrarCertificate();
    return async (data) => {
      const cbor = tolerate(expected, () => decodeVoucherArtifactCbor(data));
      if (cbor) await artifactChecks(cbor, cert);
      const cose = SignedVoucherCose.decode(data);
      const artifact = tolerate(expected, () => cose.artifact());
      if (artifact) await artifactChecks(artifact, cert);
      tolerate(expected, () => cose.verify());
      tolerate(expected, () => cose.verify({ signer: cert }));
      tolerate(expected, () => SignedVoucherCose.decode(cose.withoutUnprotectedCertificates()));
    };
  },
};

function pemBody(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

voucherCms.makeSeeds = async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(process.cwd(), 'test', 'teap-brski', 'brski', 'voucher', 'fixtures');
  const seeds: Seed[] = ['rfc8995-vr', 'rfc8995-parboiled-vr', 'rfc8995-voucher'].map((n) => ({
    name: n, data: pemBody(readFileSync(join(dir, `${n}.pem`), 'utf8')), comment: `test/teap-brski/brski/voucher/fixtures/${n}.pem (anima-wg/anima-bootstrap examples, see its README)`,
  }));
  const { makeBrskiPki } = await import('../../teap-brski/brski/voucher/test-pki.js');
  const { createPledgeVoucherRequest, signVoucherCms } = await import('../../../src/teap-brski/brski/voucher/index.js');
  const pki = await makeBrskiPki();
  const pvr = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der, nonce: new Uint8Array(16).fill(7), createdOn: new Date('2026-01-01T00:00:00Z') });
  const signedPvr = await signVoucherCms(pvr, { certificate: pki.idevid.der, privateKey: pki.idevid.key }, { signingTime: new Date('2026-01-01T00:00:00Z') });
  seeds.push({ name: 'ours-pvr-cms', data: signedPvr, comment: 'createPledgeVoucherRequest + signVoucherCms with a test IDevID (test-pki.ts)' });
  const voucher = new Voucher({ assertion: 'logged', serialNumber: pki.serialNumber, pinnedDomainCert: pki.domainCa.der, nonce: new Uint8Array(16).fill(7), createdOn: '2026-01-01T00:00:00Z', expiresOn: '2027-01-01T00:00:00Z' });
  seeds.push({ name: 'ours-voucher-cms', data: await signVoucherCms(voucher, { certificate: pki.masa.der, privateKey: pki.masa.key, chain: [pki.manufacturerCa.der] }), comment: 'a MASA voucher signed with signVoucherCms, with the manufacturer CA carried' });
  seeds.push({ name: 'ours-voucher-json', data: serializeVoucherJson(voucher), comment: 'the same voucher as bare JSON' });
  return seeds;
};

voucherCose.makeSeeds = async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(process.cwd(), 'test', 'teap-brski', 'brski', 'voucher', 'fixtures');
  const seeds: Seed[] = ['cbrski-pvr', 'cbrski-rvr', 'cbrski-voucher'].map((n) => ({
    name: n, data: new Uint8Array(Buffer.from(readFileSync(join(dir, `${n}.hex`), 'utf8').replace(/\s+/g, ''), 'hex')), comment: `test/teap-brski/brski/voucher/fixtures/${n}.hex (draft-ietf-anima-constrained-voucher examples, see its README)`,
  }));
  const { makeBrskiPki } = await import('../../teap-brski/brski/voucher/test-pki.js');
  const { signVoucherCose } = await import('../../../src/teap-brski/brski/voucher/index.js');
  const pki = await makeBrskiPki();
  const voucher = new Voucher({ assertion: 'logged', serialNumber: pki.serialNumber, pinnedDomainPubk: new Uint8Array(pki.registrar.cert.publicKey.rawData), nonce: new Uint8Array(8).fill(9), createdOn: '2026-01-01T00:00:00Z' });
  seeds.push({ name: 'ours-voucher-cose', data: signVoucherCose(voucher, { privateKey: pki.masa.key, certificates: [pki.masa.der] }), comment: 'a voucher signed with signVoucherCose (ES256), the MASA certificate in x5bag' });
  seeds.push({ name: 'ours-voucher-cbor', data: encodeVoucherCbor(voucher), comment: 'the same voucher as bare CBOR (SID-keyed)' });
  return seeds;
};
