import { TeapTlvError } from './errors.js';

/** Basic-Password-Auth-Req TLV (RFC 9930 §4.2.14): an optional UTF-8 prompt. */
export interface BasicPasswordAuthReqTlv {
  kind: 'basic-password-auth-req';
  mandatory: boolean;
  prompt: Uint8Array;
}

/**
 * Basic-Password-Auth-Resp TLV (RFC 9930 §4.2.15): Userlen(1) Username Passlen(1) Password.
 * Both lengths MUST NOT be zero (RFC 9930; RFC 7170 allowed zero). The password may hold any
 * octet, so both fields stay bytes here; callers decide how to compare them.
 */
export interface BasicPasswordAuthRespTlv {
  kind: 'basic-password-auth-resp';
  mandatory: boolean;
  username: Uint8Array;
  password: Uint8Array;
}

export function decodeBasicPasswordAuthRespValue(value: Uint8Array, mandatory: boolean): BasicPasswordAuthRespTlv {
  if (value.length < 1) throw new TeapTlvError('Basic-Password-Auth-Resp TLV is empty');
  const userLen = value[0]!;
  if (userLen === 0) throw new TeapTlvError('Basic-Password-Auth-Resp Userlen is zero');
  if (1 + userLen + 1 > value.length) throw new TeapTlvError('Basic-Password-Auth-Resp Username overruns the TLV');
  const passLen = value[1 + userLen]!;
  if (passLen === 0) throw new TeapTlvError('Basic-Password-Auth-Resp Passlen is zero');
  if (2 + userLen + passLen !== value.length) {
    throw new TeapTlvError('Basic-Password-Auth-Resp lengths do not match the TLV length');
  }
  return {
    kind: 'basic-password-auth-resp',
    mandatory,
    username: value.slice(1, 1 + userLen),
    password: value.slice(2 + userLen, 2 + userLen + passLen),
  };
}

export function encodeBasicPasswordAuthRespValue(tlv: BasicPasswordAuthRespTlv): Uint8Array {
  const u = tlv.username;
  const p = tlv.password;
  if (u.length < 1 || u.length > 255) throw new TeapTlvError('Basic-Password username must be 1..255 octets');
  if (p.length < 1 || p.length > 255) throw new TeapTlvError('Basic-Password password must be 1..255 octets');
  const out = new Uint8Array(2 + u.length + p.length);
  out[0] = u.length;
  out.set(u, 1);
  out[1 + u.length] = p.length;
  out.set(p, 2 + u.length);
  return out;
}
