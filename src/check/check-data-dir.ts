import { existsSync, readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { CONFIG_FILE, loadConfig, type GangwayConfig } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { checkCa, checkKeyMatch, checkServerChain, checkValidity, readCertificates } from './certificates.js';
import { checkCrlFile } from './crl.js';
import { checkDatabase, checkPostgresDatabase } from './database.js';
import { checkMethods, checkTlsContext } from './methods.js';
import { checkDataDirectory, checkPrivateFile } from './permissions.js';
import { fail, ok, warn, type CheckResult } from './result.js';

/**
 * `gangway check` (like `radiusd -C`): everything about a data directory that can be known
 * without starting the server. Reads only; the database is opened read-only (SQLite) or only
 * queried (PostgreSQL).
 */
export async function checkDataDir(dataDir: string, now = new Date()): Promise<CheckResult[]> {
  const configPath = join(dataDir, CONFIG_FILE);
  let config: GangwayConfig;
  try {
    config = loadConfig(dataDir);
  } catch (err) {
    if (err instanceof ConfigError) return [fail('config', `${configPath}: ${err.key}: ${err.why}`)];
    throw err;
  }
  const where = (ls: { host: string; port: number }[]): string => ls.map((l) => `${l.host}:${l.port}`).join(', ') || 'nowhere';
  const results: CheckResult[] = [ok('config', `${configPath}: ${config.radius.clients.length} RADIUS client(s); authentication on ${where(config.listen)}, accounting on ${where(config.accounting.listen)}`)];
  results.push(...checkListen(config));

  results.push(checkDataDirectory('permissions', dataDir));
  results.push(checkPrivateFile('permissions', configPath));
  const keys = new Set([config.tls.key]);
  const pki = join(dataDir, 'pki');
  if (existsSync(pki)) for (const f of readdirSync(pki)) if (f.endsWith('.key')) keys.add(join(pki, f));
  for (const k of keys) if (existsSync(k)) results.push(checkPrivateFile('permissions', k));
  const store = config.store;
  if (store.kind === 'sqlite' && existsSync(store.path)) results.push(checkPrivateFile('permissions', store.path));
  if (store.kind === 'postgres' && store.password && 'file' in store.password && existsSync(store.password.file)) {
    results.push(checkPrivateFile('permissions', store.password.file));
  }

  const cas: X509Certificate[] = [];
  for (const [i, path] of config.tls.ca.entries()) {
    try {
      for (const ca of readCertificates(path)) {
        cas.push(ca);
        results.push(checkCa(`tls.ca[${i}]`, ca, now));
      }
    } catch (err) {
      results.push(fail(`tls.ca[${i}]`, `cannot read ${path}: ${(err as Error).message}`));
    }
  }
  try {
    const chain = readCertificates(config.tls.cert);
    for (const cert of chain) results.push(checkValidity('tls.cert', cert, now));
    results.push(...checkServerChain('tls.cert', chain, cas));
    results.push(checkKeyMatch('tls.key', config.tls.key, chain[0]!));
  } catch (err) {
    results.push(fail('tls.cert', `cannot read ${config.tls.cert}: ${(err as Error).message}`));
  }
  for (const [i, path] of config.tls.crl.entries()) results.push(...(await checkCrlFile(`tls.crl[${i}]`, path, cas, now)));
  results.push(checkTlsContext(config));
  results.push(...(await checkMethods(config)));
  results.push(...(store.kind === 'sqlite' ? checkDatabase(store.path) : await checkPostgresDatabase(store)));
  return results;
}

/** Each listen address must be one of this machine's (or a wildcard); binding is left to the server. */
function checkListen(config: GangwayConfig): CheckResult[] {
  const own = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)));
  const all = [
    ...config.listen.map((l) => ['server.listen', l] as const),
    ...config.accounting.listen.map((l) => ['accounting.listen', l] as const),
    ...(config.portal ? [['portal.listen', config.portal.listen] as const] : []),
  ];
  return all.flatMap(([key, l]) => {
    if (l.host === '0.0.0.0' || l.host === '::' || own.has(l.host)) return [];
    return [warn(key, `${l.host} is not an address of this machine's interfaces now: the server will fail to start unless it appears`)];
  });
}
