import { createPublicKey } from 'node:crypto';
import { CaError } from './errors.js';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** Which device keys the CA certifies. An empty `ecCurves` and no `rsa` would refuse everything. */
export interface KeyPolicy {
  ecCurves: readonly EcCurve[];
  /** RSA modulus bounds in bits; absent = RSA keys refused. */
  rsa?: { minBits: number; maxBits: number };
}

export const DEFAULT_KEY_POLICY: Readonly<KeyPolicy> = Object.freeze({
  ecCurves: Object.freeze(['P-256', 'P-384'] as EcCurve[]),
  rsa: Object.freeze({ minBits: 2048, maxBits: 4096 }),
});

export type DescribedKey =
  | { type: 'ec'; curve: EcCurve }
  | { type: 'rsa'; bits: number; publicExponent: bigint }
  /** Anything else (Ed25519, secp256k1, DSA, ...), named for the log. */
  | { type: 'other'; name: string };

const NODE_CURVES: Readonly<Record<string, EcCurve>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** What key a SubjectPublicKeyInfo holds, read by OpenSSL (node:crypto), not by hand. */
export function describePublicKey(spki: Uint8Array): DescribedKey {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const named = details.namedCurve ?? 'unknown curve';
    const curve = NODE_CURVES[named];
    return curve ? { type: 'ec', curve } : { type: 'other', name: `ec/${named}` };
  }
  if (key.asymmetricKeyType === 'rsa' && details.modulusLength !== undefined && details.publicExponent !== undefined) {
    return { type: 'rsa', bits: details.modulusLength, publicExponent: details.publicExponent };
  }
  return { type: 'other', name: key.asymmetricKeyType ?? 'unknown' };
}

export function keyName(key: DescribedKey): string {
  switch (key.type) {
    case 'ec': return `EC ${key.curve}`;
    case 'rsa': return `RSA-${key.bits}`;
    default: return key.name;
  }
}

/** Throws unsupported-algorithm (TEAP 1022) unless policy allows the key. */
export function checkKeyPolicy(key: DescribedKey, policy: KeyPolicy): void {
  if (key.type === 'ec' && policy.ecCurves.includes(key.curve)) return;
  if (key.type === 'rsa' && policy.rsa) {
    if (key.bits < policy.rsa.minBits || key.bits > policy.rsa.maxBits) {
      throw new CaError('unsupported-algorithm', `RSA key of ${key.bits} bits outside the allowed ${policy.rsa.minBits}..${policy.rsa.maxBits}`);
    }
    // 65537 and above, odd: small exponents invite the classic padding attacks.
    if (key.publicExponent < 65537n || key.publicExponent % 2n === 0n) {
      throw new CaError('unsupported-algorithm', `RSA public exponent ${key.publicExponent} not allowed`);
    }
    return;
  }
  throw new CaError('unsupported-algorithm', `${keyName(key)} keys are not allowed by the LDevID key policy`);
}

export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

/** CSR signature algorithms we accept, by OID: ECDSA or RSASSA-PKCS1-v1_5 with SHA-2. */
const SIGNATURE_ALGORITHMS: ReadonlyMap<string, { family: 'ec' | 'rsa'; hash: SignatureHash; name: string }> = new Map([
  ['1.2.840.10045.4.3.2', { family: 'ec', hash: 'sha256', name: 'ecdsa-with-SHA256' }],
  ['1.2.840.10045.4.3.3', { family: 'ec', hash: 'sha384', name: 'ecdsa-with-SHA384' }],
  ['1.2.840.10045.4.3.4', { family: 'ec', hash: 'sha512', name: 'ecdsa-with-SHA512' }],
  ['1.2.840.113549.1.1.11', { family: 'rsa', hash: 'sha256', name: 'sha256WithRSAEncryption' }],
  ['1.2.840.113549.1.1.12', { family: 'rsa', hash: 'sha384', name: 'sha384WithRSAEncryption' }],
  ['1.2.840.113549.1.1.13', { family: 'rsa', hash: 'sha512', name: 'sha512WithRSAEncryption' }],
] as const);

/**
 * The hash to verify a CSR signature with. The algorithm must be of the key's own family and use
 * SHA-2: RSA-PSS, SHA-1 and anything unknown are Unsupported Algorithm (1022).
 */
export function signatureHashFor(key: DescribedKey, signatureAlgorithmOid: string): SignatureHash {
  const alg = SIGNATURE_ALGORITHMS.get(signatureAlgorithmOid);
  if (!alg || alg.family !== key.type) {
    throw new CaError('unsupported-algorithm', `CSR signature algorithm ${alg?.name ?? signatureAlgorithmOid} not allowed for ${keyName(key)}`);
  }
  return alg.hash;
}
