/**
 * `gangway masa issue-idevid`: one pledge's IDevID and the files a device maker (and a registrar
 * operator) needs, each serial-number issued once and recorded in the registry the MASA reads.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MasaConfig } from './config.js';
import { IdevidRegistry, type IssuedIdevid } from './idevid-registry.js';
import { createIdevid, isPrintableSerial, loadKeyedCertificate } from './pki.js';

export interface IssueIdevidOptions {
  serialNumber: string;
  /** Directory for the pledge's files; created (0700) when missing. */
  outDir: string;
  /** id-pe-masa-url value; default masa.yaml's masaUrl. */
  masaUrl?: string;
  commonName?: string;
}

export interface IssueIdevidResult {
  issued: IssuedIdevid;
  files: {
    /** The pledge's certificate and private key (0600). */
    idevid: string;
    key: string;
    /** The pledge's voucher trust anchor, and what a registrar trusts as this manufacturer's IDevID CA. */
    manufacturerCa: string;
    /** Trust anchor of the MASA's TLS certificate, for a registrar's MASA client. */
    masaCa: string;
  };
}

export async function issueIdevid(config: MasaConfig, opts: IssueIdevidOptions): Promise<IssueIdevidResult> {
  const { paths } = config;
  const registry = new IdevidRegistry(paths.idevids);
  // Checked again under the lock; here so that a duplicate is named before any other complaint.
  if (registry.find(opts.serialNumber)) throw new Error(`an IDevID for serial-number "${opts.serialNumber}" was already issued`);
  const masaUrl = opts.masaUrl ?? config.masaUrl;
  if (masaUrl === undefined) throw new Error('no MASA URL: masa.yaml has no masaUrl; pass --masa-url');
  if (masaUrl.length === 0 || masaUrl.length > 2048 || !/^[\x21-\x7e]+$/.test(masaUrl)) {
    throw new Error('the MASA URL must be 1-2048 printable ASCII characters without spaces (an IA5String)');
  }
  if (!isPrintableSerial(opts.serialNumber)) {
    throw new Error(`serial-number "${opts.serialNumber}" must be 1-64 PrintableString characters (A-Z a-z 0-9 space ' ( ) + , - . / : = ?)`);
  }
  const outDir = resolve(opts.outDir);
  const files = {
    idevid: join(outDir, 'idevid.pem'),
    key: join(outDir, 'idevid.key'),
    manufacturerCa: join(outDir, 'manufacturer-ca.pem'),
    masaCa: join(outDir, 'masa-ca.pem'),
  };
  // A device's identity is never overwritten by another's.
  if (existsSync(files.key) || existsSync(files.idevid)) throw new Error(`${outDir} already holds an IDevID; choose another --out`);
  const ca = await loadKeyedCertificate(readFileSync(paths.manufacturerCaCert, 'utf8'), readFileSync(paths.manufacturerCaKey, 'utf8'));

  const issued = await registry.issueOnce(opts.serialNumber, async () => {
    const idevid = await createIdevid(ca, {
      serialNumber: opts.serialNumber,
      masaUrl,
      manufacturer: config.manufacturer,
      ...(opts.commonName !== undefined ? { commonName: opts.commonName } : {}),
    });
    mkdirSync(outDir, { recursive: true, mode: 0o700 });
    writeFileSync(files.key, idevid.keyPem, { mode: 0o600 });
    chmodSync(files.key, 0o600);
    writeFileSync(files.idevid, idevid.certPem);
    copyFileSync(paths.manufacturerCaCert, files.manufacturerCa);
    copyFileSync(paths.tlsCaCert, files.masaCa);
    return {
      serialNumber: opts.serialNumber,
      certificateSerial: idevid.cert.serialNumber,
      subject: idevid.cert.subject,
      issuedAt: new Date().toISOString(),
      masaUrl,
      certificate: Buffer.from(idevid.cert.rawData).toString('base64'),
    };
  });
  return { issued, files };
}
