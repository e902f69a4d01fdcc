/**
 * The store tests run once per database: SQLite in a temporary file, PostgreSQL in a schema made
 * for the one test. `describeStores` declares a block per kind; the PostgreSQL block is skipped
 * (loudly, see postgres.ts) when no server answers and CI is not set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/stores.js';
import { openSqliteStores, type SqliteStores } from '../../src/store/sqlite/stores.js';
import type { Stores } from '../../src/store/stores.js';
import { dropSchema, freshName, requirePostgres, type TestPostgres } from './postgres.js';
import { MemoryLog } from './silent-log.js';

export type StoreKindName = 'sqlite' | 'postgres';

/** What a schema constraint said no with, whichever database. */
export type Violation = 'check' | 'foreign-key' | 'unique' | 'not-null';

export interface StoreUnderTest {
  readonly kind: StoreKindName;
  readonly stores: Stores;
  /** Another connection to the same database, as a second server (or a CLI command) has. */
  another(): Promise<Stores>;
  /** One SQL statement straight to the database; the constraint it broke, or undefined when it ran. */
  violation(sql: string): Promise<Violation | undefined>;
  /** schema_migrations, in version order. */
  migrations(): Promise<{ version: number; name: string }[]>;
  /** The log of the stores' own lines (PostgreSQL: the audit writer, idle connections). */
  readonly log: MemoryLog;
  /** Closes every connection and removes the file or schema. */
  close(): Promise<void>;
}

export interface StoreKind {
  readonly name: StoreKindName;
  /** False: skipped here (PostgreSQL unreachable outside CI). */
  readonly available: boolean;
  open(): Promise<StoreUnderTest>;
}

/** The constraint an error of either database reports, if any. */
export function violationOf(err: unknown): Violation | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'SQLITE_CONSTRAINT_CHECK':
    case '23514':
      return 'check';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
    case '23503':
      return 'foreign-key';
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case '23505':
      return 'unique';
    case 'SQLITE_CONSTRAINT_NOTNULL':
    case '23502':
      return 'not-null';
    default:
      return undefined;
  }
}

function sqliteKind(): StoreKind {
  return {
    name: 'sqlite',
    available: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'gangway-store-'));
      const path = join(dir, 'gangway.db');
      const stores: SqliteStores = openSqliteStores(path);
      const others: SqliteStores[] = [];
      return {
        kind: 'sqlite',
        stores,
        log: new MemoryLog(),
        async another() {
          const s = openSqliteStores(path);
          others.push(s);
          return s;
        },
        async violation(sql) {
          try {
            stores.db.prepare(sql).run();
            return undefined;
          } catch (err) {
            const v = violationOf(err);
            if (v === undefined) throw err;
            return v;
          }
        },
        async migrations() {
          return stores.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
        },
        async close() {
          for (const s of others) await s.close();
          await stores.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** PostgreSQL stores on `schema` of the test server (the schema is created by the store's migrations). */
export async function openTestPostgresStores(server: TestPostgres, schema: string, log: MemoryLog, poolSize = 4): Promise<PostgresStores> {
  return openPostgresStores({ url: server.url, ...(server.password !== undefined ? { password: server.password } : {}), schema, poolSize }, log);
}

function postgresKind(server: TestPostgres | undefined): StoreKind {
  return {
    name: 'postgres',
    available: server !== undefined,
    async open() {
      if (!server) throw new Error('PostgreSQL is not available');
      const schema = freshName();
      const log = new MemoryLog();
      const stores = await openTestPostgresStores(server, schema, log);
      const others: PostgresStores[] = [];
      return {
        kind: 'postgres',
        stores,
        log,
        async another() {
          const s = await openTestPostgresStores(server, schema, log);
          others.push(s);
          return s;
        },
        async violation(sql) {
          try {
            await stores.db.query(sql);
            return undefined;
          } catch (err) {
            const v = violationOf(err);
            if (v === undefined) throw err;
            return v;
          }
        },
        async migrations() {
          return (await stores.db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
        },
        async close() {
          for (const s of others) await s.close();
          await stores.close();
          await dropSchema(server, schema);
        },
      };
    },
  };
}

let kinds: StoreKind[] | undefined;

/** SQLite, then PostgreSQL (available or not). */
export function storeKinds(): StoreKind[] {
  kinds ??= [sqliteKind(), postgresKind(requirePostgres())];
  return kinds;
}

/**
 * `describe(title (kind))` for each database, with `open()` giving each test its own empty store;
 * an unavailable kind's block is declared skipped, so the run shows it.
 */
export function describeStores(title: string, body: (kind: StoreKind) => void): void {
  for (const kind of storeKinds()) (kind.available ? describe : describe.skip)(`${title} (${kind.name})`, () => body(kind));
}
