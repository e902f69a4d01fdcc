/**
 * CMS-signed JSON artefacts: our sign -> our verify for every key type, the trust-anchor step, each
 * refusal, and the real RFC 8995-era artefacts (id-data, SignedData v1) from fixtures/.
 */
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  ID_CT_ANIMA_JSON_VOUCHER, ID_DATA, MAX_ARTIFACT_BYTES, SignedCms, SignedVoucherCms, Voucher, VoucherError, checkServerAgainstPin,
  signCms, signVoucherCms,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { type BrskiPki, type KeyKind, makeBrskiPki, makeCert } from './test-pki.js';
import { rfc8995 } from './vectors.js';

let pki: BrskiPki;
beforeAll(async () => {
  pki = await makeBrskiPki();
});

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VoucherError) return e.code;
    throw e;
  }
  return 'accepted';
}

function voucherFor(p: BrskiPki): Voucher {
  return new Voucher({
    assertion: 'proximity',
    createdOn: '2026-03-01T10:00:00.000Z',
    serialNumber: p.serialNumber,
    nonce: new Uint8Array(16).fill(7),
    pinnedDomainCert: p.domainCa.der,
    domainCertRevocationChecks: false,
  });
}

describe('CMS voucher signing and verification', () => {
  it('signs with id-ct-animaJSONVoucher (SignedData v3) and verifies: signer, carried chain, signing time, content', async () => {
    const v = voucherFor(pki);
    const signingTime = new Date('2026-03-01T10:00:01Z');
    const bytes = await signVoucherCms(v, { certificate: pki.masa.der, privateKey: pki.masa.key, chain: [pki.manufacturerCa.der] }, { signingTime });
    const signed = SignedVoucherCms.decode(bytes);
    expect(signed.raw).toEqual(bytes);
    expect(signed.cms.eContentType).toBe(ID_CT_ANIMA_JSON_VOUCHER);
    expect(signed.cms.contentType).toBe('anima-json-voucher');
    const verified = await signed.verify();
    expect(verified.signerCertificate).toEqual(pki.masa.der);
    expect(verified.certificates).toEqual([pki.masa.der, pki.manufacturerCa.der]);
    expect(verified.signingTime).toEqual(signingTime);
    expect(verified.path).toBeUndefined();
    expect(signed.voucher()).toEqual(v);
    // SignedData version 3 (RFC 5652 §5.1: eContentType other than id-data).
    const sd = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: asn1js.fromBER(new Uint8Array(bytes)).result }).content });
    expect(sd.version).toBe(3);
  });

  it('writes id-data (SignedData v1) when asked, for MASAs built on the RFC 8995 reference code', async () => {
    const bytes = await signVoucherCms(voucherFor(pki), { certificate: pki.masa.der, privateKey: pki.masa.key }, { contentType: 'data' });
    const signed = SignedVoucherCms.decode(bytes);
    expect(signed.cms.eContentType).toBe(ID_DATA);
    expect((await signed.verify()).signerCertificate).toEqual(pki.masa.der);
  });

  it.each<KeyKind>(['p256', 'p384', 'rsa'])('signs and verifies with a %s key', async (keyKind) => {
    const ca = await makeCert({ subject: `CN=${keyKind} CA`, ca: true, keyKind });
    const signer = await makeCert({ subject: `CN=${keyKind} signer`, issuer: ca, keyKind });
    const bytes = await signVoucherCms(voucherFor(pki), { certificate: signer.der, privateKey: signer.key, chain: [ca.der] });
    const verified = await SignedVoucherCms.decode(bytes).verify({ trustAnchors: [ca.der] });
    expect(verified.path).toEqual([signer.der, ca.der]);
  });

  it('checks the signer against trust anchors: right anchor, wrong anchor, validity time', async () => {
    const bytes = await signVoucherCms(voucherFor(pki), { certificate: pki.masa.der, privateKey: pki.masa.key });
    const signed = SignedVoucherCms.decode(bytes);
    // The CA need not be carried when the verifier has it as anchor.
    expect((await signed.verify({ trustAnchors: [pki.manufacturerCa.der] })).path).toEqual([pki.masa.der, pki.manufacturerCa.der]);
    await expect(signed.verify({ trustAnchors: [pki.domainCa.der] })).rejects.toMatchObject({ code: 'signer-untrusted', teapError: 'Invalid-Signature' });
    await expect(signed.verify({ trustAnchors: [pki.manufacturerCa.der], at: new Date('2001-01-01T00:00:00Z') })).rejects.toMatchObject({ code: 'signer-untrusted' });
    expect((await signed.verify({ trustAnchors: [pki.manufacturerCa.der], at: 'ignore-time' })).path).toHaveLength(2);
    // A signer that is itself the anchor.
    expect((await signed.verify({ trustAnchors: [pki.masa.der] })).path).toEqual([pki.masa.der]);
  });

  it('refuses a signer certificate that does not match the key', async () => {
    expect(await rejection(signVoucherCms(voucherFor(pki), { certificate: pki.registrar.der, privateKey: pki.masa.key }))).toBe('signature-invalid');
  });

  it('detects a changed content octet and a changed signature octet', async () => {
    const bytes = await signVoucherCms(voucherFor(pki), { certificate: pki.masa.der, privateKey: pki.masa.key });
    const contentAt = Buffer.from(bytes).indexOf(Buffer.from(pki.serialNumber));
    const content = new Uint8Array(bytes);
    content[contentAt] = (content[contentAt] as number) ^ 0x01;
    expect(await rejection(SignedVoucherCms.decode(content).verify())).toBe('signature-invalid');
    const signature = new Uint8Array(bytes);
    signature[signature.length - 5] = (signature[signature.length - 5] as number) ^ 0x01;
    expect(await rejection(SignedVoucherCms.decode(signature).verify())).toBe('signature-invalid');
  });

  it('refuses a content-type attribute that differs from eContentType', async () => {
    const bytes = await customSignedData({ attrContentType: ID_DATA, eContentType: ID_CT_ANIMA_JSON_VOUCHER });
    expect(await rejection(SignedCms.decode(bytes).verifySignature())).toBe('signature-invalid');
    const consistent = await customSignedData({ attrContentType: ID_DATA, eContentType: ID_DATA });
    expect((await SignedCms.decode(consistent).verifySignature()).signerCertificate).toEqual(pki.masa.der);
  });

  it('refuses a SignedData with two signers, without signed attributes, with a SHA-1 digest', async () => {
    expect(await rejection(Promise.resolve().then(async () => SignedCms.decode(await customSignedData({ signers: 2 }))))).toBe('malformed');
    expect(await rejection(SignedCms.decode(await customSignedData({ noAttributes: true })).verifySignature())).toBe('signature-invalid');
    expect(await rejection(SignedCms.decode(await customSignedData({ hash: 'SHA-1' })).verifySignature())).toBe('unsupported');
  });

  it('refuses other content types, detached content, non-SignedData, junk, trailing bytes and oversize input', async () => {
    expect(await rejection(Promise.resolve().then(async () => SignedCms.decode(await customSignedData({ eContentType: '1.2.840.113549.1.9.16.1.4', attrContentType: '1.2.840.113549.1.9.16.1.4' }))))).toBe('unsupported');
    expect(await rejection(Promise.resolve().then(async () => SignedCms.decode(await customSignedData({ detached: true }))))).toBe('unsupported');
    const dataContentInfo = new Uint8Array(new pkijs.ContentInfo({ contentType: ID_DATA, content: new asn1js.OctetString({ valueHex: new Uint8Array(4) }) }).toSchema().toBER());
    const decode = (b: Uint8Array): Promise<unknown> => Promise.resolve().then(() => SignedCms.decode(b));
    expect(await rejection(decode(dataContentInfo))).toBe('unsupported');
    expect(await rejection(decode(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])))).toBe('malformed');
    expect(await rejection(decode(new Uint8Array([0xde, 0xad])))).toBe('malformed');
    const good = await signVoucherCms(voucherFor(pki), { certificate: pki.masa.der, privateKey: pki.masa.key });
    expect(await rejection(decode(new Uint8Array([...good, 0])))).toBe('malformed');
    expect(await rejection(decode(new Uint8Array(MAX_ARTIFACT_BYTES + 1)))).toBe('too-large');
  });

  it('refuses an eContent that is not an OCTET STRING (found by the mutation property)', async () => {
    const bytes = new Uint8Array(await signVoucherCms(voucherFor(pki), { certificate: pki.masa.der, privateKey: pki.masa.key }));
    const json = Buffer.from(bytes).indexOf(Buffer.from('{"ietf-voucher'));
    const tagAt = [json - 2, json - 3, json - 4].find((i) => bytes[i] === 0x04) as number;
    bytes[tagAt] = 0x0c; // UTF8String, same length
    expect(await rejection(Promise.resolve().then(() => SignedCms.decode(bytes)))).toBe('malformed');
  });

  it('signs arbitrary content with signCms and keeps it byte for byte', async () => {
    const content = new TextEncoder().encode('{"ietf-voucher:voucher":{"serial-number":"keep  spacing"}}');
    const signed = SignedVoucherCms.decode(await signCms(content, { certificate: pki.masa.der, privateKey: pki.masa.key }));
    expect(signed.cms.content).toEqual(content);
    expect(signed.voucher().serialNumber).toBe('keep  spacing');
    expect(() => signed.voucherRequest()).toThrow(expect.objectContaining({ code: 'invalid-content' }));
  });
});

