/**
 * Configuration of our EAP-NOOB peer. The protocol switches must match the server's.
 */
import { DEFAULT_SWITCHES, type NoobSwitches } from '../../noob/config.js';
import { isSupportedCryptosuite, type Cryptosuite } from '../../noob/crypto/cryptosuites.js';
import { isJsonObject, parseObject, utf8Length } from '../../noob/json.js';
import { MAX_INFO_BYTES } from '../../noob/message-codec.js';
import type { Directions } from '../../noob/messages.js';
import { isValidNai } from '../../noob/nai.js';

export interface NoobPeerConfig extends Partial<NoobSwitches> {
  /**
   * NAI to use before registration. Default: "@noob.eap.arpa" (RFC 9965), falling back to
   * "noob@eap-noob.arpa" when the server does not start EAP-NOOB for it.
   */
  identity?: string;
  /** PeerInfo object or its exact JSON text (≤ 500 bytes). */
  peerInfo: string | Record<string, unknown>;
  /** Cryptosuites in our order of preference. Default [1, 2]. */
  cryptosuites?: number[];
  /** OOB directions this device can do: 1 show a code, 2 read a code, 3 both (default). */
  directions?: Directions;
  /** When the server offers both, which single one to pick (RFC 9140 recommends one). Default 1. */
  preferredDirection?: 1 | 2;
  /** Seconds a Noob we showed stays valid (NoobTimeout). Default 3600. */
  noobTimeout?: number;
  /** Seconds before we show a new Noob (NoobInterval). Default 1800. */
  noobInterval?: number;
  /** Invalid server-to-peer OOB messages tolerated before starting over (OobRetries). Default 5. */
  oobRetries?: number;
  /** Seconds between Waiting Exchanges when the server sent no SleepTime. Default 30. */
  sleepTimeDefault?: number;
  /** Local strength order of suites for downgrade protection in Reconnect (default: equal). */
  cryptosuiteRank?: Record<number, number>;
}

export interface ResolvedNoobPeerConfig extends NoobSwitches {
  identity?: string;
  peerInfoText: string;
  cryptosuites: Cryptosuite[];
  directions: Directions;
  preferredDirection: 1 | 2;
  noobTimeout: number;
  noobInterval: number;
  oobRetries: number;
  sleepTimeDefault: number;
  cryptosuiteRank: Record<number, number>;
}

function bad(what: string): never {
  throw new Error(`eap-noob peer configuration: ${what}`);
}

export function resolvePeerConfig(c: NoobPeerConfig): ResolvedNoobPeerConfig {
  const peerInfoText = typeof c.peerInfo === 'string' ? c.peerInfo : JSON.stringify(c.peerInfo);
  try {
    if (!isJsonObject(parseObject(peerInfoText))) bad('peerInfo must be a JSON object');
  } catch {
    bad('peerInfo must be a JSON object');
  }
  if (utf8Length(peerInfoText) > MAX_INFO_BYTES) bad('peerInfo exceeds 500 bytes');
  if (c.identity !== undefined && !isValidNai(c.identity)) bad('identity is not a valid NAI');
  const cryptosuites = c.cryptosuites ?? [1, 2];
  if (cryptosuites.length === 0 || !cryptosuites.every(isSupportedCryptosuite)) bad('cryptosuites must list supported suites (1, 2)');
  const noobTimeout = c.noobTimeout ?? 3600;
  return {
    kdfSuppPrivLengthByte: c.kdfSuppPrivLengthByte ?? DEFAULT_SWITCHES.kdfSuppPrivLengthByte,
    noobIdForm: c.noobIdForm ?? DEFAULT_SWITCHES.noobIdForm,
    reconnectMacNai: c.reconnectMacNai ?? DEFAULT_SWITCHES.reconnectMacNai,
    compat: c.compat ?? DEFAULT_SWITCHES.compat,
    ...(c.identity !== undefined ? { identity: c.identity } : {}),
    peerInfoText,
    cryptosuites: cryptosuites as Cryptosuite[],
    directions: c.directions ?? 3,
    preferredDirection: c.preferredDirection ?? 1,
    noobTimeout,
    noobInterval: c.noobInterval ?? Math.floor(noobTimeout / 2),
    oobRetries: c.oobRetries ?? 5,
    sleepTimeDefault: c.sleepTimeDefault ?? 30,
    cryptosuiteRank: { 1: 1, 2: 1, ...(c.cryptosuiteRank ?? {}) },
  };
}
