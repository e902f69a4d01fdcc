import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { x509 } from './x509.js';
import { CaError } from './errors.js';
import { checkKeyPolicy, describePublicKey, signatureHashFor, type DescribedKey, type KeyPolicy } from './key-policy.js';

export const OID_CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7';
export const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** One subject attribute as @peculiar/x509 names it: "CN", "O", ... or the OID ("2.5.4.5"). */
export interface NameAttribute {
  type: string;
  value: string;
}

export interface GeneralNameValue {
  type: x509.GeneralNameType;
  value: string;
}

/** A PKCS#10 request whose signature verified and whose key policy allows. */
export interface InspectedCsr {
  key: DescribedKey;
  /** DER SubjectPublicKeyInfo, the only thing the certificate takes from the CSR. */
  spki: Uint8Array;
  subject: NameAttribute[];
  requestedExtensions: x509.Extension[];
  requestedSubjectAltNames: GeneralNameValue[];
  challengePassword?: string;
}

export interface InspectCsrOptions {
  maxOctets: number;
  keyPolicy: KeyPolicy;
}

/**
 * Parses and checks a DER PKCS#10 request (RFC 2986). The signature covers only the request info,
 * so the envelope around it must be exactly canonical DER (pkijs re-encodes it and the bytes must
 * match; unused bits zero): otherwise many byte strings would pass as "the same" request. Then a
 * key policy allows, a signature algorithm of the key's family, and a signature OpenSSL verifies
 * with the request's own key (proof of possession; OpenSSL also insists on DER ECDSA signatures).
 * Every failure is a CaError; nothing here trusts content.
 */
export function inspectCsr(der: Uint8Array, options: InspectCsrOptions): InspectedCsr {
  if (der.byteLength === 0) throw new CaError('bad-csr', 'empty PKCS#10');
  if (der.byteLength > options.maxOctets) throw new CaError('bad-csr', `PKCS#10 of ${der.byteLength} octets exceeds the ${options.maxOctets}-octet limit`);

  let envelope: pkijs.CertificationRequest;
  try {
    const parsed = asn1js.fromBER(der, { maxDepth: 32, maxNodes: 4096 });
    if (parsed.offset !== der.byteLength) throw new Error('not exactly one DER object');
    envelope = new pkijs.CertificationRequest({ schema: parsed.result });
    if (!Buffer.from(envelope.toSchema(false).toBER()).equals(Buffer.from(der.buffer, der.byteOffset, der.byteLength))) {
      throw new Error('not DER-encoded');
    }
  } catch (err) {
    throw new CaError('bad-csr', `not a PKCS#10 CertificationRequest: ${message(err)}`, { cause: err });
  }
  if (envelope.version !== 0) throw new CaError('bad-csr', `PKCS#10 version ${envelope.version} is not v1 (0)`);
  if (envelope.signatureValue.valueBlock.unusedBits !== 0) throw new CaError('bad-csr', 'PKCS#10 signature BIT STRING has unused bits');

  let csr: x509.Pkcs10CertificateRequest;
  let spki: Uint8Array;
  try {
    csr = new x509.Pkcs10CertificateRequest(copy(der));
    spki = new Uint8Array(csr.publicKey.rawData);
  } catch (err) {
    throw new CaError('bad-csr', `not a PKCS#10 CertificationRequest: ${message(err)}`, { cause: err });
  }

  let key: DescribedKey;
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    key = describePublicKey(spki);
  } catch (err) {
    throw new CaError('unsupported-algorithm', `CSR public key not understood: ${message(err)}`, { cause: err });
  }
  checkKeyPolicy(key, options.keyPolicy);
  const hash = signatureHashFor(key, envelope.signatureAlgorithm.algorithmId);
  // RFC 5758 §3.2: ECDSA identifiers carry no parameters; RFC 4055 §5: RSA ones carry NULL.
  const params: unknown = envelope.signatureAlgorithm.algorithmParams;
  if (key.type === 'ec' ? params !== undefined : !(params === undefined || params instanceof asn1js.Null)) {
    throw new CaError('bad-csr', 'CSR signature algorithm has parameters it must not have');
  }

  let verified: boolean;
  try {
    verified = verify(hash, envelope.tbsView, publicKey, envelope.signatureValue.valueBlock.valueHexView);
  } catch (err) {
    throw new CaError('bad-csr', `CSR signature could not be checked: ${message(err)}`, { cause: err });
  }
  if (!verified) throw new CaError('bad-csr', 'CSR signature does not verify with its public key (no proof of possession)');

  try {
    return { key, spki, ...readContent(csr) };
  } catch (err) {
    if (err instanceof CaError) throw err;
    throw new CaError('bad-csr', `CSR attributes malformed: ${message(err)}`, { cause: err });
  }
}

function readContent(csr: x509.Pkcs10CertificateRequest): Omit<InspectedCsr, 'key' | 'spki'> {
  const subject: NameAttribute[] = [];
  for (const rdn of csr.subjectName.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) for (const value of values) subject.push({ type, value });
  }

  const passwords = csr.getAttributes(OID_CHALLENGE_PASSWORD);
  if (passwords.length > 1) throw new CaError('bad-csr', 'CSR carries more than one challengePassword');
  const password = passwords[0];
  if (password !== undefined && !(password instanceof x509.ChallengePasswordAttribute)) {
    throw new CaError('bad-csr', 'challengePassword attribute malformed');
  }
  if (csr.getAttributes(OID_EXTENSION_REQUEST).length > 1) throw new CaError('bad-csr', 'CSR carries more than one extensionRequest');

  const requestedExtensions = csr.extensions;
  const seen = new Set<string>();
  for (const ext of requestedExtensions) {
    if (seen.has(ext.type)) throw new CaError('bad-csr', `CSR requests extension ${ext.type} twice`);
    seen.add(ext.type);
  }
  const san = requestedExtensions.find((e) => e.type === OID_SUBJECT_ALT_NAME);
  const requestedSubjectAltNames = san
    ? new x509.SubjectAlternativeNameExtension(san.rawData).names.toJSON().map((n) => ({ type: n.type, value: n.value }))
    : [];
  return {
    subject,
    requestedExtensions,
    requestedSubjectAltNames,
    ...(password !== undefined ? { challengePassword: password.password } : {}),
  };
}

function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
