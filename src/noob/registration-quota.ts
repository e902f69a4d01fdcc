/**
 * Room for a new EAP-NOOB registration. Anyone who can reach a NAS can run Initial Exchanges
 * (RFC 9140 §3.7), so two quotas guard the ephemeral table: unbound registrations per NAS (one NAS
 * cannot fill what the others need) and unfinished registrations in all. A refusal is logged and
 * audited, at most once a minute per NAS and quota, with the count of refusals in between.
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

export class RegistrationQuota {
  private readonly reported = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly store: NoobPeerStore,
    private readonly config: Pick<ResolvedNoobConfig, 'maxEphemeralPeers' | 'maxUnboundPerNas' | 'ephemeralLifetime' | 'noobTimeout' | 'unboundLifetime'>,
    private readonly clock: () => Date,
    private readonly audit?: AuditStore,
  ) {}

  /** True when a registration from `nas` may be stored; otherwise reports why and returns false. */
  async admit(nas: Pick<NasFacts, 'clientName' | 'clientAddress'>, log: Log): Promise<boolean> {
    const via = registrationOrigin(nas);
    let refusal = await this.check(via);
    if (refusal) {
      await purgeExpiredRegistrations(this.store, this.config, this.clock());
      refusal = await this.check(via);
    }
    if (!refusal) return true;
    this.report(refusal, nas, log);
    return false;
  }

  private async check(via: string): Promise<QuotaRefusal | undefined> {
    const all = await this.store.countEphemeral();
    if (all >= this.config.maxEphemeralPeers) return { quota: 'table', count: all, limit: this.config.maxEphemeralPeers };
    const mine = await this.store.countUnbound(via);
    if (mine >= this.config.maxUnboundPerNas) return { quota: 'nas', count: mine, limit: this.config.maxUnboundPerNas };
    return undefined;
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
