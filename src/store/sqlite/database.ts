import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { migrations as allMigrations } from './migrations/index.js';
import { NewerSchemaError, orderedMigrations, unknownVersions, type Migration } from '../migration.js';

export type SqliteDatabase = Database.Database;

/**
 * How long a statement of `gangway serve` (its main thread and each worker thread) waits for a
 * write lock another connection holds, in milliseconds. better-sqlite3 is synchronous: the wait
 * stops the thread's event loop, so every RADIUS request, Status-Server and /healthz waits with
 * it. Our own write transactions hold the lock for well under 10 ms (a batch of 64 access
 * sessions, an accounting row, a NOOB transition with its quota counts at 100,000 registrations,
 * a purge batch of 1,000 rows: docs/security.md, store/retention.ts), and a handful of threads of
 * one server taking turns stay far below 250 ms; a lock held longer than that is another process's
 * (a long command, a migration, a `BEGIN EXCLUSIVE` by hand), and then the write fails at once
 * with SQLITE_BUSY rather than stalling the server: the accounting request goes unanswered and the
 * NAS sends it again, an EAP-NOOB step fails closed (EAP-Failure), a registrar step refuses, the
 * access-session batch retries later (store/access-session-batch.ts). Reads never wait (WAL).
 */
export const SERVING_BUSY_TIMEOUT_MS = 250;

/**
 * The same for commands (`gangway users add` and the rest, separate processes nobody's network
 * waits on) and for migrations: long enough to wait out the server's short transactions, or a
 * moment of another command's, instead of failing.
 */
export const COMMAND_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the embedded store and brings its schema up to date.
 * WAL lets readers (CLI commands, a future portal) run beside the server; synchronous=NORMAL
 * keeps WAL durable across process crashes, which is what the per-transition transactions need.
 * Migrations wait COMMAND_BUSY_TIMEOUT_MS for the lock, whoever opens; `busyTimeoutMs` holds after.
 */
export function openSqlite(path: string, migrations: readonly Migration[] = allMigrations, busyTimeoutMs = COMMAND_BUSY_TIMEOUT_MS): SqliteDatabase {
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`busy timeout ${busyTimeoutMs} is not a whole number of milliseconds`);
  createOwnerOnly(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${COMMAND_BUSY_TIMEOUT_MS}`);
  try {
    migrate(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return db;
}

/**
 * The schema versions recorded in `db`, read without changing anything (`gangway check`, and
 * `serve` before its warm-up); undefined when it has no migrations table yet.
 */
export function recordedSchemaVersions(db: SqliteDatabase): number[] | undefined {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
  return hasTable ? (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version) : undefined;
}

export function migrate(db: SqliteDatabase, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const unknown = unknownVersions(applied, migrations);
  if (unknown.length > 0) throw new NewerSchemaError(db.name, unknown);
  for (const m of orderedMigrations(migrations)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    })();
  }
}

/**
 * A new database file is created empty, owner-only, before SQLite opens it: SQLite gives its WAL
 * and shared-memory files the database file's mode, so they are owner-only too. An existing file
 * keeps its mode (the server refuses to start on a readable one; see server/private-files.ts).
 */
function createOwnerOnly(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  closeSync(fd);
  // The umask can only clear bits, but set the mode exactly anyway.
  chmodSync(path, 0o600);
}
