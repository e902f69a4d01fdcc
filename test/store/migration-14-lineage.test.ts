/**
 * Migration 14 on databases that already hold certificates: re-enrolments made before it are linked
 * to the LDevID that authenticated them, from the audit log's `ca.ldevid.issued` entries (earlier
 * versions wrote that serial upper-case, with leading zeros), so that revoking the LDevID reaches
 * them; an audit detail that is not JSON is passed over. SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { migrations as sqliteMigrations } from '../../src/store/sqlite/migrations/index.js';
import { migrations as postgresMigrations } from '../../src/store/postgres/migrations/index.js';
import { SqliteIssuedCertificateStore } from '../../src/store/sqlite/issued-certificates.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { PostgresIssuedCertificateStore } from '../../src/store/postgres/issued-certificates.js';
import type { IssuedCertificateStore } from '../../src/store/issued-certificates.js';
import { revokeWithReissues } from '../../src/pki/ca/revoke-with-reissues.js';
import { dropSchema, freshName, requirePostgres } from '../helpers/postgres.js';
import { MemoryLog } from '../helpers/silent-log.js';

const now = new Date('2026-06-01T00:00:00Z');
const later = new Date('2027-06-01T00:00:00Z');

/** Before the upgrade: 0a01 by an IDevID; 0a02 re-enrolled with 0a01's key (as the old code wrote it); 0a03 with 0a02's. */
const certificates = ['0a01', '0a02', '0a03'];
const auditDetails: (string | null)[] = [
  JSON.stringify({ serial: '0a01', authenticatedBy: 'idevid:acme' }),
  JSON.stringify({ serial: '0a02', authenticatedBy: 'ldevid:000A01' }),
  JSON.stringify({ serial: '0a03', authenticatedBy: 'ldevid:0a02' }),
  'not json',
  null,
];

async function expectLinkedAndCascading(store: IssuedCertificateStore): Promise<void> {
  expect((await store.get('0a01'))?.reissuedFrom).toBeUndefined();
  expect((await store.get('0a02'))?.reissuedFrom).toBe('0a01');
  expect((await store.get('0a03'))?.reissuedFrom).toBe('0a02');
  const revoked = await revokeWithReissues(store, '0a01', later, 'keyCompromise');
  expect(revoked.map((r) => r.serial)).toEqual(['0a01', '0a02', '0a03']);
}

test('SQLite: from version 13 to 14, earlier re-enrolments linked from the audit log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-migration-14-'));
  try {
    const path = join(dir, 'gangway.db');
    const old = openSqlite(path, sqliteMigrations.filter((m) => m.version <= 13));
    const insert = old.prepare(`INSERT INTO issued_certificates (serial, issuer, subject, subject_alt_names, device_id, not_before, not_after, der, issued_at)
      VALUES (?, 'CN=ca', 'CN=acme:SN-1', '[]', 'acme:SN-1', ?, ?, x'3000', ?)`);
    for (const serial of certificates) insert.run(serial, now.toISOString(), later.toISOString(), now.toISOString());
    const audit = old.prepare("INSERT INTO audit_log (at, event, subject, detail) VALUES (?, 'ca.ldevid.issued', 'acme:SN-1', ?)");
    for (const detail of auditDetails) audit.run(now.toISOString(), detail);
    old.close();
    const db = openSqlite(path);
    try {
      expect((db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(sqliteMigrations.at(-1)!.version);
      await expectLinkedAndCascading(new SqliteIssuedCertificateStore(db));
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const server = requirePostgres();
(server ? test : test.skip)('PostgreSQL: from version 13 to 14, earlier re-enrolments linked from the audit log', async () => {
  const schema = freshName();
  const options = { url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 };
  try {
    const old = await PostgresDatabase.open(options, new MemoryLog(), postgresMigrations.filter((m) => m.version <= 13));
    for (const serial of certificates) {
      await old.query(`INSERT INTO issued_certificates (serial, issuer, subject, subject_alt_names, device_id, not_before, not_after, der, issued_at)
        VALUES ($1, 'CN=ca', 'CN=acme:SN-1', '[]', 'acme:SN-1', $2, $3, '\\x3000'::bytea, $2)`, [serial, now, later]);
    }
    for (const detail of auditDetails) await old.query("INSERT INTO audit_log (at, event, subject, detail) VALUES ($1, 'ca.ldevid.issued', 'acme:SN-1', $2)", [now, detail]);
    await old.close();
    const db = await PostgresDatabase.open(options, new MemoryLog());
    try {
      expect((await db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]!.v).toBe(postgresMigrations.at(-1)!.version);
      await expectLinkedAndCascading(new PostgresIssuedCertificateStore(db));
    } finally {
      await db.close();
    }
  } finally {
    await dropSchema(server!, schema);
  }
});
