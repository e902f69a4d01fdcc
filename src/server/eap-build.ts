/**
 * The EAP side of Gangway as one configuration makes it: the TLS files, the methods and the rules
 * choosing among them, and the authenticator's limits. `startGangway` builds it in the main thread
 * with one worker, and each worker thread builds its own (src/server/workers/).
 */
import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { GangwayConfig } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { DEFAULT_EAP_LIMITS, type EapAuthenticatorLimits } from '../eap-methods/authenticator.js';
import { createEapTlsMethod } from '../eap-methods/eap-tls/method.js';
import { resolveTlsEngine } from '../eap-methods/tls-engine/server-context.js';
import { createMschapV2Method } from '../eap-methods/mschapv2/method.js';
import { buildTeapMethod, parseTeapMethodConfig } from '../teap-brski/teap/config.js';
import type { NoobPeerStore } from '../store/noob-peers.js';
import { createNoobMethod } from '../noob/method.js';
import { parseNoobMethodConfig, type ResolvedNoobConfig } from '../noob/config.js';
import { MethodSelector, type MethodRule } from '../eap-methods/method-selection.js';
import { MethodRegistry, loadMethodPlugin } from '../eap-methods/registry.js';
import type { Stores } from '../store/stores.js';
import type { Log } from '../util/log.js';
import type { BrskiServices } from '../teap-brski/brski/setup.js';
import { IssuedCertificateRevocation } from '../pki/ca/issued-revocation.js';
import type { GangwayMetrics } from './metrics.js';
import type { LockoutGate } from '../eap-methods/password-lockout.js';
import { parsePemCertificates } from '../pki/pem-certificates.js';

/** The password lockout the methods of one build use (kept across builds while its policy stays). */
export type LockoutKeeper = (policy: GangwayConfig['passwordLockout']) => LockoutGate;

/**
 * The authenticator's limits from the configuration. With `workers` threads each holds its part of
 * `eap.maxSessions` (the parts differ by one at most and add up to it exactly; startGangway refuses
 * fewer sessions than workers) and leads its States with its own octet.
 */
export function eapLimitsOf(config: GangwayConfig, worker?: { index: number; count: number }): EapAuthenticatorLimits {
  const split = worker !== undefined && worker.count > 1;
  return {
    ...DEFAULT_EAP_LIMITS,
    maxSessions: split ? sessionsOfWorker(config.eap.maxSessions, worker) : config.eap.maxSessions,
    idleTimeoutMs: config.eap.idleTimeoutMs,
    maxRounds: config.eap.maxRounds,
    maxInvalidPackets: config.eap.maxInvalidPackets,
    eapPacketSize: config.eap.packetSize,
    clientShare: config.eap.clientShare,
    stationConversations: config.eap.stationConversations,
    protectAfterRounds: config.eap.protectAfterRounds,
    ...(split ? { statePrefix: worker.index } : {}),
  };
}

/** Worker `index`'s part of `total` sessions: the first `total mod count` workers hold one more. */
export function sessionsOfWorker(total: number, worker: { index: number; count: number }): number {
  return Math.floor(total / worker.count) + (worker.index < total % worker.count ? 1 : 0);
}

/** The methods and the rules choosing among them, from one configuration; ConfigError when they cannot be built. */
export async function buildMethods(
  config: GangwayConfig,
  material: TlsMaterial,
  crl: Buffer[],
  stores: Stores,
  noobStore: NoobPeerStore,
  brski: BrskiServices | undefined,
  metrics: GangwayMetrics,
  lockoutFor: LockoutKeeper,
  log: Log,
): Promise<{ registry: MethodRegistry; selector: MethodSelector; noob: ResolvedNoobConfig | undefined; engine: 'openssl' | 'node' }> {
  const noob = noobConfigOf(config);
  const { registry, engine } = await buildRegistry(config, material, crl, stores, noob ? { config: noob, store: noobStore } : undefined, brski, metrics, lockoutFor, log);
  for (const name of [...config.eap.defaultMethods, ...config.eap.rules.flatMap((r) => r.methods)]) {
    if (!registry.get(name)) throw new ConfigError('eap', `method "${name}" is not available (known: ${registry.names().join(', ')})`);
  }
  const selector = new MethodSelector([...(noob ? noobRoutes(noob) : []), ...config.eap.rules], config.eap.defaultMethods);
  return { registry, selector, noob, engine };
}

export function readConfigFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The TLS files of one configuration, read once per build, and the CAs a CRL is judged against. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer[];
  trusted: X509Certificate[];
}

