/**
 * Certificate path validation for voucher signers and for the pinned-domain-cert check.
 *
 * Choice: node:crypto's X509Certificate does the cryptography and the issuer match
 * (`checkIssued`: OpenSSL's name chaining, AKI/SKI match and keyCertSign), @peculiar/x509 reads the
 * extensions (basicConstraints cA and pathLenConstraint, keyUsage) and the validity dates. pkijs's
 * CertificateChainValidationEngine was not used: it cannot leave validity periods unchecked, which
 * a pledge without a trusted clock must be able to do (../shared/specs/teap-brski.md §8 item 6).
 *
 * The anchor need not be self-signed: a pinned domain CA may itself be an intermediate. Like
 * OpenSSL, the anchor's own pathLenConstraint and validity count too. Not checked here: revocation, name constraints, policies, unknown critical extensions, and EKUs
 * (the callers that need an EKU, e.g. cmcRA on a registrar, check it on the result).
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { bytesEqual } from './yang-types.js';

/** A validity instant, or 'ignore-time' for a device without a trusted clock. */
export type ValidityTime = Date | 'ignore-time';

export interface PathValidationOptions {
  /** Default: now. */
  at?: ValidityTime;
  /** Longest path, leaf and anchor included. Default 8. */
  maxLength?: number;
}

export type PathValidationResult =
  | { ok: true; /** DER, leaf first, anchor last (one element when the leaf is an anchor). */ path: Uint8Array[] }
  | { ok: false; reason: string };

interface LoadedCert {
  der: Uint8Array;
  node: X509Certificate;
  ca: boolean;
  pathLength?: number;
  keyCertSign: boolean;
  notBefore: Date;
  notAfter: Date;
}

export function loadCertificate(der: Uint8Array): LoadedCert | undefined {
  try {
    const node = new X509Certificate(der);
    const parsed = new x509.X509Certificate(der);
    const bc = parsed.getExtension(x509.BasicConstraintsExtension);
    const ku = parsed.getExtension(x509.KeyUsagesExtension);
    return {
      der: new Uint8Array(der),
      node,
      ca: bc?.ca === true,
      ...(bc?.pathLength !== undefined ? { pathLength: bc.pathLength } : {}),
      keyCertSign: ku === null || (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0,
      notBefore: parsed.notBefore,
      notAfter: parsed.notAfter,
    };
  } catch {
    return undefined;
  }
}

/** True when the certificate says it is a CA (basicConstraints cA). */
export function isCaCertificate(der: Uint8Array): boolean {
  return loadCertificate(der)?.ca === true;
}

export function validateCertificatePath(
  leafDer: Uint8Array,
  intermediates: readonly Uint8Array[],
  anchors: readonly Uint8Array[],
  options: PathValidationOptions = {},
): PathValidationResult {
  const at = options.at ?? new Date();
  const maxLength = options.maxLength ?? 8;
  const leaf = loadCertificate(leafDer);
  if (!leaf) return { ok: false, reason: 'the end-entity certificate does not parse' };
  const anchorCerts = anchors.map(loadCertificate).filter((c): c is LoadedCert => c !== undefined);
  if (anchorCerts.length === 0) return { ok: false, reason: 'no usable trust anchor' };
  const pool = intermediates
    .map(loadCertificate)
    .filter((c): c is LoadedCert => c !== undefined && !anchorCerts.some((a) => bytesEqual(a.der, c.der)));

  if (!timeOk(leaf, at)) return { ok: false, reason: `certificate ${leaf.node.subject} is outside its validity period` };
  if (anchorCerts.some((a) => bytesEqual(a.der, leaf.der))) return { ok: true, path: [leaf.der] };

  let lastReason = `no issuer of ${leaf.node.subject.replace(/\n/g, ', ')} among the certificates given`;
  const search = (path: LoadedCert[]): LoadedCert[] | undefined => {
    const current = path[path.length - 1] as LoadedCert;
    if (path.length >= maxLength) {
      lastReason = `path longer than ${maxLength}`;
      return undefined;
    }
    for (const anchor of anchorCerts) {
      if (issues(anchor, current, path.length - 1)) return [...path, anchor];
    }
    for (const next of pool) {
      if (path.includes(next) || !issues(next, current, path.length - 1)) continue;
      const found = search([...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  const issues = (issuer: LoadedCert, child: LoadedCert, intermediatesBelow: number): boolean => {
    if (!child.node.checkIssued(issuer.node)) return false;
    const name = issuer.node.subject.replace(/\n/g, ', ');
    if (!issuer.ca || !issuer.keyCertSign) {
      lastReason = `${name} is not a CA certificate`;
      return false;
    }
    if (issuer.pathLength !== undefined && intermediatesBelow > issuer.pathLength) {
      lastReason = `${name} allows a path length of ${issuer.pathLength}`;
      return false;
    }
    if (!timeOk(issuer, at)) {
      lastReason = `${name} is outside its validity period`;
      return false;
    }
    if (!child.node.verify(issuer.node.publicKey)) {
      lastReason = `signature by ${name} does not verify`;
      return false;
    }
    return true;
  };
  const found = search([leaf]);
  return found ? { ok: true, path: found.map((c) => c.der) } : { ok: false, reason: lastReason };
}

function timeOk(cert: LoadedCert, at: ValidityTime): boolean {
  if (at === 'ignore-time') return true;
  return cert.notBefore.getTime() <= at.getTime() && at.getTime() <= cert.notAfter.getTime();
}
