/**
 * What the EAP authenticator tells whoever counts conversations (the metrics of
 * `server/metrics.ts`). Called on the hot path: implementations do a few additions and nothing that
 * can throw. Only method names (from the registry) and the fixed words below are passed on; the
 * free-text reasons a method gives stay in the logs.
 */

/** How a conversation ended: its result, or why it ended without one. */
export const CONVERSATION_ENDS = [
  'success',
  /** The method refused the peer (a bad certificate, a wrong password...). */
  'failure',
  /** The method threw, returned a malformed step, or succeeded without naming anyone. */
  'method-error',
  /** No method is configured for the identity, or the peer Nak'd every one allowed. */
  'no-method',
  'too-many-rounds',
  'too-many-invalid',
  /** The peer sent an EAP Request, Success or Failure. */
  'protocol-error',
  'idle-timeout',
  /** Gave way to a newcomer in a full session table. */
  'evicted',
  /** The same station on the same NAS began again. */
  'replaced',
  'shutdown',
] as const;
export type ConversationEnd = (typeof CONVERSATION_ENDS)[number];

/** Why a Response that belongs to no conversation was refused. */
export const STRAY_REASONS = ['malformed', 'unknown-state', 'not-identity', 'not-response'] as const;
export type StrayReason = (typeof STRAY_REASONS)[number];

export interface EapObserver {
  /** A method's session begins (after Identity, or after a Nak chose another method). */
  methodStarted(method: string): void;
  /**
   * A conversation ended; `method` is the one running then (undefined before Identity).
   * `roundTrips` counts the Access-Request/answer exchanges, from the one that began it.
   */
  conversationEnded(method: string | undefined, end: ConversationEnd, roundTrips: number): void;
  /** A Response ignored (wrong Identifier or type, a discard): the last Request is sent again. */
  invalidResponse(): void;
  stray(reason: StrayReason): void;
}

export const NO_EAP_OBSERVER: EapObserver = {
  methodStarted() {},
  conversationEnded() {},
  invalidResponse() {},
  stray() {},
};
