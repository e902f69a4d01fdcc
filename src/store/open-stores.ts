import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Log } from '../util/log.js';
import { NewerSchemaError, unknownVersions, type Migration } from './migration.js';
import { migrations as sqliteMigrations } from './sqlite/migrations/index.js';
import { describePostgres } from './postgres/describe.js';
import { sqlState } from './postgres/sql-state.js';
import { openSqliteStores } from './sqlite/stores.js';
import { COMMAND_BUSY_TIMEOUT_MS, SERVING_BUSY_TIMEOUT_MS, recordedSchemaVersions } from './sqlite/database.js';
import type { StoreConfig, StoreSecret, Stores } from './stores.js';

/**
 * The configured store could not be opened, for a reason the operator fixes in gangway.yaml or
 * around it: `key` names the setting to look at. The message never holds the password.
 */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  constructor(readonly key: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * For `serve`, before its start-up warm-up spends seconds: a database a newer Gangway migrated is
 * refused now, read only, as `gangway check` reads it. Whatever else would keep the store from
 * opening is left to openStores, which names the setting to fix.
 */
export async function refuseNewerSchema(config: StoreConfig): Promise<void> {
  let applied: readonly number[] | undefined;
  let known: readonly Migration[];
  try {
    if (config.kind === 'sqlite') {
      if (!existsSync(config.path)) return;
      const db = new Database(config.path, { readonly: true, fileMustExist: true });
      try {
        applied = recordedSchemaVersions(db);
      } finally {
        db.close();
      }
      known = sqliteMigrations;
    } else {
      const password = config.password ? readSecret(config.password) : undefined;
      const { appliedSchemaVersions } = await import('./postgres/database.js');
      applied = await appliedSchemaVersions({ url: config.url, ...(password !== undefined ? { password } : {}), schema: config.schema, poolSize: 1 });
      known = (await import('./postgres/migrations/index.js')).migrations;
    }
  } catch {
    return;
  }
  const unknown = unknownVersions(applied ?? [], known);
  if (unknown.length === 0) return;
  if (config.kind === 'sqlite') throw new StoreOpenError('store.sqlite', new NewerSchemaError(config.path, unknown).message);
  throw new StoreOpenError('store.schema', new NewerSchemaError(describePostgres(config.url, config.schema), unknown).message);
}

/**
 * Who opens: `serve` (the server's main thread and its worker threads) must never have its event
 * loop held for seconds by another process's SQLite lock; a `command` (the CLI, its own process)
 * may wait for the server's short transactions instead of failing.
 */
export type StoreUse = 'serve' | 'command';

/**
 * The stores gangway.yaml's `store` section names: SQLite (the default) or PostgreSQL. `serve` is
 * the default because a worker thread of the server opens its stores by this same call.
 */
export async function openStores(config: StoreConfig, log: Log, use: StoreUse = 'serve'): Promise<Stores> {
  if (config.kind === 'sqlite') {
    try {
      return openSqliteStores(config.path, {
        busyTimeoutMs: use === 'serve' ? SERVING_BUSY_TIMEOUT_MS : COMMAND_BUSY_TIMEOUT_MS,
        log: log.child({ module: 'access-sessions' }),
      });
    } catch (err) {
      // No downgrade: the operator upgrades Gangway or restores a backup (docs/deployment.md).
      if (err instanceof NewerSchemaError) throw new StoreOpenError('store.sqlite', err.message, { cause: err });
      throw err;
    }
  }
  const password = config.password ? readSecret(config.password) : undefined;
  try {
    // Loaded only when configured: node-postgres costs a SQLite server (and every CLI command) start-up time.
    const { openPostgresStores } = await import('./postgres/stores.js');
    return await openPostgresStores(
      { url: config.url, ...(password !== undefined ? { password } : {}), schema: config.schema, poolSize: config.poolSize },
      log.child({ module: 'store' }),
    );
  } catch (err) {
    const where = describePostgres(config.url, config.schema);
    if (err instanceof NewerSchemaError) throw new StoreOpenError('store.schema', new NewerSchemaError(where, err.unknown).message, { cause: err });
    const state = sqlState(err);
    const code = (err as NodeJS.ErrnoException).code;
    const reason = (err as Error).message;
    if (state === '28P01' || state === '28000') {
      throw new StoreOpenError(config.password ? ('env' in config.password ? 'store.passwordEnv' : 'store.passwordFile') : 'store.url', `PostgreSQL refused the login to ${where}: ${reason}`, { cause: err });
    }
    if (state === '3D000') throw new StoreOpenError('store.url', `the database of ${where} does not exist: ${reason}`, { cause: err });
    if (state === '42501') throw new StoreOpenError('store.schema', `not allowed to create or change schema ${config.schema} in ${where}: ${reason}`, { cause: err });
    if (state === undefined && (code !== undefined || /timeout|connect/i.test(reason))) {
      throw new StoreOpenError('store.url', `cannot reach PostgreSQL at ${where}: ${reason || code}`, { cause: err });
    }
    throw err;
  }
}

/** The password, from its environment variable or file (its first line, as a secrets file holds it). */
export function readSecret(secret: StoreSecret): string {
  if ('env' in secret) {
    const v = process.env[secret.env];
    if (v === undefined || v === '') throw new StoreOpenError('store.passwordEnv', `environment variable ${secret.env} is not set`);
    return v;
  }
  let text: string;
  try {
    text = readFileSync(secret.file, 'utf8');
  } catch (err) {
    throw new StoreOpenError('store.passwordFile', `cannot read ${secret.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const first = text.split(/\r?\n/)[0] ?? '';
  if (first === '') throw new StoreOpenError('store.passwordFile', `${secret.file} is empty`);
  return first;
}
