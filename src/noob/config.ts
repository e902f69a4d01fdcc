/**
 * EAP-NOOB server configuration: what the operator may set, the defaults (RFC 9140's recommended
 * values where it has them), and the named switches for the places where the RFC text and the
 * authors' implementation produce different bytes.
 */
import { ConfigError } from '../config/config-error.js';
import { isSupportedCryptosuite, type Cryptosuite } from './crypto/cryptosuites.js';
import type { NoobIdForm } from './crypto/digests.js';
import { isJsonObject, parseObject, utf8Length } from './json.js';
import { MAX_INFO_BYTES, MAX_SLEEP_TIME, type CodecOptions } from './message-codec.js';
import type { Directions, KeyingMode } from './messages.js';
import { isValidNai, isValidRealm } from './nai.js';

/**
 * The protocol switches. Both sides of a conversation must agree on all of them.
 *
 * D1 `kdfSuppPrivLengthByte`: one length byte before SuppPrivInfo in the KDF FixedInfo.
 *    false (default) = the authors' code, hostapd/wpa_supplicant ports, the namib ESP32 peer and
 *    Ruby server; verified on the wire. true = literal reading of RFC 9140 §3.5.
 * D2 `noobIdForm`: NoobId hash input. "concat" (default) = "NoobId"||Noob_b64 (authors' code);
 *    "json" = ["NoobId","<Noob_b64>"] (RFC text). Only affects NoobIds we *send*: received ones
 *    are matched under both spellings.
 * D3 `reconnectMacNai`: NAI slot of MACs2/MACp2. "nai" (default) = the association's NAI, as
 *    RFC 9140 Table 4 says; "empty" = "" as the authors' vector script prints.
 * `compat: "vogeltak"`: interop with the Aalto port into hostap (Vogeltak/hostap eap-noob-example):
 *    "kty":"EC" for X25519, "Realm" instead of "NewNAI", the realm in the Hoob/MAC NAI slot.
 *    Off by default; these are RFC violations.
 */
export interface NoobSwitches {
  kdfSuppPrivLengthByte: boolean;
  noobIdForm: NoobIdForm;
  reconnectMacNai: 'nai' | 'empty';
  compat: 'none' | 'vogeltak';
}

export const DEFAULT_SWITCHES: Readonly<NoobSwitches> = {
  kdfSuppPrivLengthByte: false,
  noobIdForm: 'concat',
  reconnectMacNai: 'nai',
  compat: 'none',
};

export interface NoobConfig extends Partial<NoobSwitches> {
  /**
   * HTTPS URL that OOB messages point to (the ServerURL of ServerInfo): the device's QR code
   * becomes `<oobUrl>?P=<PeerId>&N=<Noob>&H=<Hoob>`. RFC 9140 recommends at most 60 characters.
   */
  oobUrl: string;
  /** ServerName in the default ServerInfo. Default "Gangway". */
  serverName?: string;
  /**
   * ServerInfo as a JSON object or its exact text (≤ 500 bytes). Default
   * {"ServerName": serverName, "ServerURL": oobUrl} ({"Name","Url"} with the vogeltak profile, whose
   * peer insists that the URL is the last member).
   */
  serverInfo?: string | Record<string, unknown>;
  /**
   * NAI handed out in the Initial Exchange (and in Reconnect when it changes), e.g.
   * "noob@example.org". Recommended: without it registered peers keep presenting the
   * provisioning identity, which RFC 9965 confines to onboarding.
   */
  newNai?: string;
  /** Offered cryptosuites, in decreasing priority. Default [1, 2]. */
  cryptosuites?: number[];
  /** Offered OOB directions: 1 peer-to-server, 2 server-to-peer, 3 both (default). */
  dirs?: Directions;
  /** SleepTime sent in types 3 and 4 (seconds, 0..3600). Default 60. */
  sleepTime?: number;
  /** SleepTime when the peer chose server-to-peer only (it reconnects as soon as it reads the OOB). Default 3600. */
  sleepTimeServerToPeer?: number;
  /** Seconds an issued Noob stays acceptable (RFC 9140 NoobTimeout). Default 3600. */
  noobTimeout?: number;
  /** Invalid OOB messages tolerated before the registration is dropped (RFC 9140 OobRetries). Default 5. */
  oobRetries?: number;
  /** Waiting Exchanges allowed before the peer gets error 2001. Default 60 (an hour at SleepTime 60). */
  maxWaitingExchanges?: number;
  /** Seconds an unfinished registration (states 1–2) is kept. Default 86400 (RFC: at least a day). */
  ephemeralLifetime?: number;
  /** Unfinished registrations kept at most; beyond it new Initial Exchanges are refused. Default 10000. */
  maxEphemeralPeers?: number;
  /**
   * Seconds an unbound registration (state 1, no account, no OOB message: store/noob-peers.ts
   * `isUnbound`) is kept. Default 3600, as long as a Noob lives (NoobTimeout); RFC 9140 asks a day
   * for ephemeral state, which these keep only once a person has acted on them.
   */
  unboundLifetime?: number;
  /** Unbound registrations one NAS (client entry and source address) may hold. Default a quarter of maxEphemeralPeers. */
  maxUnboundPerNas?: number;
  /** Server-to-peer OOB messages kept per peer. Default 4. */
  maxIssuedOobs?: number;
  /** KeyingMode when the cryptosuite does not change: 2 (fresh ECDHE, default) or 1. */
  reconnectKeyingMode?: 1 | 2;
  /**
   * Local cryptosuite strength order for downgrade protection in Reconnect: a suite is offered to a
   * registered peer only if its rank is at least that of the suite it registered with. Default:
   * both suites rank equal (both ≈128-bit security).
   */
  cryptosuiteRank?: Record<number, number>;
  /** Realm sent in the "Realm" member with compat "vogeltak" (the Aalto server sends ""). */
  compatRealm?: string;
}

