import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GangwayConfig } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';

/**
 * The files whose readers could impersonate the server or its users: the database (NT hashes are
 * password-equivalent, EAP-NOOB Kz are keys) or the file holding PostgreSQL's password, the TLS
 * key, the keys of the data directory's PKI, and the data directory itself. The server refuses to start while group or others can reach any
 * of them, naming the file; `gangway init` and the store create them owner-only.
 */
export function checkPrivateFiles(config: GangwayConfig): void {
  requireOwnerOnly(config.dataDir, '--data', true);
  // The database is created by the server when missing (0600, see openSqlite); its WAL and shared
  // memory files hold the same data. PostgreSQL's password file opens the same data.
  const store = config.store;
  if (store.kind === 'sqlite') for (const suffix of ['', '-wal', '-shm']) requireOwnerOnly(store.path + suffix, 'store.sqlite', false, true);
  else if (store.password && 'file' in store.password) requireOwnerOnly(store.password.file, 'store.passwordFile', false);
  requireOwnerOnly(config.tls.key, 'tls.key', false, true);
  const pki = join(config.dataDir, 'pki');
  if (existsSync(pki) && statSync(pki).isDirectory()) {
    for (const name of readdirSync(pki)) {
      if (name.endsWith('.key')) requireOwnerOnly(join(pki, name), 'pki', false, true);
    }
  }
}

function requireOwnerOnly(path: string, key: string, directory: boolean, optional = false): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ConfigError(key, `cannot check ${path}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  throw new ConfigError(key, `${path} is accessible by group or others (mode ${octal}); run chmod ${directory ? '700' : '600'} ${path}`);
}
