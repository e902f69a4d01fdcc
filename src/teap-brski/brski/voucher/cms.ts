/**
 * CMS SignedData (RFC 5652) as RFC 8366 §5.1 and 8366bis use it for JSON vouchers
 * (../shared/specs/teap-brski.md §6.1): attached content, one signer, signed attributes
 * (content-type, signing-time, message-digest), certificates included. Built on pkijs + asn1js with
 * node's WebCrypto.
 *
 * We write eContentType id-ct-animaJSONVoucher (SignedData version 3) by default, or id-data
 * (version 1) for MASAs built on the RFC 8995 reference code; we read both and any version.
 */
import { type KeyObject, X509Certificate, createPublicKey, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { VoucherError, asVoucherError, asVoucherErrorAsync } from './errors.js';
import { decodeSingleAsn1 } from './der.js';
import { checkSize } from './limits.js';
import { bytesEqual } from './yang-types.js';

export const ID_CT_ANIMA_JSON_VOUCHER = '1.2.840.113549.1.9.16.1.40';
export const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ATTR_SIGNING_TIME = '1.2.840.113549.1.9.5';
const ACCEPTED_DIGESTS = new Map([
  ['2.16.840.1.101.3.4.2.1', 'SHA-256'],
  ['2.16.840.1.101.3.4.2.2', 'SHA-384'],
  ['2.16.840.1.101.3.4.2.3', 'SHA-512'],
]);

export type CmsContentType = 'anima-json-voucher' | 'data';

// pkijs's types name the DOM's Crypto and CryptoKey, which this Node project does not load.
type PkijsCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
type PkijsKey = Parameters<pkijs.SignedData['sign']>[0];

const engine = new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as PkijsCrypto });

export interface CmsSigner {
  /** DER certificate of the signing key. */
  certificate: Uint8Array;
  /** ECDSA (P-256, P-384, P-521) or RSA private key. */
  privateKey: KeyObject;
  /** Further DER certificates to include, e.g. the issuing CA whose pinning the registrar wants. */
  chain?: readonly Uint8Array[];
}

export interface CmsSignOptions {
  /** Default 'anima-json-voucher'. */
  contentType?: CmsContentType;
  /** Default now. */
  signingTime?: Date;
}

/** Wraps `content` in a DER ContentInfo/SignedData signed by `signer`. */
export async function signCms(content: Uint8Array, signer: CmsSigner, options: CmsSignOptions = {}): Promise<Uint8Array> {
  const eContentType = (options.contentType ?? 'anima-json-voucher') === 'anima-json-voucher' ? ID_CT_ANIMA_JSON_VOUCHER : ID_DATA;
  const { key, hash } = await importSigningKey(signer);
  const certificate = pkijs.Certificate.fromBER(toArrayBuffer(signer.certificate));
  const digest = new Uint8Array(await webcrypto.subtle.digest(hash, content));
  const signingTime = options.signingTime ?? new Date();
  const attributes = sortedForDer([
    new pkijs.Attribute({ type: ATTR_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: eContentType })] }),
    new pkijs.Attribute({ type: ATTR_SIGNING_TIME, values: [timeValue(signingTime)] }),
    new pkijs.Attribute({ type: ATTR_MESSAGE_DIGEST, values: [new asn1js.OctetString({ valueHex: toArrayBuffer(digest) })] }),
  ]);
  const signedData = new pkijs.SignedData({
    // RFC 5652 §5.1: version 3 when eContentType is not id-data, else 1 (issuerAndSerialNumber, no v2 certificates).
    version: eContentType === ID_DATA ? 1 : 3,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType,
      eContent: new asn1js.OctetString({ valueHex: toArrayBuffer(content) }),
    }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.issuer, serialNumber: certificate.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
      }),
    ],
    certificates: [certificate, ...(signer.chain ?? []).map((c) => pkijs.Certificate.fromBER(toArrayBuffer(c)))],
  });
  await signedData.sign(key, 0, hash, undefined, engine);
  const contentInfo = new pkijs.ContentInfo({ contentType: ID_SIGNED_DATA, content: signedData.toSchema(true) });
  return new Uint8Array(contentInfo.toSchema().toBER());
}

export interface CmsSignatureCheck {
  /** DER of the certificate whose key made the signature. */
  signerCertificate: Uint8Array;
  signingTime?: Date;
}

