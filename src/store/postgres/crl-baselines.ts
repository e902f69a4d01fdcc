import { raisesBaseline, type CrlBaseline, type CrlBaselineStore } from '../crl-baselines.js';
import { pgText, type PostgresDatabase } from './database.js';

interface Row {
  issuer_key: string;
  signer_key_sha256: string;
  issuer: string;
  crl_number: string | null;
  this_update: Date;
  recorded_at: Date;
}

const COLUMNS = 'issuer_key, signer_key_sha256, issuer, crl_number, this_update, recorded_at';

function toBaseline(r: Row): CrlBaseline {
  return {
    issuerKey: r.issuer_key,
    signerKeySha256: r.signer_key_sha256,
    issuer: r.issuer,
    ...(r.crl_number !== null ? { crlNumber: BigInt(r.crl_number) } : {}),
    thisUpdate: r.this_update,
    recordedAt: r.recorded_at,
  };
}

export class PostgresCrlBaselineStore implements CrlBaselineStore {
  constructor(private readonly db: PostgresDatabase) {}

  async list(): Promise<CrlBaseline[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM crl_baselines ORDER BY issuer_key COLLATE "C", signer_key_sha256 COLLATE "C"`);
    return rows.map(toBaseline);
  }

  async raise(b: CrlBaseline): Promise<CrlBaseline> {
    if (b.crlNumber !== undefined && b.crlNumber < 0n) throw new RangeError(`CRL number ${b.crlNumber} is negative (RFC 5280 §5.2.3)`);
    const values = [b.issuerKey, b.signerKeySha256, pgText(b.issuer), b.crlNumber?.toString() ?? null, b.thisUpdate, b.recordedAt];
    return this.db.transaction(async (tx) => {
      // The first record of an issuer, or nothing; then the row is locked while it is compared, so
      // two servers raising at once never leave the lower of the two.
      const inserted = await tx.query(`INSERT INTO crl_baselines (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, values);
      if ((inserted.rowCount ?? 0) > 0) return b;
      const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM crl_baselines WHERE issuer_key = $1 AND signer_key_sha256 = $2 FOR UPDATE`, [b.issuerKey, b.signerKeySha256]);
      const recorded = toBaseline(rows[0]!);
      if (!raisesBaseline(b, recorded)) return recorded;
      await tx.query(
        `UPDATE crl_baselines SET issuer = $3, crl_number = $4, this_update = $5, recorded_at = $6 WHERE issuer_key = $1 AND signer_key_sha256 = $2`,
        values,
      );
      return b;
    });
  }
}
