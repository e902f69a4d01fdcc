import { timingSafeEqual } from 'node:crypto';
import { randomOctets } from '../../util/random-octets.js';
import { TeapError, TeapErrorCode } from './errors.js';
import {
  COMPOUND_MAC_LENGTH,
  CRYPTO_BINDING_NONCE_LENGTH,
  CryptoBindingFlags,
  CryptoBindingSubType,
  type CryptoBindingTlv,
} from './crypto-binding-tlv.js';
import { encodeTeapTlv } from './tlv-codec.js';
import { EAP_TYPE_TEAP } from './outer-framing.js';
import type { CompoundMacKeys } from './compound-key-chain.js';
import type { TeapKeySchedule } from './key-schedule.js';

/** What both ends feed into every Compound-MAC besides the TLV itself (RFC 9930 §6.3). */
export interface CryptoBindingContext {
  ks: TeapKeySchedule;
  /** TEAP version this side sent in version negotiation (checked against Received-Ver). */
  versionSent: number;
  /** TEAP version this side received (written into Received-Ver). */
  versionReceived: number;
  /** Outer TLVs of the server's first message, as full TLVs (not the length field). */
  serverOuterTlvs: Uint8Array;
  /** Outer TLVs of the peer's first message (usually empty). */
  peerOuterTlvs: Uint8Array;
}

const ZERO_MAC = new Uint8Array(COMPOUND_MAC_LENGTH);

/**
 * BUFFER = Crypto-Binding TLV as sent with both MAC fields zeroed ‖ 0x37 ‖ server Outer TLVs ‖
 * peer Outer TLVs (RFC 9930 §6.3; the EAP-type octet fixed by erratum 5768).
 */
export function compoundMacBuffer(cb: CryptoBindingTlv, ctx: Pick<CryptoBindingContext, 'serverOuterTlvs' | 'peerOuterTlvs'>): Uint8Array {
  const tlvBytes = encodeTeapTlv({ ...cb, emskCompoundMac: ZERO_MAC, mskCompoundMac: ZERO_MAC });
  const out = new Uint8Array(tlvBytes.length + 1 + ctx.serverOuterTlvs.length + ctx.peerOuterTlvs.length);
  out.set(tlvBytes, 0);
  out[tlvBytes.length] = EAP_TYPE_TEAP;
  out.set(ctx.serverOuterTlvs, tlvBytes.length + 1);
  out.set(ctx.peerOuterTlvs, tlvBytes.length + 1 + ctx.serverOuterTlvs.length);
  return out;
}

/** A fresh request nonce: 32 random octets with the least significant bit cleared (RFC 9930 §4.2.13). */
export function newRequestNonce(): Uint8Array {
  const n = randomOctets(CRYPTO_BINDING_NONCE_LENGTH);
  n[CRYPTO_BINDING_NONCE_LENGTH - 1]! &= 0xfe;
  return n;
}

function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function withMacs(cb: CryptoBindingTlv, ctx: CryptoBindingContext, cmk: CompoundMacKeys): CryptoBindingTlv {
  const buffer = compoundMacBuffer(cb, ctx);
  const emsk = cb.flags & CryptoBindingFlags.Emsk;
  const msk = cb.flags & CryptoBindingFlags.Msk;
  return {
    ...cb,
    emskCompoundMac: emsk ? ctx.ks.compoundMac(cmk.emsk!, buffer) : ZERO_MAC.slice(),
    mskCompoundMac: msk ? ctx.ks.compoundMac(cmk.msk, buffer) : ZERO_MAC.slice(),
  };
}

export interface CryptoBindingRequestOptions {
  /** Include the EMSK Compound-MAC when `cmk.emsk` exists (compat `emskCompoundMac`). */
  emskMac: boolean;
  /** Include the MSK Compound-MAC (false only for an "EMSK MACs only" policy). */
  mskMac?: boolean;
  nonce?: Uint8Array;
}

