/**
 * A reference MASA in this process on a free loopback port, from a data directory made by the same
 * code as `gangway masa`, plus the two other parties: pledges (IDevIDs issued by this MASA, their
 * voucher-requests) and registrars (demo-PKI certificates with cmcRA, their voucher-requests built
 * as src/teap-brski/brski/registrar.ts builds them).
 */
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  type MasaConfig, type RunningMasa, initMasaDir, issueIdevid, loadMasaConfig, runMasa,
} from '../../src/masa/index.js';
import { generateDemoPki } from '../../src/pki/demo-pki.js';
import {
  SignedVoucherCms, SignedVoucherCose, VoucherRequest, createPledgeVoucherRequest, createRegistrarVoucherRequest, signVoucherCms,
  signVoucherCose,
} from '../../src/teap-brski/brski/voucher/index.js';
import { MemoryLog } from '../helpers/silent-log.js';

export const CMS = 'application/voucher-cms+json';
export const COSE = 'application/voucher+cose';
export const REQUEST_VOUCHER = '/.well-known/brski/requestvoucher';
export const REQUEST_AUDIT_LOG = '/.well-known/brski/requestauditlog';

export interface TestMasa {
  dir: string;
  config: MasaConfig;
  running: RunningMasa;
  log: MemoryLog;
  /** PEM of the MASA's TLS anchor. */
  masaCaPem: string;
  manufacturerCaPem: string;
  /** `127.0.0.1:PORT`, what IDevIDs name. */
  authority: string;
  close(): Promise<void>;
  restart(): Promise<void>;
}

/** A fresh data directory; `configure` edits masa.yaml (as a parsed document) before the start. */
export async function startTestMasa(opts: { configure?: (doc: Record<string, unknown>, dir: string) => void; manufacturer?: string } = {}): Promise<TestMasa> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-masa-'));
  const made = await initMasaDir(dir, { listen: '127.0.0.1:0', ...(opts.manufacturer ? { manufacturer: opts.manufacturer } : {}) });
  if (opts.configure) {
    const doc = parse(readFileSync(made.paths.config, 'utf8')) as Record<string, unknown>;
    opts.configure(doc, dir);
    writeFileSync(made.paths.config, stringify(doc));
  }
  const log = new MemoryLog();
  const t: TestMasa = {
    dir,
    config: loadMasaConfig(dir),
    running: undefined as unknown as RunningMasa,
    log,
    masaCaPem: readFileSync(made.paths.tlsCaCert, 'utf8'),
    manufacturerCaPem: readFileSync(made.paths.manufacturerCaCert, 'utf8'),
    authority: '',
    async close() {
      await t.running.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await t.running.close();
      t.config = loadMasaConfig(dir);
      t.config.listen = { host: '127.0.0.1', port: t.running.port };
      t.running = await runMasa(t.config, log);
    },
  };
  t.running = await runMasa(t.config, log);
  t.authority = `127.0.0.1:${t.running.port}`;
  return t;
}

export interface Pledge {
  serialNumber: string;
  der: Uint8Array;
  pem: string;
  key: KeyObject;
}

/** An IDevID from this MASA's manufacturer CA, through the issue-idevid code path. */
export async function issuePledge(masa: Pick<TestMasa, 'config' | 'authority' | 'dir'>, serialNumber: string): Promise<Pledge> {
  const out = join(masa.dir, 'pledges', serialNumber);
  const r = await issueIdevid(masa.config, { serialNumber, outDir: out, masaUrl: masa.authority || '127.0.0.1:1' });
  const pem = readFileSync(r.files.idevid, 'utf8');
  return { serialNumber, der: new Uint8Array(new X509Certificate(pem).raw), pem, key: createPrivateKey(readFileSync(r.files.key, 'utf8')) };
}

export interface Registrar {
  /** The TLS server certificate, serverAuth + cmcRA (demo PKI), which also signs RVRs. */
  der: Uint8Array;
  certPem: string;
  keyPem: string;
  key: KeyObject;
  ca: Uint8Array;
  /** The demo client certificate: clientAuth only, no cmcRA. */
  client: { der: Uint8Array; key: KeyObject };
}

