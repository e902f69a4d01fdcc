import { TeapTlvError } from './errors.js';
import { concatBytes } from '../../util/bytes.js';
import { decodeRawTlvs, encodeRawTlv, type RawTlv } from './raw-tlv.js';
import { decodeCryptoBindingValue, encodeCryptoBindingValue, type CryptoBindingTlv } from './crypto-binding-tlv.js';
import {
  decodeBasicPasswordAuthRespValue,
  encodeBasicPasswordAuthRespValue,
  type BasicPasswordAuthReqTlv,
  type BasicPasswordAuthRespTlv,
} from './basic-password-tlv.js';
import { decodeVendorSpecificValue, encodeVendorSpecificValue, type VendorSpecificTlv } from './vendor-specific-tlv.js';

export type { RawTlv } from './raw-tlv.js';
export type { CryptoBindingTlv } from './crypto-binding-tlv.js';
export type { BasicPasswordAuthReqTlv, BasicPasswordAuthRespTlv } from './basic-password-tlv.js';
export type { VendorSpecificTlv } from './vendor-specific-tlv.js';

/** TLV Type numbers (RFC 9930 §4.2.1, IANA "TEAP TLV Types"). */
export const TlvType = {
  AuthorityId: 1,
  IdentityType: 2,
  Result: 3,
  Nak: 4,
  Error: 5,
  ChannelBinding: 6,
  VendorSpecific: 7,
  RequestAction: 8,
  EapPayload: 9,
  IntermediateResult: 10,
  Pac: 11,
  CryptoBinding: 12,
  BasicPasswordAuthReq: 13,
  BasicPasswordAuthResp: 14,
  Pkcs7: 15,
  Pkcs10: 16,
  TrustedServerRoot: 17,
  CsrAttributes: 18,
  IdentityHint: 19,
} as const;

/** Identity-Type values (RFC 9930 §4.2.3). */
export const IdentityType = { User: 1, Machine: 2 } as const;
/** Status values of Result and Intermediate-Result (RFC 9930 §4.2.4, §4.2.11), also Request-Action's. */
export const ResultStatus = { Success: 1, Failure: 2 } as const;
/** Request-Action Action values (RFC 9930 §4.2.9). */
export const RequestActionAction = { ProcessTlv: 1, NegotiateEap: 2 } as const;
/** Trusted-Server-Root Credential-Format values (RFC 9930 §4.2.18). */
export const CredentialFormat = { Pkcs7ServerCertificateRoot: 1 } as const;

export interface AuthorityIdTlv { kind: 'authority-id'; mandatory: boolean; id: Uint8Array }
export interface IdentityTypeTlv { kind: 'identity-type'; mandatory: boolean; identityType: number }
export interface ResultTlv { kind: 'result'; mandatory: boolean; status: number }
export interface NakTlv { kind: 'nak'; mandatory: boolean; vendorId: number; nakType: number; tlvs: TeapTlv[] }
export interface ErrorTlv { kind: 'error'; mandatory: boolean; code: number }
export interface ChannelBindingTlv { kind: 'channel-binding'; mandatory: boolean; data: Uint8Array }
export interface RequestActionTlv { kind: 'request-action'; mandatory: boolean; status: number; action: number; tlvs: TeapTlv[] }
/** `eap` is the complete inner EAP packet; its own Length field delimits it from the trailing TLVs. */
export interface EapPayloadTlv { kind: 'eap-payload'; mandatory: boolean; eap: Uint8Array; tlvs: TeapTlv[] }
export interface IntermediateResultTlv { kind: 'intermediate-result'; mandatory: boolean; status: number; tlvs: TeapTlv[] }
/** PAC TLV: deprecated by RFC 9930 §4.2.12; kept opaque so that it can be recognised and refused. */
export interface PacTlv { kind: 'pac'; mandatory: boolean; data: Uint8Array }
export interface Pkcs7Tlv { kind: 'pkcs7'; mandatory: boolean; der: Uint8Array }
export interface Pkcs10Tlv { kind: 'pkcs10'; mandatory: boolean; der: Uint8Array }
export interface TrustedServerRootTlv { kind: 'trusted-server-root'; mandatory: boolean; credentialFormat: number; tlvs: TeapTlv[] }
export interface CsrAttributesTlv { kind: 'csr-attributes'; mandatory: boolean; der: Uint8Array }
export interface IdentityHintTlv { kind: 'identity-hint'; mandatory: boolean; identity: Uint8Array }
/** A TLV type this codec does not know (20..16383, or 0). Its M bit decides NAK vs ignore. */
export interface UnknownTlv { kind: 'unknown'; mandatory: boolean; type: number; value: Uint8Array }

