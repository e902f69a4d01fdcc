import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { RegistrarCa, type RegistrarCaOptions } from '../../../src/pki/ca/registrar-ca.js';
import { openSqlite, type SqliteDatabase } from '../../../src/store/sqlite/database.js';
import { SqliteAuditStore } from '../../../src/store/sqlite/audit.js';
import { SqliteIssuedCertificateStore } from '../../../src/store/sqlite/issued-certificates.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface CsrSpec {
  subject?: string | x509.JsonNameParams;
  dnsNames?: string[];
  keys?: webcrypto.CryptoKeyPair;
  curve?: 'P-256' | 'P-384' | 'P-521';
  rsaBits?: number;
  extensions?: x509.Extension[];
  challengePassword?: string;
}

export interface MadeCsr {
  der: Uint8Array;
  keys: webcrypto.CryptoKeyPair;
  keyPem: string;
}

/** A PKCS#10 made by @peculiar/x509 over WebCrypto (the pledge side of a test). */
export async function makeCsr(spec: CsrSpec = {}): Promise<MadeCsr> {
  const keys = spec.keys ?? (spec.rsaBits
    ? ((await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: spec.rsaBits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true, ['sign', 'verify'],
    )) as webcrypto.CryptoKeyPair)
    : ((await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: spec.curve ?? 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair));
  const extensions = [...(spec.extensions ?? [])];
  if (spec.dnsNames) extensions.push(new x509.SubjectAlternativeNameExtension(spec.dnsNames.map((value) => ({ type: 'dns' as const, value }))));
  const ec = keys.privateKey.algorithm.name === 'ECDSA';
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(spec.subject !== undefined ? { name: typeof spec.subject === 'string' ? spec.subject : new x509.Name(spec.subject) } : {}),
    keys,
    signingAlgorithm: ec ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' },
    extensions,
    ...(spec.challengePassword !== undefined ? { attributes: [new x509.ChallengePasswordAttribute(spec.challengePassword)] } : {}),
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { der: new Uint8Array(csr.rawData), keys, keyPem };
}

export interface CaFixture {
  dir: string;
  db: SqliteDatabase;
  store: SqliteIssuedCertificateStore;
  audit: SqliteAuditStore;
  ca: RegistrarCa;
  cleanup(): void;
}

/** A registrar CA in a fresh temporary directory, with its SQLite store beside it. */
export async function caFixture(options: Partial<Omit<RegistrarCaOptions, 'store' | 'audit'>> = {}): Promise<CaFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-ca-'));
  const db = openSqlite(join(dir, 'gangway.db'));
  const store = new SqliteIssuedCertificateStore(db);
  const audit = new SqliteAuditStore(db);
  const ca = await RegistrarCa.open({ directory: join(dir, 'ca'), store, audit, ...options });
  return {
    dir, db, store, audit, ca,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs openssl; returns the exit status and stdout followed by stderr (OpenSSL 3.0 reports some
 * verdicts, e.g. `req -verify`'s, only on stderr and with status 0).
 */
export function runOpenssl(openssl: string, args: string[], input?: Uint8Array): { status: number; out: string } {
  const r = spawnSync(openssl, args, { input, encoding: 'buffer', timeout: 30_000 });
  return { status: r.status ?? -1, out: `${r.stdout?.toString('utf8') ?? ''}${r.stderr?.toString('utf8') ?? ''}` };
}

export function writeFile(dir: string, name: string, data: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}
