import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from '../store/sqlite/migrations/index.js';
import { fail, ok, warn, type CheckResult } from './result.js';

/**
 * The SQLite store, read only: its schema version against this Gangway's migrations, a quick
 * integrity check, and that the server's user can write it (and its directory, for the WAL).
 */
export function checkDatabase(path: string): CheckResult[] {
  const subject = 'database';
  const dir = dirname(path);
  if (!existsSync(path)) {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      return [fail(subject, `${path} does not exist and ${dir} is not writable: the server cannot create it`)];
    }
    return [warn(subject, `${path} does not exist yet; the server creates it at start`)];
  }
  const results: CheckResult[] = [];
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    return [fail(subject, `cannot open ${path}: ${(err as Error).message}`)];
  }
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
    const applied = hasTable ? (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version) : [];
    const known = new Set(migrations.map((m) => m.version));
    const unknown = applied.filter((v) => !known.has(v));
    const pending = migrations.filter((m) => !applied.includes(m.version));
    if (unknown.length > 0) {
      results.push(fail(subject, `${path} has schema versions this Gangway does not know (${unknown.join(', ')}): written by a newer version; upgrade Gangway or restore a backup`));
    } else if (pending.length > 0) {
      results.push(ok(subject, `${path}: schema ${applied.length}/${migrations.length}; ${pending.length} migration(s) (${pending.map((m) => m.version).join(', ')}) run at the next start`));
    } else {
      results.push(ok(subject, `${path}: schema up to date (${migrations.length} migrations)`));
    }
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') results.push(fail(subject, `${path} fails SQLite's integrity check: ${String(check)}; restore a backup`));
  } catch (err) {
    results.push(fail(subject, `cannot read ${path}: ${(err as Error).message}`));
  } finally {
    db.close();
  }
  for (const [what, p] of [['file', path], ['directory', dir]] as const) {
    try {
      accessSync(p, constants.W_OK);
    } catch {
      results.push(fail(subject, `the ${what} ${p} is not writable by this user: the server needs to write it (SQLite WAL)`));
    }
  }
  return results;
}
