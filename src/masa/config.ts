/**
 * `masa.yaml`: the reference MASA's settings, and the fixed layout of its data directory. Errors
 * name the key (ConfigError); unknown keys are errors, so a typo never falls back to a default.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../config/config-error.js';
import { parseListen } from '../config/config.js';
import { parseConnectionCaps } from '../config/connection-caps.js';
import { ConfigReader } from '../config/reader.js';
import { SERVICE_CONNECTION_CAPS, type ConnectionCaps } from '../util/connection-cap.js';
import { SerialPatterns } from './serial-glob.js';

export const MASA_CONFIG_FILE = 'masa.yaml';

/** Where everything lives under the data directory (private keys 0600, directories 0700). */
export function masaPaths(dataDir: string) {
  const dir = resolve(dataDir);
  return {
    dir,
    config: join(dir, MASA_CONFIG_FILE),
    manufacturerCaCert: join(dir, 'ca', 'manufacturer-ca.pem'),
    manufacturerCaKey: join(dir, 'ca', 'manufacturer-ca.key'),
    voucherSignerCert: join(dir, 'masa', 'voucher-signer.pem'),
    voucherSignerKey: join(dir, 'masa', 'voucher-signer.key'),
    tlsCaCert: join(dir, 'tls', 'masa-ca.pem'),
    tlsCaKey: join(dir, 'tls', 'masa-ca.key'),
    tlsCert: join(dir, 'tls', 'masa-tls.pem'),
    tlsKey: join(dir, 'tls', 'masa-tls.key'),
    /** Every IDevID issued (registry of serial-numbers). */
    idevids: join(dir, 'idevids.jsonl'),
    /** First-claim ownership records. */
    claims: join(dir, 'claims.jsonl'),
    /** Every voucher issued (the audit log's source). */
    vouchers: join(dir, 'vouchers.jsonl'),
  } as const;
}

export type MasaPaths = ReturnType<typeof masaPaths>;

export type AssertionPolicy = 'logged' | 'proximity';
export type PinScope = 'ee' | 'ca';
export type OwnershipMode = 'first-claim' | 'configured-only';

/** A registrar domain the operator named, and the serials it may claim. */
export interface MasaDomain {
  name: string;
  /** Lower-case hex SHA-256 of DER SubjectPublicKeyInfos that identify the domain. */
  spkiSha256: readonly string[];
  /** DER CA certificates (from `caCert`): a registrar whose signer chains to one belongs to the domain. */
  caCertificates: readonly Uint8Array[];
  serials: SerialPatterns;
  /** Nonceless vouchers for this domain without TLS client authentication. */
  nonceless: boolean;
}

export interface MasaConfig {
  paths: MasaPaths;
  manufacturer: string;
  listen: { host: string; port: number };
  /** Connections the HTTPS listener holds open, in all and per source address (src/util/connection-cap.ts). */
  connections: ConnectionCaps;
  /** What issue-idevid writes into id-pe-masa-url; undefined until known (listen port 0 at init). */
  masaUrl?: string;
  tls: { certPath: string; keyPath: string };
  voucher: {
    assertion: AssertionPolicy;
    pinScope: PinScope;
    noncelessLifetimeSeconds: number;
    domainCertRevocationChecks: boolean;
  };
  ownership: { mode: OwnershipMode; domains: readonly MasaDomain[] };
  logLevel: string;
}

export const DEFAULT_MASA_LISTEN = '127.0.0.1:9443';
export const DEFAULT_NONCELESS_LIFETIME_SECONDS = 20 * 60;

export function loadMasaConfig(dataDir: string): MasaConfig {
  const paths = masaPaths(dataDir);
  if (!existsSync(paths.config)) throw new ConfigError(MASA_CONFIG_FILE, `${paths.config} does not exist (run gangway masa --data ${dataDir} once)`);
  let doc: unknown;
  try {
    doc = parse(readFileSync(paths.config, 'utf8'));
  } catch (err) {
    throw new ConfigError(MASA_CONFIG_FILE, `not valid YAML: ${(err as Error).message}`);
  }
  return parseMasaConfig(doc, paths);
}

