import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqliteIssuedCertificateStore } from '../../src/store/sqlite/issued-certificates.js';
import { SerialInUseError, type NewIssuedCertificate } from '../../src/store/issued-certificates.js';

function cert(serial: string, over: Partial<NewIssuedCertificate> = {}): NewIssuedCertificate {
  return {
    serial,
    issuer: 'CN=Test CA',
    subject: `CN=${serial}`,
    subjectAltNames: [{ type: 'dns', value: `${serial}.example` }],
    deviceId: 'DEV-1',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    der: Uint8Array.from([0x30, 0x00]),
    issuedAt: new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

describe('SqliteIssuedCertificateStore (migration 0005)', () => {
  let dir: string;
  let db: SqliteDatabase;
  let store: SqliteIssuedCertificateStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-issued-'));
    db = openSqlite(join(dir, 'gangway.db'));
    store = new SqliteIssuedCertificateStore(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('migration 5 is applied', () => {
    expect((db.prepare('SELECT name FROM schema_migrations WHERE version = 5').get() as { name: string }).name).toBe('issued-certificates');
  });

  test('record, get, list by device and by recency', async () => {
    await store.record(cert('0a01'));
    await store.record(cert('0a02', { issuedAt: new Date('2026-02-01T00:00:00Z') }));
    await store.record(cert('0a03', { deviceId: 'DEV-2', issuedAt: new Date('2026-03-01T00:00:00Z') }));
    const got = await store.get('0a01');
    expect(got).toEqual({ ...cert('0a01'), der: Uint8Array.from([0x30, 0x00]) });
    expect(got?.revokedAt).toBeUndefined();
    expect((await store.listByDevice('DEV-1')).map((c) => c.serial)).toEqual(['0a02', '0a01']);
    expect((await store.list(2)).map((c) => c.serial)).toEqual(['0a03', '0a02']);
    expect(await store.get('ffff')).toBeUndefined();
  });

  test('a serial is never stored twice, whatever the issuer', async () => {
    await store.record(cert('0b01'));
    await expect(store.record(cert('0b01', { issuer: 'CN=Other CA', deviceId: 'X' }))).rejects.toBeInstanceOf(SerialInUseError);
    expect((await store.get('0b01'))?.deviceId).toBe('DEV-1');
  });

  test('the schema refuses non-canonical serials and a reason without a time', async () => {
    // better-sqlite3's errors come from another realm under jest: match the code, not the class.
    const check = { code: 'SQLITE_CONSTRAINT_CHECK' };
    await expect(store.record(cert('0A01'))).rejects.toMatchObject(check);
    await expect(store.record(cert('0x1'))).rejects.toMatchObject(check);
    await store.record(cert('0c01'));
    const run = (sql: string): unknown => {
      try {
        db.prepare(sql).run();
        return 'no error';
      } catch (err) {
        return err;
      }
    };
    expect(run("UPDATE issued_certificates SET revocation_reason = 'superseded' WHERE serial = '0c01'")).toMatchObject(check);
    expect(run("UPDATE issued_certificates SET revoked_at = 'x', revocation_reason = 'bogus' WHERE serial = '0c01'")).toMatchObject(check);
  });

  test('revoke once; the first time and reason stay; listRevoked skips expired and other issuers', async () => {
    await store.record(cert('0d01'));
    await store.record(cert('0d02', { notAfter: new Date('2026-06-01T00:00:00Z') }));
    await store.record(cert('0d03', { issuer: 'CN=Other CA' }));
    const t1 = new Date('2026-05-01T00:00:00Z');
    expect(await store.revoke('0d01', t1, 'keyCompromise')).toBe(true);
    expect(await store.revoke('0d01', new Date(), 'superseded')).toBe(false);
    expect(await store.revoke('0d02', t1, 'superseded')).toBe(true);
    expect(await store.revoke('0d03', t1, 'unspecified')).toBe(true);
    expect(await store.revoke('0dff', t1, 'unspecified')).toBe(false);
    expect(await store.get('0d01')).toMatchObject({ revokedAt: t1, revocationReason: 'keyCompromise' });
    expect((await store.listRevoked('CN=Test CA', new Date('2026-05-15T00:00:00Z'))).map((c) => c.serial)).toEqual(['0d01', '0d02']);
    expect((await store.listRevoked('CN=Test CA', new Date('2026-07-01T00:00:00Z'))).map((c) => c.serial)).toEqual(['0d01']);
  });

  test('CRL numbers count up per issuer and survive reopening', async () => {
    expect(await store.nextCrlNumber('CN=A')).toBe(1n);
    expect(await store.nextCrlNumber('CN=A')).toBe(2n);
    expect(await store.nextCrlNumber('CN=B')).toBe(1n);
    db.close();
    db = openSqlite(join(dir, 'gangway.db'));
    store = new SqliteIssuedCertificateStore(db);
    expect(await store.nextCrlNumber('CN=A')).toBe(3n);
  });
});
