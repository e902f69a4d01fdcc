import { raisesBaseline, type CrlBaseline, type CrlBaselineStore } from '../crl-baselines.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  issuer_key: string;
  signer_key_sha256: string;
  issuer: string;
  crl_number: string | null;
  this_update: string;
  recorded_at: string;
}

function toBaseline(r: Row): CrlBaseline {
  return {
    issuerKey: r.issuer_key,
    signerKeySha256: r.signer_key_sha256,
    issuer: r.issuer,
    ...(r.crl_number !== null ? { crlNumber: BigInt(r.crl_number) } : {}),
    thisUpdate: new Date(r.this_update),
    recordedAt: new Date(r.recorded_at),
  };
}

export class SqliteCrlBaselineStore implements CrlBaselineStore {
  private readonly selectAll;
  private readonly raiseTx;

  constructor(db: SqliteDatabase) {
    const columns = 'issuer_key, signer_key_sha256, issuer, crl_number, this_update, recorded_at';
    this.selectAll = db.prepare(`SELECT ${columns} FROM crl_baselines ORDER BY issuer_key, signer_key_sha256`);
    const selectOne = db.prepare(`SELECT ${columns} FROM crl_baselines WHERE issuer_key = ? AND signer_key_sha256 = ?`);
    const upsert = db.prepare(
      `INSERT INTO crl_baselines (${columns}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (issuer_key, signer_key_sha256) DO UPDATE SET issuer = excluded.issuer, crl_number = excluded.crl_number,
         this_update = excluded.this_update, recorded_at = excluded.recorded_at`,
    );
    // Read and write in one transaction: another process raising meanwhile waits for it.
    this.raiseTx = db.transaction((b: CrlBaseline): CrlBaseline => {
      const row = selectOne.get(b.issuerKey, b.signerKeySha256) as Row | undefined;
      const recorded = row ? toBaseline(row) : undefined;
      if (recorded && !raisesBaseline(b, recorded)) return recorded;
      upsert.run(b.issuerKey, b.signerKeySha256, b.issuer, b.crlNumber?.toString() ?? null, b.thisUpdate.toISOString(), b.recordedAt.toISOString());
      return b;
    });
  }

  async list(): Promise<CrlBaseline[]> {
    return (this.selectAll.all() as Row[]).map(toBaseline);
  }

  async raise(b: CrlBaseline): Promise<CrlBaseline> {
    if (b.crlNumber !== undefined && b.crlNumber < 0n) throw new RangeError(`CRL number ${b.crlNumber} is negative (RFC 5280 §5.2.3)`);
    return this.raiseTx.immediate(b);
  }
}
