import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { AuditStore } from '../../store/audit.js';
import type { Log } from '../../util/log.js';
import { Registrar, RegistrarError, type Pledge } from './registrar.js';
import { VOUCHER_CMS_MEDIA_TYPE } from './masa-client.js';
import { peerCertificateChainOf } from '../../eap-methods/tls-peer-chain.js';
import { LogLimiter } from '../../util/log-limiter.js';
import { capConnections, SERVICE_CONNECTION_CAPS, type ConnectionCaps, type ConnectionLimit } from '../../util/connection-cap.js';
import { AuditBudget, DEVICE_AUDIT_BUDGET } from './audit-budget.js';

/** Largest request body read (a PVR with its certificates is about 2-3 KiB, a CSR less). */
const MAX_BODY = 64 * 1024;
/** How long a voucher obtained over HTTPS lets the same IDevID enrol (RFC 8995 §5.9 follows §5.6 at once). */
const VOUCHER_GRANT_TTL_MS = 15 * 60_000;
const MAX_GRANTS = 10_000;
/**
 * One log line per refusal kind and client in this window, the rest counted into the next; status
 * reports are audited within DEVICE_AUDIT_BUDGET (audit-budget.ts).
 */
const REPORT_WINDOW_MS = 60_000;
/** A client has this long for its TLS handshake (Node's default: 120 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A client has this long for its request headers, and for its whole request (Node's defaults: 60 s, 300 s). */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CONNECTIONS_CHECK_MS = 2_000;

export interface HttpsRegistrarOptions {
  registrar: Registrar;
  /** Our TLS certificate chain and key (the registrar certificate, serverAuth + cmcRA). */
  cert: string | Buffer;
  key: string | Buffer;
  /** Our domain CA certificates, against which LDevIDs (re-enrolment) are validated. */
  domainCa: Array<string | Buffer>;
  audit: AuditStore;
  log: Log;
  now?: () => number;
  /** Connections open at once, in all and per source address; SERVICE_CONNECTION_CAPS by default. */
  connections?: ConnectionCaps;
  /** Told of each connection a cap refused (a metric). */
  onConnectionRefused?: (limit: ConnectionLimit) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * BRSKI (RFC 8995 §5) and EST (RFC 7030) over HTTPS for wired pledges and for re-enrolment, on the
 * same Registrar as TEAP-BRSKI: one implementation, two transports. The pledge's IDevID (or, for
 * re-enrolment, its LDevID) is the TLS client certificate.
 */
export class HttpsRegistrar {
  private readonly server: https.Server;
  /** IDevIDs (by SHA-256 fingerprint) that obtained a voucher here, until when they may enrol. */
  private readonly grants = new Map<string, { pledge: Pledge; until: number }>();
  private readonly now: () => number;
  private readonly domainAnchors: X509Certificate[];
  private readonly statusReports: AuditBudget;
  private readonly refusalReports: LogLimiter;