/** Server: the Binding Request after inner method n (RFC 9930 §6.2.4 sender rules). */
export function buildCryptoBindingRequest(ctx: CryptoBindingContext, cmk: CompoundMacKeys, opts: CryptoBindingRequestOptions): CryptoBindingTlv {
  const emsk = opts.emskMac && cmk.emsk !== undefined;
  const msk = opts.mskMac !== false || !emsk;
  const flags = (emsk ? CryptoBindingFlags.Emsk : 0) | (msk ? CryptoBindingFlags.Msk : 0);
  const cb: CryptoBindingTlv = {
    kind: 'crypto-binding',
    mandatory: true,
    reserved: 0,
    version: 1,
    receivedVersion: ctx.versionReceived,
    flags,
    subType: CryptoBindingSubType.Request,
    nonce: opts.nonce ?? newRequestNonce(),
    emskCompoundMac: ZERO_MAC,
    mskCompoundMac: ZERO_MAC,
  };
  return withMacs(cb, ctx, cmk);
}

function checkHeader(cb: CryptoBindingTlv, ctx: CryptoBindingContext, subType: number): void {
  if (cb.version !== 1) throw new TeapError(TeapErrorCode.CryptoBindingInvalid, `Crypto-Binding Version ${cb.version}`);
  if (cb.receivedVersion !== ctx.versionSent) {
    throw new TeapError(TeapErrorCode.CryptoBindingInvalid, `Crypto-Binding Received-Ver ${cb.receivedVersion}, we sent version ${ctx.versionSent}`);
  }
  if (cb.subType !== subType) throw new TeapError(TeapErrorCode.CryptoBindingInvalid, `Crypto-Binding Sub-Type ${cb.subType}, expected ${subType}`);
  if (cb.flags < 1 || cb.flags > 3) throw new TeapError(TeapErrorCode.CryptoBindingInvalid, `Crypto-Binding Flags ${cb.flags}`);
}

export interface CryptoBindingVerification {
  /** The checked TLV carried a verified EMSK Compound-MAC (selects the EMSK chain under RFC 9930). */
  emskMacVerified: boolean;
}

/**
 * Server: validates the peer's Binding Response (RFC 9930 §4.2.13 checks, §6.2.4 receiver rules).
 * Throws TeapError with 2001/2003/2005-2009.
 */
export function verifyCryptoBindingResponse(
  ctx: CryptoBindingContext,
  request: CryptoBindingTlv,
  response: CryptoBindingTlv,
  cmk: CompoundMacKeys,
  policy: { requireEmskMac?: boolean } = {},
): CryptoBindingVerification {
  checkHeader(response, ctx, CryptoBindingSubType.Response);
  const expected = request.nonce.slice();
  expected[CRYPTO_BINDING_NONCE_LENGTH - 1]! |= 0x01;
  if (!macEqual(expected, response.nonce)) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'Crypto-Binding response nonce does not match the request nonce + 1');
  const buffer = compoundMacBuffer(response, ctx);
  let emskMacVerified = false;
  if (response.flags & CryptoBindingFlags.Emsk) {
    if (!cmk.emsk) throw new TeapError(TeapErrorCode.EmskCompoundMacWithoutEmsk, 'peer sent an EMSK Compound-MAC but the inner method exported no EMSK');
    if (!macEqual(ctx.ks.compoundMac(cmk.emsk, buffer), response.emskCompoundMac)) {
      throw new TeapError(TeapErrorCode.EmskCompoundMacInvalid, 'EMSK Compound-MAC of the peer does not verify');
    }
    emskMacVerified = true;
  } else if (policy.requireEmskMac && cmk.emsk) {
    throw new TeapError(TeapErrorCode.EmskCompoundMacMissing, 'peer omitted the required EMSK Compound-MAC');
  }
  if (response.flags & CryptoBindingFlags.Msk) {
    if (!macEqual(ctx.ks.compoundMac(cmk.msk, buffer), response.mskCompoundMac)) {
      throw new TeapError(TeapErrorCode.MskCompoundMacInvalid, 'MSK Compound-MAC of the peer does not verify');
    }
  } else if (!emskMacVerified) {
    throw new TeapError(TeapErrorCode.MskCompoundMacMissing, 'peer Crypto-Binding lacks the MSK Compound-MAC');
  }
  return { emskMacVerified };
}

