import { migrations as sqliteMigrations } from '../../src/store/sqlite/migrations/index.js';
import { migrations as postgresMigrations } from '../../src/store/postgres/migrations/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { NewerSchemaError, orderedMigrations } from '../../src/store/migration.js';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { dropSchema, freshName, requirePostgres } from '../helpers/postgres.js';
import { openTestPostgresStores } from '../helpers/store-kinds.js';
import { MemoryLog } from '../helpers/silent-log.js';

describe('schema migrations', () => {
  test('SQLite and PostgreSQL have the same steps: versions and names, in order', () => {
    const steps = (list: typeof sqliteMigrations) => orderedMigrations(list).map((m) => `${m.version} ${m.name}`);
    expect(steps(postgresMigrations)).toEqual(steps(sqliteMigrations));
    expect(orderedMigrations(sqliteMigrations).map((m) => m.version)).toEqual(sqliteMigrations.map((_, i) => i + 1));
  });

  // FAILS at ac2f062: `serve` migrated a database a newer Gangway had migrated as if it knew it
  // (only `gangway check` said no), and wrote to a schema it did not know.
  test('SQLite: a database with a schema version this Gangway does not know is refused at open, and left as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-newer-'));
    try {
      const path = join(dir, 'g.db');
      const db = openSqlite(path);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(99, 'from-the-future', new Date().toISOString());
      db.close();
      expect(() => openSqlite(path)).toThrow(NewerSchemaError);
      expect(() => openSqlite(path)).toThrow(/schema versions this Gangway does not know \(99\): written by a newer version; upgrade Gangway or restore a backup/);
      const again = new Database(path, { readonly: true });
      expect((again.prepare('SELECT max(version) AS v, count(*) AS n FROM schema_migrations').get() as { v: number; n: number })).toEqual({ v: 99, n: sqliteMigrations.length + 1 });
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SQLite migration 17: accounting sessions keep their rows and indexes, keyed by client, NAS and session id from then on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-mig17-'));
    try {
      const path = join(dir, 'g.db');
      const old = openSqlite(path, sqliteMigrations.filter((m) => m.version <= 16));
      old.prepare("INSERT INTO accounting_sessions (nas, session_id, client_name, status, user_name, updated_at, input_octets) VALUES ('ap-1', 'S1', 'ap', 'active', 'alice', '2026-03-01T10:00:00.000Z', 8589934593)").run();
      old.prepare("INSERT INTO accounting_sessions (nas, session_id, client_name, status, updated_at, stopped_at) VALUES ('ap-2', 'S1', 'ap', 'stopped', '2026-03-01T11:00:00.000Z', '2026-03-01T11:00:00.000Z')").run();
      // An operator's report view and a trigger on a table of theirs. FAILS at 7e6b5f8 (a review):
      // the RENAME checked them while no accounting_sessions existed, and the start failed.
      old.exec("CREATE VIEW active_by_user AS SELECT user_name, count(*) AS n FROM accounting_sessions WHERE status = 'active' GROUP BY user_name");
      old.exec('CREATE TABLE acct_purge (nas TEXT); CREATE TRIGGER acct_purge_now AFTER INSERT ON acct_purge BEGIN DELETE FROM accounting_sessions WHERE nas = new.nas; END');
      old.close();
      const db = openSqlite(path);
      try {
        expect(db.prepare('SELECT nas, session_id, client_name, status, user_name, input_octets FROM accounting_sessions ORDER BY nas').all()).toEqual([
          { nas: 'ap-1', session_id: 'S1', client_name: 'ap', status: 'active', user_name: 'alice', input_octets: 8589934593 },
          { nas: 'ap-2', session_id: 'S1', client_name: 'ap', status: 'stopped', user_name: null, input_octets: null },
        ]);
        const key = (db.prepare("SELECT name, pk FROM pragma_table_info('accounting_sessions') WHERE pk > 0 ORDER BY pk").all() as { name: string }[]).map((c) => c.name);
        expect(key).toEqual(['client_name', 'nas', 'session_id']);
        const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'accounting_sessions' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
        expect(indexes).toEqual(['accounting_sessions_station', 'accounting_sessions_stopped', 'accounting_sessions_updated', 'accounting_sessions_user']);
        db.prepare("INSERT INTO accounting_sessions (nas, session_id, client_name, status, updated_at) VALUES ('ap-1', 'S1', 'other', 'active', '2026-03-01T12:00:00.000Z')").run();
        expect(db.prepare('SELECT user_name, n FROM active_by_user ORDER BY user_name').all()).toEqual([{ user_name: null, n: 1 }, { user_name: 'alice', n: 1 }]);
        db.prepare("INSERT INTO acct_purge (nas) VALUES ('ap-2')").run();
        expect(db.prepare("SELECT count(*) AS n FROM accounting_sessions WHERE nas = 'ap-2'").get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a repeated version is refused', () => {
    expect(() => orderedMigrations([{ version: 1, name: 'a', up: '' }, { version: 1, name: 'b', up: '' }])).toThrow(/duplicate migration version 1/);
  });

  const server = requirePostgres();
  (server ? describe : describe.skip)('PostgreSQL', () => {
    test('servers starting together on a fresh schema: the advisory lock lets one migrate, every step recorded once', async () => {
      const schema = freshName();
      const log = new MemoryLog();
      try {
        const opened = await Promise.all(Array.from({ length: 4 }, () => openTestPostgresStores(server!, schema, log, 2)));
        try {
          const { rows } = await opened[0]!.db.query<{ version: number; n: string }>('SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
          expect(rows.map((r) => [r.version, Number(r.n)])).toEqual(postgresMigrations.map((m) => [m.version, 1]));
          // Each server works on it at once.
          await Promise.all(opened.map((s, i) => s.users.add({ name: `u${i}` })));
          expect((await opened[3]!.users.list()).map((u) => u.name)).toEqual(['u0', 'u1', 'u2', 'u3']);
        } finally {
          await Promise.all(opened.map((s) => s.close()));
        }
      } finally {
        await dropSchema(server!, schema);
      }
    });

    test('a schema a newer Gangway migrated is refused at open, by name and version', async () => {
      const schema = freshName();
      const log = new MemoryLog();
      const options = { url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 };
      try {
        const db = await PostgresDatabase.open(options, log);
        await db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from-the-future', now())");
        await db.close();
        await expect(PostgresDatabase.open(options, log)).rejects.toThrow(new RegExp(`PostgreSQL schema "${schema}" has schema versions this Gangway does not know \\(99\\)`));
        // The lock was released: a second refusal does not wait for the first.
        await expect(PostgresDatabase.open(options, log)).rejects.toThrow(NewerSchemaError);
      } finally {
        await dropSchema(server!, schema);
      }
    });

    test('a start waiting for the migration lock says so while it waits, and starts once the lock is free (found by the store-fault tester)', async () => {
      const schema = freshName();
      const log = new MemoryLog();
      const options = { url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 };
      // Another "server" holds the migration lock, as one migrating would.
      const holder = new pg.Client({ connectionString: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}) });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock(hashtext($1))', [`gangway:migrate:${schema}`]);
        let opened: PostgresDatabase | undefined;
        const opening = PostgresDatabase.open(options, log, postgresMigrations, 200).then((db) => (opened = db));
        const said = (): number => log.lines.filter((l) => l.level === 'warn' && (l.msg ?? '').startsWith('PostgreSQL: still bringing the schema up to date')).length;
        for (let i = 0; i < 100 && said() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(said()).toBeGreaterThanOrEqual(2);
        expect(opened).toBeUndefined();
        expect(log.lines.find((l) => (l.msg ?? '').startsWith('PostgreSQL: still bringing'))!.obj).toMatchObject({ schema });
        await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [`gangway:migrate:${schema}`]);
        const db = await opening;
        const before = said();
        await new Promise((resolve) => setTimeout(resolve, 500));
        // Done waiting: no more lines.
        expect(said()).toBe(before);
        await db.close();
      } finally {
        await holder.end();
        await dropSchema(server!, schema);
      }
    });

    test('migration 17: accounting sessions keep their rows, keyed by client, NAS and session id from then on', async () => {
      const schema = freshName();
      const log = new MemoryLog();
      const options = { url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 };
      try {
        const old = await PostgresDatabase.open(options, log, postgresMigrations.filter((m) => m.version <= 16));
        await old.query("INSERT INTO accounting_sessions (nas, session_id, client_name, status, user_name, updated_at, input_octets) VALUES ('ap-1', 'S1', 'ap', 'active', 'alice', now(), 8589934593)");
        await old.close();
        const db = await PostgresDatabase.open(options, log);
        try {
          const { rows } = await db.query<{ client_name: string; user_name: string; input_octets: string }>('SELECT client_name, user_name, input_octets FROM accounting_sessions');
          expect(rows).toEqual([{ client_name: 'ap', user_name: 'alice', input_octets: '8589934593' }]);
          const key = await db.query<{ attname: string }>(
            `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = 'accounting_sessions'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
          );
          expect(key.rows.map((r) => r.attname)).toEqual(['client_name', 'nas', 'session_id']);
          await db.query("INSERT INTO accounting_sessions (nas, session_id, client_name, status, updated_at) VALUES ('ap-1', 'S1', 'other', 'active', now())");
        } finally {
          await db.close();
        }
      } finally {
        await dropSchema(server!, schema);
      }
    });

    test('a schema at an older version is brought up to date; a failing step is named and leaves its version unrecorded', async () => {
      const schema = freshName();
      const log = new MemoryLog();
      const options = { url: server!.url, ...(server!.password !== undefined ? { password: server!.password } : {}), schema, poolSize: 1 };
      try {
        await (await PostgresDatabase.open(options, log, postgresMigrations.filter((m) => m.version <= 5))).close();
        const broken = [...postgresMigrations.filter((m) => m.version <= 6), { version: 7, name: 'broken', up: 'CREATE TABLE x (y NOSUCHTYPE)' }];
        await expect(PostgresDatabase.open(options, log, broken)).rejects.toThrow(/migration 7 \(broken\) failed/);
        const db = await PostgresDatabase.open(options, log);
        try {
          const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
          expect(rows.map((r) => r.version)).toEqual(postgresMigrations.map((m) => m.version));
        } finally {
          await db.close();
        }
      } finally {
        await dropSchema(server!, schema);
      }
    });
  });
});
