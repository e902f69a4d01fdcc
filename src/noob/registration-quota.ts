/**
 * Room for a new EAP-NOOB registration. Anyone who can reach a NAS can run Initial Exchanges
 * (RFC 9140 §3.7), so two quotas guard the ephemeral table: unbound registrations per NAS (one NAS
 * cannot fill what the others need) and unfinished registrations in all. A refusal is logged and
 * audited, at most once a minute per NAS and quota, with the count of refusals in between.
 *
 * The store counts and creates in one transaction, creations taking turns across every connection
 * (`NoobPeerStore.createRegistration`): servers on one PostgreSQL, or worker threads on one SQLite
 * file, registering at the same moment cannot together overrun a quota.
 *
 * Counting is a scan of the rows counted (on SQLite here, 0.32 and 0.27 ms for the two counts at
 * 10,000 registrations, 2.7 and 1.8 ms at 100,000), and a flood of Initial Exchanges meets a full
 * quota again and again: a count that found a quota full refuses for COUNT_TTL_MS without another
 * scan. A registration is always stored by counts read for it, so the quotas hold exactly. Room
 * that a completion, a delivery or a purge frees meanwhile goes to the first Initial Exchange after
 * COUNT_TTL_MS. Before refusing on a fresh count, expired registrations are purged and the
 * registration tried again, at most once per COUNT_TTL_MS.
 */
import type { NasFacts } from '../eap-methods/method.js';
import type { AuditStore } from '../store/audit.js';
import type { NoobPeerStore, NoobPeerWrite, NoobQuotaRefusal, NoobRegistrationOutcome } from '../store/noob-peers.js';
import type { Log } from '../util/log.js';
import type { ResolvedNoobConfig } from './config.js';
import { purgeExpiredRegistrations } from './oob.js';

/** The NAS a registration came through: client entry and source address, as the session table counts them. */
export function registrationOrigin(nas: Pick<NasFacts, 'clientName' | 'clientAddress'>): string {
  return JSON.stringify([nas.clientName, nas.clientAddress ?? '']);
}

const REPORT_WINDOW_MS = 60_000;
/** Keys remembered for rate limiting; past it the memory starts over (a few extra lines at worst). */
const MAX_REPORT_KEYS = 1024;
/** How long a count that found a quota full refuses without counting again (see above). */
export const COUNT_TTL_MS = 1000;
/** NAS whose full shares are remembered; past it the memory starts over (a count each, at worst). */
const MAX_FULL_NAS = 1024;

export class RegistrationQuota {
  private readonly reported = new Map<string, { at: number; suppressed: number }>();
  /** The last count that found the table full, and when. */
  private tableFull: { refusal: NoobQuotaRefusal; at: number } | undefined;
  /** The last count that found a NAS's share full, per NAS, and when. */
  private readonly nasFull = new Map<string, { refusal: NoobQuotaRefusal; at: number }>();
  /** When expired registrations were last purged before a refusal. */
  private purgedAt = Number.NEGATIVE_INFINITY;
  /**
   * Creations under way, per NAS. On PostgreSQL one takes round trips, and every Initial Exchange of
   * a flood arriving meanwhile would count too: one finding a quota full refuses them all. Only a
   * creation of its own stores.
   */
  private readonly counting = new Map<string, Promise<NoobQuotaRefusal | undefined>>(); // never rejects

  constructor(
    private readonly store: NoobPeerStore,
    private readonly config: Pick<ResolvedNoobConfig, 'maxEphemeralPeers' | 'maxUnboundPerNas' | 'ephemeralLifetime' | 'noobTimeout' | 'unboundLifetime'>,
    private readonly clock: () => Date,
    private readonly audit?: AuditStore,
  ) {}