export type TeapTlv =
  | AuthorityIdTlv
  | IdentityTypeTlv
  | ResultTlv
  | NakTlv
  | ErrorTlv
  | ChannelBindingTlv
  | VendorSpecificTlv
  | RequestActionTlv
  | EapPayloadTlv
  | IntermediateResultTlv
  | PacTlv
  | CryptoBindingTlv
  | BasicPasswordAuthReqTlv
  | BasicPasswordAuthRespTlv
  | Pkcs7Tlv
  | Pkcs10Tlv
  | TrustedServerRootTlv
  | CsrAttributesTlv
  | IdentityHintTlv
  | UnknownTlv;

export type TeapTlvKind = TeapTlv['kind'];

const KIND_TYPE: Record<Exclude<TeapTlvKind, 'unknown'>, number> = {
  'authority-id': TlvType.AuthorityId,
  'identity-type': TlvType.IdentityType,
  result: TlvType.Result,
  nak: TlvType.Nak,
  error: TlvType.Error,
  'channel-binding': TlvType.ChannelBinding,
  'vendor-specific': TlvType.VendorSpecific,
  'request-action': TlvType.RequestAction,
  'eap-payload': TlvType.EapPayload,
  'intermediate-result': TlvType.IntermediateResult,
  pac: TlvType.Pac,
  'crypto-binding': TlvType.CryptoBinding,
  'basic-password-auth-req': TlvType.BasicPasswordAuthReq,
  'basic-password-auth-resp': TlvType.BasicPasswordAuthResp,
  pkcs7: TlvType.Pkcs7,
  pkcs10: TlvType.Pkcs10,
  'trusted-server-root': TlvType.TrustedServerRoot,
  'csr-attributes': TlvType.CsrAttributes,
  'identity-hint': TlvType.IdentityHint,
};

/** The wire TLV Type of a decoded TLV (for NAK-Type and logs). */
export function tlvTypeOf(tlv: TeapTlv): number {
  return tlv.kind === 'unknown' ? tlv.type : KIND_TYPE[tlv.kind];
}

/** Nested TLVs (NAK, EAP-Payload, Intermediate-Result, Request-Action, Trusted-Server-Root) deeper than this are junk. */
export const MAX_TLV_NESTING = 4;

function u16(v: Uint8Array, off: number): number {
  return (v[off]! << 8) | v[off + 1]!;
}
function u32(v: Uint8Array, off: number): number {
  return ((v[off]! << 24) | (v[off + 1]! << 16) | (v[off + 2]! << 8) | v[off + 3]!) >>> 0;
}
function exactLength(name: string, v: Uint8Array, n: number): void {
  if (v.length !== n) throw new TeapTlvError(`${name} TLV length ${v.length}, expected ${n}`);
}
function minLength(name: string, v: Uint8Array, n: number): void {
  if (v.length < n) throw new TeapTlvError(`${name} TLV length ${v.length} < ${n}`);
}

