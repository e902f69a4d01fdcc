import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/config-error.js';
import { RegistrarCa } from '../../pki/ca/registrar-ca.js';
import type { Stores } from '../../store/stores.js';
import type { RevocationCheck } from '../../eap-methods/tls-tunnel.js';
import type { ConnectionLimit } from '../../util/connection-cap.js';
import type { Log } from '../../util/log.js';
import type { ManufacturerAnchors } from '../teap/policy-rules.js';
import type { TlvMethod } from '../teap/tlv-method.js';
import type { BrskiConfig } from './config.js';
import { HttpsRegistrar } from './https-registrar.js';
import { MasaClient } from './masa-client.js';
import { Registrar, type RegistrarManufacturer } from './registrar.js';
import { createBrskiTlvMethods } from './registrar-tlv-method.js';
import { BrskiTlvCodec } from './tlvs.js';
import { FileOfflineVoucherStore } from './offline-vouchers.js';

export interface BrskiServices {
  registrar: Registrar;
  ca: RegistrarCa;
  /** For the TEAP method: the registrar's Phase-2 methods and the manufacturers' IDevID anchors. */
  tlvMethods: TlvMethod[];
  manufacturers: ManufacturerAnchors[];
  /** PEM of our domain CA, to add to the anchors LDevIDs are checked against. */
  caPem: string;
  /** Whether an LDevID (or any certificate of our CA) is revoked; for EAP-TLS. */
  isRevoked: RevocationCheck;
  https?: HttpsRegistrar;
  close(): Promise<void>;
}

export interface BrskiSetupDeps {
  stores: Pick<Stores, 'issuedCertificates' | 'brskiDevices' | 'audit'>;
  /** The server's TLS certificate chain and key (PEM): it is also the registrar certificate. */
  tlsCert: Buffer;
  tlsKey: Buffer;
  log: Log;
  /** Start the BRSKI/EST HTTPS listener if configured (not for one-shot CLI commands). Default true. */
  listen?: boolean;
  /** Told of each connection to the HTTPS listener that its caps refused (a metric). */
  onConnectionRefused?: (limit: ConnectionLimit) => void;
}

function readPems(files: readonly string[], key: string): { pem: string[]; certs: X509Certificate[] } {
  const pem: string[] = [];
  const certs: X509Certificate[] = [];
  for (const [i, f] of files.entries()) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      throw new ConfigError(`${key}[${i}]`, `cannot read ${f}: ${(err as Error).message}`);
    }
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new ConfigError(`${key}[${i}]`, `${f} holds no PEM certificate`);
    for (const b of blocks) {
      pem.push(`${b}\n`);
      certs.push(new X509Certificate(b));
    }
  }
  return { pem, certs };
}

/** Builds the registrar of the `brski` section: CA, MASA client, TEAP methods, HTTPS endpoints. */
export async function setupBrski(cfg: BrskiConfig, deps: BrskiSetupDeps): Promise<BrskiServices> {
  const log = deps.log.child({ module: 'brski' });
  const issued = deps.stores.issuedCertificates;
  const audit = deps.stores.audit;
  const ca = await RegistrarCa.open({
    directory: cfg.caDirectory,
    store: issued,
    audit,
    log,
    ...(cfg.ldevidValidityDays !== undefined ? { policy: { validityDays: cfg.ldevidValidityDays } } : {}),
  });

  const manufacturers: RegistrarManufacturer[] = cfg.manufacturers.map((m, i) => ({
    name: m.name,
    anchors: readPems(m.ca, `brski.manufacturers[${i}].ca`).certs,
    approval: m.approval,
    whenMasaUnavailable: m.whenMasaUnavailable,
    ...(m.masaUrl !== undefined ? { masaUrl: m.masaUrl } : {}),
    ...(m.voucherCa !== undefined ? { voucherAnchors: readPems(m.voucherCa, `brski.manufacturers[${i}].voucherCa`).certs.map((c) => new Uint8Array(c.raw)) } : {}),
  }));
  const masaCa = cfg.manufacturers.flatMap((m, i) => (m.masaCa ? readPems(m.masaCa, `brski.manufacturers[${i}].masaCa`).pem : []));
  const masa = new MasaClient({
    timeoutMs: cfg.masa.timeoutMs,
    retries: cfg.masa.retries,
    ...(masaCa.length > 0 ? { ca: masaCa } : {}),
    // RFC 8995 §5.5: the registrar SHOULD authenticate to the MASA with its TLS client certificate.
    ...(cfg.masa.clientCertificate ? { cert: deps.tlsCert, key: deps.tlsKey } : {}),
    log,
  });
  const serverCert = new X509Certificate(deps.tlsCert);
  const registrar = new Registrar({
    signer: { certificate: new Uint8Array(serverCert.raw), privateKey: createPrivateKey(deps.tlsKey) },
    masa,
    manufacturers,
    devices: deps.stores.brskiDevices,
    ca,
    audit,
    log,
    offlineVouchers: new FileOfflineVoucherStore(cfg.offlineVoucherDirectory),
    enrolmentLimit: { certificates: cfg.enrolmentLimit.certificates, intervalMs: cfg.enrolmentLimit.perSeconds * 1000, store: issued },
  });
  const tlvMethods = createBrskiTlvMethods({ registrar, tlvs: new BrskiTlvCodec(cfg.tlvTypes), errors: cfg.errorCodes });

  let https: HttpsRegistrar | undefined;
  if (cfg.https && deps.listen !== false) {
    https = new HttpsRegistrar({
      registrar, cert: deps.tlsCert, key: deps.tlsKey, domainCa: [ca.certificatePem], audit, log,
      connections: cfg.httpsConnections,
      ...(deps.onConnectionRefused ? { onConnectionRefused: deps.onConnectionRefused } : {}),
    });
    try {
      const a = await https.listen(cfg.https.host, cfg.https.port);
      log.info({ address: a }, 'BRSKI/EST over HTTPS listening');
    } catch (err) {
      throw new ConfigError('brski.https', `cannot listen on ${cfg.https.host}:${cfg.https.port}: ${(err as Error).message}`);
    }
  }
  return {
    registrar,
    ca,
    tlvMethods,
    manufacturers: manufacturers.map((m) => ({ name: m.name, anchors: m.anchors })),
    caPem: ca.certificatePem,
    isRevoked: (cert) => ca.isRevoked(cert),
    ...(https ? { https } : {}),
    close: async () => {
      await https?.close();
    },
  };
}
