/**
 * One schema step. Versions are global and strictly increasing; each aggregate owns its steps. The
 * SQLite and PostgreSQL stores each have their own list, step for step the same versions and names
 * (test/store/migrations.test.ts holds them to it), so a version number means one schema whichever
 * database holds it.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQL run inside the migration's transaction. */
  up: string;
}

/** The migrations in version order; throws on a repeated version. */
export function orderedMigrations(migrations: readonly Migration[]): Migration[] {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i]!.version === ordered[i - 1]!.version) throw new Error(`duplicate migration version ${ordered[i]!.version}`);
  }
  return ordered;
}

/** The versions recorded in a database that `known` does not have: a newer Gangway migrated it. */
export function unknownVersions(applied: Iterable<number>, known: readonly Migration[]): number[] {
  const versions = new Set(known.map((m) => m.version));
  return [...applied].filter((v) => !versions.has(v)).sort((a, b) => a - b);
}

/**
 * A database a newer Gangway migrated: this one does not know its schema, and writing to it could
 * break what the newer one relies on. There is no downgrade; a backup is restored instead.
 */
export class NewerSchemaError extends Error {
  constructor(readonly where: string, readonly unknown: readonly number[]) {
    super(`${where} has schema versions this Gangway does not know (${unknown.join(', ')}): written by a newer version; upgrade Gangway or restore a backup`);
    this.name = 'NewerSchemaError';
  }
}
