/**
 * Whether the server is turning work away. Every layer that drops or evicts for want of room
 * notes it here; Status-Server (RFC 5997) and the health endpoint answer from it, so that a proxy
 * pool fails over while requests are being lost instead of seeing a server that looks healthy.
 */
export interface SheddingSnapshot {
  shedding: boolean;
  /** Shedding events since start, in total and by reason. */
  events: number;
  reasons: Record<string, number>;
  /** Milliseconds since the last event; absent when there was none. */
  lastEventAgoMs?: number;
}

/** What can be shed: fixed words, so that a health report and the metrics can name them. */
export const SHEDDING_REASONS = ['radius-overload', 'eap-evicted', 'eap-refused'] as const;
export type SheddingReason = (typeof SHEDDING_REASONS)[number];

/** After the last event the server counts as shedding this long, so that a check between two drops still sees it. */
export const DEFAULT_SHEDDING_HOLD_MS = 2000;

export class SheddingMonitor {
  private lastAt = -Infinity;
  private events = 0;
  private readonly reasons = new Map<SheddingReason, number>();

  constructor(
    readonly holdMs = DEFAULT_SHEDDING_HOLD_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Something was dropped or evicted for want of room. */
  note(reason: SheddingReason): void {
    this.lastAt = this.now();
    this.events++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  get shedding(): boolean {
    return this.now() - this.lastAt < this.holdMs;
  }

  snapshot(): SheddingSnapshot {
    const ago = this.now() - this.lastAt;
    return {
      shedding: ago < this.holdMs,
      events: this.events,
      reasons: Object.fromEntries(this.reasons),
      ...(Number.isFinite(ago) ? { lastEventAgoMs: ago } : {}),
    };
  }
}
