/**
 * First run of the reference MASA: a data directory with the manufacturer's keys and certificates
 * and a `masa.yaml`. Never overwrites: a directory that has a masa.yaml is left alone.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { parseListen } from '../config/config.js';
import { DEFAULT_MASA_LISTEN, masaPaths, type MasaPaths } from './config.js';
import { createManufacturerPki } from './pki.js';
import { writeFileAtomically } from '../util/atomic-file.js';

export interface MasaInitOptions {
  /** Organisation name in every certificate. Default "Gangway Demo". */
  manufacturer?: string;
  /** HOST:PORT to serve on. Default 127.0.0.1:9443. */
  listen?: string;
  /**
   * DNS name (or address) of the MASA: the TLS certificate's first name and the host of the MASA
   * URL written into IDevIDs. Default: the listen address.
   */
  name?: string;
}

export interface MasaInitResult {
  paths: MasaPaths;
  /** undefined when the listen port was 0 (the URL is only known once the server runs). */
  masaUrl?: string;
}

export const DEFAULT_MANUFACTURER = 'Gangway Demo';

export async function initMasaDir(dataDir: string, opts: MasaInitOptions = {}): Promise<MasaInitResult> {
  const paths = masaPaths(dataDir);
  if (existsSync(paths.config)) throw new Error(`${paths.config} already exists; refusing to overwrite it`);
  const manufacturer = opts.manufacturer ?? DEFAULT_MANUFACTURER;
  if (!/^[\x20-\x7e]{1,64}$/.test(manufacturer)) throw new ConfigError('manufacturer', 'must be 1-64 printable ASCII characters');
  const listenText = opts.listen ?? DEFAULT_MASA_LISTEN;
  const listen = parseListen(listenText, '--listen');
  const name = opts.name ?? listen.host;
  const masaUrl = listen.port === 0 ? undefined : `${name.includes(':') ? `[${name}]` : name}:${listen.port}`;

  // The certificate always has a DNS name: localhost when the MASA is named by an address.
  const tlsNames = isIP(name) ? ['localhost', ...(name === '0.0.0.0' || name === '::' ? [] : [name])] : [name];
  const pki = await createManufacturerPki(manufacturer, tlsNames);
  for (const dir of [paths.dir, dirname(paths.manufacturerCaCert), dirname(paths.voucherSignerCert), dirname(paths.tlsCert)]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  writePrivate(paths.manufacturerCaKey, pki.manufacturerCa.keyPem);
  writePublic(paths.manufacturerCaCert, pki.manufacturerCa.certPem);
  writePrivate(paths.voucherSignerKey, pki.voucherSigner.keyPem);
  writePublic(paths.voucherSignerCert, pki.voucherSigner.certPem);
  writePrivate(paths.tlsCaKey, pki.tlsCa.keyPem);
  writePublic(paths.tlsCaCert, pki.tlsCa.certPem);
  writePrivate(paths.tlsKey, pki.tls.keyPem);
  writePublic(paths.tlsCert, pki.tls.certPem);
  writePrivate(paths.config, configText(manufacturer, listenText, masaUrl));
  return { paths, ...(masaUrl !== undefined ? { masaUrl } : {}) };
}

function configText(manufacturer: string, listen: string, masaUrl: string | undefined): string {
  const q = (s: string): string => JSON.stringify(s);
  return `# Gangway reference MASA (RFC 8995 §5.5). Reference: docs/teap-brski.md, section "MASA".
manufacturer: ${q(manufacturer)}
listen: ${q(listen)}
# Written into each IDevID as id-pe-masa-url (authority only: the registrar adds /.well-known/brski).
${masaUrl !== undefined ? `masaUrl: ${q(masaUrl)}` : '# masaUrl: "masa.example.com:9443"   (listen port was 0 at init: pass --masa-url to issue-idevid)'}
tls:
  cert: tls/masa-tls.pem
  key: tls/masa-tls.key
voucher:
  # logged: every voucher says "logged"; proximity: "proximity" when the pledge's request asserted
  # it and its proximity-registrar-cert was verified against the registrar's chain.
  assertion: logged
  # ee: pin the registrar's signing certificate; ca: pin the CA that issued it (when included).
  pinScope: ee
  noncelessLifetimeSeconds: ${20 * 60}
  domainCertRevocationChecks: false
ownership:
  # first-claim: the first registrar domain to claim a serial owns it; configured-only: only the
  # domains below, for the serials they list.
  mode: first-claim
  domains: []
  # - name: example-net
  #   spkiSha256: ["<hex SHA-256 of the SubjectPublicKeyInfo of the registrar or its CA>"]
  #   caCert: domains/example-net-ca.pem
  #   serials: ["EX-*"]
  #   nonceless: false
log:
  level: info
`;
}

/** Whole and on the disk before the next file; masa.yaml comes last (util/atomic-file.ts). */
function writePrivate(path: string, text: string): void {
  writeFileAtomically(path, text, { mode: 0o600 });
}

function writePublic(path: string, text: string): void {
  writeFileAtomically(path, text, { mode: 0o644 });
}
