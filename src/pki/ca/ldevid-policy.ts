import { timingSafeEqual } from 'node:crypto';
import { x509 } from './x509.js';
import { CaError } from './errors.js';
import { DEFAULT_KEY_POLICY, type KeyPolicy } from './key-policy.js';
import { OID_SUBJECT_ALT_NAME, type GeneralNameValue, type InspectedCsr, type NameAttribute } from './csr.js';

/**
 * What an LDevID says about a device, decided by policy from the identity the registrar
 * authenticated (an IDevID's serialNumber RDN, or a device id the caller vouches for) — never
 * copied from the CSR. The CSR contributes its public key and nothing else; what it asks for in
 * its subject or extensions is only compared against what policy gives.
 */
export interface LdevidPolicy {
  validityDays: number;
  /** notBefore lies this far in the past, for devices whose clocks run slightly behind. */
  backdateSeconds: number;
  keys: KeyPolicy;
  subject: {
    /** Template for CN; `{deviceId}` is replaced. Absent: no CN. */
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
  };
  /** SAN entries; `{deviceId}` is replaced (percent-encoded in URIs). Empty: no SAN extension. */
  subjectAltNames: ReadonlyArray<{ type: 'dns' | 'url'; template: string }>;
  /**
   * 'match': the CSR's subject attributes and requested SANs must each be one policy gives this
   * device (a CSR may name fewer, or none), otherwise Bad Identity (1024).
   * 'replace': whatever the CSR names is ignored.
   */
  csrSubject: 'match' | 'replace';
  /** Extensions a CSR requests beyond SAN/keyUsage/extKeyUsage/basicConstraints/SKI. */
  unknownCsrExtensions: 'reject' | 'ignore';
  maxCsrOctets: number;
}

export const DEFAULT_LDEVID_POLICY: Readonly<LdevidPolicy> = Object.freeze({
  validityDays: 365,
  backdateSeconds: 60,
  keys: DEFAULT_KEY_POLICY,
  subject: Object.freeze({ commonName: '{deviceId}' }),
  subjectAltNames: Object.freeze([]),
  csrSubject: 'match',
  unknownCsrExtensions: 'reject',
  maxCsrOctets: 8192,
});

/** X520SerialNumber is a PrintableString of at most 64 characters (RFC 5280 Appendix A.1). */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]{1,64}$/;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const OID_SERIAL_NUMBER = '2.5.4.5';

export const OID_KEY_USAGE = '2.5.29.15';
export const OID_EXT_KEY_USAGE = '2.5.29.37';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

export function validatePolicy(p: LdevidPolicy): void {
  const bad = (what: string): never => {
    throw new Error(`LDevID policy: ${what}`);
  };
  if (!Number.isInteger(p.validityDays) || p.validityDays < 1 || p.validityDays > 36500) bad('validityDays must be 1..36500');
  if (!Number.isInteger(p.backdateSeconds) || p.backdateSeconds < 0 || p.backdateSeconds > 86400) bad('backdateSeconds must be 0..86400');
  if (p.keys.ecCurves.length === 0 && !p.keys.rsa) bad('keys allow no key type');
  if (p.keys.rsa && (p.keys.rsa.minBits < 2048 || p.keys.rsa.maxBits < p.keys.rsa.minBits || p.keys.rsa.maxBits > 16384)) {
    bad('keys.rsa must satisfy 2048 <= minBits <= maxBits <= 16384');
  }
  if (!Number.isInteger(p.maxCsrOctets) || p.maxCsrOctets < 256 || p.maxCsrOctets > 65535) bad('maxCsrOctets must be 256..65535');
  for (const san of p.subjectAltNames) if (!san.template.includes('{deviceId}')) bad(`subjectAltName template "${san.template}" lacks {deviceId}: every device would get the same name`);
}

/** Subject and SANs policy gives one device. */
export interface DeviceNames {
  subject: x509.Name;
  /** The subject as attribute/value pairs, in @peculiar/x509's naming (comparable with a CSR's). */
  subjectAttributes: NameAttribute[];
  subjectAltNames: GeneralNameValue[];
}

/**
 * Derives the names for `deviceId`. The id must be usable as a serialNumber RDN (PrintableString,
 * at most 64 characters) and in every SAN template; otherwise General PKI Error (1027): the
 * device is authenticated but policy cannot name it.
 */
