/**
 * The pledge's enrolment on disk: ldevid.pem (LDevID, then any intermediate CAs), ldevid.key
 * (PKCS#8, mode 0600 from its creation) and ca.pem (the domain trust anchors, for validating the
 * server in later EAP-TLS runs). Each file is written durably beside its final name and renamed over
 * it (util/atomic-file.ts), so no file is ever seen half written.
 *
 * A renewal replaces two files, and two renames are not one step: see writeRenewedLdevid and
 * repairInterruptedRenewal for how a device stopped between them keeps a working pair.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../../util/atomic-file.js';
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

function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

const PRIVATE = { mode: 0o600 };
const PUBLIC = { mode: 0o644 };

export function writeLdevid(dir: string, e: Enrollment): WrittenLdevid {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: WrittenLdevid = {
    certificate: join(dir, LDEVID_FILES.certificate),
    key: join(dir, LDEVID_FILES.key),
    trustAnchors: join(dir, LDEVID_FILES.trustAnchors),
    voucher: join(dir, LDEVID_FILES.voucher),
  };
  writeFileAtomically(out.key, keyPem(e.privateKey), PRIVATE);
  writeFileAtomically(out.certificate, [e.ldevid, ...e.intermediates].map(pem).join(''), PUBLIC);
  writeFileAtomically(out.trustAnchors, e.trustAnchors.map(pem).join(''), PUBLIC);
  writeFileAtomically(out.voucher, e.voucher.der, PUBLIC);
  // A key kept by a renewal long ago belongs to no certificate here any more.
  rmSync(join(dir, LDEVID_FILES.previousKey), { force: true });
  return out;
}

export interface WrittenRenewal {
  certificate: string;
  key: string;
  trustAnchors: string;
}

/**
 * A re-enrolment's new LDevID and key over the device's current ones. The key of the certificate
 * still in place (`currentKey`, the one the device authenticated with) is kept as ldevid.key.prev
 * while the new key and then the new certificate are renamed in; it goes once both are. A failure
 * between the renames puts the current key back; a stop there (power loss) leaves the new key beside
 * the old certificate, which repairInterruptedRenewal undoes from ldevid.key.prev at the next load.
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
  writeFileAtomically(out.trustAnchors, renewal.trustAnchors.map(pem).join(''), PUBLIC);
  writeFileAtomically(previous, keyPem(currentKey), PRIVATE);
  try {
    writeFileAtomically(out.key, keyPem(renewal.privateKey), PRIVATE);
    writeFileAtomically(out.certificate, [renewal.ldevid, ...renewal.intermediates].map(pem).join(''), PUBLIC);
  } catch (err) {
    // The certificate in place is still the old one: its key goes back beside it (whether or not
    // the new key's rename took effect). If even that fails, ldevid.key.prev stays for
    // repairInterruptedRenewal.
    try {
      writeFileAtomically(out.key, keyPem(currentKey), PRIVATE);
      rmSync(previous, { force: true });
    } catch {
      // The first error is the one to report.
    }
    throw err;
  }
  rmSync(previous, { force: true });
  return out;
}

/** What repairInterruptedRenewal found and did. */
export type RenewalRepair =
  /** The new key was in place beside the old certificate: the old certificate's key is back (the new certificate was lost). */
  | 'restored-previous-key'
  /** The renewal had finished but for removing the replaced key, which is now gone. */
  | 'removed-stale-previous-key';

function matches(certificate: X509Certificate, text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    return certificate.checkPrivateKey(createPrivateKey(text));
  } catch {
    return false;
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Finishes or undoes a renewal that stopped before removing ldevid.key.prev: when ldevid.key belongs
 * to the certificate in place, the kept key is stale and is removed; when it does not (or cannot be
 * read) and the kept key does, the kept key is put back as ldevid.key, so that every reader of the
 * directory (EAP-TLS supplicants too) finds a matching pair. Anything else is left for the loader
 * to refuse.
 */
export function repairInterruptedRenewal(dir: string): RenewalRepair | undefined {
  const previousPath = join(dir, LDEVID_FILES.previousKey);
  const previous = readOrUndefined(previousPath);
  if (previous === undefined) return undefined;
  const chain = readOrUndefined(join(dir, LDEVID_FILES.certificate));
  const first = chain?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  let certificate: X509Certificate;
  try {
    if (first === undefined) return undefined;
    certificate = new X509Certificate(first);
  } catch {
    return undefined;
  }
  const keyPath = join(dir, LDEVID_FILES.key);
  if (matches(certificate, readOrUndefined(keyPath))) {
    rmSync(previousPath, { force: true });
    return 'removed-stale-previous-key';
  }
  if (!matches(certificate, previous)) return undefined;
  writeFileAtomically(keyPath, previous, PRIVATE);
  rmSync(previousPath, { force: true });
  return 'restored-previous-key';
}
