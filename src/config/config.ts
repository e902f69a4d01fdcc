import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import { ConfigReader } from './reader.js';
import { ClientTable } from '../radius/client-table.js';
import type { AuthorizationPolicy } from '../policy/authorization-policy.js';
import { parseAuthorizationConfig } from '../policy/config.js';
import type { PasswordLockoutPolicy } from '../eap-methods/password-lockout.js';
import { parsePasswordLockout } from './password-lockout.js';
import { parseWorkers, type WorkersSetting } from './workers.js';
import { parseConnectionCaps } from './connection-caps.js';
import { MONITORING_CONNECTION_CAPS, SERVICE_CONNECTION_CAPS, type ConnectionCaps } from '../util/connection-cap.js';
import { POSTGRES_SCHEMA_NAME, type StoreConfig, type StoreSecret } from '../store/stores.js';

export const CONFIG_FILE = 'gangway.yaml';
/** Shortest RADIUS shared secret accepted without `allowShortSecret`. */
export const MIN_SECRET_LENGTH = 16;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface RadiusClientEntry {
  name: string;
  address: string;
  secret: string;
  requireMessageAuthenticator: boolean;
  limitProxyState: boolean;
  /** The NAS's Dynamic Authorization port (RFC 5176): where Disconnect-Requests go. */
  coa?: { port: number };
}

/** The web portal (src/portal). */
export interface PortalConfig {
  listen: ListenAddress;
  /** The URL people and devices' QR codes reach the portal by (scheme, host, port; no path needed). */
  publicUrl: string;
  /** HTTPS with the server's certificate (tls.cert / tls.key). */
  tls: boolean;
  sessionMinutes: number;
  maxFailedLogins: number;
  lockoutMinutes: number;
  /** Connections open at once, in all and per source address (src/util/connection-cap.ts). */
  connections: ConnectionCaps;
}

/** The monitoring listener (src/server/health.ts). */
export interface HealthConfig {
  listen: ListenAddress;
  /** Connections open at once, in all and per source address (src/util/connection-cap.ts). */
  connections: ConnectionCaps;
}

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string[];
  crl: string[];
  /** How often the CRL files are checked for a change (seconds); 0: only at start and on SIGHUP. */
  crlPollSeconds: number;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1.2' | 'TLSv1.3';
  /** EAP-TLS and TEAP's TLS engine; unset: the native OpenSSL engine when it loaded, else node:tls. */
  engine?: 'openssl' | 'node';
}

export interface MethodRuleEntry {
  realm?: string;
  identity?: string;
  methods: string[];
}

export interface PluginEntry {
  module: string;
  options: Record<string, unknown>;
}

export interface GangwayConfig {
  dataDir: string;
  serverName: string;
  listen: ListenAddress[];
  /** Threads running EAP conversations (src/server/workers/): a count or `auto` (one per core); default 1. */
  workers: WorkersSetting;
  /**
   * Authentications per enabled method that `gangway serve` runs against a throwaway server in its
   * own process before starting (src/cli/warmup.ts); 0: none.
   */
  warmup: number;
  radius: {
    clients: RadiusClientEntry[];
    replyCacheMs: number;
    maxInFlight: number;
  };
  eap: {
    packetSize: number;
    maxSessions: number;
    idleTimeoutMs: number;
    maxRounds: number;
    maxInvalidPackets: number;
    maxTlsMessage: number;
    /** Session admission (src/eap-methods/session-table.ts). */
    clientShare: number;
    stationConversations: number;
    protectAfterRounds: number;
    defaultMethods: string[];
    rules: MethodRuleEntry[];
    plugins: PluginEntry[];
  };
  tls: TlsFiles;
  /** Per-method settings, parsed by each method's own config reader. */
  methods: Record<string, unknown>;
  /** The TEAP-BRSKI registrar section, parsed by src/teap-brski/brski/config.ts. */
  brski: unknown;
  /** The credential policy (src/policy): VLAN, Session-Timeout, Filter-Id, Class per user, device class, method, MUD URL. */
  authorization: AuthorizationPolicy;
  /** The database: SQLite (one server) or PostgreSQL (one or many servers); src/store/open-stores.ts. */
  store: StoreConfig;
  log: { level: string };
  portal?: PortalConfig;
  /** `GET /healthz` (src/server/health.ts); off unless configured. */
  health?: HealthConfig;
  /** Failure throttling for password methods (src/config/password-lockout.ts). */
  passwordLockout: PasswordLockoutPolicy;
  /** RADIUS accounting (RFC 2866): where Accounting-Requests are received, how long ended sessions are kept. */
  accounting: AccountingConfig;
  audit: AuditConfig;
}

