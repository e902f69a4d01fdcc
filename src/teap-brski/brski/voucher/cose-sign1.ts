/**
 * COSE_Sign1 (RFC 9052 §4.2, §4.4) on node:crypto, as cBRSKI uses it
 * (../shared/specs/constrained-voucher.md §3): `18([protected, unprotected, payload, signature])`,
 * the algorithm in the protected header, certificates in an unprotected x5bag (RFC 9360), ECDSA
 * signatures as raw r||s (RFC 9053 §2.1).
 *
 * The decoded object keeps the protected header and payload exactly as received: the signature is
 * computed over those bytes, so nothing is ever re-encoded before verifying.
 */
import { type KeyObject, X509Certificate, sign, verify } from 'node:crypto';
import { VoucherError } from './errors.js';
import { checkSize } from './limits.js';
import { Tag, bstr, copyBytes, decodeCbor, encodeCbor, isBstr, isInteger } from './cbor.js';

export const COSE_SIGN1_TAG = 18;

/** COSE header labels (IANA "COSE Header Parameters"). */
export const CoseHeader = { alg: 1, crit: 2, contentType: 3, kid: 4, x5bag: 32, x5chain: 33 } as const;

export type CoseAlgorithm = 'ES256' | 'ES384' | 'EdDSA';

const ALGORITHMS: Record<CoseAlgorithm, { id: number; hash: string | null; curve?: string; keyType: string; sigLength: number }> = {
  ES256: { id: -7, hash: 'sha256', curve: 'prime256v1', keyType: 'ec', sigLength: 64 },
  ES384: { id: -35, hash: 'sha384', curve: 'secp384r1', keyType: 'ec', sigLength: 96 },
  EdDSA: { id: -8, hash: null, keyType: 'ed25519', sigLength: 64 },
};

type HeaderLabel = number | string;
export type CoseHeaderMap = ReadonlyMap<HeaderLabel, unknown>;

export interface CoseSigner {
  /** P-256 (ES256), P-384 (ES384) or Ed25519 (EdDSA) private key. */
  privateKey: KeyObject;
  /** DER certificates for the unprotected x5bag (signer first by convention); none: no x5bag. */
  certificates?: readonly Uint8Array[];
  /** Unprotected kid; cBRSKI says SHOULD NOT for vouchers and pledge requests. */
  kid?: Uint8Array;
}