export function namesForDevice(policy: LdevidPolicy, deviceId: string): DeviceNames {
  if (!PRINTABLE.test(deviceId)) {
    throw new CaError('general-pki-error', `device id "${deviceId.slice(0, 80)}" cannot be a serialNumber (PrintableString, 1..64 characters)`);
  }
  const fill = (template: string, value: string): string => template.split('{deviceId}').join(value);
  const rdns: x509.JsonAttributeAndObjectValue[] = [];
  if (policy.subject.organization !== undefined) rdns.push({ O: [{ utf8String: policy.subject.organization }] });
  if (policy.subject.organizationalUnit !== undefined) rdns.push({ OU: [{ utf8String: policy.subject.organizationalUnit }] });
  if (policy.subject.commonName !== undefined) {
    const cn = fill(policy.subject.commonName, deviceId);
    if (cn.length === 0 || cn.length > 64) throw new CaError('general-pki-error', `commonName "${cn}" is not 1..64 characters`);
    rdns.push({ CN: [{ utf8String: cn }] });
  }
  rdns.push({ [OID_SERIAL_NUMBER]: [{ printableString: deviceId }] });
  const subject = new x509.Name(rdns);

  const subjectAltNames = policy.subjectAltNames.map(({ type, template }): GeneralNameValue => {
    if (type === 'dns') {
      const name = fill(template, deviceId.toLowerCase());
      if (name.length > 253 || !name.split('.').every((l) => DNS_LABEL.test(l))) {
        throw new CaError('general-pki-error', `device id "${deviceId}" does not make a DNS name from "${template}"`);
      }
      return { type: 'dns', value: name };
    }
    const uri = fill(template, encodeURIComponent(deviceId));
    if (!URL.canParse(uri)) throw new CaError('general-pki-error', `"${uri}" is not a URI`);
    return { type: 'url', value: uri };
  });
  return { subject, subjectAttributes: flatten(subject), subjectAltNames };
}

function flatten(name: x509.Name): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const rdn of name.toJSON()) for (const [type, values] of Object.entries(rdn)) for (const value of values) out.push({ type, value });
  return out;
}

/**
 * Compares what the CSR asks for with what policy gives, and refuses requests no LDevID may have.
 * Never returns anything from the CSR: a pass only means "nothing conflicts".
 */
export function checkCsrAgainstPolicy(policy: LdevidPolicy, names: DeviceNames, csr: InspectedCsr, expectedChallengePassword?: string): void {
  if (expectedChallengePassword !== undefined) {
    const got = Buffer.from(csr.challengePassword ?? '', 'utf8');
    const want = Buffer.from(expectedChallengePassword, 'utf8');
    if (csr.challengePassword === undefined || got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new CaError('bad-csr', csr.challengePassword === undefined ? 'CSR lacks the required challengePassword' : 'CSR challengePassword does not match this session');
    }
  }

  for (const ext of csr.requestedExtensions) {
    switch (ext.type) {
      case OID_SUBJECT_ALT_NAME:
      case OID_EXT_KEY_USAGE:
      case OID_SUBJECT_KEY_IDENTIFIER:
        break;
      case OID_BASIC_CONSTRAINTS:
        if (new x509.BasicConstraintsExtension(ext.rawData).ca) throw new CaError('unsupported-extension', 'CSR asks for a CA certificate');
        break;
      case OID_KEY_USAGE: {
        const usages = new x509.KeyUsagesExtension(ext.rawData).usages;
        if ((usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
          throw new CaError('unsupported-extension', 'CSR asks for certificate or CRL signing key usage');
        }
        break;
      }
      default:
        if (policy.unknownCsrExtensions === 'reject') throw new CaError('unsupported-extension', `CSR requests extension ${ext.type}, which policy does not allow`);
    }
  }

  if (policy.csrSubject === 'replace') return;
  const allowed = new Set(names.subjectAttributes.map((a) => `${a.type}=${a.value}`));
  for (const a of csr.subject) {
    if (!allowed.has(`${a.type}=${a.value}`)) {
      throw new CaError('bad-identity', `CSR subject ${a.type}=${a.value.slice(0, 80)} is not what policy gives device ${names.subjectAttributes.find((x) => x.type === OID_SERIAL_NUMBER)?.value ?? ''}`);
    }
  }
  // DNS names compare without regard to case (RFC 4343); everything else exactly.
  const key = (n: GeneralNameValue): string => `${n.type}:${n.type === 'dns' ? n.value.toLowerCase() : n.value}`;
  const sans = new Set(names.subjectAltNames.map(key));
  for (const n of csr.requestedSubjectAltNames) {
    if (!sans.has(key(n))) throw new CaError('bad-identity', `CSR subjectAltName ${n.type}:${n.value.slice(0, 80)} is not what policy gives this device`);
  }
}