export interface AuditConfig {
  /** Entries older than this many days are deleted; 0 keeps them all. */
  retentionDays: number;
}

export interface AccountingConfig {
  /** Empty: no accounting listener. */
  listen: ListenAddress[];
  retentionDays: number;
}

/** `server.warmup` when unset: the smallest count that brought cold CPU per authentication near the settled one (docs/benchmarks.md). */
export const DEFAULT_WARMUP = 50;
export const MAX_WARMUP = 10_000;
const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
/** Built-in methods with settings of their own; plugins take theirs in eap.plugins[].options. */
const METHOD_SECTIONS = ['teap', 'eap-noob'];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function loadConfig(dataDir: string, file = join(dataDir, CONFIG_FILE)): GangwayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('(file)', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(doc, dataDir);
}

export function parseConfig(doc: unknown, dataDir: string): GangwayConfig {
  const root = ConfigReader.root(doc);
  const inData = (p: string): string => (isAbsolute(p) ? p : join(dataDir, p));

  const server = root.section('server');
  const serverName = server.string('name', 'gangway.local');
  const listen = server.stringList('listen', ['127.0.0.1:1812']).map((s, i) => parseListen(s, `${server.key('listen')}[${i}]`));
  const workers = server.has('workers') ? parseWorkers(server.raw('workers'), server.key('workers')) : (server.raw('workers'), 1);
  const warmup = server.integer('warmup', DEFAULT_WARMUP, 0, MAX_WARMUP);
  server.done();

  const radius = root.section('radius');
  const clients = radius.list('clients').map((c) => {
    const entry: RadiusClientEntry = {
      name: c.string('name'),
      address: c.string('address'),
      secret: c.string('secret'),
      requireMessageAuthenticator: c.boolean('requireMessageAuthenticator', true),
      limitProxyState: c.boolean('limitProxyState', true),
    };
    if (c.has('coa')) {
      const coa = c.section('coa');
      entry.coa = { port: coa.integer('port', 3799, 1, 65535) };
      coa.done();
    } else c.raw('coa');
    if (!isAddressOrPrefix(entry.address)) throw new ConfigError(c.key('address'), 'must be an IPv4/IPv6 address or prefix like 10.0.0.0/8');
    try {
      new ClientTable([entry]);
    } catch (err) {
      throw new ConfigError(c.key('address'), (err as Error).message);
    }
    // RFC 2865 §3 asks for at least 16 octets; a shorter one falls to offline guessing from one sniffed packet.
    const allowShortSecret = c.boolean('allowShortSecret', false);
    if (entry.secret.length < MIN_SECRET_LENGTH && !allowShortSecret) {
      throw new ConfigError(c.key('secret'), `must be at least ${MIN_SECRET_LENGTH} characters (set allowShortSecret: true on this client to accept a shorter one)`);
    }
    c.done();
    return entry;
  });
  if (clients.length === 0) throw new ConfigError(radius.key('clients'), 'must list at least one RADIUS client');
  const replyCacheMs = radius.integer('replyCacheSeconds', 5, 1, 60) * 1000;
  const maxInFlight = radius.integer('maxInFlight', 4096, 1, 1_000_000);
  radius.done();

  const eap = root.section('eap');
  const eapConfig = {
    // 1020 octets of EAP keeps a fragment inside one 1024-octet TLS-friendly RADIUS payload with room for headers.
    packetSize: eap.integer('packetSize', 1020, 256, 4000),
    maxSessions: eap.integer('maxSessions', 16384, 1, 10_000_000),
    idleTimeoutMs: eap.integer('idleTimeoutSeconds', 60, 5, 3600) * 1000,
    maxRounds: eap.integer('maxRounds', 50, 4, 1000),
    maxInvalidPackets: eap.integer('maxInvalidPackets', 5, 0, 100),
    maxTlsMessage: eap.integer('maxTlsMessage', 65536, 4096, 1 << 20),
    clientShare: fraction(eap, 'clientShare', 0.5),
    stationConversations: eap.integer('stationConversations', 1, 1, 64),
    protectAfterRounds: eap.integer('protectAfterRounds', 10, 0, 1000),
    defaultMethods: eap.stringList('defaultMethods', ['eap-tls']),
    rules: eap.list('rules').map((r) => {
      const rule: MethodRuleEntry = { methods: r.stringList('methods', []) };
      const realm = r.optionalString('realm');
      const identity = r.optionalString('identity');
      if (realm !== undefined) rule.realm = realm;
      if (identity !== undefined) {
        try {
          new RegExp(identity);
        } catch {
          throw new ConfigError(r.key('identity'), 'is not a valid regular expression');
        }
        rule.identity = identity;
      }
      if (rule.methods.length === 0) throw new ConfigError(r.key('methods'), 'must name at least one method');
      r.done();
      return rule;
    }),
    plugins: eap.list('plugins').map((p) => {
      const options = p.raw('options');
      if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
        throw new ConfigError(p.key('options'), 'must be a mapping');
      }
      const entry: PluginEntry = { module: p.string('module'), options: (options ?? {}) as Record<string, unknown> };
      p.done();
      return entry;
    }),
  };
  eap.done();

  const tls = root.section('tls');
  const tlsFiles: TlsFiles = {
    cert: inData(tls.string('cert', 'pki/server.pem')),
    key: inData(tls.string('key', 'pki/server.key')),
    ca: tls.stringList('ca', ['pki/ca.pem']).map(inData),
    crl: tls.stringList('crl', []).map(inData),
    crlPollSeconds: tls.integer('crlPollSeconds', 5, 0, 3600),
    minVersion: tls.oneOf('minVersion', TLS_VERSIONS, 'TLSv1.2'),
    maxVersion: tls.oneOf('maxVersion', TLS_VERSIONS, 'TLSv1.3'),
    ...(tls.has('engine') ? { engine: tls.oneOf('engine', ['openssl', 'node'] as const, 'openssl') } : {}),
  };
  if (tlsFiles.minVersion === 'TLSv1.3' && tlsFiles.maxVersion === 'TLSv1.2') throw new ConfigError(tls.key('minVersion'), 'is above maxVersion');
  tls.done();

  const methodsRaw = root.raw('methods');
  if (methodsRaw !== undefined && methodsRaw !== null && (typeof methodsRaw !== 'object' || Array.isArray(methodsRaw))) {
    throw new ConfigError('methods', 'must be a mapping of method name to settings');
  }
  for (const name of Object.keys((methodsRaw ?? {}) as object)) {
    if (!METHOD_SECTIONS.includes(name)) throw new ConfigError(`methods.${name}`, `is not a known method section (known: ${METHOD_SECTIONS.join(', ')})`);
  }

  const brski = root.raw('brski');

  const authorization = parseAuthorizationConfig(root.section('authorization'));

  const store = parseStore(root.section('store'), inData);

  const log = root.section('log');
  const level = log.oneOf('level', LOG_LEVELS, 'info');
  log.done();

  const portal = root.has('portal') ? parsePortal(root.section('portal')) : (root.raw('portal'), undefined);
  const health = root.has('health') ? parseHealth(root.section('health')) : (root.raw('health'), undefined);
  const passwordLockout = parsePasswordLockout(root.section('passwordLockout'));
  const accounting = parseAccounting(root.section('accounting'), listen);
  const auditSection = root.section('audit');
  const audit: AuditConfig = { retentionDays: auditSection.integer('retentionDays', 0, 0, 36500) };
  auditSection.done();

  root.done();
  return {
    dataDir,
    serverName,
    listen,
    workers,
    warmup,
    radius: { clients, replyCacheMs, maxInFlight },
    eap: eapConfig,
    tls: tlsFiles,
    methods: (methodsRaw ?? {}) as Record<string, unknown>,
    brski,
    authorization,
    store,
    log: { level },
    ...(portal ? { portal } : {}),
    ...(health ? { health } : {}),
    passwordLockout,
    accounting,
    audit,
  };
}

