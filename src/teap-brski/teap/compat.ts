/**
 * Named compatibility switches for the places where deployed TEAP implementations disagree with
 * each other or with RFC 9930. Each switch names the behaviour, not the vendor, except where a
 * vendor's release is the only thing that defines it. Defaults interoperate with wpa_supplicant /
 * eapol_test 2.10 and hostapd 2.10 (the Q-numbers refer to /work/shared/specs/teap.md §9).
 */
export interface TeapCompat {
  /**
   * Order of the two 16-octet halves of an inner EAP-MSCHAPv2 MSK when it becomes IMSK (Q1).
   *  - 'hostapd-2.10': K(Magic2) ‖ K(Magic3), the plain EAP-MSCHAPv2 MSK order (wpa_supplicant and
   *    hostapd up to 2.10; Windows 11 behaviour unknown).
   *  - 'rfc9930': K(Magic3) ‖ K(Magic2), the EAP-FAST-MSCHAPv2 order RFC 9930 §3.6.3 mandates
   *    (FreeRADIUS 3.2, hostapd >= 2.11).
   *  - 'auto' (peer only): the peer receives the server's Crypto-Binding first, so it tries both
   *    orders and keeps the one whose MSK Compound-MAC verifies. A server cannot detect the order
   *    (the peer checks our MAC first), so a server refuses 'auto'.
   */
  mschapv2ImskOrder: 'hostapd-2.10' | 'rfc9930' | 'auto';
  /**
   * Which S-IMCK chain derives the final MSK/EMSK (Q2).
   *  - 'msk-always': always S-IMCK_MSK[n] (hostapd/wpa_supplicant 2.10, even when both sent EMSK MACs).
   *  - 'rfc9930': S-IMCK_EMSK[n] when the peer's final Crypto-Binding carried an EMSK Compound-MAC,
   *    else S-IMCK_MSK[n] (RFC 9930 §6.4, FreeRADIUS).
   */
  finalKeyChain: 'msk-always' | 'rfc9930';
  /**
   * Whether an inner round without keys (Basic-Password-Auth, a vendor method without keys)
   * advances the S-IMCK chain with its all-zero IMSK (Q3). The CMK is identical either way; only
   * the final MSK differs.
   *  - false: CMK from the current S-IMCK, S-IMCK unchanged (hostapd 2.10; RFC 9930 §6.4 read
   *    literally: "no inner method created an MSK ⇒ keys from session_key_seed").
   *  - true: S-IMCK[j] = IMCK[j][0..39] as for any inner method (FreeRADIUS 3.2).
   */
  zeroImskAdvancesChain: boolean;
  /**
   * Key schedule when TLS 1.3 is negotiated (Q5, teap.md §6.9).
   *  - 'hostapd': TLS-1.2-style P_hash with the suite hash, session_key_seed from the exporter with
   *    no context, Session-Id = 0x37 ‖ client Finished (hostapd/wpa_supplicant 2.10, FreeRADIUS 3.2).
   *  - 'rfc9427': RFC 9427 §2.2 exporter-based derivations and Session-Id 0x37 ‖ Method-Id
   *    (what RFC 9930 §1 requires; no implementation was available to test against).
   */
  tls13KeySchedule: 'hostapd' | 'rfc9427';
  /**
   * Whether a Crypto-Binding request carries an EMSK Compound-MAC when the inner method exported
   * an EMSK (RFC 9930 §6.2.4 "EMSK available and policy accepts MSK MAC" ⇒ Flags 3).
   *  - 'when-available': Flags 3 with EMSK methods, Flags 2 otherwise (hostapd 2.10 server).
   *  - 'never': always Flags 2; the EMSK chain is then never selected. RFC 9930 §5.1 notes that
   *    MSCHAPv2→TLS and TLS→TLS sequences only interoperate when EMSK MACs are ignored.
   */
  emskCompoundMac: 'when-available' | 'never';
}

/** Defaults for our server: wpa_supplicant / eapol_test 2.10 work out of the box. */
export const DEFAULT_TEAP_COMPAT: Readonly<TeapCompat> = Object.freeze({
  mschapv2ImskOrder: 'hostapd-2.10',
  finalKeyChain: 'msk-always',
  zeroImskAdvancesChain: false,
  tls13KeySchedule: 'hostapd',
  emskCompoundMac: 'when-available',
});

/** Defaults for our peer: hostapd 2.10 servers work, and the MSCHAPv2 key order is detected. */
export const DEFAULT_TEAP_PEER_COMPAT: Readonly<TeapCompat> = Object.freeze({
  ...DEFAULT_TEAP_COMPAT,
  mschapv2ImskOrder: 'auto',
});

const CHOICES = {
  mschapv2ImskOrder: ['hostapd-2.10', 'rfc9930', 'auto'],
  finalKeyChain: ['msk-always', 'rfc9930'],
  tls13KeySchedule: ['hostapd', 'rfc9427'],
  emskCompoundMac: ['when-available', 'never'],
} as const;

/** Merges a partial (e.g. from configuration) over the defaults, rejecting unknown names and values. */
export function resolveTeapCompat(partial: Record<string, unknown> = {}, base: Readonly<TeapCompat> = DEFAULT_TEAP_COMPAT): TeapCompat {
  const out: TeapCompat = { ...base };
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (key === 'zeroImskAdvancesChain') {
      if (typeof value !== 'boolean') throw new Error(`teap compat ${key} must be a boolean`);
      out.zeroImskAdvancesChain = value;
      continue;
    }
    const choices = (CHOICES as Record<string, readonly string[]>)[key];
    if (!choices) throw new Error(`unknown teap compat switch "${key}"`);
    if (typeof value !== 'string' || !choices.includes(value)) {
      throw new Error(`teap compat ${key} must be one of ${choices.join(', ')}`);
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