export function parseMasaConfig(doc: unknown, paths: MasaPaths): MasaConfig {
  const root = ConfigReader.root(doc);
  const manufacturer = root.string('manufacturer');
  const listen = parseListen(root.string('listen', DEFAULT_MASA_LISTEN), 'listen');
  const connections = parseConnectionCaps(root, SERVICE_CONNECTION_CAPS);
  const masaUrl = root.optionalString('masaUrl');
  const inDir = (p: string): string => (isAbsolute(p) ? p : join(paths.dir, p));

  const tlsSection = root.section('tls');
  const tls = {
    certPath: inDir(tlsSection.string('cert', 'tls/masa-tls.pem')),
    keyPath: inDir(tlsSection.string('key', 'tls/masa-tls.key')),
  };
  tlsSection.done();

  const v = root.section('voucher');
  const voucher = {
    assertion: v.oneOf<AssertionPolicy>('assertion', ['logged', 'proximity'], 'logged'),
    pinScope: v.oneOf<PinScope>('pinScope', ['ee', 'ca'], 'ee'),
    noncelessLifetimeSeconds: v.integer('noncelessLifetimeSeconds', DEFAULT_NONCELESS_LIFETIME_SECONDS, 60, 366 * 86_400),
    domainCertRevocationChecks: v.boolean('domainCertRevocationChecks', false),
  };
  v.done();

  const o = root.section('ownership');
  const mode = o.oneOf<OwnershipMode>('mode', ['first-claim', 'configured-only'], 'first-claim');
  const names = new Set<string>();
  const domains = o.list('domains').map((d) => {
    const name = d.string('name');
    if (names.has(name)) throw new ConfigError(d.key('name'), `domain "${name}" is named twice`);
    names.add(name);
    const spkiSha256 = d.stringList('spkiSha256', []).map((h, i) => {
      const hex = h.toLowerCase().replace(/:/g, '');
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new ConfigError(`${d.key('spkiSha256')}[${i}]`, 'must be a SHA-256 value in hex (64 digits)');
      return hex;
    });
    const caCertPath = d.optionalString('caCert');
    const caCertificates = caCertPath !== undefined ? readCertificates(inDir(caCertPath), d.key('caCert')) : [];
    if (spkiSha256.length === 0 && caCertificates.length === 0) {
      throw new ConfigError(d.path, 'needs spkiSha256 or caCert to recognise the domain\'s registrars');
    }
    const serials = d.stringList('serials', []);
    if (serials.length === 0) throw new ConfigError(d.key('serials'), 'must list at least one serial-number pattern');
    const nonceless = d.boolean('nonceless', false);
    d.done();
    return { name, spkiSha256, caCertificates, serials: new SerialPatterns(serials), nonceless };
  });
  o.done();

  const logLevel = root.section('log').oneOf('level', ['debug', 'info', 'warn', 'error'], 'info');
  root.done();
  return {
    paths,
    manufacturer,
    listen,
    connections,
    ...(masaUrl !== undefined ? { masaUrl } : {}),
    tls,
    voucher,
    ownership: { mode, domains },
    logLevel,
  };
}

/** Every certificate of a PEM file (or one DER certificate). */
export function readCertificates(path: string, key: string): Uint8Array[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as Error).message}`);
  }
  const text = data.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
  try {
    if (!blocks) return [new Uint8Array(new X509Certificate(data).raw)];
    return blocks.map((b) => new Uint8Array(new X509Certificate(b).raw));
  } catch (err) {
    throw new ConfigError(key, `${path} holds no usable certificate: ${(err as Error).message}`);
  }
}

/** Lower-case hex SHA-256 of a certificate's DER SubjectPublicKeyInfo: how masa.yaml names a key. */
export function spkiSha256Hex(certificateDer: Uint8Array): string {
  const spki = new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}
