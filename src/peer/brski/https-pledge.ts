import * as https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { VoucherError, createPledgeVoucherRequest, signVoucherCms, type ValidityTime } from '../../teap-brski/brski/voucher/index.js';
import { VOUCHER_CMS_MEDIA_TYPE } from '../../teap-brski/brski/masa-client.js';
import { tlsChannelBinding } from '../../eap-methods/channel-binding.js';
import { peerCertificateChainOf } from '../../eap-methods/tls-peer-chain.js';
import type { Log } from '../../util/log.js';
import type { PledgeCredentials } from './credentials.js';
import { NO_CSR_ATTRIBUTES, parseCsrAttributes } from './csr-attributes.js';
import { createPledgeCsr, type PledgeCsr } from './csr.js';
import { certificatesOfPkcs7 } from './pkcs7.js';
import { acceptVoucher } from './voucher-check.js';
import type { Enrollment } from './pledge.js';

/** Largest answer read from the registrar. */
const MAX_RESPONSE = 64 * 1024;

export interface HttpsPledgeOptions {
  credentials: PledgeCredentials;
  /** The registrar: https://host:port (RFC 8995 §5: /.well-known/brski and /.well-known/est below it). */
  url: string;
  clock?: () => ValidityTime;
  acceptNonceless?: boolean;
  timeoutMs?: number;
  log?: Log;
}

export type HttpsPledgeResult =
  | { ok: true; enrollment: Enrollment }
  | { ok: false; stage: 'voucher' | 'enrollment' | 'transport'; reason: string; status?: number };

interface Reply {
  status: number;
  type: string;
  body: Buffer;
  socket: TLSSocket;
}

/**
 * BRSKI over HTTPS as a pledge (RFC 8995 §5, RFC 7030): the voucher-request with the IDevID as TLS
 * client certificate, the voucher checked exactly as in TEAP-BRSKI (acceptVoucher), then EST on the
 * same connection to the same, now pinned, registrar. Nothing is sent after a voucher the pledge
 * does not accept, and it reports why in voucher_status.
 */
export class HttpsPledge {
  private readonly agent: https.Agent;
  private readonly base: URL;
  /** The registrar certificate seen on the first connection; every later answer must come from it. */
  private serverFingerprint: string | undefined;

