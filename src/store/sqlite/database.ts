import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { migrations as allMigrations } from './migrations/index.js';
import { NewerSchemaError, orderedMigrations, unknownVersions, type Migration } from '../migration.js';

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the embedded store and brings its schema up to date.
 * WAL lets readers (CLI commands, a future portal) run beside the server; synchronous=NORMAL
 * keeps WAL durable across process crashes, which is what the per-transition transactions need.
 */
export function openSqlite(path: string, migrations: readonly Migration[] = allMigrations): SqliteDatabase {
  createOwnerOnly(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
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