const STORE_KINDS = ['sqlite', 'postgres'] as const;
const POSTGRES_ONLY = ['url', 'passwordFile', 'passwordEnv', 'schema', 'poolSize'] as const;

function parseStore(s: ConfigReader, inData: (p: string) => string): StoreConfig {
  const kind = s.oneOf('kind', STORE_KINDS, 'sqlite');
  if (kind === 'sqlite') {
    for (const k of POSTGRES_ONLY) if (s.has(k)) throw new ConfigError(s.key(k), 'is a PostgreSQL setting: it needs kind: postgres');
    const config: StoreConfig = { kind, path: inData(s.string('sqlite', 'gangway.db')) };
    s.done();
    return config;
  }
  if (s.has('sqlite')) throw new ConfigError(s.key('sqlite'), 'is the SQLite file: it does not go with kind: postgres');
  const url = s.string('url');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(s.key('url'), 'must be a URL like postgres://gangway@db.example.org:5432/gangway');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new ConfigError(s.key('url'), 'must be a postgres:// or postgresql:// URL');
  // The configuration file is read by more people and tools than the secret should be.
  if (u.password !== '' || u.searchParams.has('password')) {
    throw new ConfigError(s.key('url'), 'must not contain the password: put it in a file named by store.passwordFile, or an environment variable named by store.passwordEnv');
  }
  if (u.hostname === '' && !u.searchParams.has('host')) throw new ConfigError(s.key('url'), 'must name the database host');
  if (u.searchParams.has('options')) throw new ConfigError(s.key('url'), 'must not set options: Gangway sets the search_path itself (store.schema)');
  if (s.has('passwordFile') && s.has('passwordEnv')) throw new ConfigError(s.key('passwordEnv'), 'give either passwordFile or passwordEnv, not both');
  let password: StoreSecret | undefined;
  if (s.has('passwordFile')) password = { file: inData(s.string('passwordFile')) };
  else if (s.has('passwordEnv')) {
    const env = s.string('passwordEnv');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) throw new ConfigError(s.key('passwordEnv'), 'must be an environment variable name');
    password = { env };
  } else {
    s.raw('passwordFile');
    s.raw('passwordEnv');
  }
  const schema = s.string('schema', 'public');
  if (!POSTGRES_SCHEMA_NAME.test(schema)) throw new ConfigError(s.key('schema'), 'must be lowercase letters, digits and _, starting with a letter or _ (at most 63)');
  const poolSize = s.integer('poolSize', 10, 1, 1000);
  s.done();
  return { kind, url, ...(password ? { password } : {}), schema, poolSize };
}

