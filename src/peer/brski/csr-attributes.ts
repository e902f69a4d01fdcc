/**
 * What a server's CSR-Attributes (RFC 9930 TLV 18, DER of RFC 7030 §4.5.2 CsrAttrs) asks of the
 * pledge's PKCS#10:
 *
 *   CsrAttrs  ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
 *   AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
 *   Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE (1..MAX) OF ANY }
 *
 * Understood: challengePassword (a bare OID), the key type (id-ecPublicKey with its named curve as
 * an Attribute, or a bare curve OID, as RFC 7030's example; rsaEncryption, bare or with the key size
 * as an INTEGER) and the signature algorithm (ecdsa-with-SHA*, sha*WithRSAEncryption). Everything
 * else is reported in `ignored`: the CA decides names and extensions from its own policy.
 */
import * as asn1js from 'asn1js';

export type CsrKeyRequest = { kind: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' } | { kind: 'rsa'; bits: number };
export type CsrHash = 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface CsrAttributeRequest {
  /** Put the channel binding into challengePassword (../shared/specs/teap-brski.md §4.3). */
  challengePassword: boolean;
  /** The key type asked for; undefined: ours to choose. */
  key?: CsrKeyRequest;
  /** The signature hash asked for; undefined: the key's usual one. */
  hash?: CsrHash;
  /** OIDs asked for that this pledge does not act on (for the log). */
  ignored: string[];
}

export class CsrAttributesError extends Error {
  override readonly name = 'CsrAttributesError';
}

/** Far above any real CsrAttrs; refused before decoding. */
export const MAX_CSR_ATTRIBUTES_BYTES = 8192;
const MAX_ENTRIES = 64;
const RSA_BITS = { min: 2048, max: 4096, default: 2048 };

const OID = {
  challengePassword: '1.2.840.113549.1.9.7',
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;
const CURVES: Readonly<Record<string, 'P-256' | 'P-384' | 'P-521'>> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};
const SIGNATURES: Readonly<Record<string, { key: 'ec' | 'rsa'; hash: CsrHash }>> = {
  '1.2.840.10045.4.3.2': { key: 'ec', hash: 'SHA-256' },
  '1.2.840.10045.4.3.3': { key: 'ec', hash: 'SHA-384' },
  '1.2.840.10045.4.3.4': { key: 'ec', hash: 'SHA-512' },
  '1.2.840.113549.1.1.11': { key: 'rsa', hash: 'SHA-256' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'SHA-384' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'SHA-512' },
};

/** Nothing asked: what a pledge does without CSR-Attributes. */
export const NO_CSR_ATTRIBUTES: Readonly<CsrAttributeRequest> = Object.freeze({ challengePassword: false, ignored: [] });

export function parseCsrAttributes(der: Uint8Array): CsrAttributeRequest {
  if (der.length > MAX_CSR_ATTRIBUTES_BYTES) throw new CsrAttributesError(`CSR-Attributes of ${der.length} octets (limit ${MAX_CSR_ATTRIBUTES_BYTES})`);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(new Uint8Array(der));
  } catch (err) {
    // asn1js throws plain Errors for some malformed primitives (an empty GeneralizedTime, say).
    throw new CsrAttributesError(`CSR-Attributes is not DER: ${(err as Error).message}`);
  }
  if (parsed.offset === -1 || parsed.offset !== der.length || !(parsed.result instanceof asn1js.Sequence)) {
    throw new CsrAttributesError('CSR-Attributes is not one DER SEQUENCE');
  }
  const entries = parsed.result.valueBlock.value;
  if (entries.length > MAX_ENTRIES) throw new CsrAttributesError(`CSR-Attributes with ${entries.length} entries`);
  const out: CsrAttributeRequest = { challengePassword: false, ignored: [] };
  let signatureKey: 'ec' | 'rsa' | undefined;
  for (const e of entries) {
    if (e instanceof asn1js.ObjectIdentifier) {
      const oid = e.getValue();
      if (oid === OID.challengePassword) out.challengePassword = true;
      else if (oid === OID.ecPublicKey) out.key ??= { kind: 'ec', curve: 'P-256' };
      else if (CURVES[oid]) out.key = { kind: 'ec', curve: CURVES[oid] };
      else if (oid === OID.rsaEncryption) out.key ??= { kind: 'rsa', bits: RSA_BITS.default };
      else if (SIGNATURES[oid]) {
        out.hash = SIGNATURES[oid].hash;
        signatureKey = SIGNATURES[oid].key;
      } else out.ignored.push(oid);
      continue;
    }
    const attr = attribute(e);
    if (attr.type === OID.ecPublicKey) {
      const curveOid = attr.values[0] instanceof asn1js.ObjectIdentifier ? attr.values[0].getValue() : undefined;
      const curve = curveOid ? CURVES[curveOid] : undefined;
      if (!curve) throw new CsrAttributesError(`CSR-Attributes asks for EC curve ${curveOid ?? '(not an OID)'}, which this pledge cannot make`);
      out.key = { kind: 'ec', curve };
    } else if (attr.type === OID.rsaEncryption) {
      const size = attr.values[0] instanceof asn1js.Integer ? attr.values[0].valueBlock.valueDec : Number.NaN;
      if (!Number.isSafeInteger(size) || size < RSA_BITS.min || size > RSA_BITS.max) {
        throw new CsrAttributesError(`CSR-Attributes asks for an RSA key of ${size} bits (${RSA_BITS.min}..${RSA_BITS.max} supported)`);
      }
      out.key = { kind: 'rsa', bits: size };
    } else if (attr.type === OID.challengePassword) {
      out.challengePassword = true;
    } else {
      out.ignored.push(attr.type);
    }
  }
  if (signatureKey && out.key && signatureKey !== out.key.kind) {
    throw new CsrAttributesError(`CSR-Attributes asks for a ${out.key.kind.toUpperCase()} key and a ${signatureKey.toUpperCase()} signature`);
  }
  // A signature algorithm alone names the key family too.
  if (signatureKey && !out.key) out.key = signatureKey === 'ec' ? { kind: 'ec', curve: 'P-256' } : { kind: 'rsa', bits: RSA_BITS.default };
  return out;
}

function attribute(e: asn1js.AsnType): { type: string; values: asn1js.AsnType[] } {
  if (!(e instanceof asn1js.Sequence)) throw new CsrAttributesError('CSR-Attributes entry is neither an OID nor an Attribute');
  const [type, values] = e.valueBlock.value;
  if (!(type instanceof asn1js.ObjectIdentifier) || !(values instanceof asn1js.Set) || values.valueBlock.value.length === 0) {
    throw new CsrAttributesError('CSR-Attributes Attribute is not { OID, SET SIZE (1..MAX) }');
  }
  return { type: type.getValue(), values: values.valueBlock.value };
}
