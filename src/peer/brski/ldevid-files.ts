/**
 * The pledge's enrolment on disk: ldevid.pem (LDevID, then any intermediate CAs), ldevid.key
 * (PKCS#8, mode 0600 from its creation) and ca.pem (the domain trust anchors, for validating the
 * server in later EAP-TLS runs). Each file is written beside its final name and renamed over it, so
 * a reader never sees half a key or a certificate without its key.
 */
import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Enrollment } from './pledge.js';

export const LDEVID_FILES = {
  certificate: 'ldevid.pem', key: 'ldevid.key', trustAnchors: 'ca.pem', voucher: 'voucher.vcj',
  /** During a renewal: the key of the certificate being replaced, until the new certificate is in place. */
  previousKey: 'ldevid.key.prev',
} as const;

export interface WrittenLdevid {
  certificate: string;
  key: string;
  trustAnchors: string;
  /** The voucher as the MASA signed it (application/voucher-cms+json, DER): the device's proof of ownership. */
  voucher: string;
}

function pem(der: Uint8Array): string {
  return new X509Certificate(der).toString();
}

function writeFileAtomically(path: string, text: string | Uint8Array, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  // 'wx': a fresh file, created with its final mode (no window with a readable key).
  const fd = openSync(tmp, 'wx', mode);
  try {
    if (typeof text === 'string') writeSync(fd, text);
    else writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeLdevid(dir: string, e: Enrollment): WrittenLdevid {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: WrittenLdevid = {
    certificate: join(dir, LDEVID_FILES.certificate),
    key: join(dir, LDEVID_FILES.key),
    trustAnchors: join(dir, LDEVID_FILES.trustAnchors),
    voucher: join(dir, LDEVID_FILES.voucher),
  };
  writeFileAtomically(out.key, e.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeFileAtomically(out.certificate, [e.ldevid, ...e.intermediates].map(pem).join(''), 0o644);
  writeFileAtomically(out.trustAnchors, e.trustAnchors.map(pem).join(''), 0o644);
  writeFileAtomically(out.voucher, e.voucher.der, 0o644);
  return out;
}

export interface WrittenRenewal {
  certificate: string;
  key: string;
  trustAnchors: string;
}

/**
 * A re-enrolment's new LDevID and key over the device's current ones. Two renames cannot be one
 * step, so the key that matches the certificate still in place is kept as ldevid.key.prev until the
 * new certificate has replaced it: a device stopped between the renames finds its new key beside
 * its old certificate, and `loadLdevidCredentials` takes the previous key that matches it.
 * `currentKey` is the key the device authenticated with (after such a stop, ldevid.key is not it).
 */
export function writeRenewedLdevid(
  dir: string,
  renewal: { ldevid: Uint8Array; intermediates: Uint8Array[]; privateKey: KeyObject; trustAnchors: Uint8Array[] },
  currentKey: KeyObject,
): WrittenRenewal {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: WrittenRenewal = {
    certificate: join(dir, LDEVID_FILES.certificate),
    key: join(dir, LDEVID_FILES.key),
    trustAnchors: join(dir, LDEVID_FILES.trustAnchors),
  };
  const previous = join(dir, LDEVID_FILES.previousKey);
  writeFileAtomically(previous, currentKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeFileAtomically(out.key, renewal.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeFileAtomically(out.certificate, [renewal.ldevid, ...renewal.intermediates].map(pem).join(''), 0o644);
  writeFileAtomically(out.trustAnchors, renewal.trustAnchors.map(pem).join(''), 0o644);
  rmSync(previous, { force: true });
  return out;
}