/** A decoded ContentInfo/SignedData; `raw` is the input exactly, every other field is read from it. */
export class SignedCms {
  private constructor(
    readonly raw: Uint8Array,
    readonly eContentType: string,
    /** The encapsulated content (the voucher JSON) as signed. */
    readonly content: Uint8Array,
    /** DER certificates as included, in their order. */
    readonly certificates: readonly Uint8Array[],
    private readonly signedData: pkijs.SignedData,
    private readonly certificateIndex: readonly (Uint8Array | undefined)[],
  ) {
    Object.freeze(this);
  }

  get contentType(): CmsContentType {
    return this.eContentType === ID_DATA ? 'data' : 'anima-json-voucher';
  }

  /** Structural decode; size-checked first, nothing verified yet. */
  static decode(bytes: Uint8Array, what = 'CMS SignedData'): SignedCms {
    checkSize(bytes, what);
    // pkijs and asn1js throw plain errors (or TypeErrors) on shapes their schemas let through.
    return asVoucherError('malformed', what, () => SignedCms.decodeChecked(new Uint8Array(bytes), what));
  }

  private static decodeChecked(raw: Uint8Array, what: string): SignedCms {
    const asn = decodeSingleAsn1(raw);
    if (!asn) throw new VoucherError('malformed', `${what} is not one BER/DER element`);
    let contentInfo: pkijs.ContentInfo;
    let signedData: pkijs.SignedData;
    try {
      contentInfo = new pkijs.ContentInfo({ schema: asn });
    } catch (e) {
      throw new VoucherError('malformed', `${what} is not a ContentInfo: ${(e as Error).message}`);
    }
    if (contentInfo.contentType !== ID_SIGNED_DATA) {
      throw new VoucherError('unsupported', `${what}: content type ${contentInfo.contentType} is not SignedData`);
    }
    try {
      signedData = new pkijs.SignedData({ schema: contentInfo.content });
    } catch (e) {
      throw new VoucherError('malformed', `${what} is not a SignedData: ${(e as Error).message}`);
    }
    const eContentType = signedData.encapContentInfo.eContentType;
    if (eContentType !== ID_CT_ANIMA_JSON_VOUCHER && eContentType !== ID_DATA) {
      throw new VoucherError('unsupported', `${what}: eContentType ${eContentType} is neither id-ct-animaJSONVoucher nor id-data`);
    }
    const eContent = signedData.encapContentInfo.eContent;
    if (!eContent) throw new VoucherError('unsupported', `${what}: detached content`);
    if (!(eContent instanceof asn1js.OctetString)) throw new VoucherError('malformed', `${what}: eContent is not an OCTET STRING`);
    if (signedData.signerInfos.length !== 1) {
      throw new VoucherError('malformed', `${what}: ${signedData.signerInfos.length} signers, expected one`);
    }
    const certificateIndex = rawCertificates(contentInfo.content as asn1js.Sequence);
    return new SignedCms(
      raw,
      eContentType,
      new Uint8Array(eContent.getValue()),
      certificateIndex.filter((c): c is Uint8Array => c !== undefined),
      signedData,
      certificateIndex,
    );
  }

  /**
   * Checks the one signature: signed attributes present (8366bis), their content-type equal to
   * eContentType, message-digest equal to the content's hash, and the signature by the included
   * certificate that the SignerInfo names. Trust in that certificate is the caller's next step.
   */
  verifySignature(): Promise<CmsSignatureCheck> {
    return asVoucherErrorAsync('signature-invalid', 'CMS signature', () => this.verifyChecked());
  }

