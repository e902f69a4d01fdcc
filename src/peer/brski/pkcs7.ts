/**
 * The certificates of a certs-only PKCS#7 (RFC 9930 PKCS#7 TLV and Trusted-Server-Root: a
 * degenerate CMS SignedData, RFC 5652 §5, with no signer), as the DER each entry carried.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** A PKCS#7 of a long chain stays far below; refused before decoding. */
export const MAX_PKCS7_BYTES = 64 * 1024;
const MAX_CERTIFICATES = 16;

export class Pkcs7Error extends Error {
  override readonly name = 'Pkcs7Error';
}

export function certificatesOfPkcs7(der: Uint8Array): Uint8Array[] {
  if (der.length === 0) throw new Pkcs7Error('empty PKCS#7');
  if (der.length > MAX_PKCS7_BYTES) throw new Pkcs7Error(`PKCS#7 of ${der.length} octets (limit ${MAX_PKCS7_BYTES})`);
  const view = new Uint8Array(der);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(view);
  } catch (err) {
    throw new Pkcs7Error(`PKCS#7 is not BER: ${(err as Error).message}`);
  }
  if (parsed.offset === -1 || parsed.offset !== view.length) throw new Pkcs7Error('PKCS#7 is not one BER element');
  let contentInfo: pkijs.ContentInfo;
  try {
    contentInfo = new pkijs.ContentInfo({ schema: parsed.result });
    if (contentInfo.contentType !== ID_SIGNED_DATA) throw new Pkcs7Error(`PKCS#7 content type ${contentInfo.contentType} is not SignedData`);
    new pkijs.SignedData({ schema: contentInfo.content });
  } catch (err) {
    if (err instanceof Pkcs7Error) throw err;
    throw new Pkcs7Error(`PKCS#7 is not a SignedData: ${(err as Error).message}`);
  }
  // certificates [0] IMPLICIT CertificateSet, read as carried (no re-encoding).
  const signedData = contentInfo.content as asn1js.Sequence;
  const set = signedData.valueBlock.value.find((b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0);
  if (!set || !(set instanceof asn1js.Constructed)) return [];
  const certs = set.valueBlock.value.filter((c) => c.idBlock.tagClass === 1 && c.idBlock.tagNumber === 16);
  if (certs.length > MAX_CERTIFICATES) throw new Pkcs7Error(`PKCS#7 with ${certs.length} certificates`);
  return certs.map((c) => new Uint8Array(c.valueBeforeDecodeView));
}
