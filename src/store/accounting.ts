import type { Retention } from './retention.js';

/**
 * Network sessions as the NASes report them in accounting (RFC 2866): one row per RADIUS client,
 * NAS and Acct-Session-Id (a client speaks only for its own NASes: another client naming them
 * reaches other rows, never theirs), created by Start (or by the first Interim-Update or Stop when the Start was
 * lost), updated by Interim-Update, closed by Stop or by the NAS's Accounting-On/Off.
 */
export type AccountingEvent = 'start' | 'interim' | 'stop';

export interface AccountingUsage {
  /** Acct-Session-Time, seconds. */
  sessionTime?: number;
  /** Octets including the Gigawords (RFC 2869 §5.1-5.2). */
  inputOctets?: number;
  outputOctets?: number;
  inputPackets?: number;
  outputPackets?: number;
}

export interface AccountingRecord extends AccountingUsage {
  event: AccountingEvent;
  /** When it happened: receipt time minus Acct-Delay-Time. */
  at: Date;
  /** The NAS: NAS-Identifier, else NAS-IP-Address / NAS-IPv6-Address, else the client's source address. */
  nas: string;
  sessionId: string;
  /** The RADIUS client by configured name. */
  clientName: string;
  userName?: string;
  callingStationId?: string;
  calledStationId?: string;
  framedIpAddress?: string;
  multiSessionId?: string;
  terminateCause?: number;
}

export interface AccountingSession extends AccountingUsage {
  nas: string;
  sessionId: string;
  clientName: string;
  status: 'active' | 'stopped';
  userName?: string;
  callingStationId?: string;
  calledStationId?: string;
  framedIpAddress?: string;
  multiSessionId?: string;
  /** Unknown when neither the Start nor a session time arrived. */
  startedAt?: Date;
  updatedAt: Date;
  stoppedAt?: Date;
  terminateCause?: number;
}

/**
 * A session time longer than this dates no start: Acct-Session-Time is any 32-bit count (up to 136
 * years), and a NAS with a broken counter, or one holding its client's secret, would otherwise date
 * a session to the nineteenth century.
 */
export const MAX_INFERRED_SESSION_SECONDS = 10 * 366 * 86_400;

/**
 * When the record's session began: at a Start, its time; for a session first seen in an
 * Interim-Update or Stop (its Start was lost), Acct-Session-Time before it; else unknown.
 */
export function inferredStart(r: Pick<AccountingRecord, 'event' | 'at' | 'sessionTime'>): Date | null {
  if (r.event === 'start') return r.at;
  if (r.sessionTime === undefined || r.sessionTime > MAX_INFERRED_SESSION_SECONDS) return null;
  return new Date(r.at.getTime() - r.sessionTime * 1000);
}

/** What a record changed: `started`/`stopped` are worth an audit line, `updated` is an interim, `ignored` a late or repeated one. */
export type AccountingChange = 'started' | 'updated' | 'stopped' | 'ignored';

/**
 * `purgeBefore` (Retention) deletes the sessions last heard of before the cutoff: ended ones, and
 * open ones whose NAS has said nothing of them since (their Stop was lost with the NAS). Should such
 * a NAS speak of the session again, its record starts the session anew, as one whose Start was lost.
 */
export interface AccountingStore extends Retention {
  /** Resolves once the record is stored: the Accounting-Response waits for it (RFC 2866 §2). */
  apply(record: AccountingRecord): Promise<AccountingChange>;
  /** Accounting-On/Off: the NAS restarted or stops; its open sessions under this client are over. Returns how many were closed. */
  stopAllOf(clientName: string, nas: string, at: Date): Promise<number>;
  get(clientName: string, nas: string, sessionId: string): Promise<AccountingSession | undefined>;
  /** Most recently updated first. */
  list(opts: { status?: 'active' | 'stopped'; limit: number }): Promise<AccountingSession[]>;
}
