/**
 * PostgreSQL errors by SQLSTATE, without loading the driver: the code that opens the configured
 * store classifies failures with it whichever database is configured.
 */

/** The SQLSTATE of a PostgreSQL error (node-postgres's DatabaseError), duck-typed across module realms. */
export function sqlState(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
