/**
 * The messages between the primary thread and a worker thread (node:worker_threads), all plain
 * data. The primary owns the sockets, the reply cache and every limit counted per request; a
 * worker owns the EAP conversations whose State it leads, and hands replies back undecoded into
 * bytes (src/server/workers/pool.ts, worker-main.ts).
 */
import type { GangwayConfig } from '../../config/config.js';
import type { AccessReply } from '../../radius/access-reply.js';
import type { SessionTableStats } from '../../eap-methods/session-table.js';
import type { LockoutVerdict } from '../../eap-methods/password-lockout.js';
import type { FamilySnapshot } from '../../metrics/registry.js';
import type { SheddingReason } from '../../util/shedding.js';

/** The TLS files of one build, as read by the primary (a worker reads no file the primary judged). */
export interface WorkerMaterial {
  cert: Uint8Array;
  key: Uint8Array;
  ca: Uint8Array[];
  /** CRLs in force, DER or PEM as the files hold them. */
  crl: Uint8Array[];
}

/** The lowest level a worker forwards; `silent` forwards nothing. */
export type WorkerLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Levels in order: a line is forwarded when its rank is at least the lowest's. */
export const WORKER_LOG_RANK: Readonly<Record<WorkerLogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** `workerData` of a worker thread. */
export interface WorkerInit {
  index: number;
  count: number;
  config: GangwayConfig;
  material: WorkerMaterial;
  /** Lines below this level are not sent (each costs a message and a clone). */
  logLevel: WorkerLogLevel;
}

/** A ConfigError or any other failure, across the thread boundary. */
export interface WorkerError {
  key?: string;
  why: string;
}

/** One Access-Request for a worker: the datagram's packet and who sent it. */
export interface WorkerRequest {
  id: number;
  bytes: Uint8Array;
  client: { name: string; address: string };
}

export type WorkerReply =
  | { t: 'reply'; id: number; reply: AccessReply | null; admission: SessionTableStats; shed?: SheddingReason[] }
  | { t: 'reply-failed'; id: number; error: string; admission: SessionTableStats };

/**
 * Requests and replies travel in batches, one message per event-loop turn: each message may wake a
 * sleeping thread, which costs far more than the copy (docs/benchmarks.md, worker threads).
 */
export type ToWorker =
  | { t: 'requests'; batch: WorkerRequest[] }
  | { t: 'lockout'; id: number; verdict: LockoutVerdict }
  | { t: 'prepare'; id: number; config: GangwayConfig; material: WorkerMaterial }
  | { t: 'commit'; id: number }
  | { t: 'discard'; id: number }
  | { t: 'scrape'; id: number }
  /** Are you there? (a worker whose event loop is blocked never says so) */
  | { t: 'ping' }
  | { t: 'close'; id: number };

export interface WorkerBuilt {
  engine: 'openssl' | 'node';
  methods: string[];
}

export type FromWorker =
  | ({ t: 'ready' } & WorkerBuilt)
  | { t: 'start-failed'; error: WorkerError }
  | { t: 'replies'; batch: WorkerReply[] }
  | WorkerReply
  | { t: 'lockout-check'; id: number; account: string; nas: string }
  | { t: 'lockout-failure'; account: string; nas: string; attempt: number }
  | { t: 'lockout-success'; account: string; attempt: number }
  | { t: 'lockout-abandon'; account: string; attempt: number }
  | { t: 'prepared'; id: number; error?: WorkerError }
  | ({ t: 'committed'; id: number } & WorkerBuilt)
  | { t: 'discarded'; id: number }
  | { t: 'scraped'; id: number; families: FamilySnapshot[]; admission: SessionTableStats }
  | { t: 'pong'; admission: SessionTableStats }
  | { t: 'closed'; id: number }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; bindings: Record<string, unknown>; fields: object; msg?: string };