/** Signs `payload` into a tagged COSE_Sign1. */
export function signCoseSign1(payload: Uint8Array, signer: CoseSigner): Uint8Array {
  const alg = algorithmForKey(signer.privateKey);
  const protectedBytes = encodeCbor(new Map([[CoseHeader.alg, ALGORITHMS[alg].id]]));
  const signature = sign(ALGORITHMS[alg].hash, sigStructure(protectedBytes, payload), {
    key: signer.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const unprotected = new Map<number, unknown>();
  if (signer.kid) unprotected.set(CoseHeader.kid, bstr(signer.kid));
  const certs = signer.certificates ?? [];
  // RFC 9360 §2: one certificate is a bare bstr, several an array.
  if (certs.length === 1) unprotected.set(CoseHeader.x5bag, bstr(certs[0] as Uint8Array));
  else if (certs.length > 1) unprotected.set(CoseHeader.x5bag, certs.map(bstr));
  return encodeCbor(new Tag([bstr(protectedBytes), unprotected, bstr(payload), bstr(signature)], COSE_SIGN1_TAG));
}

export class CoseSign1 {
  private constructor(
    /** The bytes as received. */
    readonly raw: Uint8Array,
    readonly tagged: boolean,
    readonly protectedBytes: Uint8Array,
    readonly protectedHeader: CoseHeaderMap,
    readonly unprotectedHeader: CoseHeaderMap,
    readonly payload: Uint8Array,
    readonly signature: Uint8Array,
    readonly algorithm: CoseAlgorithm,
  ) {
    Object.freeze(this);
  }

  /** Structural decode (no signature check). Untagged input is accepted, as ot-registrar sends it. */
  static decode(bytes: Uint8Array, what = 'COSE_Sign1'): CoseSign1 {
    checkSize(bytes, what);
    const raw = new Uint8Array(bytes);
    const item = decodeCbor(raw, what);
    let tagged = false;
    let body: unknown = item;
    if (item instanceof Tag) {
      if (item.tag !== COSE_SIGN1_TAG) throw new VoucherError('unsupported', `${what}: CBOR tag ${item.tag}, not COSE_Sign1 (18)`);
      tagged = true;
      body = item.value;
    }
    if (!Array.isArray(body) || body.length !== 4) throw new VoucherError('malformed', `${what} is not a 4-element array`);
    const [p, u, payload, signature] = body as [unknown, unknown, unknown, unknown];
    if (!isBstr(p)) throw new VoucherError('malformed', `${what}: protected header is not a byte string`);
    if (!(u instanceof Map)) throw new VoucherError('malformed', `${what}: unprotected header is not a map`);
    if (payload === null) throw new VoucherError('unsupported', `${what}: detached payload`);
    if (!isBstr(payload)) throw new VoucherError('malformed', `${what}: payload is not a byte string`);
    if (!isBstr(signature)) throw new VoucherError('malformed', `${what}: signature is not a byte string`);

    const protectedBytes = copyBytes(p);
    const protectedHeader = decodeProtected(protectedBytes, what);
    const unprotectedHeader = u as Map<unknown, unknown>;
    for (const label of unprotectedHeader.keys()) {
      if (!isInteger(label) && typeof label !== 'string') throw new VoucherError('malformed', `${what}: header label of type ${typeof label}`);
      // RFC 9052 §3: a label must not occur in both buckets.
      if (protectedHeader.has(label)) throw new VoucherError('malformed', `${what}: header ${String(label)} is both protected and unprotected`);
    }
    if (protectedHeader.has(CoseHeader.crit) || unprotectedHeader.has(CoseHeader.crit)) {
      throw new VoucherError('unsupported', `${what}: critical headers are not supported`);
    }
    const algorithm = algorithmFromId(protectedHeader.get(CoseHeader.alg), what);
    if (unprotectedHeader.has(CoseHeader.alg)) throw new VoucherError('malformed', `${what}: alg in the unprotected header`);
    return new CoseSign1(
      raw, tagged, protectedBytes, protectedHeader, unprotectedHeader as CoseHeaderMap, copyBytes(payload), copyBytes(signature), algorithm,
    );
  }

  /** The Sig_structure the signature covers (RFC 9052 §4.4), from the bytes as received. */
  toBeSigned(): Uint8Array {
    return sigStructure(this.protectedBytes, this.payload);
  }

  /** Certificates of x5bag and x5chain, protected first (RFC 9360 §2: bstr or array of bstr). */
  certificates(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const header of [this.protectedHeader, this.unprotectedHeader]) {
      for (const label of [CoseHeader.x5chain, CoseHeader.x5bag]) {
        const v = header.get(label);
        if (v === undefined) continue;
        const list = Array.isArray(v) ? (v as unknown[]) : [v];
        for (const c of list) {
          if (!isBstr(c)) throw new VoucherError('malformed', `header ${label} holds a non-bstr certificate`);
          out.push(copyBytes(c));
        }
      }
    }
    return out;
  }

  /** True when `key` (public key, or DER certificate) verifies the signature with this algorithm. */
  verifyWithKey(key: KeyObject | Uint8Array): boolean {
    const publicKey = key instanceof Uint8Array ? certificateKey(key) : key;
    if (!keyMatches(publicKey, this.algorithm)) return false;
    if (this.signature.length !== ALGORITHMS[this.algorithm].sigLength) return false;
    return verify(ALGORITHMS[this.algorithm].hash, this.toBeSigned(), { key: publicKey, dsaEncoding: 'ieee-p1363' }, this.signature);
  }

  /**
   * The same COSE_Sign1 with x5bag/x5chain removed from the unprotected header, as a registrar
   * forwards a voucher to a pledge (cBRSKI §6.8). Protected header, payload and signature are
   * copied byte for byte, so the signature stays valid.
   */
  withoutUnprotectedCertificates(): Uint8Array {
    const unprotected = new Map(this.unprotectedHeader);
    unprotected.delete(CoseHeader.x5bag);
    unprotected.delete(CoseHeader.x5chain);
    const body = [bstr(this.protectedBytes), unprotected, bstr(this.payload), bstr(this.signature)];
    return encodeCbor(this.tagged ? new Tag(body, COSE_SIGN1_TAG) : body);
  }
}

function decodeProtected(bytes: Uint8Array, what: string): Map<HeaderLabel, unknown> {
  // RFC 9052 §3: an empty protected header is a zero-length bstr.
  if (bytes.length === 0) return new Map();
  const header = decodeCbor(bytes, `${what} protected header`);
  if (!(header instanceof Map)) throw new VoucherError('malformed', `${what}: protected header is not a map`);
  for (const label of header.keys()) {
    if (!isInteger(label) && typeof label !== 'string') throw new VoucherError('malformed', `${what}: header label of type ${typeof label}`);
  }
  return header as Map<HeaderLabel, unknown>;
}

function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', bstr(protectedBytes), Buffer.alloc(0), bstr(payload)]);
}

function algorithmFromId(id: unknown, what: string): CoseAlgorithm {
  if (id === undefined) throw new VoucherError('unsupported', `${what}: no alg in the protected header`);
  for (const [name, a] of Object.entries(ALGORITHMS) as [CoseAlgorithm, (typeof ALGORITHMS)[CoseAlgorithm]][]) {
    if (a.id === id) return name;
  }
  throw new VoucherError('unsupported', `${what}: COSE algorithm ${String(id)} is not supported`);
}

function algorithmForKey(key: KeyObject): CoseAlgorithm {
  for (const name of Object.keys(ALGORITHMS) as CoseAlgorithm[]) if (keyMatches(key, name)) return name;
  throw new VoucherError('unsupported', `no COSE algorithm for a ${key.asymmetricKeyType ?? 'symmetric'} key`);
}

function certificateKey(der: Uint8Array): KeyObject {
  try {
    return new X509Certificate(der).publicKey;
  } catch (e) {
    throw new VoucherError('malformed', `signer certificate: ${(e as Error).message}`);
  }
}

function keyMatches(key: KeyObject, alg: CoseAlgorithm): boolean {
  const a = ALGORITHMS[alg];
  if (key.asymmetricKeyType !== a.keyType) return false;
  return a.curve === undefined || key.asymmetricKeyDetails?.namedCurve === a.curve;
}
