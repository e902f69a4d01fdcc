/**
 * Network Access Identifiers (RFC 7542 §2.2) and the identities EAP-NOOB uses (RFC 9140 §3.3.1,
 * updated by RFC 9965 for the eap.arpa provisioning identifiers).
 */

// utf8-atext: ALPHA / DIGIT / the RFC 5322 specials below / any non-ASCII character.
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u0080-\\u{10FFFF}]";
// utf8-rtext: ALPHA / DIGIT / non-ASCII.
const RTEXT = '[A-Za-z0-9\\u0080-\\u{10FFFF}]';
const USERNAME = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`, 'u');
const LABEL = `${RTEXT}(?:[A-Za-z0-9\\-\\u0080-\\u{10FFFF}]*${RTEXT})?`;
const REALM = new RegExp(`^(?:${LABEL}\\.)+${LABEL}$`, 'u');

/** RFC 7542 limits an NAI to 253 octets. */
const MAX_NAI_OCTETS = 253;

/** utf8-username of RFC 7542 (also the syntax RFC 9140 requires of a PeerId). */
export function isValidNaiUsername(s: string): boolean {
  return USERNAME.test(s);
}

/** utf8-realm of RFC 7542: at least two labels. */
export function isValidRealm(s: string): boolean {
  return REALM.test(s);
}

/** A whole NAI: "username", "@realm" or "username@realm". */
export function isValidNai(s: string): boolean {
  if (s.length === 0 || Buffer.byteLength(s, 'utf8') > MAX_NAI_OCTETS) return false;
  const at = s.indexOf('@');
  if (at < 0) return isValidNaiUsername(s);
  if (s.indexOf('@', at + 1) >= 0) return false;
  const user = s.slice(0, at);
  const realm = s.slice(at + 1);
  return (user === '' || isValidNaiUsername(user)) && isValidRealm(realm);
}

/** The realm part of an NAI ("" if there is none). */
export function realmOf(nai: string): string {
  const at = nai.lastIndexOf('@');
  return at < 0 ? '' : nai.slice(at + 1);
}

/** RFC 9140 §3.3.1 default peer NAI (eap-noob.arpa is deprecated by RFC 9965 but still accepted). */
export const NOOB_DEFAULT_NAI = 'noob@eap-noob.arpa';
/** RFC 9965 "EAP Provisioning Identifiers" registry entry for EAP-NOOB. */
export const NOOB_PROVISIONING_NAI = '@noob.eap.arpa';
/** Username RFC 9140 recommends in a NewNAI, so that all registered peers look alike. */
export const NOOB_NEW_NAI_USERNAME = 'noob';

export type NoobIdentityKind =
  /** noob@eap-noob.arpa or @noob.eap.arpa (realm compared case-insensitively). */
  | 'provisioning'
  /** An identity in a realm this server hands out in NewNAI or serves for EAP-NOOB. */
  | 'assigned'
  /** Early-draft form "<PeerId>+s<state>@realm" (tolerated, routed like 'assigned'). */
  | 'legacy'
  /** Vogeltak/Aalto interop identity noob@eap-noob.net (only with the compatibility profile). */
  | 'compat';

const LEGACY = /^[A-Za-z0-9_-]+\+s[0-4]@/;

/**
 * Which kind of EAP-NOOB identity this is, or undefined if the identity is not one EAP-NOOB should
 * handle. For the EAP core's method selection; synonyms matter for dispatch only — Hoob and the MACs
 * always use the exact string the peer sent.
 */
export function classifyNoobIdentity(
  identity: string,
  opts: { servedRealms?: readonly string[]; compat?: 'none' | 'vogeltak' } = {},
): NoobIdentityKind | undefined {
  const realm = realmOf(identity).toLowerCase();
  if (realm === 'eap-noob.arpa' || realm === 'noob.eap.arpa') return 'provisioning';
  if (opts.compat === 'vogeltak' && realm === 'eap-noob.net') return 'compat';
  if (LEGACY.test(identity)) return 'legacy';
  if (realm !== '' && (opts.servedRealms ?? []).some((r) => r.toLowerCase() === realm)) return 'assigned';
  return undefined;
}

/** True for an identity under eap.arpa (RFC 9965 provisioning space), malformed or not. */
export function isUnderEapArpa(identity: string): boolean {
  const realm = realmOf(identity).toLowerCase();
  return realm === 'eap.arpa' || realm.endsWith('.eap.arpa');
}
