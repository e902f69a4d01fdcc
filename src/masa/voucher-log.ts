/**
 * Every voucher the MASA issued (`vouchers.jsonl`), and the per-device audit log RFC 8995 §5.8
 * builds from it: which domains got vouchers, when, with which nonce and assertion.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';
import { JsonLinesFile, stringField } from './json-lines.js';

export interface VoucherLogEntry {
  at: string;
  serialNumber: string;
  /** base64 SubjectKeyIdentifier of the pinned-domain-cert (RFC 8995 §5.8.2 domainID). */
  domainId: string;
  /** The configured domain, when one was recognised. */
  domain: string | null;
  /** The nonce as the request spelled it, or null for a nonceless voucher. */
  nonce: string | null;
  assertion: string;
  expiresOn: string | null;
  format: 'cms' | 'cose';
  /** Subject of the registrar certificate that signed the request. */
  registrar: string;
  pinnedSpkiSha256: string;
}

function readEntry(v: unknown): VoucherLogEntry | undefined {
  const at = stringField(v, 'at');
  const serialNumber = stringField(v, 'serialNumber');
  const domainId = stringField(v, 'domainId');
  const assertion = stringField(v, 'assertion');
  const format = stringField(v, 'format');
  if (!at || !serialNumber || !domainId || !assertion || (format !== 'cms' && format !== 'cose')) return undefined;
  return {
    at,
    serialNumber,
    domainId,
    domain: stringField(v, 'domain') ?? null,
    nonce: stringField(v, 'nonce') ?? null,
    assertion,
    expiresOn: stringField(v, 'expiresOn') ?? null,
    format,
    registrar: stringField(v, 'registrar') ?? '',
    pinnedSpkiSha256: stringField(v, 'pinnedSpkiSha256') ?? '',
  };
}

/** RFC 8995 §5.8.1 audit log, as JSON. */
export interface AuditLog {
  version: '1';
  events: { date: string; domainID: string; nonce: string | null; assertion: string }[];
  truncation?: { arbitrary: number };
}

/** The newest events are kept when a device has more than this many. */
export const MAX_AUDIT_EVENTS = 1000;

export class VoucherLog {
  private readonly file: JsonLinesFile<VoucherLogEntry>;

  constructor(path: string) {
    this.file = new JsonLinesFile(path, readEntry);
  }

  append(entry: VoucherLogEntry): void {
    this.file.append(entry);
  }

  entriesFor(serialNumber: string): VoucherLogEntry[] {
    return this.file.records().filter((e) => e.serialNumber === serialNumber);
  }

  auditLog(serialNumber: string): AuditLog {
    const all = this.entriesFor(serialNumber);
    const kept = all.slice(-MAX_AUDIT_EVENTS);
    const log: AuditLog = {
      version: '1',
      events: kept.map((e) => ({ date: e.at, domainID: e.domainId, nonce: e.nonce, assertion: e.assertion })),
    };
    if (kept.length < all.length) log.truncation = { arbitrary: all.length - kept.length };
    return log;
  }
}

/**
 * domainID of a pinned certificate: its SubjectKeyIdentifier, or for a certificate without one the
 * SHA-1 of its subjectPublicKey (RFC 5280 §4.2.1.2 method 1), base64.
 */
export function domainIdOf(certificateDer: Uint8Array): string {
  const cert = new x509.X509Certificate(certificateDer);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return Buffer.from(ski.keyId, 'hex').toString('base64');
  const bits = pkijs.Certificate.fromBER(new Uint8Array(certificateDer)).subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
  return createHash('sha1').update(bits).digest('base64');
}

