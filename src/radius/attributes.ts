import { RadiusProtocolError } from './errors.js';
import { AttributeType } from './dictionary.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip.js';
import { RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH, getAttribute, getAttributes, type RadiusAttribute, type RadiusPacket } from './packet.js';

/*
 * Value codecs for the RFC 2865 data types, Vendor-Specific containers and EAP-Message
 * fragmentation. Decoders throw RadiusProtocolError('bad-value') so a malformed attribute in a
 * received packet is handled like any other malformed input.
 */

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

export function encodeString(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Invalid UTF-8 becomes U+FFFD rather than failing: strings are for logs and policy lookups. */
export function decodeString(value: Uint8Array): string {
  return utf8Decoder.decode(value);
}

export function encodeInteger(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RadiusProtocolError('invalid-argument', `integer attribute value ${n} is not a 32-bit unsigned integer`);
  }
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function decodeInteger(value: Uint8Array): number {
  if (value.length !== 4) {
    throw new RadiusProtocolError('bad-value', `integer attribute has ${value.length} octets, must be 4`);
  }
  return ((value[0]! << 24) >>> 0) + ((value[1]! << 16) | (value[2]! << 8) | value[3]!);
}

export function encodeIpv4(address: string): Uint8Array {
  const bytes = parseIpv4(address);
  if (!bytes) throw new RadiusProtocolError('invalid-argument', `not an IPv4 address: ${address}`);
  return bytes;
}

export function decodeIpv4(value: Uint8Array): string {
  if (value.length !== 4) {
    throw new RadiusProtocolError('bad-value', `ipaddr attribute has ${value.length} octets, must be 4`);
  }
  return formatIpv4(value);
}

export function encodeIpv6(address: string): Uint8Array {
  const bytes = parseIpv6(address);
  if (!bytes) throw new RadiusProtocolError('invalid-argument', `not an IPv6 address: ${address}`);
  return bytes;
}

export function decodeIpv6(value: Uint8Array): string {
  if (value.length !== 16) {
    throw new RadiusProtocolError('bad-value', `ipv6addr attribute has ${value.length} octets, must be 16`);
  }
  return formatIpv6(value);
}

export function stringAttribute(type: number, text: string): RadiusAttribute {
  return { type, value: encodeString(text) };
}

export function integerAttribute(type: number, n: number): RadiusAttribute {
  return { type, value: encodeInteger(n) };
}

export function ipv4Attribute(type: number, address: string): RadiusAttribute {
  return { type, value: encodeIpv4(address) };
}

export function ipv6Attribute(type: number, address: string): RadiusAttribute {
  return { type, value: encodeIpv6(address) };
}

export function getStringAttribute(p: RadiusPacket, type: number): string | undefined {
  const value = getAttribute(p, type);
  return value === undefined ? undefined : decodeString(value);
}

export function getIntegerAttribute(p: RadiusPacket, type: number): number | undefined {
  const value = getAttribute(p, type);
  return value === undefined ? undefined : decodeInteger(value);
}

export function getIpv4Attribute(p: RadiusPacket, type: number): string | undefined {
  const value = getAttribute(p, type);
  return value === undefined ? undefined : decodeIpv4(value);
}

export function getIpv6Attribute(p: RadiusPacket, type: number): string | undefined {
  const value = getAttribute(p, type);
  return value === undefined ? undefined : decodeIpv6(value);
}

// ---------------------------------------------------------------------------------------------
// Vendor-Specific (26): Vendor-Id(4) followed, in the RFC 2865 §5.26 recommended format, by
// sub-attributes Vendor-Type(1) Vendor-Length(1, includes both octets) Value.

export interface VendorAttribute {
  vendorType: number;
  value: Uint8Array;
}

export interface VendorSpecific {
  vendorId: number;
  attributes: VendorAttribute[];
}

const VSA_VENDOR_ID_LENGTH = 4;

export function encodeVendorSpecific(vendorId: number, attributes: readonly VendorAttribute[]): RadiusAttribute {
  if (!Number.isInteger(vendorId) || vendorId < 0 || vendorId > 0xffffffff) {
    throw new RadiusProtocolError('invalid-argument', `vendor id ${vendorId} is not a 32-bit unsigned integer`);
  }
  let length = VSA_VENDOR_ID_LENGTH;
  for (const a of attributes) {
    if (!Number.isInteger(a.vendorType) || a.vendorType < 0 || a.vendorType > 255) {
      throw new RadiusProtocolError('invalid-argument', `vendor type ${a.vendorType} is not an octet`);
    }
    length += 2 + a.value.length;
  }
  if (length > RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH) {
    throw new RadiusProtocolError('attribute-too-long', `Vendor-Specific value would be ${length} octets, max ${RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH}`);
  }
  const value = new Uint8Array(length);
  value.set(encodeInteger(vendorId), 0);
  let offset = VSA_VENDOR_ID_LENGTH;
  for (const a of attributes) {
    value[offset] = a.vendorType;
    value[offset + 1] = a.value.length + 2;
    value.set(a.value, offset + 2);
    offset += 2 + a.value.length;
  }
  return { type: AttributeType.VendorSpecific, value };
}

export function decodeVendorId(value: Uint8Array): number {
  if (value.length < VSA_VENDOR_ID_LENGTH) {
    throw new RadiusProtocolError('bad-value', `Vendor-Specific has ${value.length} octets, needs at least 4`);
  }
  return decodeInteger(value.subarray(0, VSA_VENDOR_ID_LENGTH));
}

/** Throws when the vendor data is not in the recommended sub-attribute format. */
export function decodeVendorSpecific(value: Uint8Array): VendorSpecific {
  const vendorId = decodeVendorId(value);
  const attributes: VendorAttribute[] = [];
  let offset = VSA_VENDOR_ID_LENGTH;
  while (offset < value.length) {
    if (offset + 2 > value.length) {
      throw new RadiusProtocolError('bad-value', `vendor ${vendorId} sub-attribute header runs past the attribute`);
    }
    const vendorType = value[offset]!;
    const length = value[offset + 1]!;
    if (length < 2 || offset + length > value.length) {
      throw new RadiusProtocolError('bad-value', `vendor ${vendorId} sub-attribute ${vendorType} has Length ${length}`);
    }
    attributes.push({ vendorType, value: new Uint8Array(value.subarray(offset + 2, offset + length)) });
    offset += length;
  }
  return { vendorId, attributes };
}

/**
 * Values of vendor sub-attribute (vendorId, vendorType) across all Vendor-Specific attributes.
 * Other vendors' containers are skipped without parsing: their format is theirs to choose.
 */
export function getVendorAttributes(p: RadiusPacket, vendorId: number, vendorType: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const value of getAttributes(p, AttributeType.VendorSpecific)) {
    if (value.length < VSA_VENDOR_ID_LENGTH || decodeVendorId(value) !== vendorId) continue;
    for (const a of decodeVendorSpecific(value).attributes) {
      if (a.vendorType === vendorType) out.push(a.value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// EAP-Message (79), RFC 3579 §3.1.

const EAP_CHUNK = RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH;

/**
 * One EAP packet as consecutive EAP-Message attributes. An empty input yields one empty
 * attribute, which RFC 3579 §2.1 defines as EAP-Start. The values are views of `eap`, not copies:
 * encoding copies them into the packet, and a copy each (a TLS flight is six) was memory of its
 * own, allocated and swept, for every reply. So `eap` must not change before they are encoded.
 */
export function splitEapMessage(eap: Uint8Array): RadiusAttribute[] {
  if (eap.length === 0) return [{ type: AttributeType.EapMessage, value: new Uint8Array(0) }];
  const out: RadiusAttribute[] = [];
  for (let offset = 0; offset < eap.length; offset += EAP_CHUNK) {
    out.push({ type: AttributeType.EapMessage, value: eap.subarray(offset, offset + EAP_CHUNK) });
  }
  return out;
}

/**
 * Concatenation of every EAP-Message value in packet order; they need not be adjacent
 * (RFC 2865 §5 forbids relying on that). Checking the EAP Length is the EAP layer's job. A single
 * value is returned as it is, a view of the decoded packet, which the packet's owner never reuses.
 */
export function joinEapMessage(p: RadiusPacket): Uint8Array | undefined {
  const parts = getAttributes(p, AttributeType.EapMessage);
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((n, part) => n + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