describe('RFC 8995-era artefacts (fixtures/)', () => {
  const vr = SignedVoucherCms.decode(rfc8995.vr);
  const parboiled = SignedVoucherCms.decode(rfc8995.parboiledVr);
  const voucher = SignedVoucherCms.decode(rfc8995.voucher);

  it('are id-data SignedData whose signatures verify', async () => {
    for (const s of [vr, parboiled, voucher]) {
      expect(s.cms.contentType).toBe('data');
      const check = await s.verify();
      expect(check.signingTime?.toISOString().slice(0, 16)).toBe('2020-02-03T06:51');
    }
  });

  it('pledge request: proximity, base64url nonce, the registrar certificate that the voucher pins', async () => {
    const pvr = vr.voucherRequest();
    expect(pvr.assertion).toBe('proximity');
    expect(pvr.serialNumber).toBe('00-D0-E5-F2-00-02');
    expect(pvr.base64Spelling.nonce).toBe('43l_359_7RkcqWGcZR8tgQ');
    expect(hex(pvr.proximityRegistrarCert)).toBe(hex(voucher.voucher().pinnedDomainCert));
    // Signed by the IDevID it carries (subject serialNumber=00-D0-E5-F2-00-02).
    expect((await vr.verify()).certificates).toHaveLength(1);
  });

  it('registrar request: the pledge request verbatim, nonce copied as written, signer chains to the carried root', async () => {
    const rvr = parboiled.voucherRequest();
    expect(hex(rvr.priorSignedVoucherRequest)).toBe(hex(rfc8995.vr));
    expect(rvr.base64Spelling.nonce).toBe('43l_359_7RkcqWGcZR8tgQ');
    expect(rvr.proximityRegistrarCert).toBeUndefined();
    const carried = parboiled.cms.certificates;
    expect(carried).toHaveLength(2);
    const verified = await parboiled.verify({ trustAnchors: [carried[1] as Uint8Array], at: rfc8995.signedAt });
    expect(verified.path).toEqual([carried[0], carried[1]]);
    // The root expired on 2020-02-23.
    await expect(parboiled.verify({ trustAnchors: [carried[1] as Uint8Array], at: new Date('2020-03-01T00:00:00Z') })).rejects.toMatchObject({ code: 'signer-untrusted' });
  });

  it('voucher: its pinned registrar end-entity certificate validates exactly that server certificate', () => {
    const v = voucher.voucher();
    const registrarCert = parboiled.cms.certificates[0] as Uint8Array;
    expect(hex(v.pinnedDomainCert)).toBe(hex(registrarCert));
    const result = checkServerAgainstPin(v, [registrarCert], { at: rfc8995.signedAt });
    expect(result.path).toEqual([registrarCert]);
    // An end-entity pin matches nothing else, not even the CA that issued it.
    expect(() => checkServerAgainstPin(v, [parboiled.cms.certificates[1] as Uint8Array], { at: 'ignore-time' })).toThrow(
      expect.objectContaining({ code: 'pin-mismatch' }),
    );
  });
});