  constructor(private readonly opts: HttpsPledgeOptions) {
    this.base = new URL(opts.url);
    if (this.base.protocol !== 'https:') throw new Error(`registrar URL ${opts.url} is not https`);
    // One TLS connection kept open (RFC 8995 §5.1): the registrar authenticated by the voucher is
    // the one we go on talking to. The IDevID is the client certificate; the server is judged by the
    // voucher's pin, not by a CA (the pledge has none for it yet).
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      cert: new X509Certificate(opts.credentials.idevid).toString(),
      key: opts.credentials.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async enroll(): Promise<HttpsPledgeResult> {
    try {
      return await this.run();
    } catch (err) {
      return { ok: false, stage: 'transport', reason: (err as Error).message };
    } finally {
      this.close();
    }
  }

  private async run(): Promise<HttpsPledgeResult> {
    const creds = this.opts.credentials;
    // A first request establishes the TLS session whose server certificate goes into the PVR.
    const hello = await this.request('GET', '/.well-known/est/cacerts');
    const chain = peerChain(hello.socket);
    if (chain.length === 0) return { ok: false, stage: 'transport', reason: 'the registrar sent no certificate' };
    this.serverFingerprint = new X509Certificate(chain[0]!).fingerprint256;

    const nonce = new Uint8Array(randomBytes(16));
    const pvr = await signVoucherCms(
      createPledgeVoucherRequest({ serialNumber: creds.serialNumber, proximityRegistrarCert: chain[0]!, nonce }),
      { certificate: creds.idevid, privateKey: creds.privateKey, chain: creds.intermediates },
    );
    const v = await this.request('POST', '/.well-known/brski/requestvoucher', { type: VOUCHER_CMS_MEDIA_TYPE, body: pvr });
    if (v.status !== 200) return { ok: false, stage: 'voucher', status: v.status, reason: `registrar answered ${v.status}: ${text(v.body)}` };
    let accepted;
    try {
      accepted = await acceptVoucher(new Uint8Array(v.body), {
        manufacturerAnchors: creds.manufacturerAnchors,
        serialNumber: creds.serialNumber,
        idevid: creds.idevid,
        nonce,
        serverChain: chain,
        ...(this.opts.clock ? { at: this.opts.clock() } : {}),
        ...(this.opts.acceptNonceless ? { acceptNonceless: true } : {}),
      });
    } catch (err) {
      if (!(err instanceof VoucherError)) throw err;
      await this.status('voucher_status', false, `${err.teapError}: ${err.message}`);
      return { ok: false, stage: 'voucher', reason: `${err.teapError}: ${err.message}` };
    }
    await this.status('voucher_status', true);
    this.opts.log?.info({ serialNumber: creds.serialNumber, pin: accepted.pin.kind }, 'BRSKI over HTTPS: voucher accepted');

    const attrs = await this.request('GET', '/.well-known/est/csrattrs');
    const request = attrs.status === 200 && attrs.body.length > 0 ? parseCsrAttributes(base64Body(attrs.body)) : NO_CSR_ATTRIBUTES;
    const binding = tlsChannelBinding(sessionFacts(attrs.socket), 'client');
    const csr: PledgeCsr = await createPledgeCsr({ request, ...(binding ? { channelBinding: binding.data } : {}) });
    const e = await this.request('POST', '/.well-known/est/simpleenroll', { type: 'application/pkcs10', body: Buffer.from(Buffer.from(csr.der).toString('base64')) });
    if (e.status !== 200) {
      await this.status('enrollstatus', false, `HTTP ${e.status}`);
      return { ok: false, stage: 'enrollment', status: e.status, reason: `registrar answered ${e.status}: ${text(e.body)}` };
    }
    const certs = certificatesOfPkcs7(base64Body(e.body));
    const mine = certs.find((d) => Buffer.from(new X509Certificate(d).publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(csr.spki)));
    if (!mine) {
      await this.status('enrollstatus', false, 'no certificate for our key');
      return { ok: false, stage: 'enrollment', reason: 'the PKCS#7 holds no certificate for our key' };
    }
    const cacerts = certificatesOfPkcs7(base64Body(hello.body));
    await this.status('enrollstatus', true);
    return {
      ok: true,
      enrollment: {
        ldevid: mine,
        intermediates: certs.filter((d) => d !== mine && !cacerts.some((c) => Buffer.from(c).equals(Buffer.from(d)))),
        privateKey: csr.privateKey,
        trustAnchors: cacerts.length > 0 ? cacerts : [accepted.pin.kind === 'cert' ? accepted.path[accepted.path.length - 1]! : chain[chain.length - 1]!],
        voucher: { serialNumber: accepted.voucher.serialNumber, ...(accepted.voucher.assertion ? { assertion: accepted.voucher.assertion } : {}), pin: accepted.pin.kind, der: new Uint8Array(v.body) },
      },
    };
  }

  /** RFC 8995 §5.7 / §5.9.4 telemetry; a registrar that does not take it does not stop us. */
  private async status(endpoint: 'voucher_status' | 'enrollstatus', ok: boolean, reason?: string): Promise<void> {
    const body = JSON.stringify({ version: 1, status: ok, ...(reason ? { reason } : {}) });
    const r = await this.request('POST', `/.well-known/brski/${endpoint}`, { type: 'application/json', body: Buffer.from(body) }).catch(() => undefined);
    if (r && r.status !== 200) this.opts.log?.debug({ endpoint, status: r.status }, 'BRSKI over HTTPS: status not taken');
  }

  private request(method: string, path: string, send?: { type: string; body: Uint8Array }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request(new URL(path, this.base), {
        method,
        agent: this.agent,
        headers: send ? { 'content-type': send.type, 'content-length': send.body.length } : {},
        timeout: this.opts.timeoutMs ?? 15_000,
      }, (res) => {
        const socket = res.socket as TLSSocket;
        const fp = peerFingerprint(socket);
        if (this.serverFingerprint !== undefined && fp !== this.serverFingerprint) {
          res.destroy();
          reject(new Error('the registrar\'s certificate changed between requests'));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE) {
            res.destroy();
            reject(new Error(`answer larger than ${MAX_RESPONSE} octets`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks), socket }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${this.base.origin} in time`)));
      req.on('error', reject);
      req.end(send ? Buffer.from(send.body) : undefined);
    });
  }
}

function peerChain(socket: TLSSocket): Uint8Array[] {
  return peerCertificateChainOf(socket).map((c) => new Uint8Array(c.raw));
}

function peerFingerprint(socket: TLSSocket): string | undefined {
  const c = socket.getPeerCertificate(false);
  return c && c.raw ? new X509Certificate(c.raw).fingerprint256 : undefined;
}

function sessionFacts(socket: TLSSocket): Parameters<typeof tlsChannelBinding>[0] {
  return {
    protocol: socket.getProtocol(),
    getFinished: () => {
      const f = socket.getFinished();
      return f ? new Uint8Array(f) : undefined;
    },
    getPeerFinished: () => {
      const f = socket.getPeerFinished();
      return f ? new Uint8Array(f) : undefined;
    },
    // RFC 9266: no context; Node's typing asks for one, and an absent context is what TLS 1.3 hashes as empty.
    exportKeyingMaterial: (length, label) => new Uint8Array((socket.exportKeyingMaterial as (n: number, l: string) => Buffer)(length, label)),
  };
}

/** EST bodies are base64 (RFC 7030 §4, RFC 8951); tolerate DER. */
function base64Body(body: Buffer): Uint8Array {
  return new Uint8Array(body[0] === 0x30 ? body : Buffer.from(body.toString('ascii').replace(/\s+/g, ''), 'base64'));
}

function text(body: Buffer): string {
  return body.toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200);
}
