import {
  IssuanceLimitReachedError,
  REVOCATION_REASONS,
  SerialInUseError,
  type IssuanceLimit,
  type IssuedCertificateRecord,
  type IssuedCertificateStore,
  type NewIssuedCertificate,
  type RevocationReason,
  type SubjectAltName,
} from '../issued-certificates.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  serial: string;
  issuer: string;
  subject: string;
  subject_alt_names: string;
  device_id: string;
  not_before: string;
  not_after: string;
  der: Buffer;
  issued_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
  reissued_from: string | null;
}

/** A new row: revocation comes later. */
type InsertRow = Omit<Row, 'revoked_at' | 'revocation_reason'>;

const COLUMNS = 'serial, issuer, subject, subject_alt_names, device_id, not_before, not_after, der, issued_at, revoked_at, revocation_reason, reissued_from';

function toRecord(r: Row): IssuedCertificateRecord {
  const reason = r.revocation_reason;
  return {
    serial: r.serial,
    issuer: r.issuer,
    subject: r.subject,
    subjectAltNames: JSON.parse(r.subject_alt_names) as SubjectAltName[],
    deviceId: r.device_id,
    notBefore: new Date(r.not_before),
    notAfter: new Date(r.not_after),
    der: new Uint8Array(r.der),
    issuedAt: new Date(r.issued_at),
    ...(r.revoked_at !== null ? { revokedAt: new Date(r.revoked_at) } : {}),
    ...(reason !== null && (REVOCATION_REASONS as readonly string[]).includes(reason) ? { revocationReason: reason as RevocationReason } : {}),
    ...(r.reissued_from !== null ? { reissuedFrom: r.reissued_from } : {}),
  };
}

/** SQLite implementation of the issued-certificates store (migration 0005). */
export class SqliteIssuedCertificateStore implements IssuedCertificateStore {
  private readonly insert;
  private readonly selectOne;
  private readonly selectByDevice;
  private readonly selectRecent;
  private readonly updRevoke;
  private readonly selectReissued;
  private readonly selectRevoked;
  private readonly bumpCrlNumber;
  private readonly selectIssuedSince;
  private readonly insertWithinLimit;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare(
      `INSERT INTO issued_certificates (${COLUMNS}) VALUES (@serial, @issuer, @subject, @subject_alt_names, @device_id, @not_before, @not_after, @der, @issued_at, NULL, NULL, @reissued_from)`,
    );
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM issued_certificates WHERE serial = ?`);
    this.selectByDevice = db.prepare(`SELECT ${COLUMNS} FROM issued_certificates WHERE device_id = ? ORDER BY issued_at DESC, rowid DESC`);
    this.selectIssuedSince = db.prepare('SELECT issued_at FROM issued_certificates WHERE device_id = ? AND issued_at > ? ORDER BY issued_at DESC LIMIT ?').pluck();
    // IMMEDIATE takes the write lock before the count: another process sharing the file cannot
    // count the same places between our count and our insert.
    this.insertWithinLimit = db.transaction((row: InsertRow, limit: IssuanceLimit): Date[] | undefined => {
      const holding = this.issuedSinceNow(row.device_id, limit.since, limit.certificates);
      if (holding.length >= limit.certificates) return holding;
      this.insert.run(row);
      return undefined;
    });
    this.selectRecent = db.prepare(`SELECT ${COLUMNS} FROM issued_certificates ORDER BY issued_at DESC, rowid DESC LIMIT ?`);
    this.updRevoke = db.prepare('UPDATE issued_certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL');
    this.selectReissued = db.prepare(`SELECT ${COLUMNS} FROM issued_certificates WHERE reissued_from = ? ORDER BY issued_at, rowid`);
    this.selectRevoked = db.prepare(
      `SELECT ${COLUMNS} FROM issued_certificates WHERE issuer = ? AND revoked_at IS NOT NULL AND not_after > ? ORDER BY revoked_at, serial`,
    );
    this.bumpCrlNumber = db.prepare(
      `INSERT INTO crl_numbers (issuer, last_number) VALUES (?, 1)
       ON CONFLICT(issuer) DO UPDATE SET last_number = last_number + 1
       RETURNING last_number`,
    );
  }

  async record(cert: NewIssuedCertificate, limit?: IssuanceLimit): Promise<void> {
    const row: InsertRow = {
      serial: cert.serial,
      issuer: cert.issuer,
      subject: cert.subject,
      subject_alt_names: JSON.stringify(cert.subjectAltNames.map((n) => ({ type: n.type, value: n.value }))),
      device_id: cert.deviceId,
      not_before: cert.notBefore.toISOString(),
      not_after: cert.notAfter.toISOString(),
      der: Buffer.from(cert.der),
      issued_at: cert.issuedAt.toISOString(),
      reissued_from: cert.reissuedFrom ?? null,
    };
    let holding: Date[] | undefined;
    try {
      if (limit) holding = this.insertWithinLimit.immediate(row, limit);
      else this.insert.run(row);
    } catch (err) {
      // Duck-typed: better-sqlite3's SqliteError may come from another realm (jest's module registry).
      const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') throw new SerialInUseError(cert.serial);
      throw err;
    }
    if (holding) throw new IssuanceLimitReachedError(cert.deviceId, holding);
  }

  async issuedSince(deviceId: string, since: Date, max: number): Promise<Date[]> {
    return this.issuedSinceNow(deviceId, since, max);
  }

  private issuedSinceNow(deviceId: string, since: Date, max: number): Date[] {
    // Text comparison is time order: every stored time is toISOString's fixed-width form.
    return (this.selectIssuedSince.all(deviceId, since.toISOString(), Math.max(0, Math.floor(max))) as string[]).map((t) => new Date(t));
  }

  async get(serial: string): Promise<IssuedCertificateRecord | undefined> {
    const row = this.selectOne.get(serial) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  async listByDevice(deviceId: string): Promise<IssuedCertificateRecord[]> {
    return (this.selectByDevice.all(deviceId) as Row[]).map(toRecord);
  }

  async list(limit: number): Promise<IssuedCertificateRecord[]> {
    return (this.selectRecent.all(limit) as Row[]).map(toRecord);
  }

  async revoke(serial: string, at: Date, reason: RevocationReason): Promise<boolean> {
    return this.updRevoke.run(at.toISOString(), reason, serial).changes > 0;
  }

  async listReissuedFrom(serial: string): Promise<IssuedCertificateRecord[]> {
    return (this.selectReissued.all(serial) as Row[]).map(toRecord);
  }

  async listRevoked(issuer: string, now: Date): Promise<IssuedCertificateRecord[]> {
    return (this.selectRevoked.all(issuer, now.toISOString()) as Row[]).map(toRecord);
  }

  async nextCrlNumber(issuer: string): Promise<bigint> {
    const row = this.bumpCrlNumber.get(issuer) as { last_number: number };
    return BigInt(row.last_number);
  }
}
