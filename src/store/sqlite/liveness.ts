import type { StoreLiveness } from '../liveness.js';
import type { SqliteDatabase } from './database.js';

/**
 * Reads the newest migration: a real table, so the read transaction touches the database and its
 * WAL, where `SELECT 1` would only prove that the connection object exists.
 */
export class SqliteStoreLiveness implements StoreLiveness {
  private readonly newestMigration;

  constructor(db: SqliteDatabase) {
    this.newestMigration = db.prepare('SELECT max(version) AS version FROM schema_migrations');
  }

  async check(): Promise<void> {
    this.newestMigration.get();
  }
}
