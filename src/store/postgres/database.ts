import pg from 'pg';
import { NewerSchemaError, orderedMigrations, unknownVersions, type Migration } from '../migration.js';
import { POSTGRES_SCHEMA_NAME } from '../stores.js';

export { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, sqlState } from './sql-state.js';
import type { Log } from '../../util/log.js';
import { migrations as allMigrations } from './migrations/index.js';

/** Where the PostgreSQL store lives. The password never travels in `url` (config rejects that). */
export interface PostgresOptions {
  url: string;
  password?: string;
  /** The schema holding Gangway's tables; created when missing. */
  schema: string;
  /** Connections this process keeps at most. */
  poolSize: number;
}

/** How long one statement may run on the stores' connections (milliseconds). */
export const STATEMENT_TIMEOUT_MS = 15_000;

/** A value a query takes: what node-postgres serialises for us (Buffer as bytea, Date as timestamptz). */
export type SqlValue = string | number | boolean | Date | Buffer | null;

/** One connection inside a transaction, or the pool outside one. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: readonly SqlValue[]): Promise<pg.QueryResult<R>>;
}

/**
 * A connection pool on the schema of `options`, with the schema brought up to date. Every
 * connection's search_path is that schema alone, so the stores' SQL names no schema.
 */
export class PostgresDatabase implements Queryable {
  private constructor(readonly pool: pg.Pool, readonly schema: string) {}

  static async open(
    options: PostgresOptions,
    log: Log,
    migrations: readonly Migration[] = allMigrations,
    reportWaitEveryMs = MIGRATION_WAIT_REPORT_MS,
  ): Promise<PostgresDatabase> {
    if (!POSTGRES_SCHEMA_NAME.test(options.schema)) throw new Error(`schema name "${options.schema}" must match ${POSTGRES_SCHEMA_NAME.source}`);
    const pool = new pg.Pool({
      connectionString: options.url,
      ...(options.password !== undefined ? { password: options.password } : {}),
      max: options.poolSize,
      // A connection parameter rather than a SET after connecting: it holds from the first query on.
      options: `-c search_path=${options.schema}`,
      application_name: 'gangway',
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      // A statement waiting longer than this (a lock held elsewhere, an overloaded server) fails
      // the one operation that made it, as SQLite's busy_timeout does, instead of holding a
      // conversation (and a pooled connection) indefinitely. Migrations lift it for themselves.
      statement_timeout: STATEMENT_TIMEOUT_MS,
    });
    // An idle connection the server drops (restart, idle timeout) emits here; unhandled, it would
    // end the process. The next query opens a new connection.
    pool.on('error', (err) => log.error({ err: err.message }, 'PostgreSQL: an idle connection failed'));
    const db = new PostgresDatabase(pool, options.schema);
    try {
      await db.migrate(migrations, log, reportWaitEveryMs);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return db;
  }

  query<R extends pg.QueryResultRow>(sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params as SqlValue[]);
  }

  /**
   * `fn` inside one READ COMMITTED transaction on one connection: committed when it resolves,
   * rolled back when it rejects. A connection whose ROLLBACK fails is discarded, not reused.
   * The level is asked for, not inherited: the stores count on each statement seeing what others
   * committed before it began (a lock waited for, then a count), and a role or database whose
   * default is REPEATABLE READ would give every statement the snapshot of the first.
   */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await fn({ query: (sql, params = []) => client.query(sql, params as SqlValue[]) });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Runs the migrations not yet recorded in `schema_migrations`, each in its own transaction, under
   * a session advisory lock keyed by the schema: servers starting together take turns, and the
   * second finds the work done.
   */
  private async migrate(migrations: readonly Migration[], log: Log, reportWaitEveryMs: number): Promise<void> {
    const ordered = orderedMigrations(migrations);
    const client = await this.pool.connect();
    const lockKey = `gangway:migrate:${this.schema}`;
    let broken: Error | undefined;
    // No statement timeout here, so a start can wait as long as another server's migration or a
    // lock on a table takes: said while it lasts, so that a start that hangs says why.
    const began = Date.now();
    const waiting = setInterval(() => {
      log.warn({ schema: this.schema, waitedSeconds: Math.round((Date.now() - began) / 1000) }, 'PostgreSQL: still bringing the schema up to date (another server holds the migration lock, or a table a migration needs is locked); the server starts when it is done');
    }, reportWaitEveryMs);
    waiting.unref();
    try {
      // Waiting for another server's migrations, and a migration itself, may take longer than a store operation.
      await client.query('SET statement_timeout = 0');
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.schema)}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)');
        const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
        const unknown = unknownVersions(applied, migrations);
        if (unknown.length > 0) throw new NewerSchemaError(`PostgreSQL schema "${this.schema}"`, unknown);
        for (const m of ordered) {
          if (applied.has(m.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.up);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date()]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch((e: unknown) => { broken = e as Error; });
            throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
          }
        }
      } finally {
        // Also released when the connection ends; said explicitly so a reused connection holds no lock.
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch((e: unknown) => { broken = e as Error; });
        await client.query('RESET statement_timeout').catch((e: unknown) => { broken = e as Error; });
      }
    } finally {
      clearInterval(waiting);
      client.release(broken);
    }
  }
}

/** How often a start waiting for the schema says so. */
export const MIGRATION_WAIT_REPORT_MS = 10_000;

/**
 * The schema versions recorded in `options.schema`, read without changing anything (for
 * `gangway check`); undefined when the schema has no migrations table yet.
 */
export async function appliedSchemaVersions(options: PostgresOptions): Promise<number[] | undefined> {
  const client = new pg.Client({
    connectionString: options.url,
    ...(options.password !== undefined ? { password: options.password } : {}),
    application_name: 'gangway check',
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    const table = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${pg.escapeIdentifier(options.schema)}.schema_migrations`]);
    if (table.rows[0]?.t === null) return undefined;
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${pg.escapeIdentifier(options.schema)}.schema_migrations ORDER BY version`);
    return rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL text cannot hold U+0000, which SQLite stores as given. Text a NAS or a device chose
 * (accounting attributes, identities, PeerInfo, audit subjects) passes through here, so that such a
 * value is stored with U+FFFD in its place instead of failing the write. Lookups pass their keys
 * through the same mapping.
 */
export function pgText(s: string): string;
export function pgText(s: string | undefined | null): string | null;
export function pgText(s: string | undefined | null): string | null {
  if (s === undefined || s === null) return null;
  return s.includes('\u0000') ? s.replace(/\u0000/g, '\uFFFD') : s;
}

/** int8 and numeric arrive as strings (they may exceed 2^53); counters and counts here do not. */
export function toNumber(v: string | number): number {
  return typeof v === 'number' ? v : Number(v);
}
