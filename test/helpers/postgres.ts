/**
 * PostgreSQL for tests: where it is, whether it answers, and a fresh schema (or database) per
 * test so that tests never see each other's rows.
 *
 * The server is named by $GANGWAY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
 * a password may be in that URL — the test helpers hand it to the store separately, as
 * store.passwordEnv does for a server. The role must be allowed to create schemas in that database,
 * and databases (the two-instance test).
 *
 * Unreachable: CI=true fails the tests that need it; otherwise they are skipped loudly and listed
 * by the missing-tools reporter, like a missing interop tool.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inCi, noteSkip } from './require-tool.js';

export const DEFAULT_TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestPostgres {
  /** The URL without its password (what gangway.yaml's store.url may hold). */
  url: string;
  password?: string;
}

let probed: { server: TestPostgres; error?: string } | undefined;

function configured(): TestPostgres {
  const u = new URL(process.env.GANGWAY_TEST_POSTGRES_URL || DEFAULT_TEST_POSTGRES_URL);
  const password = u.password === '' ? undefined : decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), ...(password !== undefined ? { password } : {}) };
}

/**
 * The test PostgreSQL server, or undefined (skipped loudly, or thrown in CI) when it does not
 * answer. Probed once per test file, synchronously, so that it can decide which describe blocks run.
 */
export function requirePostgres(): TestPostgres | undefined {
  probed ??= probe();
  if (probed.error === undefined) return probed.server;
  const message = `PostgreSQL at ${probed.server.url} did not answer (${probed.error}); set GANGWAY_TEST_POSTGRES_URL`;
  if (inCi()) throw new Error(`${message}; CI=true, so tests that need it fail instead of skipping`);
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING tests that need PostgreSQL: ${message}.\n!! Install and start it (CI fails on this).\n${bar}\n`);
  noteSkip('postgresql', message);
  return undefined;
}

function probe(): { server: TestPostgres; error?: string } {
  const server = configured();
  const script = `
    const pg = require(process.argv[1]);
    const c = new pg.Client({ connectionString: process.argv[2], password: process.env.PROBE_PASSWORD || undefined, connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.query('SELECT 1')).then(() => c.end()).then(() => process.exit(0), (e) => { process.stderr.write(String(e && e.message || e)); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script, require.resolve('pg'), server.url], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { ...process.env, PROBE_PASSWORD: server.password ?? '' },
  });
  if (r.status === 0) return { server };
  return { server, error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0]! };
}

/** A name no other test (or test process) uses: gw_t_<pid>_<random>. */
export function freshName(prefix = 'gw_t'): string {
  return `${prefix}_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** One statement as the test role, on a short-lived connection to the server's database (or `database`). */
export async function adminQuery(server: TestPostgres, sql: string, database?: string): Promise<pg.QueryResult> {
  const u = new URL(server.url);
  if (database !== undefined) u.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: u.toString(), ...(server.password !== undefined ? { password: server.password } : {}) });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function dropSchema(server: TestPostgres, schema: string): Promise<void> {
  await adminQuery(server, `DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}

/** A new, empty database; its URL (without password). */
export async function createDatabase(server: TestPostgres, name: string): Promise<string> {
  await adminQuery(server, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const u = new URL(server.url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(server: TestPostgres, name: string): Promise<void> {
  await adminQuery(server, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}