  constructor(private readonly opts: HttpsRegistrarOptions) {
    this.now = opts.now ?? Date.now;
    this.refusalReports = new LogLimiter(REPORT_WINDOW_MS, this.now);
    this.statusReports = new AuditBudget({ ...DEVICE_AUDIT_BUDGET, now: this.now });
    this.domainAnchors = opts.domainCa.map((c) => new X509Certificate(c));
    const manufacturerAnchors = opts.registrar.manufacturers.flatMap((m) => m.anchors.map((a) => a.toString()));
    this.server = https.createServer({
      cert: opts.cert,
      key: opts.key,
      ca: [...opts.domainCa.map((c) => c.toString()), ...manufacturerAnchors],
      requestCert: true,
      // The certificate is judged per endpoint: an IDevID for the voucher, an LDevID to re-enrol,
      // none for cacerts. TLS only checks that it chains to one of the anchors above.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      // Node looks for connections past those every 30 s by default, which would let one hold on
      // three times longer than its headers allow.
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.log.error({ err: (err as Error).message, path: req.url }, 'BRSKI/EST: request failed');
        if (!res.headersSent) this.send(res, 500, 'text/plain', 'internal error');
      });
    });
    capConnections(this.server, {
      listener: 'brski-https',
      caps: opts.connections ?? SERVICE_CONNECTION_CAPS,
      log: opts.log,
      now: this.now,
      ...(opts.onConnectionRefused ? { onRefused: opts.onConnectionRefused } : {}),
    });
    this.server.on('tlsClientError', (err) => this.opts.log.debug({ err: err.message }, 'BRSKI/EST: TLS handshake failed'));
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    try {
      const route = `${req.method} ${path}`;
      switch (route) {
        case 'POST /.well-known/brski/requestvoucher':
          return await this.requestVoucher(req, res);
        case 'POST /.well-known/brski/voucher_status':
        case 'POST /.well-known/brski/enrollstatus':
          return await this.status(req, res, path.endsWith('voucher_status') ? 'voucher' : 'enroll');
        case 'GET /.well-known/est/cacerts':
          return this.send(res, 200, 'application/pkcs7-mime', base64Lines(this.opts.registrar.cacerts()), { 'content-transfer-encoding': 'base64' });
        case 'GET /.well-known/est/csrattrs':
          return this.send(res, 200, 'application/csrattrs', base64Lines(this.opts.registrar.csrAttributes((await this.enrollingDevice(req, false)).deviceId)), { 'content-transfer-encoding': 'base64' });
        case 'POST /.well-known/est/simpleenroll':
          return await this.enroll(req, res, false);
        case 'POST /.well-known/est/simplereenroll':
          return await this.enroll(req, res, true);
        default:
          throw new HttpError(404, `no such endpoint: ${req.method} ${path}`);
      }
    } catch (err) {
      if (err instanceof HttpError) return this.refuse(res, err.status, err.message, path);
      if (err instanceof RegistrarError) return this.refuse(res, err.httpStatus, `${err.failure}: ${err.message}`, path, err.retryAfterSeconds);
      throw err;
    }
  }

  /** RFC 8995 §5.2: the pledge's voucher-request, the MASA's voucher back. */
  private async requestVoucher(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pledge = this.pledgeOf(req);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== VOUCHER_CMS_MEDIA_TYPE) throw new HttpError(415, `expected ${VOUCHER_CMS_MEDIA_TYPE}`);
    const body = await readBody(req);
    const ownCert = (req.socket as TLSSocket).getCertificate();
    if (!ownCert || !('raw' in ownCert)) throw new HttpError(500, 'no server certificate in this TLS session');
    const grant = await this.opts.registrar.requestVoucher(pledge, new Uint8Array(body), new Uint8Array(ownCert.raw));
    this.remember(pledge);
    this.opts.log.info({ device: pledge.deviceId }, 'BRSKI over HTTPS: voucher returned');
    this.send(res, 200, VOUCHER_CMS_MEDIA_TYPE, Buffer.from(grant.voucher));
  }

  /**
   * RFC 8995 §5.7/§5.9.4: the pledge's telemetry, logged and audited under the device it comes
   * from, with the certificate it came with (§5.9.4: whether the TLS client certificate matched).
   * Only from a device we can name and have not denied: an IDevID of a configured manufacturer, or
   * an LDevID we issued and have not revoked. Anyone else could write audit entries under any name.
   */
  private async status(req: IncomingMessage, res: ServerResponse, what: 'voucher' | 'enroll'): Promise<void> {
    const reporter = await this.reportingDevice(req);
    const body = await readBody(req, 8192);
    let status: unknown;
    try {
      status = JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      throw new HttpError(400, 'status must be JSON');
    }
    const o = (typeof status === 'object' && status !== null ? status : {}) as Record<string, unknown>;
    if (typeof o.status !== 'boolean') throw new HttpError(400, 'status.status must be true or false');
    const reason = typeof o.reason === 'string' ? o.reason.slice(0, 256) : undefined;
    const report = { status: o.status, ...(reason !== undefined ? { reason } : {}), certificate: reporter.certificate };
    const notRecorded = this.statusReports.admit(`${what} ${reporter.deviceId}`, JSON.stringify(report));
    if (notRecorded !== undefined) {
      const detail = { ...report, ...(notRecorded > 0 ? { earlierReportsNotRecorded: notRecorded } : {}) };
      this.opts.audit.append({ at: new Date(this.now()), event: `brski.${what}-status`, subject: reporter.deviceId, detail });
      this.opts.log.info({ device: reporter.deviceId, ...detail }, `BRSKI over HTTPS: pledge ${what} status`);
    }
    this.send(res, 200, 'text/plain', '');
  }

  /** Who may report status (see status), and with which certificate. */
  private async reportingDevice(req: IncomingMessage): Promise<{ deviceId: string; certificate: { kind: 'idevid' | 'ldevid'; serial: string } }> {
    const { chain, leaf, ldevidOf } = await this.clientCertificate(req);
    if (ldevidOf !== undefined) return { deviceId: ldevidOf, certificate: { kind: 'ldevid', serial: leaf.serialNumber } };
    const pledge = this.opts.registrar.identify(chain);
    // A device an administrator denied could otherwise write audit entries for as long as it likes.
    if (await this.opts.registrar.isDenied(pledge)) throw new HttpError(403, `${pledge.deviceId} is denied`);
    return { deviceId: pledge.deviceId, certificate: { kind: 'idevid', serial: leaf.serialNumber } };
  }

  /** RFC 7030 §4.2: a base64 (or, leniently, DER) PKCS#10 in, a certs-only PKCS#7 out. */
  private async enroll(req: IncomingMessage, res: ServerResponse, reenroll: boolean): Promise<void> {
    const device = await this.enrollingDevice(req, reenroll);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/pkcs10') throw new HttpError(415, 'expected application/pkcs10');
    const body = await readBody(req);
    const csr = body[0] === 0x30 ? body : Buffer.from(body.toString('ascii').replace(/\s+/g, ''), 'base64');
    if (csr.length === 0) throw new HttpError(400, 'empty PKCS#10');
    // An LDevID is judged again after the body, which the client may take its time over.
    const issued = 'ldevid' in device
      ? await this.opts.registrar.reenroll(device.ldevid, new Uint8Array(csr))
      : await this.opts.registrar.enroll(device, new Uint8Array(csr));
    this.opts.log.info({ device: device.deviceId, ldevid: issued.serial, reenroll }, 'EST: LDevID issued');
    this.send(res, 200, 'application/pkcs7-mime; smime-type=certs-only', base64Lines(issued.pkcs7), { 'content-transfer-encoding': 'base64' });
  }

  /**
   * Who may enrol: for simpleenroll an IDevID that obtained a voucher here a moment ago (the
   * registrar acts as RA only for a tunnel the voucher authenticated, teap-brski.md §4.3); for
   * simplereenroll an LDevID we issued.
   */
  private async enrollingDevice(req: IncomingMessage, reenroll: boolean): Promise<{ ldevid: Uint8Array; deviceId: string } | { deviceId: string; authenticatedBy: string; manufacturer?: string; serialNumber?: string }> {
    const { leaf, ldevidOf } = await this.clientCertificate(req);
    if (ldevidOf !== undefined) return { ldevid: new Uint8Array(leaf.raw), deviceId: ldevidOf };
    if (reenroll) throw new HttpError(403, 're-enrolment needs an LDevID');
    this.sweep();
    const g = this.grants.get(leaf.fingerprint256);
    if (!g) throw new HttpError(403, 'no voucher was obtained for this IDevID: request one first');
    return { deviceId: g.pledge.deviceId, authenticatedBy: `idevid:${g.pledge.manufacturer.name}`, manufacturer: g.pledge.manufacturer.name, serialNumber: g.pledge.serialNumber };
  }

  /**
   * The client's certificate, from a trusted issuer (401 otherwise), and when it is an LDevID of
   * our domain the device it stands for: one we issued, unrevoked, to a device not denied (403
   * otherwise). The registrar judges it again after a request body, which a client may take its time over.
   */
  private async clientCertificate(req: IncomingMessage): Promise<{ chain: X509Certificate[]; leaf: X509Certificate; ldevidOf?: string }> {
    const chain = this.peerChain(req);
    const leaf = chain[0];
    if (!leaf || !(req.socket as TLSSocket).authorized) throw new HttpError(401, 'a client certificate from a trusted issuer is required');
    if (!this.domainAnchors.some((a) => issued(leaf, a))) return { chain, leaf };
    const standing = await this.opts.registrar.reenrolmentStanding(new Uint8Array(leaf.raw));
    if ('refusal' in standing) throw new HttpError(403, `certificate serial ${leaf.serialNumber}: ${standing.refusal.message}`);
    return { chain, leaf, ldevidOf: standing.deviceId };
  }

  private pledgeOf(req: IncomingMessage): Pledge {
    const chain = this.peerChain(req);
    if (chain.length === 0 || !(req.socket as TLSSocket).authorized) throw new HttpError(401, 'the pledge must present its IDevID as TLS client certificate');
    return this.opts.registrar.identify(chain);
  }

  private peerChain(req: IncomingMessage): X509Certificate[] {
    return peerCertificateChainOf(req.socket as TLSSocket);
  }

  private remember(pledge: Pledge): void {
    this.sweep();
    if (this.grants.size >= MAX_GRANTS) this.grants.delete(this.grants.keys().next().value!);
    this.grants.set(pledge.idevid.fingerprint256, { pledge, until: this.now() + VOUCHER_GRANT_TTL_MS });
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, g] of this.grants) if (g.until <= t) this.grants.delete(k);
  }

  private refuse(res: ServerResponse, status: number, message: string, path: string, retryAfterSeconds?: number): void {
    // Per client address, so that one client's flood does not hide another's refusal, and per
    // endpoint. Every refusal but 404 comes from an endpoint's own handler; a 404's path is the
    // client's choosing and would make every refusal a key of its own.
    const suppressed = this.refusalReports.admit(`${status} ${status === 404 ? 'unknown endpoint' : path} ${res.socket?.remoteAddress ?? ''}`);
    if (suppressed !== undefined) {
      this.opts.log.info({ status, path: path.slice(0, 256), reason: message.slice(0, 256), ...(suppressed > 0 ? { alikeNotLogged: suppressed } : {}) }, 'BRSKI/EST: request refused');
    }
    this.send(res, status, 'text/plain; charset=utf-8', `${message.slice(0, 512)}\n`, retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {});
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }
}

function issued(cert: X509Certificate, anchor: X509Certificate): boolean {
  try {
    return cert.checkIssued(anchor) && cert.verify(anchor.publicKey);
  } catch {
    return false;
  }
}

function base64Lines(der: Uint8Array): string {
  return `${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n`;
}

/** The body, refusing (413) before buffering past the limit. */
function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, `body larger than ${limit} octets`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new HttpError(413, `body larger than ${limit} octets`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    // The client hung up or took too long (408): its doing, refused and logged as any refusal is
    // (within the per-client budget), not an error of ours a pledge could repeat at will.
    req.on('error', (err) => reject(new HttpError(400, `the request body did not arrive: ${err.message}`)));
  });
}
