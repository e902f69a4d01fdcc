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
import { UNIQUE_VIOLATION, pgText, sqlState, type PostgresDatabase, type Queryable, type SqlValue } from './database.js';

interface Row {
  serial: string;
  issuer: string;
  subject: string;
  subject_alt_names: string;
  device_id: string;
  not_before: Date;
  not_after: Date;
  der: Buffer;
  issued_at: Date;
  revoked_at: Date | null;
  revocation_reason: string | null;
  reissued_from: string | null;
}

const COLUMNS = 'serial, issuer, subject, subject_alt_names, device_id, not_before, not_after, der, issued_at, revoked_at, revocation_reason, reissued_from';

function toRecord(r: Row): IssuedCertificateRecord {
  const reason = r.revocation_reason;
  return {
    serial: r.serial,
    issuer: r.issuer,
    subject: r.subject,
    subjectAltNames: JSON.parse(r.subject_alt_names) as SubjectAltName[],
    deviceId: r.device_id,
    notBefore: r.not_before,
    notAfter: r.not_after,
    der: new Uint8Array(r.der),
    issuedAt: r.issued_at,
    ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}),
    ...(reason !== null && (REVOCATION_REASONS as readonly string[]).includes(reason) ? { revocationReason: reason as RevocationReason } : {}),
    ...(r.reissued_from !== null ? { reissuedFrom: r.reissued_from } : {}),
  };
}

function insertCertificate(db: Queryable, params: readonly SqlValue[]): Promise<unknown> {
  return db.query(
    `INSERT INTO issued_certificates (serial, issuer, subject, subject_alt_names, device_id, not_before, not_after, der, issued_at, reissued_from)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    params,
  );
}

async function issuedSinceOn(db: Queryable, deviceId: string, since: Date, max: number): Promise<Date[]> {
  const { rows } = await db.query<{ issued_at: Date }>(
    'SELECT issued_at FROM issued_certificates WHERE device_id = $1 AND issued_at > $2 ORDER BY issued_at DESC LIMIT $3',
    [pgText(deviceId), since, Math.max(0, Math.floor(max))],
  );
  return rows.map((r) => r.issued_at);
}

/**
 * PostgreSQL implementation of the issued-certificates store (migration 5). Every server records
 * into one table: the serial's primary key makes a serial drawn twice, on any server, a
 * SerialInUseError for the second, and the CRL number's upsert serialises issuers' CRLs.
 */
export class PostgresIssuedCertificateStore implements IssuedCertificateStore {
  constructor(private readonly db: PostgresDatabase) {}

  async record(cert: NewIssuedCertificate, limit?: IssuanceLimit): Promise<void> {
    const params: SqlValue[] = [
      cert.serial,
      pgText(cert.issuer),
      pgText(cert.subject),
      JSON.stringify(cert.subjectAltNames.map((n) => ({ type: n.type, value: n.value }))),
      pgText(cert.deviceId),
      cert.notBefore,
      cert.notAfter,
      Buffer.from(cert.der),
      cert.issuedAt,
      cert.reissuedFrom ?? null,
    ];
    let holding: Date[] | undefined;
    try {
      if (!limit) {
        await insertCertificate(this.db, params);
      } else {
        holding = await this.db.transaction(async (tx) => {
          // Every server issuing to this device waits here; each then counts what the others committed.
          await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gangway:issuance-limit:${this.db.schema}:${pgText(cert.deviceId)}`]);
          const recent = await issuedSinceOn(tx, cert.deviceId, limit.since, limit.certificates);
          if (recent.length >= limit.certificates) return recent;
          await insertCertificate(tx, params);
          return undefined;
        });
      }
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw new SerialInUseError(cert.serial);
      throw err;
    }
    if (holding) throw new IssuanceLimitReachedError(cert.deviceId, holding);
  }

  async issuedSince(deviceId: string, since: Date, max: number): Promise<Date[]> {
    return issuedSinceOn(this.db, deviceId, since, max);
  }

  async get(serial: string): Promise<IssuedCertificateRecord | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM issued_certificates WHERE serial = $1`, [serial]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async listByDevice(deviceId: string): Promise<IssuedCertificateRecord[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM issued_certificates WHERE device_id = $1 ORDER BY issued_at DESC, id DESC`, [pgText(deviceId)]);
    return rows.map(toRecord);
  }

  async list(limit: number): Promise<IssuedCertificateRecord[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM issued_certificates ORDER BY issued_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map(toRecord);
  }

  async revoke(serial: string, at: Date, reason: RevocationReason): Promise<boolean> {
    const r = await this.db.query('UPDATE issued_certificates SET revoked_at = $1, revocation_reason = $2 WHERE serial = $3 AND revoked_at IS NULL', [at, reason, serial]);
    return (r.rowCount ?? 0) > 0;
  }

  async listReissuedFrom(serial: string): Promise<IssuedCertificateRecord[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM issued_certificates WHERE reissued_from = $1 ORDER BY issued_at, id`, [serial]);
    return rows.map(toRecord);
  }

  async listRevoked(issuer: string, now: Date): Promise<IssuedCertificateRecord[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM issued_certificates WHERE issuer = $1 AND revoked_at IS NOT NULL AND not_after > $2 ORDER BY revoked_at, serial COLLATE "C"`,
      [pgText(issuer), now],
    );
    return rows.map(toRecord);
  }

  async nextCrlNumber(issuer: string): Promise<bigint> {
    const { rows } = await this.db.query<{ last_number: string }>(
      `INSERT INTO crl_numbers (issuer, last_number) VALUES ($1, 1)
       ON CONFLICT (issuer) DO UPDATE SET last_number = crl_numbers.last_number + 1
       RETURNING last_number`,
      [pgText(issuer)],
    );
    return BigInt(rows[0]!.last_number);
  }
}
