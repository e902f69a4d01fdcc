import type { TlsEngineName } from '../../src/eap-methods/tls-tunnel.js';
import { loadTlsAddon } from '../../src/eap-methods/tls-engine/addon.js';
import { inCi } from './require-tool.js';

/**
 * The server TLS engines a suite runs against: both, unless GANGWAY_TEST_TLS_ENGINES narrows them
 * (a comma list, e.g. `node`). The native engine missing is a failure under CI=true, and a loud skip
 * of its half otherwise, like a missing interop tool.
 */
export function serverTlsEngines(): TlsEngineName[] {
  const wanted = (process.env.GANGWAY_TEST_TLS_ENGINES ?? 'openssl,node').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const w of wanted) if (w !== 'openssl' && w !== 'node') throw new Error(`GANGWAY_TEST_TLS_ENGINES: unknown engine "${w}"`);
  const engines = wanted as TlsEngineName[];
  if (!engines.includes('openssl') || opensslEngineLoaded()) return engines;
  return engines.filter((e) => e !== 'openssl');
}

/** True when the native engine loaded; throws under CI when it did not, else prints a banner. */
export function opensslEngineLoaded(): boolean {
  const load = loadTlsAddon();
  if (load.ok) return true;
  const message = `the native TLS engine did not load (${load.reason}); build it with npm install`;
  if (inCi()) throw new Error(`${message}; CI=true, so its tests fail instead of skipping`);
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING the OpenSSL-engine half: ${message}.\n${bar}\n`);
  return false;
}
