/**
 * What a RADIUS listener tells whoever counts its traffic (the metrics of `server/metrics.ts`).
 * Called on the hot path: implementations do a few additions and nothing that can throw. Nothing a
 * packet says is passed on, only the configured client name, the RADIUS Code and fixed words.
 */
export interface RadiusObserver<DropReason extends string> {
  /** A datagram from a configured client decoded as RADIUS. */
  request(client: string, code: number): void;
  /** A reply the handler decided, sent `elapsedMs` after its request's datagram arrived. */
  answered(client: string, code: number, elapsedMs: number): void;
  /** A retransmission answered from the reply cache (RFC 5080 §2.2.2). */
  replayed(client: string): void;
  statusServerAnswered(client: string): void;
  dropped(reason: DropReason): void;
}

export const NO_RADIUS_OBSERVER: RadiusObserver<string> = {
  request() {},
  answered() {},
  replayed() {},
  statusServerAnswered() {},
  dropped() {},
};
