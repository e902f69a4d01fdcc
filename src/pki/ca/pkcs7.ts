import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** A certs-only bundle is a few certificates; a larger one is not ours to parse. */
export const MAX_PKCS7_OCTETS = 64 * 1024;
const MAX_CERTIFICATES = 16;

/**
 * A degenerate, certificates-only CMS SignedData (RFC 5652 §5.2; the "certs-only" Simple PKI
 * Response of RFC 5272 §4.1 that RFC 7030 and TEAP's PKCS#7 TLV carry): version 1, no digest
 * algorithms, id-data content type with the content absent, no signers. DER.
 */
export function certsOnlyPkcs7(certificatesDer: readonly Uint8Array[]): Uint8Array {
  if (certificatesDer.length === 0) throw new Error('a certs-only PKCS#7 needs at least one certificate');
  const signedData = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: pkijs.ContentInfo.DATA }),
    certificates: certificatesDer.map((der) => pkijs.Certificate.fromBER(der)),
    signerInfos: [],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signedData.toSchema(true) });
  return new Uint8Array(contentInfo.toSchema().toBER());
}

/**
 * The certificates (DER, in their order) of a certs-only PKCS#7, e.g. for a pledge installing its
 * LDevID or a Trusted-Server-Root answer. Throws on anything else: a signed message, junk.
 */
export function certificatesFromPkcs7(der: Uint8Array): Uint8Array[] {
  if (der.byteLength === 0 || der.byteLength > MAX_PKCS7_OCTETS) throw new Error(`PKCS#7 of ${der.byteLength} octets is outside 1..${MAX_PKCS7_OCTETS}`);
  const parsed = asn1js.fromBER(der, { maxDepth: 32, maxNodes: 16384 });
  if (parsed.offset !== der.byteLength) throw new Error('PKCS#7 is not exactly one DER object');
  const contentInfo = new pkijs.ContentInfo({ schema: parsed.result });
  if (contentInfo.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error(`PKCS#7 content type ${contentInfo.contentType} is not SignedData`);
  const signedData = new pkijs.SignedData({ schema: contentInfo.content });
  if (signedData.signerInfos.length !== 0) throw new Error('PKCS#7 carries signers: not a certs-only bundle');
  const certs = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  if (certs.length === 0) throw new Error('PKCS#7 carries no certificates');
  if (certs.length > MAX_CERTIFICATES) throw new Error(`PKCS#7 carries more than ${MAX_CERTIFICATES} certificates`);
  return certs.map((c) => new Uint8Array(c.toSchema().toBER()));
}
