/** What a benchmarked method provides: how to run one authentication against a target. */
import type * as tls from 'node:tls';
import type { AuthOutcome } from './load.js';
import type { RawReferenceName } from './raw-reference.js';
import type { ServerKind, ServerTarget } from './target.js';
import { RadiusClient, type RadiusClientOptions } from '../radius/client.js';
import { TimedRadiusClient, type RoundTripRecorder } from './round-trips.js';

export const BENCH_METHODS = ['eap-tls', 'eap-tls13', 'teap-mschapv2', 'peap-mschapv2', 'noob-completion', 'noob-reconnect'] as const;
export type BenchMethodName = (typeof BENCH_METHODS)[number];

/**
 * Which servers have each method: EAP-NOOB is Gangway's alone (and needs its database), Gangway has
 * no PEAP, FreeRADIUS 3.2 no TEAP. "external" is any server given with `--server`.
 */
export const METHOD_SERVERS: Readonly<Record<BenchMethodName, readonly ServerKind[]>> = {
  'eap-tls': ['gangway', 'hostapd', 'freeradius', 'external'],
  'eap-tls13': ['gangway', 'hostapd', 'freeradius', 'external'],
  'teap-mschapv2': ['gangway', 'hostapd', 'external'],
  'peap-mschapv2': ['hostapd', 'freeradius', 'external'],
  'noob-completion': ['gangway'],
  'noob-reconnect': ['gangway'],
};


/** What the peers present and check: the bench's demo PKI and account, or an operator's (`--server`). */
export interface PeerCredentials {
  /** CA that issued the server's certificate. */
  caPem: Buffer;
  /** The name the server's certificate must carry; unset: the certificate chain alone is checked. */
  serverName?: string;
  /** EAP-TLS: client certificate and key, and the EAP identity to send. */
  tls?: { certPem: Buffer; keyPem: Buffer; identity: string };
  /** Password methods inside a tunnel (TEAP, PEAP). */
  user?: { name: string; password: string };
  /** Outer (anonymous) identities; their realms route to the method on the servers the bench configures. */
  teapOuterIdentity: string;
  peapOuterIdentity: string;
}

export interface MethodContext {
  target: ServerTarget;
  credentials: PeerCredentials;
  /** Gangway's SQLite database: EAP-NOOB's OOB step is delivered there, as `gangway noob-oob` does. */
  database?: string;
  /** Conversations in flight; `run` is called with worker = 0..concurrency-1. */
  concurrency: number;
  /** Times every RADIUS round trip of the driver's client (pass it to `loadClient`). */
  roundTrips?: RoundTripRecorder;
}

export interface MethodDriver {
  /** One complete authentication; never throws for a protocol failure, it reports it. */
  run(index: number, worker: number): Promise<AuthOutcome>;
  /**
   * Unmeasured preparation for the next `n` runs (NOOB Completion needs registrations waiting for
   * their OOB step). Called before the server's CPU time is read.
   */
  stage?(n: number): Promise<void>;
  close(): Promise<void>;
}

export interface BenchMethod {
  name: BenchMethodName;
  /** One line for the report. */
  title: string;
  /** The raw operation this method's server CPU is divided by. */
  reference: RawReferenceName;
  /** The servers that have the method (EAP-NOOB: Gangway only; PEAP: not Gangway; TEAP: not FreeRADIUS 3.2). */
  servers: readonly ServerKind[];
  prepare(ctx: MethodContext): Promise<MethodDriver>;
}

/** Framed-MTU our NAS announces, as eapol_test does. */
export const FRAMED_MTU = 1400;

/**
 * The load generator's RADIUS client: one socket for all conversations in flight (up to 256,
 * the Identifier space), as a NAS has. Retransmissions are few and bounded: on loopback a missing
 * reply means an overloaded server, and the attempt should end as a failure, not hang.
 */
export function loadClient(target: ServerTarget, roundTrips?: RoundTripRecorder): RadiusClient {
  const options: RadiusClientOptions = { host: target.host, port: target.port, secret: target.secret, initialTimeoutMs: 5000, maxRetransmissions: 2, maxDurationMs: 20_000 };
  return roundTrips ? new TimedRadiusClient(options, roundTrips) : new RadiusClient(options);
}

/** A distinct Calling-Station-Id per in-flight slot, as distinct stations behind one NAS would have. */
export function stationId(worker: number): string {
  const hex = worker.toString(16).padStart(6, '0');
  return `02-00-00-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}`.toUpperCase();
}

/**
 * node:tls options for a peer: the CA, and the server's name when there is one to check (an
 * operator's server measured with `--server` may be known only by its CA).
 */
export function serverCheck(c: PeerCredentials): Pick<tls.ConnectionOptions, 'servername' | 'checkServerIdentity'> {
  return c.serverName !== undefined ? { servername: c.serverName } : { checkServerIdentity: () => undefined };
}
