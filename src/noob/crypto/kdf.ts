/**
 * RFC 9140 §3.5: NIST SP 800-56A one-step Concat KDF with the hash of the negotiated cryptosuite,
 *   K(i) = H( uint32_be(i) || Z || FixedInfo ),  OUT = leftmost L bytes of K(1) || K(2) || ...
 *   FixedInfo = "EAP-NOOB" || PartyUInfo || PartyVInfo [|| len8(SuppPrivInfo)] || SuppPrivInfo
 * with PartyUInfo = Np (or Np2), PartyVInfo = Ns (or Ns2), SuppPrivInfo = Noob (Completion),
 * nothing (Reconnect KeyingMode 1) or Kz (KeyingMode 2, 3).
 *
 * The bracketed length byte is decision D1 (see docs/eap-noob.md): the RFC text can be read as
 * requiring it, the authors' code and every deployed peer omit it. `suppPrivLengthByte` selects.
 */
import { DIGEST_LENGTH, digestInto } from '../../util/digest.js';
import type { KeyingMode } from '../messages.js';
import { hashOf, type Cryptosuite } from './cryptosuites.js';

const ALGORITHM_ID = Buffer.from('EAP-NOOB', 'ascii');

export function kdfFixedInfo(np: Uint8Array, ns: Uint8Array, suppPrivInfo: Uint8Array | null, suppPrivLengthByte: boolean): Uint8Array {
  const supp = suppPrivInfo ?? new Uint8Array(0);
  const parts: Uint8Array[] = [ALGORITHM_ID, np, ns];
  if (suppPrivLengthByte) parts.push(Uint8Array.of(supp.length));
  parts.push(supp);
  return new Uint8Array(Buffer.concat(parts));
}

export function concatKdf(suite: Cryptosuite, z: Uint8Array, fixedInfo: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const counter = Buffer.alloc(4);
  const hash = hashOf(suite);
  // Key material: a block in memory of its own, zeroed when done.
  const block = new Uint8Array(DIGEST_LENGTH[hash]);
  let filled = 0;
  for (let i = 1; filled < length; i++) {
    counter.writeUInt32BE(i, 0);
    digestInto(hash, [counter, z, fixedInfo], block);
    out.set(block.subarray(0, Math.min(block.length, length - filled)), filled);
    filled += block.length;
  }
  block.fill(0);
  return out;
}

/** Keys of a Completion Exchange (KeyingMode 0), RFC 9140 Table 3. */
export interface CompletionKeys {
  msk: Uint8Array;
  emsk: Uint8Array;
  amsk: Uint8Array;
  methodId: Uint8Array;
  kms: Uint8Array;
  kmp: Uint8Array;
  kz: Uint8Array;
  fixedInfo: Uint8Array;
  output: Uint8Array;
}

/** Keys of a Reconnect Exchange; `kz` (the new association key) only for KeyingMode 3. */
export interface ReconnectKeys {
  msk: Uint8Array;
  emsk: Uint8Array;
  amsk: Uint8Array;
  methodId: Uint8Array;
  kms2: Uint8Array;
  kmp2: Uint8Array;
  kz?: Uint8Array;
  fixedInfo: Uint8Array;
  output: Uint8Array;
}

function slices(out: Uint8Array) {
  return {
    msk: out.slice(0, 64),
    emsk: out.slice(64, 128),
    amsk: out.slice(128, 192),
    methodId: out.slice(192, 224),
    km1: out.slice(224, 256),
    km2: out.slice(256, 288),
  };
}

export interface CompletionKdfInput {
  suite: Cryptosuite;
  /** ECDHE shared secret of the Initial Exchange. */
  z: Uint8Array;
  np: Uint8Array;
  ns: Uint8Array;
  noob: Uint8Array;
  suppPrivLengthByte: boolean;
}

export function deriveCompletionKeys(i: CompletionKdfInput): CompletionKeys {
  const fixedInfo = kdfFixedInfo(i.np, i.ns, i.noob, i.suppPrivLengthByte);
  const output = concatKdf(i.suite, i.z, fixedInfo, 320);
  const s = slices(output);
  return { msk: s.msk, emsk: s.emsk, amsk: s.amsk, methodId: s.methodId, kms: s.km1, kmp: s.km2, kz: output.slice(288, 320), fixedInfo, output };
}

export interface ReconnectKdfInput {
  keyingMode: KeyingMode;
  /** The suite negotiated in this Reconnect Exchange (the new one for KeyingMode 3). */
  suite: Cryptosuite;
  /** The stored association key (the old one for KeyingMode 3). */
  kz: Uint8Array;
  /** ECDHE secret of this exchange; required for KeyingMode 2 and 3, ignored for 1. */
  z2?: Uint8Array;
  np2: Uint8Array;
  ns2: Uint8Array;
  suppPrivLengthByte: boolean;
}

export function deriveReconnectKeys(i: ReconnectKdfInput): ReconnectKeys {
  const withEcdhe = i.keyingMode !== 1;
  if (withEcdhe && !i.z2) throw new Error(`KeyingMode ${i.keyingMode} needs an ECDHE secret`);
  // Mode 1: Z = Kz and no SuppPrivInfo. Modes 2 and 3: Z = ECDHE secret, SuppPrivInfo = Kz.
  const z = withEcdhe ? i.z2! : i.kz;
  const fixedInfo = kdfFixedInfo(i.np2, i.ns2, withEcdhe ? i.kz : null, i.suppPrivLengthByte);
  const output = concatKdf(i.suite, z, fixedInfo, i.keyingMode === 3 ? 320 : 288);
  const s = slices(output);
  return {
    msk: s.msk,
    emsk: s.emsk,
    amsk: s.amsk,
    methodId: s.methodId,
    kms2: s.km1,
    kmp2: s.km2,
    ...(i.keyingMode === 3 ? { kz: output.slice(288, 320) } : {}),
    fixedInfo,
    output,
  };
}

/** EAP Session-Id (RFC 9140 §3.5): the method Type 0x38 followed by MethodId. */
export function sessionId(methodId: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + methodId.length);
  out[0] = 0x38;
  out.set(methodId, 1);
  return out;
}
