import { hmac } from '../../util/digest.js';
import { tlsPrf, prfHashForCipher, type PrfHash } from './tls-prf.js';
import { EAP_TYPE_TEAP } from './outer-framing.js';
import type { TeapCompat } from './compat.js';
import { concatBytes } from '../../util/bytes.js';

/** Labels of RFC 9930 §6 and RFC 9427 §2.2 (ASCII, no NUL). */
export const TeapLabel = {
  SessionKeySeed: 'EXPORTER: teap session key seed',
  ImskBind: 'TEAPbindkey@ietf.org',
  Imck: 'Inner Methods Compound Keys',
  Msk: 'Session Key Generating Function',
  Emsk: 'Extended Session Key Generating Function',
  Tls13Imck: 'EXPORTER: Inner Methods Compound Keys',
  Tls13Msk: 'EXPORTER: Session Key Generating Function',
  Tls13Emsk: 'EXPORTER: Extended Session Key Generating Function',
  MethodId: 'EXPORTER_EAP_TLS_Method-Id',
} as const;

export const SESSION_KEY_SEED_LENGTH = 40;
export const IMSK_LENGTH = 32;
export const IMCK_LENGTH = 60;
export const S_IMCK_LENGTH = 40;
export const CMK_LENGTH = 20;
export const TEAP_MSK_LENGTH = 64;
export const TEAP_EMSK_LENGTH = 64;
export const COMPOUND_MAC_LENGTH = 20;

/**
 * RFC 5705 / RFC 8446 §7.5 exporter of the outer TLS session. `context` undefined means "no
 * context" (TLS 1.2 use_context = false), which differs from an empty context under TLS 1.2.
 */
export type TlsExporter = (length: number, label: string, context?: Uint8Array) => Uint8Array;

/** 0x00 ‖ u16(64): the RFC 5295 USRK seed without optional data (RFC 9930 §6.2.1, erratum 5127). */
const BINDKEY_SEED = Uint8Array.of(0x00, 0x00, 0x40);
const ZERO_IMSK = new Uint8Array(IMSK_LENGTH);

// ---- RFC 9930 §6 (TLS 1.2) primitives ----

/** session_key_seed = TLS-Exporter("EXPORTER: teap session key seed", no context, 40) (RFC 9930 §6.1). */
export function deriveSessionKeySeed(exporter: TlsExporter): Uint8Array {
  return exporter(SESSION_KEY_SEED_LENGTH, TeapLabel.SessionKeySeed);
}

/** IMSK[j] = first 32 of TLS-PRF(EMSK[j], "TEAPbindkey@ietf.org", 0x00 ‖ 0x00 0x40, 64) (RFC 9930 §6.2.1). */
export function deriveImskFromEmsk(hash: PrfHash, emsk: Uint8Array): Uint8Array {
  return tlsPrf(hash, emsk, TeapLabel.ImskBind, BINDKEY_SEED, 64).slice(0, IMSK_LENGTH);
}

/** IMSK[j] = the inner MSK truncated or zero-padded to 32 octets (RFC 9930 §6.2.1). */
export function deriveImskFromMsk(msk: Uint8Array): Uint8Array {
  const out = new Uint8Array(IMSK_LENGTH);
  out.set(msk.subarray(0, IMSK_LENGTH));
  return out;
}

/**
 * Both IMSKs of inner method j (RFC 9930 §6.2.1): the MSK-chain IMSK from the MSK (zeros when the
 * method exported none) and, when it exported an EMSK, the EMSK-chain IMSK.
 */
export function deriveImsk(hash: PrfHash, keys: { msk?: Uint8Array; emsk?: Uint8Array }): { msk: Uint8Array; emsk?: Uint8Array } {
  const msk = keys.msk ? deriveImskFromMsk(keys.msk) : ZERO_IMSK.slice();
  return keys.emsk ? { msk, emsk: deriveImskFromEmsk(hash, keys.emsk) } : { msk };
}

export interface Imck {
  /** S-IMCK[j] = IMCK[j][0..39] */
  sImck: Uint8Array;
  /** CMK[j] = IMCK[j][40..59] */
  cmk: Uint8Array;
}