export interface ResolvedNoobConfig extends NoobSwitches {
  oobUrl: string;
  serverInfoText: string;
  newNai?: string;
  cryptosuites: Cryptosuite[];
  dirs: Directions;
  sleepTime: number;
  sleepTimeServerToPeer: number;
  noobTimeout: number;
  oobRetries: number;
  maxWaitingExchanges: number;
  ephemeralLifetime: number;
  maxEphemeralPeers: number;
  unboundLifetime: number;
  maxUnboundPerNas: number;
  maxIssuedOobs: number;
  reconnectKeyingMode: Exclude<KeyingMode, 3>;
  cryptosuiteRank: Record<number, number>;
  compatRealm: string;
}

export const NOOB_DEFAULTS = {
  serverName: 'Gangway',
  cryptosuites: [1, 2] as Cryptosuite[],
  dirs: 3 as Directions,
  sleepTime: 60,
  sleepTimeServerToPeer: 3600,
  noobTimeout: 3600,
  oobRetries: 5,
  maxWaitingExchanges: 60,
  ephemeralLifetime: 86400,
  maxEphemeralPeers: 10000,
  unboundLifetime: 3600,
  maxIssuedOobs: 4,
  reconnectKeyingMode: 2 as const,
};

/** Keys are named as in gangway.yaml so the operator sees exactly which setting is wrong. */
function bad(key: string, why: string): never {
  throw new ConfigError(key ? `methods.eap-noob.${key}` : 'methods.eap-noob', why);
}

function intIn(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > max) bad(name, `must be an integer in ${min}..${max}`);
  return n;
}

/** Accepts https URLs, and http only for loopback hosts (demos, tests). */
export function isAcceptableOobUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  if (u.hash !== '' || u.search !== '') return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}