  /**
   * Stores `next`, a new registration (no record yet) from `nas`, if the quotas leave room; true
   * when stored. Refused: reported, nothing written. False without a report when another
   * conversation created the record first.
   */
  async register(nas: Pick<NasFacts, 'clientName' | 'clientAddress'>, next: NoobPeerWrite, log: Log): Promise<boolean> {
    const via = registrationOrigin(nas);
    // The NAS is remembered with the registration, for that NAS's quota.
    const record: NoobPeerWrite = { ...next, registeredVia: via };
    const now = this.clock().getTime();
    let refusal = this.remembered(via, now);
    if (!refusal) {
      const underWay = this.counting.get(via);
      if (underWay) refusal = await underWay;
    }
    let outcome: NoobRegistrationOutcome | undefined;
    if (!refusal) {
      outcome = await this.createShared(via, record);
      refusal = refusalOf(outcome);
    }
    const beforePurge = this.clock();
    if (refusal && !within(beforePurge.getTime(), this.purgedAt)) {
      this.purgedAt = beforePurge.getTime();
      await purgeExpiredRegistrations(this.store, this.config, beforePurge);
      outcome = await this.create(via, record);
      refusal = refusalOf(outcome);
      // From when it ended: a purge slowed by a busy database must not let the next refusal purge at once.
      this.purgedAt = this.clock().getTime();
    }
    if (!refusal) return outcome?.created === true;
    this.report(refusal, nas, log);
    return false;
  }

  /** A count younger than COUNT_TTL_MS that found the table or this NAS's share full. */
  private remembered(via: string, now: number): NoobQuotaRefusal | undefined {
    if (this.tableFull && within(now, this.tableFull.at)) return this.tableFull.refusal;
    const mine = this.nasFull.get(via);
    return mine && within(now, mine.at) ? mine.refusal : undefined;
  }

  /** A creation whose counts those arriving from the same NAS while it runs go by, if they found a quota full. */
  private async createShared(via: string, record: NoobPeerWrite): Promise<NoobRegistrationOutcome> {
    const outcome = this.create(via, record);
    // A store error is the caller's to report; those waiting go on to a creation of their own.
    const counted = outcome.then(refusalOf, () => undefined);
    this.counting.set(via, counted);
    try {
      return await outcome;
    } finally {
      if (this.counting.get(via) === counted) this.counting.delete(via);
    }
  }

  /** Creates within the quotas; a quota found full is remembered, one found with room forgotten. */
  private async create(via: string, record: NoobPeerWrite): Promise<NoobRegistrationOutcome> {
    const outcome = await this.store.createRegistration(record, { maxEphemeral: this.config.maxEphemeralPeers, maxUnboundVia: this.config.maxUnboundPerNas });
    // Remembered from when the count answered: a creation that waited its turn for a second or more
    // would otherwise be forgotten as it is remembered, and the flood it answers would count again.
    const now = this.clock().getTime();
    const refusal = refusalOf(outcome);
    if (refusal?.quota === 'table') {
      this.tableFull = { refusal, at: now };
      return outcome;
    }
    this.tableFull = undefined;
    if (refusal) {
      if (!this.nasFull.has(via) && this.nasFull.size >= MAX_FULL_NAS) this.nasFull.clear();
      this.nasFull.set(via, { refusal, at: now });
    } else {
      this.nasFull.delete(via);
    }
    return outcome;
  }

  private report(r: NoobQuotaRefusal, nas: Pick<NasFacts, 'clientName' | 'clientAddress'>, log: Log): void {
    const now = this.clock().getTime();
    const key = `${r.quota}|${registrationOrigin(nas)}`;
    const last = this.reported.get(key);
    if (last && now - last.at < REPORT_WINDOW_MS) {
      last.suppressed++;
      return;
    }
    if (this.reported.size >= MAX_REPORT_KEYS) this.reported.clear();
    this.reported.set(key, { at: now, suppressed: 0 });
    const detail = {
      quota: r.quota,
      client: nas.clientName,
      ...(nas.clientAddress !== undefined ? { address: nas.clientAddress } : {}),
      count: r.count,
      limit: r.limit,
      ...(last ? { suppressed: last.suppressed } : {}),
    };
    log.warn(
      detail,
      r.quota === 'nas'
        ? 'eap-noob: this NAS holds its share of unbound registrations; Initial Exchange not stored'
        : 'eap-noob: too many unfinished registrations; Initial Exchange not stored',
    );
    try {
      this.audit?.append({ at: new Date(now), event: 'noob.registration.refused', subject: nas.clientName, detail });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'eap-noob: audit entry for a refused registration could not be written');
    }
  }
}

function refusalOf(outcome: NoobRegistrationOutcome): NoobQuotaRefusal | undefined {
  return 'refusal' in outcome ? outcome.refusal : undefined;
}

/** `now` is less than COUNT_TTL_MS after `at` (a clock that went back counts as expired). */
function within(now: number, at: number): boolean {
  return now >= at && now - at < COUNT_TTL_MS;
}