function decodeOne(raw: RawTlv, depth: number): TeapTlv {
  const v = raw.value;
  const m = raw.mandatory;
  const nested = (bytes: Uint8Array): TeapTlv[] => {
    if (depth + 1 > MAX_TLV_NESTING) throw new TeapTlvError(`TLVs nested deeper than ${MAX_TLV_NESTING}`);
    return decodeRawTlvs(bytes).map((r) => decodeOne(r, depth + 1));
  };
  switch (raw.type) {
    case TlvType.AuthorityId:
      return { kind: 'authority-id', mandatory: m, id: v.slice() };
    case TlvType.IdentityType:
      exactLength('Identity-Type', v, 2);
      return { kind: 'identity-type', mandatory: m, identityType: u16(v, 0) };
    case TlvType.Result:
      exactLength('Result', v, 2);
      return { kind: 'result', mandatory: m, status: u16(v, 0) };
    case TlvType.Nak:
      minLength('NAK', v, 6);
      return { kind: 'nak', mandatory: m, vendorId: u32(v, 0), nakType: u16(v, 4), tlvs: nested(v.subarray(6)) };
    case TlvType.Error:
      exactLength('Error', v, 4);
      return { kind: 'error', mandatory: m, code: u32(v, 0) };
    case TlvType.ChannelBinding:
      return { kind: 'channel-binding', mandatory: m, data: v.slice() };
    case TlvType.VendorSpecific:
      return decodeVendorSpecificValue(v, m);
    case TlvType.RequestAction:
      minLength('Request-Action', v, 2);
      return { kind: 'request-action', mandatory: m, status: v[0]!, action: v[1]!, tlvs: nested(v.subarray(2)) };
    case TlvType.EapPayload: {
      minLength('EAP-Payload', v, 4);
      const eapLength = u16(v, 2);
      if (eapLength < 4) throw new TeapTlvError(`EAP-Payload inner EAP Length ${eapLength} < 4`);
      if (eapLength > v.length) throw new TeapTlvError(`EAP-Payload inner EAP Length ${eapLength} overruns the TLV (${v.length})`);
      return { kind: 'eap-payload', mandatory: m, eap: v.slice(0, eapLength), tlvs: nested(v.subarray(eapLength)) };
    }
    case TlvType.IntermediateResult:
      minLength('Intermediate-Result', v, 2);
      return { kind: 'intermediate-result', mandatory: m, status: u16(v, 0), tlvs: nested(v.subarray(2)) };
    case TlvType.Pac:
      return { kind: 'pac', mandatory: m, data: v.slice() };
    case TlvType.CryptoBinding:
      return decodeCryptoBindingValue(v, m);
    case TlvType.BasicPasswordAuthReq:
      return { kind: 'basic-password-auth-req', mandatory: m, prompt: v.slice() };
    case TlvType.BasicPasswordAuthResp:
      return decodeBasicPasswordAuthRespValue(v, m);
    case TlvType.Pkcs7:
      return { kind: 'pkcs7', mandatory: m, der: v.slice() };
    case TlvType.Pkcs10:
      return { kind: 'pkcs10', mandatory: m, der: v.slice() };
    case TlvType.TrustedServerRoot:
      minLength('Trusted-Server-Root', v, 2);
      return { kind: 'trusted-server-root', mandatory: m, credentialFormat: u16(v, 0), tlvs: nested(v.subarray(2)) };
    case TlvType.CsrAttributes:
      minLength('CSR-Attributes', v, 2);
      return { kind: 'csr-attributes', mandatory: m, der: v.slice() };
    case TlvType.IdentityHint:
      minLength('Identity-Hint', v, 2);
      return { kind: 'identity-hint', mandatory: m, identity: v.slice() };
    default:
      return { kind: 'unknown', mandatory: m, type: raw.type, value: v.slice() };
  }
}

/**
 * Decodes the TLVs of one message (Phase-2 plaintext, Outer TLVs, or nested TLVs).
 * Throws only `TeapTlvError` (code 2002) on junk: overrunning lengths, wrong fixed lengths, too many
 * TLVs, too deep nesting. Unknown types come back as `kind: 'unknown'` for the M-bit rules.
 */
export function decodeTeapTlvs(buf: Uint8Array): TeapTlv[] {
  return decodeRawTlvs(buf).map((r) => decodeOne(r, 0));
}

function be16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}
function be32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
function checkUint(name: string, n: number, bits: 8 | 16 | 32): void {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** bits - 1) throw new TeapTlvError(`${name} ${n} does not fit ${bits} bits`);
}

