/**
 * The store counts as failing while one of its operations keeps failing with an error of the
 * database itself, not only while its liveness read fails (src/server/store-faults.ts). Found by
 * the store-fault tester: a corrupt table, a full disk or a held write lock left `/healthz` at
 * "serving" while every authentication was rejected or every write lost.
 */
import Database from 'better-sqlite3';
import { FAULT_MEMORY_MS, FAULTS_IN_A_ROW, StoreFaults, isStoreFault } from '../../src/server/store-faults.js';
import { RadiusCode } from '../../src/radius/index.js';
import type { SqliteStores } from '../../src/store/sqlite/stores.js';
import { startTestGangway } from '../helpers/gangway.js';
import { mschapv2 } from '../helpers/mschapv2-over-radius.js';
import { parseExposition, value } from '../helpers/prometheus-text.js';
import { UdpNas } from '../helpers/udp-nas.js';
import { userWithPassword } from '../teap-brski/helpers.js';

const coded = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('StoreFaults', () => {
  test('which errors are the database failing: SQLite codes but constraints, PostgreSQL connection, resource, lock, operator and internal classes', () => {
    for (const code of ['SQLITE_CORRUPT', 'SQLITE_FULL', 'SQLITE_BUSY', 'SQLITE_IOERR_WRITE', 'SQLITE_ERROR', '08006', '25006', '3F000', '42P01', '42501', '53100', '55P03', '57P01', '57014', '58030', 'XX000']) expect([code, isStoreFault(coded(code))]).toEqual([code, true]);
    for (const code of ['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE', '23505', '22001', '22021', '22P05', '40001', '40P01', '54000', 'ENOENT', 'bad-thing']) expect([code, isStoreFault(coded(code))]).toEqual([code, false]);
    expect(isStoreFault(new Error('user exists'))).toBe(false);
    expect(isStoreFault(undefined)).toBe(false);
  });

  test(`${FAULTS_IN_A_ROW} in a row of one operation make it failing; a success or ${FAULT_MEMORY_MS / 1000} s without one end it; the caller's own errors change nothing`, () => {
    let now = 1_000_000;
    const faults = new StoreFaults(() => now);
    for (let i = 1; i < FAULTS_IN_A_ROW; i++) faults.note('users.get', coded('SQLITE_CORRUPT', 'database disk image is malformed'));
    expect(faults.current()).toBeUndefined();
    // Another store's operation, and an error of the request's own, neither add nor reset.
    faults.note('audit.append', coded('SQLITE_FULL'));
    faults.note('users.get', coded('SQLITE_CONSTRAINT_UNIQUE'));
    faults.note('users.get', coded('SQLITE_CORRUPT', 'database disk image is malformed'));
    expect(faults.current()).toEqual({ operation: 'users.get', inARow: FAULTS_IN_A_ROW, error: 'SQLITE_CORRUPT: database disk image is malformed' });
    now += FAULT_MEMORY_MS;
    expect(faults.current()).toBeUndefined();
    faults.note('users.get', coded('SQLITE_CORRUPT'));
    expect(faults.current()).toMatchObject({ operation: 'users.get', inARow: FAULTS_IN_A_ROW + 1 });
    faults.note('users.get');
    expect(faults.current()).toBeUndefined();
  });
});

describe('health: a store operation that keeps failing', () => {
  test('the users table gone from under the server: 503 store-failing naming the operation, gangway_store_up 0; back when it returns', async () => {
    const g = await startTestGangway({
      configure: (doc) => {
        doc.health = { listen: '127.0.0.1:0' };
        doc.eap = { defaultMethods: ['eap-mschapv2'] };
      },
    });
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    // Another process's connection to the same file, as an operator's tool would be.
    const other = new Database((g.running.stores as SqliteStores).db.name);
    const health = async (): Promise<{ status: number; report: { status: string; store: { ok: boolean; error?: string } }; up: number }> => {
      const { host, port } = g.running.health!;
      const res = await fetch(`http://${host}:${port}/healthz`);
      const report = (await res.json()) as { status: string; store: { ok: boolean; error?: string } };
      const metrics = parseExposition(await (await fetch(`http://${host}:${port}/metrics`)).text());
      return { status: res.status, report, up: value(metrics, 'gangway_store_up') };
    };
    try {
      await userWithPassword(g.running.stores.users, 'alice', 'alice-password', { nt: true });
      expect(await mschapv2(nas, 'alice', 'alice-password', '02-00-00-00-20-00')).toEqual({ code: RadiusCode.AccessAccept, answer: 'success' });
      expect(await health()).toMatchObject({ status: 200, up: 1 });

      other.exec('ALTER TABLE users RENAME TO users_elsewhere');
      // The liveness read still answers; each lookup of an account fails.
      for (let i = 0; i < FAULTS_IN_A_ROW; i++) {
        expect((await mschapv2(nas, 'alice', 'alice-password', `02-00-00-00-20-0${i + 1}`)).code).toBe(RadiusCode.AccessReject);
      }
      const failing = await health();
      expect(failing).toMatchObject({ status: 503, report: { status: 'store-failing', store: { ok: false } }, up: 0 });
      expect(failing.report.store.error).toMatch(new RegExp(`users\\.get failed ${FAULTS_IN_A_ROW} times in a row: SQLITE_ERROR: no such table: users`));

      other.exec('ALTER TABLE users_elsewhere RENAME TO users');
      expect(await mschapv2(nas, 'alice', 'alice-password', '02-00-00-00-20-10')).toEqual({ code: RadiusCode.AccessAccept, answer: 'success' });
      expect(await health()).toMatchObject({ status: 200, report: { status: 'serving' }, up: 1 });
    } finally {
      other.close();
      nas.close();
      await g.close();
    }
  }, 60_000);
});
