/**
 * The MASA over HTTPS (node:https, TLS 1.2+): RFC 8995 §5.5 `/.well-known/brski/requestvoucher`
 * and §5.8 `/.well-known/brski/requestauditlog`, both POST with the raw DER (or COSE) body.
 *
 * Bodies are bounded before buffering: a Content-Length over the limit is refused at once, and a
 * streamed body is counted chunk by chunk. A TLS client certificate is requested but not required
 * (rejectUnauthorized false): the MASA itself decides what a presented certificate proves
 * (nonceless vouchers, masa.ts). Every refusal is logged by the MASA or here.
 */
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { MAX_ARTIFACT_BYTES } from '../teap-brski/brski/voucher/index.js';
import { capConnections, SERVICE_CONNECTION_CAPS, type ConnectionCaps } from '../util/connection-cap.js';
import type { Log } from '../util/log.js';
import { type Masa, type MasaReply, type MasaRequest, textReply } from './masa.js';

export const REQUEST_VOUCHER_PATH = '/.well-known/brski/requestvoucher';
export const REQUEST_AUDIT_LOG_PATH = '/.well-known/brski/requestauditlog';

/** Largest request body: the voucher library's artefact limit (64 KiB). */
export const MAX_REQUEST_BYTES = MAX_ARTIFACT_BYTES;

export interface MasaServerOptions {
  host: string;
  port: number;
  /** PEM server certificate (chain) and key. */
  cert: string | Buffer;
  key: string | Buffer;
  masa: Masa;
  log: Log;
  /** Connections open at once, in all and per source address; SERVICE_CONNECTION_CAPS by default. */
  connections?: ConnectionCaps;
}

export interface RunningMasaServer {
  readonly host: string;
  readonly port: number;
  /** https://host:port, for a registrar's MASA client. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMasaServer(opts: MasaServerOptions): Promise<RunningMasaServer> {
  const { masa, log } = opts;
  const server = https.createServer(
    {
      cert: opts.cert,
      key: opts.key,
      minVersion: 'TLSv1.2',
      requestCert: true,
      rejectUnauthorized: false,
      // Slow clients must not hold sockets open: the TLS handshake and the headers within 10 s each,
      // the whole request within 30 s, looked for every 2 s (Node's default of 30 s and 120 s for a
      // handshake would let a client hold a socket several times longer).
      handshakeTimeout: 10_000,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      connectionsCheckingInterval: 2_000,
    },
    (req, res) => {
      handle(req, res, masa, log).catch((err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err), path: req.url }, 'MASA: request handler failed');
        if (!res.headersSent) send(res, textReply(500, 'internal error'), true);
        else res.destroy();
      });
    },
  );
  capConnections(server, { listener: 'masa', caps: opts.connections ?? SERVICE_CONNECTION_CAPS, log });
  server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
    // A client that hung up before its handshake, or one the connection cap closed: anyone can
    // make these as fast as they like, and the cap reports its own within a budget.
    if (err.code === 'ECONNRESET') log.debug({ err: err.message, remote: socket.remoteAddress }, 'MASA: connection closed before the TLS handshake');
    else log.info({ err: err.message, remote: socket.remoteAddress }, 'MASA: TLS handshake failed');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'MASA: server error'));
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info({ host: address.address, port: address.port }, 'MASA listening');
  return {
    host: address.address,
    port: address.port,
    url: `https://${hostInUrl}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Endpoint = 'requestvoucher' | 'requestauditlog';

async function handle(req: IncomingMessage, res: ServerResponse, masa: Masa, log: Log): Promise<void> {
  const remote = req.socket.remoteAddress;
  const path = (req.url ?? '').split('?')[0];
  const endpoint: Endpoint | undefined =
    path === REQUEST_VOUCHER_PATH ? 'requestvoucher' : path === REQUEST_AUDIT_LOG_PATH ? 'requestauditlog' : undefined;
  const refuse = (reply: MasaReply, reason: string): void => {
    log.warn({ remote, path, method: req.method, status: reply.status, reason }, 'MASA: request refused');
    // The rest of the body is discarded unread (bounded by requestTimeout) so that the client,
    // still sending, reads our answer instead of a reset; then the connection closes.
    req.resume();
    send(res, reply, true);
  };
  if (!endpoint) return refuse(textReply(404, `no such resource: ${path}`), 'unknown path');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return refuse(textReply(405, `${endpoint} takes POST`), `method ${req.method}`);
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_REQUEST_BYTES) {
    return refuse(textReply(413, `request body of ${declared} octets is over the ${MAX_REQUEST_BYTES}-octet limit`), 'declared body too large');
  }
  const body = await readBounded(req, MAX_REQUEST_BYTES);
  if (body === 'too-large') return refuse(textReply(413, `request body is over the ${MAX_REQUEST_BYTES}-octet limit`), 'body too large');
  if (body === 'aborted') {
    log.info({ remote, path }, 'MASA: client went away before sending its request');
    return;
  }
  const request: MasaRequest = {
    body,
    contentType: req.headers['content-type'],
    accept: req.headers.accept,
    clientCertificates: clientChain(req.socket as TLSSocket),
    ...(remote !== undefined ? { remote } : {}),
  };
  const reply = endpoint === 'requestvoucher' ? await masa.requestVoucher(request) : await masa.requestAuditLog(request);
  send(res, reply, false);
}

/** The body, or 'too-large' as soon as it passes `limit` (nothing more is buffered), or 'aborted'. */
function readBounded(req: IncomingMessage, limit: number): Promise<Uint8Array | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: Uint8Array | 'too-large' | 'aborted'): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish(new Uint8Array(Buffer.concat(chunks))));
    req.on('aborted', () => finish('aborted'));
    req.on('error', () => finish('aborted'));
    req.on('close', () => finish(req.complete ? new Uint8Array(Buffer.concat(chunks)) : 'aborted'));
  });
}

/**
 * The client's certificates, leaf first, as DER. getPeerCertificate(true) rather than
 * getPeerX509Certificate(), which leaks native memory on Node 20 (see eap-methods/tls-tunnel.ts).
 */
function clientChain(socket: TLSSocket): Uint8Array[] {
  const out: Uint8Array[] = [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c && c.raw && c.raw.length > 0 && !seen.has(c.fingerprint256) && out.length < 10) {
    seen.add(c.fingerprint256);
    out.push(new Uint8Array(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

function send(res: ServerResponse, reply: MasaReply, close: boolean): void {
  const headers: Record<string, string | number> = { 'content-type': reply.contentType, 'content-length': reply.body.length };
  if (close) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(Buffer.from(reply.body));
}