function encodeValue(tlv: TeapTlv): Uint8Array {
  switch (tlv.kind) {
    case 'authority-id':
      return tlv.id;
    case 'identity-type':
      checkUint('Identity-Type', tlv.identityType, 16);
      return be16(tlv.identityType);
    case 'result':
      checkUint('Result Status', tlv.status, 16);
      return be16(tlv.status);
    case 'nak':
      checkUint('NAK Vendor-Id', tlv.vendorId, 32);
      checkUint('NAK-Type', tlv.nakType, 16);
      return concatBytes([be32(tlv.vendorId), be16(tlv.nakType), encodeTeapTlvs(tlv.tlvs)]);
    case 'error':
      checkUint('Error-Code', tlv.code, 32);
      return be32(tlv.code);
    case 'channel-binding':
      return tlv.data;
    case 'vendor-specific':
      return encodeVendorSpecificValue(tlv);
    case 'request-action':
      checkUint('Request-Action Status', tlv.status, 8);
      checkUint('Request-Action Action', tlv.action, 8);
      return concatBytes([Uint8Array.of(tlv.status, tlv.action), encodeTeapTlvs(tlv.tlvs)]);
    case 'eap-payload': {
      if (tlv.eap.length < 4 || u16(tlv.eap, 2) !== tlv.eap.length) {
        throw new TeapTlvError('EAP-Payload must hold one complete EAP packet whose Length matches');
      }
      return concatBytes([tlv.eap, encodeTeapTlvs(tlv.tlvs)]);
    }
    case 'intermediate-result':
      checkUint('Intermediate-Result Status', tlv.status, 16);
      return concatBytes([be16(tlv.status), encodeTeapTlvs(tlv.tlvs)]);
    case 'pac':
      return tlv.data;
    case 'crypto-binding':
      return encodeCryptoBindingValue(tlv);
    case 'basic-password-auth-req':
      return tlv.prompt;
    case 'basic-password-auth-resp':
      return encodeBasicPasswordAuthRespValue(tlv);
    case 'pkcs7':
    case 'pkcs10':
    case 'csr-attributes':
      return tlv.der;
    case 'trusted-server-root':
      checkUint('Credential-Format', tlv.credentialFormat, 16);
      return concatBytes([be16(tlv.credentialFormat), encodeTeapTlvs(tlv.tlvs)]);
    case 'identity-hint':
      return tlv.identity;
    case 'unknown':
      return tlv.value;
  }
}

export function encodeTeapTlv(tlv: TeapTlv): Uint8Array {
  return encodeRawTlv({ type: tlvTypeOf(tlv), mandatory: tlv.mandatory, value: encodeValue(tlv) });
}

export function encodeTeapTlvs(tlvs: readonly TeapTlv[]): Uint8Array {
  return concatBytes(tlvs.map(encodeTeapTlv));
}

// ---- constructors with the M bits RFC 9930 assigns (§4.2.x "M" fields) ----

export const tlv = {
  authorityId: (id: Uint8Array): AuthorityIdTlv => ({ kind: 'authority-id', mandatory: false, id }),
  identityType: (identityType: number): IdentityTypeTlv => ({ kind: 'identity-type', mandatory: true, identityType }),
  result: (status: number): ResultTlv => ({ kind: 'result', mandatory: true, status }),
  nak: (nakType: number, vendorId = 0): NakTlv => ({ kind: 'nak', mandatory: true, vendorId, nakType, tlvs: [] }),
  error: (code: number): ErrorTlv => ({ kind: 'error', mandatory: true, code }),
  eapPayload: (eap: Uint8Array): EapPayloadTlv => ({ kind: 'eap-payload', mandatory: true, eap, tlvs: [] }),
  intermediateResult: (status: number): IntermediateResultTlv => ({ kind: 'intermediate-result', mandatory: true, status, tlvs: [] }),
  basicPasswordAuthReq: (prompt: Uint8Array): BasicPasswordAuthReqTlv => ({ kind: 'basic-password-auth-req', mandatory: true, prompt }),
  basicPasswordAuthResp: (username: Uint8Array, password: Uint8Array): BasicPasswordAuthRespTlv => ({
    kind: 'basic-password-auth-resp', mandatory: true, username, password,
  }),
  requestAction: (status: number, action: number, tlvs: TeapTlv[] = []): RequestActionTlv => ({
    kind: 'request-action', mandatory: true, status, action, tlvs,
  }),
  identityHint: (identity: Uint8Array): IdentityHintTlv => ({ kind: 'identity-hint', mandatory: false, identity }),
} as const;
