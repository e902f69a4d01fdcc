import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE, type GangwayConfig } from '../config/config.js';
import { StoreOpenError, openStores } from '../store/open-stores.js';
import type { Stores } from '../store/stores.js';
import { createLog } from '../util/log.js';
import { SetupError } from './command.js';

/**
 * One rule for every command that works on a server's data directory: `--data DIR`, else
 * $GANGWAY_DATA, else ./var (the directory `npm start` creates and serves).
 */
export const DATA_OPTION = {
  type: 'string',
  value: 'DIR',
  help: 'data directory (default $GANGWAY_DATA, else ./var)',
} as const;

export const DEFAULT_DATA_DIR = 'var';

export interface DataDir {
  /** Absolute path. */
  readonly path: string;
  /** Where the choice came from, for messages. */
  readonly from: '--data' | 'GANGWAY_DATA' | 'default';
}

export function dataDirOf(option: string | undefined): DataDir {
  if (option !== undefined) return { path: resolve(option), from: '--data' };
  const env = process.env.GANGWAY_DATA;
  if (env !== undefined && env !== '') return { path: resolve(env), from: 'GANGWAY_DATA' };
  return { path: resolve(DEFAULT_DATA_DIR), from: 'default' };
}

export function hasConfig(dir: DataDir): boolean {
  return existsSync(join(dir.path, CONFIG_FILE));
}

/**
 * The data directory must already exist with its gangway.yaml: commands never create a database
 * the server would not read.
 */
export function requireDataDir(dir: DataDir): DataDir {
  if (hasConfig(dir)) return dir;
  const source = dir.from === '--data' ? '' : dir.from === 'GANGWAY_DATA' ? ' (from $GANGWAY_DATA)' : ' (the default; no --data given and $GANGWAY_DATA unset)';
  throw new SetupError(
    `no Gangway data directory at ${dir.path}${source}: ${join(dir.path, CONFIG_FILE)} does not exist. ` +
      `Create one with "gangway init ${dir.path}", or name an existing one with --data DIR.`,
  );
}

/**
 * The stores the data directory's server uses (gangway.yaml's `store`), so a command's change is
 * the server's at once. A store that cannot be opened for a reason in the configuration is a
 * SetupError naming the setting. Log lines (PostgreSQL trouble) go to stderr, at
 * $GANGWAY_LOG_LEVEL or warn.
 */
export async function openConfiguredStores(config: GangwayConfig): Promise<Stores> {
  try {
    // A command may wait out the server's short write transactions (store/sqlite/database.ts).
    return await openStores(config.store, createLog(process.env.GANGWAY_LOG_LEVEL ?? 'warn', process.stderr), 'command');
  } catch (err) {
    if (err instanceof StoreOpenError) throw new SetupError(`${err.message} (${err.key} in ${join(config.dataDir, CONFIG_FILE)})`);
    throw err;
  }
}
