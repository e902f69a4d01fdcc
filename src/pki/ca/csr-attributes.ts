import * as asn1js from 'asn1js';
import type { EcCurve } from './key-policy.js';

/**
 * CSR Attributes (RFC 7030 §4.5.2 `CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID`), read as
 * RFC 9908 clarifies it, DER and binary as RFC 9930's CSR-Attributes TLV (18) carries it:
 *  - a bare OID asks for that attribute or algorithm (challengePassword, a signature algorithm);
 *  - an Attribute `id-ecPublicKey { namedCurve }` asks for an EC key on that curve;
 *  - an Attribute `rsaEncryption { INTEGER bits }` asks for an RSA key of that size;
 *  - an Attribute `extensionRequest { Extensions }` lists extensions, with the values the CA will
 *    put (e.g. the subjectAltName policy gives this device), for the CSR to carry.
 */
export type SignatureAlgorithmName =
  | 'ecdsa-with-SHA256' | 'ecdsa-with-SHA384' | 'ecdsa-with-SHA512'
  | 'sha256WithRSAEncryption' | 'sha384WithRSAEncryption' | 'sha512WithRSAEncryption';

export type CsrAttributeItem =
  | { kind: 'challengePassword' }
  | { kind: 'ecKey'; curve: EcCurve }
  | { kind: 'rsaKey'; bits: number }
  | { kind: 'signatureAlgorithm'; algorithm: SignatureAlgorithmName }
  /** DER Extension structures (RFC 5280 §4.1). */
  | { kind: 'extensionRequest'; extensions: Uint8Array[] }
  /** Read only: a bare OID we have no name for. */
  | { kind: 'oid'; oid: string }
  /** Read only: an attribute we have no name for, values as DER. */
  | { kind: 'attribute'; type: string; values: Uint8Array[] };

