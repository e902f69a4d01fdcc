/**
 * Hoob, NoobId and the Completion/Reconnect MACs (RFC 9140 §3.3.2 and §3.5).
 *
 * All of them hash or HMAC a JSON array of 17 elements whose texts are copied verbatim from the
 * messages; `macInput` only joins them. Which texts go into which slot is decided by the caller
 * (see ../transcript.ts).
 */
import { timingSafeEqual } from 'node:crypto';

import { digest as digestOf, hmac } from '../../util/digest.js';
import { b64urlEncode } from '../base64url.js';
import { hashOf, type Cryptosuite } from './cryptosuites.js';

/** The 16 texts after slot 0, each already a JSON value text (use '""' for an absent value). */
export interface MacInputSlots {
  vers: string;
  verp: string;
  peerId: string;
  cryptosuites: string;
  dirs: string;
  serverInfo: string;
  cryptosuitep: string;
  dirp: string;
  nai: string;
  peerInfo: string;
  keyingMode: string;
  pks: string;
  ns: string;
  pkp: string;
  np: string;
  noob: string;
}

/** `[first,vers,verp,...,noob]` with no whitespace added. `first` is Dir for Hoob, 2 for MACs, 1 for MACp. */
export function macInput(first: 1 | 2, s: MacInputSlots): string {
  return `[${first},${s.vers},${s.verp},${s.peerId},${s.cryptosuites},${s.dirs},${s.serverInfo},${s.cryptosuitep},${s.dirp},${s.nai},${s.peerInfo},${s.keyingMode},${s.pks},${s.ns},${s.pkp},${s.np},${s.noob}]`;
}

function digest(suite: Cryptosuite, input: string): Buffer {
  return digestOf(hashOf(suite), [Buffer.from(input, 'utf8')]);
}

/** Hoob = leftmost 16 bytes of H(input with slot 0 = Dir), base64url. */
export function hoob(suite: Cryptosuite, dir: 1 | 2, slots: MacInputSlots): string {
  return b64urlEncode(digest(suite, macInput(dir, slots)).subarray(0, 16));
}

/**
 * How the NoobId hash input is spelled (decision D2): "concat" = "NoobId" || Noob_b64 (authors'
 * code, all deployed peers); "json" = ["NoobId","<Noob_b64>"] (literal RFC text).
 */
export type NoobIdForm = 'concat' | 'json';

export function noobIdInput(noobB64: string, form: NoobIdForm): string {
  return form === 'concat' ? `NoobId${noobB64}` : `["NoobId",${JSON.stringify(noobB64)}]`;
}

/** NoobId = leftmost 16 bytes of H(input), base64url. */
export function noobId(suite: Cryptosuite, noobB64: string, form: NoobIdForm): string {
  return b64urlEncode(digest(suite, noobIdInput(noobB64, form)).subarray(0, 16));
}

/** True when `candidate` is the NoobId of `noobB64` under either spelling (we accept both on receipt). */
export function matchesNoobId(suite: Cryptosuite, noobB64: string, candidate: string): boolean {
  return constantTimeEqualText(noobId(suite, noobB64, 'concat'), candidate) || constantTimeEqualText(noobId(suite, noobB64, 'json'), candidate);
}

/** MACs/MACp/MACs2/MACp2 = leftmost 32 bytes of HMAC-H(key, input), base64url. */
export function mac(suite: Cryptosuite, key: Uint8Array, input: string): string {
  return b64urlEncode(hmac(hashOf(suite), key, [Buffer.from(input, 'utf8')]).subarray(0, 32));
}

/** Compares two ASCII texts (MACs, Hoobs) without leaking where they differ. */
export function constantTimeEqualText(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
