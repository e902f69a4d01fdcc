import type { StoreLiveness } from '../liveness.js';
import type { PostgresDatabase } from './database.js';

/** A health check answers in time or says the store is failing: a probe that hangs helps no one. */
const CHECK_TIMEOUT_MS = 3000;

/**
 * Reads the newest migration through the pool every aggregate uses: a failure here is what a
 * store operation would meet (server down, pool exhausted, schema gone).
 */
export class PostgresStoreLiveness implements StoreLiveness {
  constructor(private readonly db: PostgresDatabase) {}

  async check(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      timer.unref();
    });
    try {
      await Promise.race([this.db.query('SELECT max(version) AS version FROM schema_migrations'), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
