import type { StoreLiveness } from '../liveness.js';
import type { PostgresDatabase } from './database.js';

/**
 * Reads the newest migration through the pool every aggregate uses: a failure here is what a
 * store operation would meet (server down, pool exhausted, schema gone).
 */
export class PostgresStoreLiveness implements StoreLiveness {
  constructor(private readonly db: PostgresDatabase) {}

  async check(): Promise<void> {
    await this.db.query('SELECT max(version) AS version FROM schema_migrations');
  }
}
