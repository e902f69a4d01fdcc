/** What a benchmarked method provides: how to run one authentication against a target. */
import type { BenchFixture } from './fixture.js';
import type { AuthOutcome } from './load.js';
import type { RawReferenceName } from './raw-reference.js';
import type { ServerTarget } from './target.js';
import { RadiusClient } from '../radius/client.js';

export const BENCH_METHODS = ['eap-tls', 'eap-tls13', 'teap-mschapv2', 'noob-reconnect'] as const;
export type BenchMethodName = (typeof BENCH_METHODS)[number];

export interface MethodContext {
  target: ServerTarget;
  fixture: BenchFixture;
  /** Conversations in flight; `run` is called with worker = 0..concurrency-1. */
  concurrency: number;
}

export interface MethodDriver {
  /** One complete authentication; never throws for a protocol failure, it reports it. */
  run(index: number, worker: number): Promise<AuthOutcome>;
  close(): Promise<void>;
}

export interface BenchMethod {
  name: BenchMethodName;
  /** One line for the report. */
  title: string;
  /** The raw operation this method's server CPU is divided by. */
  reference: RawReferenceName;
  /** Whether hostapd 2.10 can serve it (EAP-NOOB: no). */
  onHostapd: boolean;
  prepare(ctx: MethodContext): Promise<MethodDriver>;
}

/** Framed-MTU our NAS announces, as eapol_test does. */
export const FRAMED_MTU = 1400;

/**
 * The load generator's RADIUS client: one socket for all conversations in flight (up to 256,
 * the Identifier space), as a NAS has. Retransmissions are few and bounded: on loopback a missing
 * reply means an overloaded server, and the attempt should end as a failure, not hang.
 */
export function loadClient(target: ServerTarget): RadiusClient {
  return new RadiusClient({ host: target.host, port: target.port, secret: target.secret, initialTimeoutMs: 5000, maxRetransmissions: 2, maxDurationMs: 20_000 });
}

/** A distinct Calling-Station-Id per in-flight slot, as distinct stations behind one NAS would have. */
export function stationId(worker: number): string {
  const hex = worker.toString(16).padStart(6, '0');
  return `02-00-00-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}`.toUpperCase();
}