export function readTlsMaterial(config: GangwayConfig, brski: BrskiServices | undefined): TlsMaterial {
  const ca = config.tls.ca.map((p, i) => readConfigFile(p, `tls.ca[${i}]`));
  // LDevIDs of our registrar CA authenticate with EAP-TLS (and select TEAP's domain policies), and
  // a revoked one is refused, wherever the operator keeps that CA.
  if (brski && !ca.some((c) => c.toString().includes(brski.caPem.trim()))) ca.push(Buffer.from(brski.caPem));
  let trusted: X509Certificate[];
  try {
    trusted = parsePemCertificates(ca);
  } catch (err) {
    throw new ConfigError('tls.ca', `holds a certificate that does not parse: ${(err as Error).message}`);
  }
  return { cert: readConfigFile(config.tls.cert, 'tls.cert'), key: readConfigFile(config.tls.key, 'tls.key'), ca, trusted };
}


async function buildRegistry(
  config: GangwayConfig,
  material: TlsMaterial,
  crl: Buffer[],
  stores: Stores,
  noob: { config: ResolvedNoobConfig; store: NoobPeerStore } | undefined,
  brski: BrskiServices | undefined,
  metrics: GangwayMetrics,
  lockoutFor: LockoutKeeper,
  log: Log,
): Promise<{ registry: MethodRegistry; engine: 'openssl' | 'node' }> {
  const wrap = metrics.wrapStore;
  const registry = new MethodRegistry();
  const tls = {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    ...(crl.length > 0 ? { crl } : {}),
    minVersion: config.tls.minVersion,
    maxVersion: config.tls.maxVersion,
    engine: resolveEngine(config.tls.engine, log),
  };
  // LDevIDs we issued are refused once revoked even without a brski section (removed later, or in a
  // worker thread, which runs without one): the store alone then decides (issued-revocation.ts).
  const isRevoked = brski?.isRevoked ?? new IssuedCertificateRevocation({ store: wrap('issued-certificates', stores.issuedCertificates), log }).isRevoked;
  try {
    registry.register(createEapTlsMethod({ ...tls, maxTlsMessage: config.eap.maxTlsMessage, isRevoked }));
  } catch (err) {
    throw new ConfigError('tls', `cannot build the TLS context: ${(err as Error).message}`);
  }
  const users = wrap('users', stores.users);
  // One lockout for every password method: guesses through bare MSCHAPv2 and TEAP count together.
  const passwordLockout = lockoutFor(config.passwordLockout);
  registry.register(createMschapV2Method({ users, serverName: config.serverName, lockout: passwordLockout }));
  const teapConfig = parseTeapMethodConfig(config.methods.teap);
  try {
    registry.register(buildTeapMethod(teapConfig, {
      tls: { ...tls, maxTlsMessage: config.eap.maxTlsMessage, isRevoked },
      users,
      passwordLockout,
      log,
      ...(brski ? { tlvMethods: brski.tlvMethods, manufacturers: brski.manufacturers } : {}),
    }));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('methods.teap', (err as Error).message);
  }
  if (noob) registry.register(createNoobMethod({ store: noob.store, config: noob.config, log, audit: wrap('audit', stores.audit) }));
  for (const [i, plugin] of config.eap.plugins.entries()) {
    try {
      registry.register(await loadMethodPlugin(plugin.module, plugin.options, config.dataDir));
    } catch (err) {
      throw new ConfigError(`eap.plugins[${i}].module`, (err as Error).message);
    }
  }
  log.debug({ methods: registry.names() }, 'EAP methods registered');
  return { registry, engine: tls.engine };
}

/** The TLS engine for EAP-TLS and TEAP, said once at start. */
function resolveEngine(choice: GangwayConfig['tls']['engine'], log: Log): 'openssl' | 'node' {
  let engine: 'openssl' | 'node';
  try {
    engine = resolveTlsEngine(choice, log);
  } catch (err) {
    throw new ConfigError('tls.engine', (err as Error).message);
  }
  log.info({ engine }, 'TLS engine');
  return engine;
}

export function noobConfigOf(config: GangwayConfig): ResolvedNoobConfig | undefined {
  const raw = config.methods['eap-noob'];
  if (raw === undefined || raw === null) return undefined;
  return parseNoobMethodConfig(raw);
}

/**
 * EAP-NOOB's identities route to it before any operator rule: the provisioning NAIs of RFC 9140 and
 * RFC 9965, the NewNAI we hand out, and the authors' realm in their interop mode.
 */
function noobRoutes(noob: ResolvedNoobConfig): MethodRule[] {
  const rules: MethodRule[] = [
    { realm: 'eap-noob.arpa', methods: ['eap-noob'] },
    { realm: 'noob.eap.arpa', methods: ['eap-noob'] },
  ];
  if (noob.newNai !== undefined) rules.push({ identity: `^${escapeRegExp(noob.newNai)}$`, methods: ['eap-noob'] });
  if (noob.compat === 'vogeltak') rules.push({ realm: 'eap-noob.net', methods: ['eap-noob'] });
  return rules;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
