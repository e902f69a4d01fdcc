/**
 * The reference every server figure is divided by: the raw cryptographic cost of what one
 * authentication must do, measured in this (load) process in the same run, so that a slow or busy
 * machine moves the reference and the servers alike.
 *
 *   tls12 / tls13  one full node:tls handshake with client-certificate authentication, both ends
 *                  in memory, the same certificates as the servers, no session tickets
 *   x25519         one ephemeral X25519 exchange, both ends (two key pairs, two shared secrets):
 *                  the public-key work of an EAP-NOOB Reconnect with KeyingMode 2
 *
 * Both ends run here, so the figure is client + server; a server that did nothing but the
 * handshake would cost roughly half of it.
 */
import { constants, diffieHellman, generateKeyPairSync } from 'node:crypto';
import * as tls from 'node:tls';
import { duplexPair } from './duplex-pair.js';
import { ownCpuSeconds } from './proc-stats.js';

export type RawReferenceName = 'tls12' | 'tls13' | 'x25519';

export interface RawReference {
  name: RawReferenceName;
  description: string;
  operations: number;
  cpuSeconds: number;
  wallSeconds: number;
  /** Operations per CPU-second of this process. */
  perCpuSecond: number;
  /** CPU milliseconds per operation. */
  cpuMsPerOp: number;
}

export interface RawCredentials {
  caPem: Buffer;
  serverCertPem: Buffer;
  serverKeyPem: Buffer;
  clientCertPem: Buffer;
  clientKeyPem: Buffer;
  serverName: string;
}

export interface RawRunLimits {
  /** Keep going until this much wall time has passed... */
  seconds: number;
  /** ...but do at least this many operations... */
  minOperations: number;
  /** ...and at most this many. */
  maxOperations: number;
}

const DESCRIPTIONS: Record<RawReferenceName, string> = {
  tls12: 'node:tls TLS 1.2 handshake with client certificate, both ends in memory',
  tls13: 'node:tls TLS 1.3 handshake with client certificate, both ends in memory',
  x25519: 'X25519 ephemeral key exchange, both ends',
};

/** A handshake takes milliseconds; one that has not finished after this is stuck, not slow. */
const OPERATION_TIMEOUT_MS = 10_000;

async function bounded(name: RawReferenceName, op: () => Promise<void> | void): Promise<void> {
  const pending = op();
  // A synchronous operation (X25519) has finished already; only handshakes can hang.
  if (pending === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`raw ${name} operation did not finish within ${OPERATION_TIMEOUT_MS} ms`)), OPERATION_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Operations are run one at a time, so that the figure is the cost of one and not of contention. */
async function measure(name: RawReferenceName, limits: RawRunLimits, rawOp: () => Promise<void> | void): Promise<RawReference> {
  const op = (): Promise<void> => bounded(name, rawOp);
  // Warm-up: first calls pay for lazy initialisation (OpenSSL tables, JIT).
  for (let i = 0; i < 20; i++) await op();
  const cpu0 = ownCpuSeconds();
  const t0 = performance.now();
  const until = t0 + limits.seconds * 1000;
  let operations = 0;
  while (operations < limits.maxOperations && (operations < limits.minOperations || performance.now() < until)) {
    await op();
    operations++;
  }
  const cpuSeconds = ownCpuSeconds() - cpu0;
  const wallSeconds = (performance.now() - t0) / 1000;
  return {
    name,
    description: DESCRIPTIONS[name],
    operations,
    cpuSeconds,
    wallSeconds,
    perCpuSecond: cpuSeconds > 0 ? operations / cpuSeconds : 0,
    cpuMsPerOp: (cpuSeconds * 1000) / Math.max(1, operations),
  };
}

function tlsHandshaker(version: 'TLSv1.2' | 'TLSv1.3', creds: RawCredentials): { once: () => Promise<void>; close: () => void } {
  // Parsed once, as a server and a client would; the figure is the handshake, not PEM parsing.
  const server = tls.createServer({
    cert: creds.serverCertPem,
    key: creds.serverKeyPem,
    ca: creds.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: version,
    maxVersion: version,
    // Gangway and hostapd send no tickets either (no resumption yet); a ticket is extra work.
    secureOptions: constants.SSL_OP_NO_TICKET,
  });
  const clientContext = tls.createSecureContext({ cert: creds.clientCertPem, key: creds.clientKeyPem, ca: creds.caPem, minVersion: version, maxVersion: version });
  const once = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const [clientEnd, serverEnd] = duplexPair();
      let serverSocket: tls.TLSSocket | undefined;
      let ends = 0;
      let client: tls.TLSSocket | undefined;
      const cleanup = (): void => {
        server.off('secureConnection', onServer);
        server.off('tlsClientError', onError);
        client?.destroy();
        serverSocket?.destroy();
      };
      const done = (): void => {
        if (++ends < 2) return;
        cleanup();
        resolve();
      };
      const onServer = (s: tls.TLSSocket): void => {
        serverSocket = s;
        done();
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(new Error(`raw ${version} handshake failed: ${err.message}`));
      };
      server.on('secureConnection', onServer);
      server.on('tlsClientError', onError);
      server.emit('connection', serverEnd);
      client = tls.connect({ socket: clientEnd, secureContext: clientContext, servername: creds.serverName });
      client.once('secureConnect', () => {
        if (!client!.authorized) onError(new Error(`server certificate not accepted: ${String(client!.authorizationError)}`));
        else done();
      });
      client.once('error', onError);
    });
  return { once, close: () => server.close() };
}

export async function measureRawTls(version: 'TLSv1.2' | 'TLSv1.3', creds: RawCredentials, limits: RawRunLimits): Promise<RawReference> {
  const h = tlsHandshaker(version, creds);
  try {
    return await measure(version === 'TLSv1.2' ? 'tls12' : 'tls13', limits, h.once);
  } finally {
    h.close();
  }
}

export async function measureRawX25519(limits: RawRunLimits): Promise<RawReference> {
  return measure('x25519', limits, () => {
    const a = generateKeyPairSync('x25519');
    const b = generateKeyPairSync('x25519');
    const s1 = diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    const s2 = diffieHellman({ privateKey: b.privateKey, publicKey: a.publicKey });
    if (!s1.equals(s2)) throw new Error('X25519 shared secrets differ');
  });
}

export async function measureRawReference(name: RawReferenceName, creds: RawCredentials, limits: RawRunLimits): Promise<RawReference> {
  if (name === 'x25519') return measureRawX25519(limits);
  return measureRawTls(name === 'tls12' ? 'TLSv1.2' : 'TLSv1.3', creds, limits);
}