/** IMCK[j] = TLS-PRF(S-IMCK[j-1], "Inner Methods Compound Keys", IMSK[j], 60) (RFC 9930 §6.2.2). */
export function deriveImck(hash: PrfHash, sImckPrev: Uint8Array, imsk: Uint8Array): Imck {
  const imck = tlsPrf(hash, sImckPrev, TeapLabel.Imck, imsk, IMCK_LENGTH);
  return { sImck: imck.slice(0, S_IMCK_LENGTH), cmk: imck.slice(S_IMCK_LENGTH) };
}

/** Compound-MAC = first 20 octets of HMAC_H(CMK, BUFFER) (RFC 9930 §6.3). */
export function compoundMac(hash: PrfHash, cmk: Uint8Array, buffer: Uint8Array): Uint8Array {
  return new Uint8Array(hmac(hash, cmk, [buffer]).subarray(0, COMPOUND_MAC_LENGTH));
}

/** MSK = TLS-PRF(S-IMCK[n], "Session Key Generating Function", "", 64) (RFC 9930 §6.4). */
export function deriveTeapMsk(hash: PrfHash, sImck: Uint8Array): Uint8Array {
  return tlsPrf(hash, sImck, TeapLabel.Msk, new Uint8Array(0), TEAP_MSK_LENGTH);
}

/** EMSK = TLS-PRF(S-IMCK[n], "Extended Session Key Generating Function", "", 64) (RFC 9930 §6.4). */
export function deriveTeapEmsk(hash: PrfHash, sImck: Uint8Array): Uint8Array {
  return tlsPrf(hash, sImck, TeapLabel.Emsk, new Uint8Array(0), TEAP_EMSK_LENGTH);
}

// ---- per-session key schedule (chooses TLS 1.2 / TLS 1.3 profile) ----

/** The derivations of one TEAP session, bound to its outer TLS session and profile. */
export interface TeapKeySchedule {
  readonly profile: 'rfc9930-tls12' | 'hostapd-tls13' | 'rfc9427-tls13';
  /** Hash for the PRF and the Compound-MAC HMAC. */
  readonly hash: PrfHash;
  sessionKeySeed(): Uint8Array;
  imskFromEmsk(emsk: Uint8Array): Uint8Array;
  imskFromMsk(msk: Uint8Array): Uint8Array;
  /** IMSK of a round without keys: 32 zero octets in every profile. */
  zeroImsk(): Uint8Array;
  imck(sImckPrev: Uint8Array, imsk: Uint8Array): Imck;
  compoundMac(cmk: Uint8Array, buffer: Uint8Array): Uint8Array;
  msk(sImck: Uint8Array): Uint8Array;
  emsk(sImck: Uint8Array): Uint8Array;
}

/** RFC 9930 §6 for TLS 1.2, also hostapd 2.10's reading for TLS 1.3 (exporter without context, P_hash). */
export function tls12KeySchedule(hash: PrfHash, exporter: TlsExporter, profile: 'rfc9930-tls12' | 'hostapd-tls13' = 'rfc9930-tls12'): TeapKeySchedule {
  return {
    profile,
    hash,
    sessionKeySeed: () => deriveSessionKeySeed(exporter),
    imskFromEmsk: (emsk) => deriveImskFromEmsk(hash, emsk),
    imskFromMsk: (msk) => deriveImskFromMsk(msk),
    zeroImsk: () => ZERO_IMSK.slice(),
    imck: (prev, imsk) => deriveImck(hash, prev, imsk),
    compoundMac: (cmk, buffer) => compoundMac(hash, cmk, buffer),
    msk: (s) => deriveTeapMsk(hash, s),
    emsk: (s) => deriveTeapEmsk(hash, s),
  };
}


/**
 * RFC 9427 §2.2 derivations for TLS 1.3 (required by RFC 9930 §1). Every output is requested from
 * the exporter at its exact length, because TLS 1.3 exporter output depends on the length.
 * Mapping RFC 9427's single IMSK onto RFC 9930's two chains is our reading: the EMSK chain feeds
 * the inner EMSK to the exporter, the MSK chain the inner MSK (untested against any peer).
 */
