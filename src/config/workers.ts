import { availableParallelism } from 'node:os';
import { ConfigError } from './config-error.js';

/** Most worker threads: a State's first octet names the worker. */
export const MAX_WORKERS = 64;

/** `server.workers` or `--workers`: a count, or `auto` for one per core. */
export type WorkersSetting = number | 'auto';

export function parseWorkers(value: unknown, key: string): WorkersSetting {
  if (value === 'auto') return 'auto';
  const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw new ConfigError(key, `must be auto or a whole number from 1 to ${MAX_WORKERS}`);
  return n;
}

/** The number of worker threads a setting means on this machine. */
export function resolveWorkers(setting: WorkersSetting, cores: () => number = availableParallelism): number {
  return setting === 'auto' ? Math.max(1, Math.min(MAX_WORKERS, cores())) : setting;
}
