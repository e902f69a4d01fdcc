import { createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { GangwayConfig } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { loadMethodPlugin } from '../eap-methods/registry.js';
import { parseNoobMethodConfig } from '../noob/config.js';
import { parseBrskiConfig } from '../teap-brski/brski/config.js';
import { parseTeapMethodConfig } from '../teap-brski/teap/config.js';
import { fail, ok, type CheckResult } from './result.js';

/** The methods' own settings and the method names the EAP rules refer to, as the server checks them at start. */
export async function checkMethods(config: GangwayConfig): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const available = ['eap-tls', 'eap-mschapv2', 'teap'];
  const attempt = (subject: string, fn: () => string): void => {
    try {
      results.push(ok(subject, fn()));
    } catch (err) {
      results.push(fail(subject, err instanceof ConfigError ? `${err.key}: ${err.why}` : (err as Error).message));
    }
  };
  attempt('methods.teap', () => {
    const teap = parseTeapMethodConfig(config.methods.teap);
    return `inner methods ${teap.innerMethods.join(', ')}`;
  });
  if (config.methods['eap-noob'] !== undefined && config.methods['eap-noob'] !== null) {
    attempt('methods.eap-noob', () => {
      const noob = parseNoobMethodConfig(config.methods['eap-noob']);
      available.push('eap-noob');
      return `OOB URL ${noob.oobUrl}, codes valid ${noob.noobTimeout} s`;
    });
  }
  if (config.brski !== undefined && config.brski !== null) {
    attempt('brski', () => {
      const brski = parseBrskiConfig(config.brski, config.dataDir)!;
      return `${brski.manufacturers.length} manufacturer(s): ${brski.manufacturers.map((m) => m.name).join(', ')}`;
    });
  }
  for (const [i, plugin] of config.eap.plugins.entries()) {
    try {
      const method = await loadMethodPlugin(plugin.module, plugin.options, config.dataDir);
      available.push(method.name);
      results.push(ok(`eap.plugins[${i}]`, `${plugin.module}: method ${method.name} (type ${method.type})`));
    } catch (err) {
      results.push(fail(`eap.plugins[${i}]`, `${plugin.module}: ${(err as Error).message}`));
    }
  }
  const used = [...config.eap.defaultMethods.map((m) => ['eap.defaultMethods', m] as const), ...config.eap.rules.flatMap((r, i) => r.methods.map((m) => [`eap.rules[${i}]`, m] as const))];
  const missing = used.filter(([, m]) => !available.includes(m));
  if (missing.length > 0) {
    for (const [where, m] of missing) results.push(fail(where, `method "${m}" is not available (available: ${available.join(', ')})`));
  } else {
    results.push(ok('eap', `default methods ${config.eap.defaultMethods.join(', ')}; ${config.eap.rules.length} rule(s)`));
  }
  return results;
}

/** What OpenSSL makes of tls.*: the same context the TLS-based methods build. */
export function checkTlsContext(config: GangwayConfig): CheckResult {
  try {
    createSecureContext({
      cert: readFileSync(config.tls.cert),
      key: readFileSync(config.tls.key),
      ca: config.tls.ca.map((p) => readFileSync(p)),
      ...(config.tls.crl.length > 0 ? { crl: config.tls.crl.map((p) => readFileSync(p)) } : {}),
      minVersion: config.tls.minVersion,
      maxVersion: config.tls.maxVersion,
    });
    return ok('tls', `OpenSSL accepts the certificate, key, ${config.tls.ca.length} CA file(s) and ${config.tls.crl.length} CRL file(s); ${config.tls.minVersion}..${config.tls.maxVersion}`);
  } catch (err) {
    return fail('tls', `OpenSSL refuses the TLS settings: ${(err as Error).message}`);
  }
}
