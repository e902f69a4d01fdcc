import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from '../store/sqlite/migrations/index.js';
import { recordedSchemaVersions } from '../store/sqlite/database.js';
import { migrations as postgresMigrations } from '../store/postgres/migrations/index.js';
import { describePostgres } from '../store/postgres/describe.js';
import { StoreOpenError, readSecret } from '../store/open-stores.js';
import { NewerSchemaError, unknownVersions, type Migration } from '../store/migration.js';
import type { StoreConfig } from '../store/stores.js';
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
    const applied = recordedSchemaVersions(db) ?? [];
    results.push(schemaVerdict(subject, path, applied, migrations));
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

/** The recorded schema versions against this Gangway's migrations. */
function schemaVerdict(subject: string, where: string, applied: readonly number[], known: readonly Migration[]): CheckResult {
  const unknown = unknownVersions(applied, known);
  const pending = known.filter((m) => !applied.includes(m.version));
  if (unknown.length > 0) return fail(subject, new NewerSchemaError(where, unknown).message);
  if (pending.length > 0) {
    return ok(subject, `${where}: schema ${applied.length}/${known.length}; ${pending.length} migration(s) (${pending.map((m) => m.version).join(', ')}) run at the next start`);
  }
  return ok(subject, `${where}: schema up to date (${known.length} migrations)`);
}

/**
 * The PostgreSQL store, read only: the password can be read, the server accepts the login, and
 * the schema's version against this Gangway's migrations. Nothing is created or migrated.
 */
export async function checkPostgresDatabase(store: Extract<StoreConfig, { kind: 'postgres' }>): Promise<CheckResult[]> {
  const subject = 'database';
  const where = describePostgres(store.url, store.schema);
  let password: string | undefined;
  try {
    password = store.password ? readSecret(store.password) : undefined;
  } catch (err) {
    if (err instanceof StoreOpenError) return [fail(err.key, err.message)];
    throw err;
  }
  let applied: number[] | undefined;
  try {
    const { appliedSchemaVersions } = await import('../store/postgres/database.js');
    applied = await appliedSchemaVersions({ url: store.url, ...(password !== undefined ? { password } : {}), schema: store.schema, poolSize: 1 });
  } catch (err) {
    return [fail(subject, `cannot connect to ${where}: ${(err as Error).message}`)];
  }
  if (applied === undefined) return [warn(subject, `${where} has no Gangway tables yet; the server creates them at start`)];
  return [schemaVerdict(subject, where, applied, postgresMigrations)];
}