function parseHealth(h: ConfigReader): HealthConfig {
  const listen = parseListen(h.string('listen'), h.key('listen'));
  const connections = parseConnectionCaps(h, MONITORING_CONNECTION_CAPS);
  h.done();
  return { listen, connections };
}

/** A share in (0, 1]. */
function fraction(r: ConfigReader, name: string, fallback: number): number {
  const v = r.raw(name);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1) throw new ConfigError(r.key(name), 'must be a number above 0 and at most 1');
  return v;
}

/**
 * By default accounting listens beside each authentication address on the next port (1812 -> 1813,
 * as RADIUS servers conventionally do; port 0 stays 0, a free port).
 */
function parseAccounting(a: ConfigReader, authListen: ListenAddress[]): AccountingConfig {
  const fallback = authListen.map((l) => ({ host: l.host, port: l.port === 0 ? 0 : l.port + 1 }));
  const raw = a.raw('listen');
  const listen = raw === undefined || raw === null
    ? fallback.filter((l) => l.port <= 65535)
    : a.stringList('listen', []).map((s, i) => parseListen(s, `${a.key('listen')}[${i}]`));
  const config: AccountingConfig = { listen, retentionDays: a.integer('retentionDays', 90, 1, 3650) };
  a.done();
  return config;
}

function parsePortal(p: ConfigReader): PortalConfig {
  const listen = parseListen(p.string('listen', '127.0.0.1:8443'), p.key('listen'));
  const tls = p.boolean('tls', true);
  const publicUrl = p.string('publicUrl');
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    throw new ConfigError(p.key('publicUrl'), 'must be a URL like https://portal.example.org');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(p.key('publicUrl'), 'must be an http(s) URL');
  if (u.search !== '' || u.hash !== '') throw new ConfigError(p.key('publicUrl'), 'must not have a query or fragment');
  const config: PortalConfig = {
    listen,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    tls,
    sessionMinutes: p.integer('sessionMinutes', 480, 5, 7 * 24 * 60),
    maxFailedLogins: p.integer('maxFailedLogins', 5, 1, 100),
    lockoutMinutes: p.integer('lockoutMinutes', 15, 1, 24 * 60),
    // Plain HTTP is for a TLS-terminating reverse proxy (or loopback), from which every
    // connection comes: a share per address would then be the whole site's.
    connections: parseConnectionCaps(p, tls ? SERVICE_CONNECTION_CAPS : { total: SERVICE_CONNECTION_CAPS.total, perAddress: 'total' }),
  };
  p.done();
  return config;
}

export function parseListen(s: string, key: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new ConfigError(key, `"${s}" must look like HOST:PORT or [IPv6]:PORT`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new ConfigError(key, `port ${port} is out of range`);
  return { host: m[1]!, port };
}

function isAddressOrPrefix(s: string): boolean {
  const [addr, bits, ...rest] = s.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
