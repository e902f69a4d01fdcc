import type { NasFacts } from './method.js';

/**
 * State and the EAP Identifier travel in clear, so anyone who sees one NAS's RADIUS traffic knows
 * them. Were State enough to continue a conversation, a second RADIUS client (with its own valid
 * secret) could send the peer's last Response first and receive the Access-Accept, with the peer's
 * MSK encrypted under its own secret. A conversation therefore continues only from the client,
 * source address, NAS and station it began with; hostapd's RADIUS server likewise looks sessions
 * up per client.
 *
 * The source address is bound as well as the client entry: one entry may be a prefix covering many
 * access points that share a secret, and one of them must not finish another's conversation.
 */
const BOUND_FACTS = [
  ['clientName', 'RADIUS client'],
  ['clientAddress', 'source address'],
  ['nasIpAddress', 'NAS-IP-Address'],
  ['nasIpv6Address', 'NAS-IPv6-Address'],
  ['nasIdentifier', 'NAS-Identifier'],
  ['callingStationId', 'Calling-Station-Id'],
] as const satisfies readonly (readonly [keyof NasFacts, string])[];

/** Longest value a log line carries for one fact (NAS attributes may be 253 octets of anything). */
const MAX_LOGGED = 64;

export interface BindingMismatch {
  /** The attribute or fact that differs, in RADIUS terms. */
  fact: string;
  /** Both values, truncated for logging; `(absent)` when the attribute was not sent. */
  began: string;
  now: string;
}

/** The first bound fact in which `now` differs from what the conversation `began` with, or undefined. */
export function bindingMismatch(began: NasFacts, now: NasFacts): BindingMismatch | undefined {
  for (const [key, fact] of BOUND_FACTS) {
    if (began[key] !== now[key]) return { fact, began: forLog(began[key]), now: forLog(now[key]) };
  }
  return undefined;
}

function forLog(value: string | undefined): string {
  if (value === undefined) return '(absent)';
  const chars = [...value];
  return chars.length <= MAX_LOGGED ? value : `${chars.slice(0, MAX_LOGGED).join('')}…`;
}