export function rfc9427KeySchedule(hash: PrfHash, exporter: TlsExporter): TeapKeySchedule {
  const type = Uint8Array.of(EAP_TYPE_TEAP);
  return {
    profile: 'rfc9427-tls13',
    hash,
    sessionKeySeed: () => exporter(SESSION_KEY_SEED_LENGTH, TeapLabel.SessionKeySeed, type),
    imskFromEmsk: (emsk) => exporter(IMSK_LENGTH, TeapLabel.ImskBind, emsk),
    imskFromMsk: (msk) => exporter(IMSK_LENGTH, TeapLabel.ImskBind, msk),
    zeroImsk: () => ZERO_IMSK.slice(),
    imck: (prev, imsk) => {
      const imck = exporter(IMCK_LENGTH, TeapLabel.Tls13Imck, concatBytes([prev, imsk]));
      return { sImck: imck.slice(0, S_IMCK_LENGTH), cmk: imck.slice(S_IMCK_LENGTH) };
    },
    compoundMac: (cmk, buffer) => compoundMac(hash, cmk, buffer),
    msk: (s) => exporter(TEAP_MSK_LENGTH, TeapLabel.Tls13Msk, s),
    emsk: (s) => exporter(TEAP_EMSK_LENGTH, TeapLabel.Tls13Emsk, s),
  };
}

export interface OuterTlsFacts {
  /** Negotiated protocol as Node reports it: 'TLSv1.2' or 'TLSv1.3'. */
  protocol: string;
  /** Suite name (IANA or OpenSSL); decides SHA-256 vs SHA-384. */
  cipher: string;
  exporter: TlsExporter;
}

/** Picks the key schedule for a tunnel according to its TLS version and the compat switch. */
export function keyScheduleFor(tls: OuterTlsFacts, compat: Pick<TeapCompat, 'tls13KeySchedule'>): TeapKeySchedule {
  const hash = prfHashForCipher(tls.cipher);
  if (tls.protocol === 'TLSv1.2') return tls12KeySchedule(hash, tls.exporter);
  if (tls.protocol === 'TLSv1.3') {
    return compat.tls13KeySchedule === 'rfc9427' ? rfc9427KeySchedule(hash, tls.exporter) : tls12KeySchedule(hash, tls.exporter, 'hostapd-tls13');
  }
  throw new Error(`TEAP requires TLS 1.2 or later, negotiated ${tls.protocol}`);
}

export interface SessionIdInputs {
  protocol: string;
  /** The client's Finished verify_data of the handshake (tls-unique for a full TLS 1.2 handshake). */
  clientFinished: Uint8Array;
  /** The server's Finished (tls-unique after a TLS 1.2 resumption). */
  serverFinished: Uint8Array;
  resumed: boolean;
  exporter: TlsExporter;
}

/**
 * EAP Session-Id (RFC 9930 §3.8): TLS 1.2: 0x37 ‖ tls-unique (RFC 5929: first Finished of the
 * latest handshake). TLS 1.3: 0x37 ‖ Method-Id with Method-Id = TLS-Exporter(
 * "EXPORTER_EAP_TLS_Method-Id", 0x37, 64) (RFC 9427 §2.1), or 0x37 ‖ client Finished in the
 * 'hostapd' profile (what hostapd 2.10 logs and eapol_test compares).
 */
export function deriveTeapSessionId(inputs: SessionIdInputs, compat: Pick<TeapCompat, 'tls13KeySchedule'>): Uint8Array {
  const type = Uint8Array.of(EAP_TYPE_TEAP);
  if (inputs.protocol === 'TLSv1.3' && compat.tls13KeySchedule === 'rfc9427') {
    return concatBytes([type, inputs.exporter(64, TeapLabel.MethodId, type)]);
  }
  // For TLS 1.3 the hostapd profile uses the same "first Finished" rule; resumption is not used.
  return concatBytes([type, inputs.resumed ? inputs.serverFinished : inputs.clientFinished]);
}
