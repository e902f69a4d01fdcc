import { AttributeType, TunnelMediumType, TunnelType } from './dictionary.js';
import { RadiusProtocolError } from './errors.js';
import type { RadiusAttribute, RadiusPacket } from './packet.js';
import { saltDecrypt, saltEncrypt } from './salt-encryption.js';
import type { RadiusSecret } from './secret.js';

/*
 * RFC 2868 tagged tunnel attributes, as RFC 3580 §3.31 uses them for VLAN assignment.
 * Tag 0x00 = no tunnel group, 0x01..0x1F = group; all attributes of one tunnel share a tag.
 */

const MAX_TAG = 0x1f;

function checkTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > MAX_TAG) {
    throw new RadiusProtocolError('invalid-argument', `tunnel tag ${tag} outside 0..31`);
  }
}

export interface Tagged<T> {
  tag: number;
  value: T;
}

/** Tunnel-Type / Tunnel-Medium-Type: the Tag octet is always present, then 24 bits. */
export function encodeTaggedInteger(tag: number, value: number): Uint8Array {
  checkTag(tag);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffff) {
    throw new RadiusProtocolError('invalid-argument', `tagged integer ${value} does not fit 24 bits`);
  }
  return Uint8Array.of(tag, value >> 16, (value >> 8) & 0xff, value & 0xff);
}

export function decodeTaggedInteger(value: Uint8Array): Tagged<number> {
  if (value.length !== 4) {
    throw new RadiusProtocolError('bad-value', `tagged integer has ${value.length} octets, must be 4`);
  }
  return { tag: value[0]!, value: (value[1]! << 16) | (value[2]! << 8) | value[3]! };
}

/**
 * Always writes the Tag octet, even 0x00: without it a string starting with a byte <= 0x1F
 * would be misread as tagged (spec §9 recommendation).
 */
export function encodeTaggedString(tag: number, text: string | Uint8Array): Uint8Array {
  checkTag(tag);
  const body = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const out = new Uint8Array(1 + body.length);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

/** A first octet <= 0x1F is a tag (hostapd treats 0x00 the same way); otherwise untagged. */
export function decodeTaggedString(value: Uint8Array): Tagged<Uint8Array> {
  if (value.length > 0 && value[0]! <= MAX_TAG) {
    return { tag: value[0]!, value: value.slice(1) };
  }
  return { tag: 0, value: value.slice() };
}

/** The three RFC 3580 attributes that put a session into VLAN `vlan` (an id or a VLAN name). */
export function vlanAttributes(vlan: number | string, tag = 0): RadiusAttribute[] {
  if (typeof vlan === 'number' && (!Number.isInteger(vlan) || vlan < 1 || vlan > 4094)) {
    throw new RadiusProtocolError('invalid-argument', `VLAN id ${vlan} outside 1..4094`);
  }
  return [
    { type: AttributeType.TunnelType, value: encodeTaggedInteger(tag, TunnelType.Vlan) },
    { type: AttributeType.TunnelMediumType, value: encodeTaggedInteger(tag, TunnelMediumType.Ieee802) },
    { type: AttributeType.TunnelPrivateGroupId, value: encodeTaggedString(tag, String(vlan)) },
  ];
}

export interface TunnelVlan {
  tag: number;
  /** Tunnel-Private-Group-ID text: a VLAN id in decimal or a VLAN name. */
  groupId: string;
  /** Set when groupId is a decimal id in 1..4094. */
  vlanId?: number;
}

/**
 * The VLAN assigned by a reply: the lowest tag whose Tunnel-Type is VLAN, Tunnel-Medium-Type is
 * IEEE-802 and which has a Tunnel-Private-Group-ID. Attributes with mismatched tags do not
 * combine (hostapd radius_msg_get_vlanid behaviour). Malformed tunnel attributes are skipped.
 */
export function getVlan(p: RadiusPacket): TunnelVlan | undefined {
  const types = new Map<number, number>();
  const media = new Map<number, number>();
  const groups = new Map<number, Uint8Array>();
  for (const a of p.attributes) {
    if (a.type === AttributeType.TunnelType && a.value.length === 4) {
      const t = decodeTaggedInteger(a.value);
      if (!types.has(t.tag)) types.set(t.tag, t.value);
    } else if (a.type === AttributeType.TunnelMediumType && a.value.length === 4) {
      const t = decodeTaggedInteger(a.value);
      if (!media.has(t.tag)) media.set(t.tag, t.value);
    } else if (a.type === AttributeType.TunnelPrivateGroupId) {
      const t = decodeTaggedString(a.value);
      if (!groups.has(t.tag)) groups.set(t.tag, t.value);
    }
  }
  for (let tag = 0; tag <= MAX_TAG; tag++) {
    const group = groups.get(tag);
    if (types.get(tag) !== TunnelType.Vlan || media.get(tag) !== TunnelMediumType.Ieee802 || group === undefined) continue;
    const groupId = new TextDecoder().decode(group);
    const result: TunnelVlan = { tag, groupId };
    if (/^[0-9]{1,4}$/.test(groupId)) {
      const id = Number(groupId);
      if (id >= 1 && id <= 4094) result.vlanId = id;
    }
    return result;
  }
  return undefined;
}

/** Tunnel-Password (RFC 2868 §3.5): Tag ‖ Salt ‖ salted MD5 stream of the password. */
export function encodeTunnelPassword(password: string | Uint8Array, tag: number, secret: RadiusSecret, requestAuthenticator: Uint8Array, salt: Uint8Array): Uint8Array {
  checkTag(tag);
  const body = typeof password === 'string' ? new TextEncoder().encode(password) : password;
  const encrypted = saltEncrypt(body, secret, requestAuthenticator, salt);
  const out = new Uint8Array(1 + encrypted.length);
  out[0] = tag;
  out.set(encrypted, 1);
  return out;
}

export function decodeTunnelPassword(value: Uint8Array, secret: RadiusSecret, requestAuthenticator: Uint8Array): Tagged<Uint8Array> {
  if (value.length < 1) throw new RadiusProtocolError('bad-value', 'empty Tunnel-Password');
  return { tag: value[0]!, value: saltDecrypt(value.subarray(1), secret, requestAuthenticator) };
}