export async function makeRegistrar(name = 'registrar.test.example'): Promise<Registrar> {
  const pki = await generateDemoPki(name);
  const der = (pem: string): Uint8Array => new Uint8Array(new X509Certificate(pem).raw);
  return {
    der: der(pki.server.certPem),
    certPem: pki.server.certPem,
    keyPem: pki.server.keyPem,
    key: createPrivateKey(pki.server.keyPem),
    ca: der(pki.ca.certPem),
    client: { der: der(pki.client.certPem), key: createPrivateKey(pki.client.keyPem) },
  };
}

/** The pledge's voucher-request naming `registrarCert` as proximity registrar, signed with its IDevID (CMS). */
export async function pledgeRequestCms(pledge: Pledge, registrarCert: Uint8Array, nonce?: Uint8Array): Promise<Uint8Array> {
  const pvr = createPledgeVoucherRequest({ serialNumber: pledge.serialNumber, proximityRegistrarCert: registrarCert, ...(nonce ? { nonce } : {}) });
  return signVoucherCms(pvr, { certificate: pledge.der, privateKey: pledge.key });
}

export interface RvrOptions {
  /** Sign with these instead of the registrar's certificate and key. */
  signer?: { certificate: Uint8Array; key: KeyObject };
  /** Further certificates in the RVR (e.g. the registrar's CA). */
  chain?: Uint8Array[];
  /** Change the content after the registrar built it. */
  edit?: (content: ReturnType<VoucherRequest['toContent']>) => void;
}

/** The registrar's request as registrar.ts makes it: serial and idevid-issuer from the IDevID, PVR verbatim. */
export async function registrarRequestCms(registrar: Registrar, idevid: Uint8Array, pvr: Uint8Array | undefined, o: RvrOptions = {}): Promise<Uint8Array> {
  const built = createRegistrarVoucherRequest({
    idevid,
    ...(pvr ? { priorSigned: { bytes: pvr, request: SignedVoucherCms.decode(pvr).voucherRequest() } } : {}),
  });
  const content = built.toContent();
  o.edit?.(content);
  const rvr = new VoucherRequest(content);
  return signVoucherCms(rvr, {
    certificate: o.signer?.certificate ?? registrar.der,
    privateKey: o.signer?.key ?? registrar.key,
    ...(o.chain ? { chain: o.chain } : {}),
  });
}

/** The constrained pair: a COSE PVR (no certificates) inside a COSE RVR whose x5bag holds the registrar's chain. */
export function registrarRequestCose(registrar: Registrar, pledge: Pledge, nonce?: Uint8Array): { pvr: Uint8Array; rvr: Uint8Array; nonce: Uint8Array } {
  const pvr = createPledgeVoucherRequest({ serialNumber: pledge.serialNumber, proximityRegistrarCert: registrar.der, ...(nonce ? { nonce } : {}) });
  const pvrBytes = signVoucherCose(pvr, { privateKey: pledge.key });
  const rvr = createRegistrarVoucherRequest({ idevid: pledge.der, priorSigned: { bytes: pvrBytes, request: SignedVoucherCose.decode(pvrBytes).voucherRequest() } });
  return { pvr: pvrBytes, rvr: signVoucherCose(rvr, { privateKey: registrar.key, certificates: [registrar.der, registrar.ca] }), nonce: pvr.nonce as Uint8Array };
}

export interface HttpResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
  text: string;
}

/** One HTTPS request with full control of headers, body framing and client certificate. */
export function post(
  masa: Pick<TestMasa, 'running' | 'masaCaPem'>,
  path: string,
  body: Uint8Array | Uint8Array[],
  headers: Record<string, string>,
  o: { method?: string; cert?: string; key?: string; chunked?: boolean } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const chunks = Array.isArray(body) ? body : [body];
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const req = https.request(
      {
        host: '127.0.0.1',
        port: masa.running.port,
        path,
        method: o.method ?? 'POST',
        ca: masa.masaCaPem,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        headers: { ...headers, ...(o.chunked ? {} : { 'content-length': String(total) }) },
        agent: false,
      },
      (res) => {
        const got: Buffer[] = [];
        res.on('data', (c: Buffer) => got.push(c));
        res.on('end', () => {
          const b = Buffer.concat(got);
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: b, text: b.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (const c of chunks) req.write(Buffer.from(c));
    req.end();
  });
}

/** The warn lines the MASA logged for refusals. */
export function refusals(log: MemoryLog): { status: number; reason: string }[] {
  return log.lines
    .filter((l) => l.level === 'warn' && l.msg === 'MASA: request refused')
    .map((l) => l.obj as { status: number; reason: string });
}
