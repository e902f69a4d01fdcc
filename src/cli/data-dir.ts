import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE, loadConfig } from '../config/config.js';

/**
 * The database a data directory's server uses: `store.sqlite` of its gangway.yaml, so that the
 * administrative commands always write where `gangway serve` reads. A directory without a
 * configuration (not made by `gangway init`) falls back to DIR/gangway.db.
 */
export function databasePathOf(dataDir: string): string {
  const dir = resolve(dataDir);
  if (!existsSync(join(dir, CONFIG_FILE))) return join(dir, 'gangway.db');
  return loadConfig(dir).store.sqlitePath;
}
