/**
 * What a pledge leaves the factory with (../shared/specs/teap-brski.md §1): its IDevID certificate
 * (and any intermediate CAs), the IDevID private key, and the manufacturer trust anchor(s) that
 * vouchers must chain to. On disk: a directory holding idevid.pem, idevid.key and
 * manufacturer-ca.pem.
 */
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialNumberOf, validateCertificatePath } from '../../teap-brski/brski/voucher/index.js';
import { parsePemCertificates } from '../../teap-brski/teap/policy-rules.js';

export interface PledgeCredentials {
  /** The IDevID (DER). */
  idevid: Uint8Array;
  /** CA certificates between the IDevID and the manufacturer anchor (DER), sent with it. */
  intermediates: Uint8Array[];
  privateKey: KeyObject;
  /** Anchors for the voucher signature (DER). */
  manufacturerAnchors: Uint8Array[];
  /** The IDevID subject's serialNumber (X520SerialNumber), the voucher's serial-number. */
  serialNumber: string;
}

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

export const IDEVID_FILES = { certificate: 'idevid.pem', key: 'idevid.key', manufacturerCa: 'manufacturer-ca.pem' } as const;

/** Checks that the parts belong together: key and certificate, serialNumber, chain to an anchor. */
export function pledgeCredentials(certificatePem: string, keyPem: string, manufacturerCaPem: string): PledgeCredentials {
  const certs = certificates(certificatePem, 'IDevID');
  const leaf = certs[0];
  if (!leaf) throw new CredentialsError('no certificate in the IDevID file');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (err) {
    throw new CredentialsError(`IDevID key: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new CredentialsError('the IDevID key does not belong to the IDevID certificate');
  const idevid = new Uint8Array(leaf.raw);
  const serialNumber = serialNumberOf(idevid);
  if (serialNumber === undefined) throw new CredentialsError('the IDevID subject has no serialNumber attribute');
  const anchors = certificates(manufacturerCaPem, 'manufacturer CA').map((c) => new Uint8Array(c.raw));
  if (anchors.length === 0) throw new CredentialsError('no certificate in the manufacturer CA file');
  const intermediates = certs.slice(1).map((c) => new Uint8Array(c.raw));
  // A device may not trust its clock; a path that only fails on time is still the right one.
  const path = validateCertificatePath(idevid, intermediates, anchors, { at: 'ignore-time' });
  if (!path.ok) throw new CredentialsError(`the IDevID does not chain to the manufacturer CA: ${path.reason}`);
  return { idevid, intermediates, privateKey, manufacturerAnchors: anchors, serialNumber };
}

function certificates(pem: string, what: string): X509Certificate[] {
  try {
    return parsePemCertificates(pem);
  } catch (err) {
    throw new CredentialsError(`${what} file: ${(err as Error).message}`);
  }
}

export function loadPledgeCredentials(dir: string): PledgeCredentials {
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      throw new CredentialsError(`cannot read ${join(dir, name)}: ${(err as Error).message}`);
    }
  };
  return pledgeCredentials(read(IDEVID_FILES.certificate), read(IDEVID_FILES.key), read(IDEVID_FILES.manufacturerCa));
}