  private async verifyChecked(): Promise<CmsSignatureCheck> {
    const signerInfo = this.signedData.signerInfos[0] as pkijs.SignerInfo;
    const attrs = signerInfo.signedAttrs?.attributes;
    if (!attrs || attrs.length === 0) throw new VoucherError('signature-invalid', 'SignerInfo has no signed attributes');
    const contentTypes = attrs.filter((a) => a.type === ATTR_CONTENT_TYPE);
    const declared = contentTypes[0]?.values[0];
    if (contentTypes.length !== 1 || !(declared instanceof asn1js.ObjectIdentifier) || declared.getValue() !== this.eContentType) {
      throw new VoucherError('signature-invalid', 'content-type attribute missing or different from eContentType');
    }
    if (!ACCEPTED_DIGESTS.has(signerInfo.digestAlgorithm.algorithmId)) {
      throw new VoucherError('unsupported', `digest algorithm ${signerInfo.digestAlgorithm.algorithmId} is not accepted`);
    }
    let result: pkijs.SignedDataVerifyResult;
    try {
      result = (await this.signedData.verify({ signer: 0, checkChain: false, extendedMode: true }, engine)) as pkijs.SignedDataVerifyResult;
    } catch (e) {
      throw new VoucherError('signature-invalid', `CMS signature: ${(e as Error).message}`);
    }
    if (result.signatureVerified !== true || !result.signerCertificate) {
      throw new VoucherError('signature-invalid', 'CMS signature does not verify');
    }
    const index = (this.signedData.certificates ?? []).indexOf(result.signerCertificate);
    const signerCertificate = this.certificateIndex[index];
    if (!signerCertificate) throw new VoucherError('signature-invalid', 'signer certificate not found among the included certificates');
    const timeAttr = attrs.find((a) => a.type === ATTR_SIGNING_TIME)?.values[0];
    const signingTime = timeAttr instanceof asn1js.UTCTime || timeAttr instanceof asn1js.GeneralizedTime ? timeAttr.toDate() : undefined;
    return { signerCertificate, ...(signingTime ? { signingTime } : {}) };
  }
}

/**
 * The DER of each entry of SignedData.certificates as it appears in the input (raw bytes, not a
 * re-encoding), aligned with pkijs's list; entries that are not X.509 certificates are undefined.
 */
function rawCertificates(signedData: asn1js.Sequence): (Uint8Array | undefined)[] {
  const set = signedData.valueBlock.value.find((b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0);
  if (!set || !(set instanceof asn1js.Constructed)) return [];
  return set.valueBlock.value.map((c) =>
    c.idBlock.tagClass === 1 && c.idBlock.tagNumber === 16 ? new Uint8Array(c.valueBeforeDecodeView) : undefined,
  );
}

async function importSigningKey(signer: CmsSigner): Promise<{ key: PkijsKey; hash: string }> {
  const { privateKey } = signer;
  const publicOfKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  let certKey: Buffer;
  try {
    certKey = new X509Certificate(signer.certificate).publicKey.export({ type: 'spki', format: 'der' });
  } catch (e) {
    throw new VoucherError('malformed', `signer certificate: ${(e as Error).message}`);
  }
  if (!bytesEqual(publicOfKey, certKey)) throw new VoucherError('signature-invalid', 'signer certificate does not match the private key');
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  if (privateKey.asymmetricKeyType === 'ec') {
    const curves: Record<string, [string, string]> = {
      prime256v1: ['P-256', 'SHA-256'],
      secp384r1: ['P-384', 'SHA-384'],
      secp521r1: ['P-521', 'SHA-512'],
    };
    const curve = curves[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new VoucherError('unsupported', `EC curve ${privateKey.asymmetricKeyDetails?.namedCurve} is not supported`);
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: curve[0] }, false, ['sign']);
    return { key: key as unknown as PkijsKey, hash: curve[1] };
  }
  if (privateKey.asymmetricKeyType === 'rsa') {
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key: key as unknown as PkijsKey, hash: 'SHA-256' };
  }
  throw new VoucherError('unsupported', `${privateKey.asymmetricKeyType} keys cannot sign CMS vouchers here`);
}

/** RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise. */
function timeValue(when: Date): asn1js.UTCTime | asn1js.GeneralizedTime {
  const year = when.getUTCFullYear();
  const whole = new Date(Math.floor(when.getTime() / 1000) * 1000);
  return year >= 1950 && year < 2050 ? new asn1js.UTCTime({ valueDate: whole }) : new asn1js.GeneralizedTime({ valueDate: whole });
}

/** DER orders SET OF members by their encodings (X.690 §11.6); OpenSSL re-encodes before verifying. */
function sortedForDer(attributes: pkijs.Attribute[]): pkijs.Attribute[] {
  const encoded = attributes.map((a) => ({ a, der: new Uint8Array(a.toSchema().toBER()) }));
  encoded.sort((x, y) => compareDer(x.der, y.der));
  return encoded.map((e) => e.a);
}

function compareDer(x: Uint8Array, y: Uint8Array): number {
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}