export const OID = {
  challengePassword: '1.2.840.113549.1.9.7',
  extensionRequest: '1.2.840.113549.1.9.14',
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

const CURVE_OIDS: Readonly<Record<EcCurve, string>> = {
  'P-256': '1.2.840.10045.3.1.7',
  'P-384': '1.3.132.0.34',
  'P-521': '1.3.132.0.35',
};

const SIGNATURE_OIDS: Readonly<Record<SignatureAlgorithmName, string>> = {
  'ecdsa-with-SHA256': '1.2.840.10045.4.3.2',
  'ecdsa-with-SHA384': '1.2.840.10045.4.3.3',
  'ecdsa-with-SHA512': '1.2.840.10045.4.3.4',
  'sha256WithRSAEncryption': '1.2.840.113549.1.1.11',
  'sha384WithRSAEncryption': '1.2.840.113549.1.1.12',
  'sha512WithRSAEncryption': '1.2.840.113549.1.1.13',
};

const byValue = <K extends string>(table: Readonly<Record<K, string>>): ReadonlyMap<string, K> =>
  new Map(Object.entries(table).map(([k, v]) => [v as string, k as K]));
const CURVE_BY_OID = byValue(CURVE_OIDS);
const SIGNATURE_BY_OID = byValue(SIGNATURE_OIDS);

/** The DER CsrAttrs for the given items, in their order. */
export function buildCsrAttributes(items: readonly CsrAttributeItem[]): Uint8Array {
  const seq = new asn1js.Sequence({ value: items.map(encodeItem) });
  return new Uint8Array(seq.toBER());
}

function encodeItem(item: CsrAttributeItem): asn1js.AsnType {
  const oid = (value: string): asn1js.ObjectIdentifier => new asn1js.ObjectIdentifier({ value });
  const attribute = (type: string, values: asn1js.AsnType[]): asn1js.Sequence =>
    new asn1js.Sequence({ value: [oid(type), new asn1js.Set({ value: values })] });
  switch (item.kind) {
    case 'challengePassword':
      return oid(OID.challengePassword);
    case 'ecKey':
      return attribute(OID.ecPublicKey, [oid(CURVE_OIDS[item.curve])]);
    case 'rsaKey':
      if (!Number.isInteger(item.bits) || item.bits < 1024 || item.bits > 16384) throw new Error(`RSA key size ${item.bits} out of range`);
      return attribute(OID.rsaEncryption, [new asn1js.Integer({ value: item.bits })]);
    case 'signatureAlgorithm':
      return oid(SIGNATURE_OIDS[item.algorithm]);
    case 'extensionRequest':
      if (item.extensions.length === 0) throw new Error('extensionRequest needs at least one extension');
      return attribute(OID.extensionRequest, [new asn1js.Sequence({ value: item.extensions.map((e) => parseOne(e, 'Extension')) })]);
    case 'oid':
      return oid(item.oid);
    case 'attribute':
      return attribute(item.type, item.values.map((v) => parseOne(v, 'attribute value')));
  }
}

/** A CsrAttrs answer is small; refuse larger input before parsing. */
export const MAX_CSR_ATTRIBUTES_OCTETS = 8192;

/** Reads a DER CsrAttrs (e.g. a pledge reading TLV 18). Throws on anything that is not one. */
export function parseCsrAttributes(der: Uint8Array): CsrAttributeItem[] {
  if (der.byteLength > MAX_CSR_ATTRIBUTES_OCTETS) throw new Error(`CsrAttrs of ${der.byteLength} octets exceeds ${MAX_CSR_ATTRIBUTES_OCTETS}`);
  const top = parseOne(der, 'CsrAttrs');
  if (!(top instanceof asn1js.Sequence)) throw new Error('CsrAttrs is not a SEQUENCE');
  return top.valueBlock.value.map(decodeItem);
}

function decodeItem(node: asn1js.AsnType): CsrAttributeItem {
  if (node instanceof asn1js.ObjectIdentifier) {
    const value = node.getValue();
    if (value === OID.challengePassword) return { kind: 'challengePassword' };
    const algorithm = SIGNATURE_BY_OID.get(value);
    return algorithm ? { kind: 'signatureAlgorithm', algorithm } : { kind: 'oid', oid: value };
  }
  if (!(node instanceof asn1js.Sequence)) throw new Error('CsrAttrs item is neither an OID nor an Attribute');
  const [typeNode, setNode, ...rest] = node.valueBlock.value;
  if (!(typeNode instanceof asn1js.ObjectIdentifier) || !(setNode instanceof asn1js.Set) || rest.length !== 0) {
    throw new Error('CsrAttrs Attribute is not SEQUENCE { OID, SET }');
  }
  const type = typeNode.getValue();
  const values = setNode.valueBlock.value;
  if (values.length === 0) throw new Error(`CsrAttrs Attribute ${type} has no values`);
  const only = values.length === 1 ? values[0] : undefined;
  if (type === OID.ecPublicKey && only instanceof asn1js.ObjectIdentifier) {
    const curve = CURVE_BY_OID.get(only.getValue());
    if (curve) return { kind: 'ecKey', curve };
  }
  if (type === OID.rsaEncryption && only instanceof asn1js.Integer) {
    const bits = Number(only.toBigInt());
    if (Number.isSafeInteger(bits) && bits > 0) return { kind: 'rsaKey', bits };
  }
  if (type === OID.extensionRequest && only instanceof asn1js.Sequence) {
    return { kind: 'extensionRequest', extensions: only.valueBlock.value.map((e) => new Uint8Array(e.toBER())) };
  }
  return { kind: 'attribute', type, values: values.map((v) => new Uint8Array(v.toBER())) };
}

function parseOne(der: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(der, { maxDepth: 16, maxNodes: 2048 });
  if (parsed.offset === -1 || parsed.offset !== der.byteLength) throw new Error(`${what} is not exactly one DER object`);
  return parsed.result;
}