interface CustomOptions {
  eContentType?: string;
  attrContentType?: string;
  signers?: number;
  noAttributes?: boolean;
  hash?: string;
  detached?: boolean;
}

/** A SignedData built field by field with pkijs, to produce the shapes our signer never writes. */
async function customSignedData(o: CustomOptions): Promise<Uint8Array> {
  const content = new TextEncoder().encode(`{"ietf-voucher:voucher":{"serial-number":"${pki.serialNumber}"}}`);
  const hash = o.hash ?? 'SHA-256';
  const cert = pkijs.Certificate.fromBER(new Uint8Array(pki.masa.der));
  const key = await webcrypto.subtle.importKey('pkcs8', pki.masa.key.export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const digest = await webcrypto.subtle.digest(hash, content);
  const eContentType = o.eContentType ?? ID_CT_ANIMA_JSON_VOUCHER;
  const signerInfo = (): pkijs.SignerInfo =>
    new pkijs.SignerInfo({
      version: 1,
      sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
      ...(o.noAttributes
        ? {}
        : {
            signedAttrs: new pkijs.SignedAndUnsignedAttributes({
              type: 0,
              attributes: [
                new pkijs.Attribute({ type: '1.2.840.113549.1.9.3', values: [new asn1js.ObjectIdentifier({ value: o.attrContentType ?? eContentType })] }),
                new pkijs.Attribute({ type: '1.2.840.113549.1.9.4', values: [new asn1js.OctetString({ valueHex: digest })] }),
              ],
            }),
          }),
    });
  const sd = new pkijs.SignedData({
    version: 3,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType,
      ...(o.detached ? {} : { eContent: new asn1js.OctetString({ valueHex: content }) }),
    }),
    signerInfos: Array.from({ length: o.signers ?? 1 }, signerInfo),
    certificates: [cert],
  });
  type PkijsKey = Parameters<pkijs.SignedData['sign']>[0];
  for (let i = 0; i < (o.signers ?? 1); i++) await sd.sign(key as unknown as PkijsKey, i, hash, o.detached ? content.buffer : undefined);
  return new Uint8Array(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema(true) }).toSchema().toBER());
}
