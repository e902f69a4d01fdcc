/**
 * Room for a new EAP-NOOB registration. Anyone who can reach a NAS can run Initial Exchanges
 * (RFC 9140 §3.7), so two quotas guard the ephemeral table: unbound registrations per NAS (one NAS
 * cannot fill what the others need) and unfinished registrations in all. A refusal is logged and
 * audited, at most once a minute per NAS and quota, with the count of refusals in between.
 *
 * Counting is a scan of the rows counted (0.3 ms for 10,000 registrations here, 2.7 ms for
 * 100,000), so a count read from the store stands for COUNT_TTL_MS, with this process's own
 * admissions added to it: a flood of Initial Exchanges at a full table is refused at the cost of
 * a map lookup, not of two scans each. A count is read again sooner once this process has used
 * half the room the last read left, so that it stays exact when this process alone registers:
 * each process on the same database (workers, servers) takes at most half the room it counted,
 * so two overrun a quota by one registration at most (docs/scaling.md). Room that completions,
 * deliveries and purges free is seen within COUNT_TTL_MS; before refusing, expired registrations
 * are purged and the counts read again, at most once per COUNT_TTL_MS.
 */
import type { NasFacts } from '../eap-methods/method.js';
import type { AuditStore } from '../store/audit.js';
import type { NoobPeerStore } from '../store/noob-peers.js';
import type { Log } from '../util/log.js';
import type { ResolvedNoobConfig } from './config.js';
import { purgeExpiredRegistrations } from './oob.js';

export interface QuotaRefusal {
  quota: 'nas' | 'table';
  count: number;
  limit: number;
}

/** The NAS a registration came through: client entry and source address, as the session table counts them. */
export function registrationOrigin(nas: Pick<NasFacts, 'clientName' | 'clientAddress'>): string {
  return JSON.stringify([nas.clientName, nas.clientAddress ?? '']);
}

const REPORT_WINDOW_MS = 60_000;
/** Keys remembered for rate limiting; past it the memory starts over (a few extra lines at worst). */
const MAX_REPORT_KEYS = 1024;
/** How long a count read from the store stands in for it (see above). */
export const COUNT_TTL_MS = 1000;
/** NAS whose counts are remembered; past it the memory starts over (a read each, at worst). */
const MAX_COUNTED_NAS = 1024;

/** A count as read from the store, and what this process admitted since. */
interface Counted {
  read: number;
  at: number;
  admitted: number;
}

export class RegistrationQuota {
  private readonly reported = new Map<string, { at: number; suppressed: number }>();
  private table: Counted | undefined;
  private readonly perNas = new Map<string, Counted>();
  /** When expired registrations were last purged before a refusal. */
  private purgedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: NoobPeerStore,
    private readonly config: Pick<ResolvedNoobConfig, 'maxEphemeralPeers' | 'maxUnboundPerNas' | 'ephemeralLifetime' | 'noobTimeout' | 'unboundLifetime'>,
    private readonly clock: () => Date,
    private readonly audit?: AuditStore,
  ) {}

  /** True when a registration from `nas` may be stored; otherwise reports why and returns false. */
  async admit(nas: Pick<NasFacts, 'clientName' | 'clientAddress'>, log: Log): Promise<boolean> {
    const via = registrationOrigin(nas);
    const now = this.clock().getTime();
    let refusal = await this.check(via, now);
    if (refusal && !(now - this.purgedAt < COUNT_TTL_MS && now >= this.purgedAt)) {
      this.purgedAt = now;
      await purgeExpiredRegistrations(this.store, this.config, this.clock());
      this.table = undefined;
      this.perNas.clear();
      refusal = await this.check(via, now);
    }
    if (!refusal) {
      // Counted before the write that follows: a write that fails leaves the counts high until the next read.
      this.table!.admitted++;
      this.perNas.get(via)!.admitted++;
      return true;
    }
    this.report(refusal, nas, log);
    return false;
  }

  private async check(via: string, now: number): Promise<QuotaRefusal | undefined> {
    const tableLimit = this.config.maxEphemeralPeers;
    this.table = await this.counted(this.table, () => this.store.countEphemeral(), tableLimit, now);
    const all = this.table.read + this.table.admitted;
    if (all >= tableLimit) return { quota: 'table', count: all, limit: tableLimit };
    const nasLimit = this.config.maxUnboundPerNas;
    const known = this.perNas.get(via);
    const mine = await this.counted(known, () => this.store.countUnbound(via), nasLimit, now);
    if (mine !== known) {
      if (!known && this.perNas.size >= MAX_COUNTED_NAS) this.perNas.clear();
      this.perNas.set(via, mine);
    }
    const held = mine.read + mine.admitted;
    if (held >= nasLimit) return { quota: 'nas', count: held, limit: nasLimit };
    return undefined;
  }

  /**
   * The count to judge by: the one in hand while it is younger than COUNT_TTL_MS and either says
   * full or this process has used less than half the room it left; else one read now.
   */
  private async counted(c: Counted | undefined, read: () => Promise<number>, limit: number, now: number): Promise<Counted> {
    if (c && now - c.at < COUNT_TTL_MS && now >= c.at) {
      const full = c.read + c.admitted >= limit;
      if (full || c.admitted < Math.max(1, Math.floor((limit - c.read) / 2))) return c;
    }
    return { read: await read(), at: now, admitted: 0 };
  }

  private report(r: QuotaRefusal, nas: Pick<NasFacts, 'clientName' | 'clientAddress'>, log: Log): void {
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