/**
 * Peer: validates the server's Binding Request. An EMSK MAC the peer cannot compute (no inner
 * EMSK) is not checked (RFC 9930 §6.2.4); Flags=1 without an EMSK leaves nothing to check (2005).
 */
export function verifyCryptoBindingRequest(ctx: CryptoBindingContext, request: CryptoBindingTlv, cmk: CompoundMacKeys): CryptoBindingVerification {
  checkHeader(request, ctx, CryptoBindingSubType.Request);
  if ((request.nonce[CRYPTO_BINDING_NONCE_LENGTH - 1]! & 1) !== 0) {
    throw new TeapError(TeapErrorCode.CryptoBindingInvalid, 'Crypto-Binding request nonce has its least significant bit set');
  }
  const buffer = compoundMacBuffer(request, ctx);
  let emskMacVerified = false;
  if (request.flags & CryptoBindingFlags.Emsk && cmk.emsk) {
    if (!macEqual(ctx.ks.compoundMac(cmk.emsk, buffer), request.emskCompoundMac)) {
      throw new TeapError(TeapErrorCode.EmskCompoundMacInvalid, 'EMSK Compound-MAC of the server does not verify');
    }
    emskMacVerified = true;
  }
  if (request.flags & CryptoBindingFlags.Msk) {
    if (!macEqual(ctx.ks.compoundMac(cmk.msk, buffer), request.mskCompoundMac)) {
      throw new TeapError(TeapErrorCode.MskCompoundMacInvalid, 'MSK Compound-MAC of the server does not verify');
    }
  } else if (!emskMacVerified) {
    throw new TeapError(TeapErrorCode.MskCompoundMacMissing, 'server Crypto-Binding has no MAC this peer can verify');
  }
  return { emskMacVerified };
}

/** True when the server's MSK Compound-MAC verifies with `cmk` (used to detect the MSCHAPv2 key order). */
export function requestMskMacMatches(ctx: CryptoBindingContext, request: CryptoBindingTlv, cmk: CompoundMacKeys): boolean {
  if (!(request.flags & CryptoBindingFlags.Msk)) return false;
  return macEqual(ctx.ks.compoundMac(cmk.msk, compoundMacBuffer(request, ctx)), request.mskCompoundMac);
}

/**
 * Peer: the Binding Response. MSK MAC when the server sent one; EMSK MAC when the peer has an
 * EMSK and the server sent one (hostapd 2.10 peer behaviour; RFC 9930 lets a peer add it anyway).
 */
export function buildCryptoBindingResponse(ctx: CryptoBindingContext, request: CryptoBindingTlv, cmk: CompoundMacKeys): CryptoBindingTlv {
  const emsk = (request.flags & CryptoBindingFlags.Emsk) !== 0 && cmk.emsk !== undefined;
  const msk = (request.flags & CryptoBindingFlags.Msk) !== 0 || !emsk;
  const nonce = request.nonce.slice();
  nonce[CRYPTO_BINDING_NONCE_LENGTH - 1]! |= 0x01;
  const cb: CryptoBindingTlv = {
    kind: 'crypto-binding',
    mandatory: true,
    reserved: 0,
    version: 1,
    receivedVersion: ctx.versionReceived,
    flags: (emsk ? CryptoBindingFlags.Emsk : 0) | (msk ? CryptoBindingFlags.Msk : 0),
    subType: CryptoBindingSubType.Response,
    nonce,
    emskCompoundMac: ZERO_MAC,
    mskCompoundMac: ZERO_MAC,
  };
  return withMacs(cb, ctx, cmk);
}