export function resolveNoobConfig(c: NoobConfig): ResolvedNoobConfig {
  const switches: NoobSwitches = {
    kdfSuppPrivLengthByte: c.kdfSuppPrivLengthByte ?? DEFAULT_SWITCHES.kdfSuppPrivLengthByte,
    noobIdForm: c.noobIdForm ?? DEFAULT_SWITCHES.noobIdForm,
    reconnectMacNai: c.reconnectMacNai ?? DEFAULT_SWITCHES.reconnectMacNai,
    compat: c.compat ?? DEFAULT_SWITCHES.compat,
  };
  if (!['concat', 'json'].includes(switches.noobIdForm)) bad('noobIdForm', 'must be "concat" or "json"');
  if (!['nai', 'empty'].includes(switches.reconnectMacNai)) bad('reconnectMacNai', 'must be "nai" or "empty"');
  if (!['none', 'vogeltak'].includes(switches.compat)) bad('compat', 'must be "none" or "vogeltak"');

  if (typeof c.oobUrl !== 'string' || !isAcceptableOobUrl(c.oobUrl)) bad('oobUrl', 'must be an https URL without query or fragment');
  const serverName = c.serverName ?? NOOB_DEFAULTS.serverName;
  let serverInfoText: string;
  if (typeof c.serverInfo === 'string') serverInfoText = c.serverInfo;
  else if (c.serverInfo !== undefined) serverInfoText = JSON.stringify(c.serverInfo);
  else if (switches.compat === 'vogeltak') serverInfoText = JSON.stringify({ Name: serverName, Url: c.oobUrl });
  else serverInfoText = JSON.stringify({ ServerName: serverName, ServerURL: c.oobUrl });
  try {
    if (!isJsonObject(parseObject(serverInfoText))) bad('serverInfo', 'must be a JSON object');
  } catch {
    bad('serverInfo', 'must be a JSON object');
  }
  if (utf8Length(serverInfoText) > MAX_INFO_BYTES) bad('serverInfo', 'exceeds 500 bytes');

  if (c.newNai !== undefined && !isValidNai(c.newNai)) bad('newNai', 'is not a valid NAI');
  const compatRealm = c.compatRealm ?? '';
  if (compatRealm !== '' && !isValidRealm(compatRealm)) bad('compatRealm', 'is not a valid realm');

  const cryptosuites = c.cryptosuites ?? NOOB_DEFAULTS.cryptosuites;
  if (cryptosuites.length === 0 || new Set(cryptosuites).size !== cryptosuites.length || !cryptosuites.every(isSupportedCryptosuite)) {
    bad('cryptosuites', 'must be a non-empty list of distinct supported suites (1, 2)');
  }
  const dirs = c.dirs ?? NOOB_DEFAULTS.dirs;
  if (![1, 2, 3].includes(dirs)) bad('dirs', 'must be 1, 2 or 3');
  const reconnectKeyingMode = c.reconnectKeyingMode ?? NOOB_DEFAULTS.reconnectKeyingMode;
  const ephemeralLifetime = intIn('ephemeralLifetime', c.ephemeralLifetime, NOOB_DEFAULTS.ephemeralLifetime, 60, 365 * 86400);
  const maxEphemeralPeers = intIn('maxEphemeralPeers', c.maxEphemeralPeers, NOOB_DEFAULTS.maxEphemeralPeers, 1, 100_000_000);
  if (reconnectKeyingMode !== 1 && reconnectKeyingMode !== 2) bad('reconnectKeyingMode', 'must be 1 or 2');

  return {
    ...switches,
    oobUrl: c.oobUrl,
    serverInfoText,
    ...(c.newNai !== undefined ? { newNai: c.newNai } : {}),
    cryptosuites: cryptosuites as Cryptosuite[],
    dirs,
    sleepTime: intIn('sleepTime', c.sleepTime, NOOB_DEFAULTS.sleepTime, 0, MAX_SLEEP_TIME),
    sleepTimeServerToPeer: intIn('sleepTimeServerToPeer', c.sleepTimeServerToPeer, NOOB_DEFAULTS.sleepTimeServerToPeer, 0, MAX_SLEEP_TIME),
    noobTimeout: intIn('noobTimeout', c.noobTimeout, NOOB_DEFAULTS.noobTimeout, 1, 30 * 86400),
    oobRetries: intIn('oobRetries', c.oobRetries, NOOB_DEFAULTS.oobRetries, 1, 1000),
    maxWaitingExchanges: intIn('maxWaitingExchanges', c.maxWaitingExchanges, NOOB_DEFAULTS.maxWaitingExchanges, 1, 1_000_000),
    ephemeralLifetime,
    maxEphemeralPeers,
    unboundLifetime: intIn('unboundLifetime', c.unboundLifetime, Math.min(NOOB_DEFAULTS.unboundLifetime, ephemeralLifetime), 60, ephemeralLifetime),
    maxUnboundPerNas: intIn('maxUnboundPerNas', c.maxUnboundPerNas, Math.max(1, Math.floor(maxEphemeralPeers / 4)), 1, maxEphemeralPeers),
    maxIssuedOobs: intIn('maxIssuedOobs', c.maxIssuedOobs, NOOB_DEFAULTS.maxIssuedOobs, 1, 64),
    reconnectKeyingMode,
    cryptosuiteRank: { 1: 1, 2: 1, ...(c.cryptosuiteRank ?? {}) },
    compatRealm,
  };
}

/** Codec options implied by the switches. */
export function codecOptions(s: Pick<NoobSwitches, 'compat'>): CodecOptions {
  return { compat: s.compat };
}

/** JWK options implied by the switches. */
export function jwkOptions(s: Pick<NoobSwitches, 'compat'>): { x25519KtyEc: boolean } {
  return { x25519KtyEc: s.compat === 'vogeltak' };
}

const CONFIG_KEYS: readonly (keyof NoobConfig)[] = [
  'oobUrl', 'serverName', 'serverInfo', 'newNai', 'cryptosuites', 'dirs', 'sleepTime', 'sleepTimeServerToPeer',
  'noobTimeout', 'oobRetries', 'maxWaitingExchanges', 'ephemeralLifetime', 'maxEphemeralPeers', 'unboundLifetime', 'maxUnboundPerNas', 'maxIssuedOobs',
  'reconnectKeyingMode', 'cryptosuiteRank', 'compatRealm', 'kdfSuppPrivLengthByte', 'noobIdForm', 'reconnectMacNai', 'compat',
];

/**
 * The `methods.eap-noob` section of gangway.yaml, checked and resolved. Unknown keys are errors so
 * that a misspelt switch never silently keeps its default.
 */
export function parseNoobMethodConfig(raw: unknown): ResolvedNoobConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('', 'must be a mapping with at least oobUrl');
  for (const key of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) bad(key, `is not a known setting (known: ${CONFIG_KEYS.join(', ')})`);
  }
  return resolveNoobConfig(raw as NoobConfig);
}
