/**
 * The issuance limit on one SQLite file shared by two writers (two servers, or a server and the
 * CLI): the count and the insert must be one IMMEDIATE transaction. In one thread better-sqlite3
 * runs every call to its end, so the other writer here is a worker thread of its own, holding the
 * write lock with an uncommitted certificate of the device while ours records.
 */
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteIssuedCertificateStore } from '../../src/store/sqlite/issued-certificates.js';
import { IssuanceLimitReachedError, type NewIssuedCertificate } from '../../src/store/issued-certificates.js';

const OTHER_WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.exec('BEGIN IMMEDIATE');
db.prepare(\`INSERT INTO issued_certificates (serial, issuer, subject, subject_alt_names, device_id, not_before, not_after, der, issued_at)
            VALUES ('a0a0', 'CN=Test CA', 'CN=a0a0', '[]', 'acme:RACE', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', x'3000', '2026-01-01T00:00:00.000Z')\`).run();
parentPort.postMessage('holding the write lock');
// Committed while the other connection waits in its busy handler.
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
db.exec('COMMIT');
db.close();
parentPort.postMessage('committed');
`;

function cert(serial: string): NewIssuedCertificate {
  return {
    serial, issuer: 'CN=Test CA', subject: `CN=${serial}`, subjectAltNames: [], deviceId: 'acme:RACE',
    notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), der: Uint8Array.from([0x30, 0x00]), issuedAt: new Date('2026-01-01T00:00:01Z'),
  };
}

// FAILS with the count and the insert outside one IMMEDIATE transaction: the count does not see the
// other writer's certificate and the insert, once the lock is free, makes a third where two are allowed.
test('a writer holding the lock with the device\'s second certificate: our record under a limit of 2 waits for it, then is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-limit-'));
  const path = join(dir, 'gangway.db');
  const db = openSqlite(path);
  try {
    const store = new SqliteIssuedCertificateStore(db);
    await store.record(cert('b001'));
    const worker = new Worker(OTHER_WRITER, { eval: true, workerData: { path, module: require.resolve('better-sqlite3') } });
    const messages: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: string) => messages.push(m));
      worker.on('error', reject);
      worker.on('exit', () => resolve());
    });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const outcome = await store.record(cert('b002'), { certificates: 2, since: new Date('2025-12-31T00:00:00Z') }).then(() => 'recorded', (e: unknown) => e);
    await done;
    expect(messages).toEqual(['holding the write lock', 'committed']);
    expect(outcome).toBeInstanceOf(IssuanceLimitReachedError);
    expect((await store.listByDevice('acme:RACE')).map((c) => c.serial).sort()).toEqual(['a0a0', 'b001']);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
