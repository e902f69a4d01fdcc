import { RadiusProtocolError } from './errors.js';

/** RFC 2865 §3: Code, Identifier, Length, Authenticator. */
export const RADIUS_HEADER_LENGTH = 20;
export const RADIUS_MAX_PACKET_LENGTH = 4096;
/** Attribute Length is one octet and counts the two header octets. */
export const RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH = 253;
export const RADIUS_AUTHENTICATOR_LENGTH = 16;

/** Message-Authenticator has a fixed size; the packet is malformed otherwise (FreeRADIUS, hostapd). */
const MESSAGE_AUTHENTICATOR_TYPE = 80;
const MESSAGE_AUTHENTICATOR_VALUE_LENGTH = 16;

export const RadiusCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  StatusClient: 13,
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
  ProtocolError: 52,
} as const;
export type RadiusCodeValue = (typeof RadiusCode)[keyof typeof RadiusCode];

export interface RadiusAttribute {
  type: number;
  value: Uint8Array;
}

export interface RadiusPacket {
  code: number;
  identifier: number;
  authenticator: Uint8Array;
  attributes: RadiusAttribute[];
}

/**
 * Validates the fixed header and returns the packet Length. Octets after Length are link
 * padding and are ignored (RFC 2865 §3), so `bytes.length` may exceed the result.
 */
export function readPacketLength(bytes: Uint8Array): number {
  if (bytes.length < RADIUS_HEADER_LENGTH) {
    throw new RadiusProtocolError('truncated', `packet has ${bytes.length} octets, header needs ${RADIUS_HEADER_LENGTH}`);
  }
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < RADIUS_HEADER_LENGTH || length > RADIUS_MAX_PACKET_LENGTH) {
    throw new RadiusProtocolError('bad-length', `Length field ${length} outside ${RADIUS_HEADER_LENGTH}..${RADIUS_MAX_PACKET_LENGTH}`);
  }
  if (bytes.length < length) {
    throw new RadiusProtocolError('truncated', `Length field says ${length} octets, ${bytes.length} arrived`);
  }
  return length;
}

/**
 * Walks the attribute area of `bytes` (whose header must already be valid) and calls `visit`
 * with the offset of each attribute header. Throws if the attributes do not tile the packet.
 */
function walkAttributes(bytes: Uint8Array, length: number, visit: (type: number, offset: number, attrLength: number) => void): void {
  let offset = RADIUS_HEADER_LENGTH;
  while (offset < length) {
    if (offset + 2 > length) {
      throw new RadiusProtocolError('attribute-overrun', `attribute header at offset ${offset} runs past packet end ${length}`);
    }
    const type = bytes[offset]!;
    const attrLength = bytes[offset + 1]!;
    if (attrLength < 2) {
      throw new RadiusProtocolError('bad-attribute-length', `attribute ${type} at offset ${offset} has Length ${attrLength}`);
    }
    if (offset + attrLength > length) {
      throw new RadiusProtocolError('attribute-overrun', `attribute ${type} at offset ${offset} (Length ${attrLength}) runs past packet end ${length}`);
    }
    if (type === MESSAGE_AUTHENTICATOR_TYPE && attrLength !== 2 + MESSAGE_AUTHENTICATOR_VALUE_LENGTH) {
      throw new RadiusProtocolError('bad-attribute-length', `Message-Authenticator has Length ${attrLength}, must be 18`);
    }
    visit(type, offset, attrLength);
    offset += attrLength;
  }
}

/** Offsets of the attribute headers of `type` in an encoded packet; used to patch values in place. */
export function findAttributeOffsets(bytes: Uint8Array, type: number): number[] {
  const length = readPacketLength(bytes);
  const offsets: number[] = [];
  walkAttributes(bytes, length, (t, offset) => {
    if (t === type) offsets.push(offset);
  });
  return offsets;
}

/**
 * The packet is copied once, so that a decoded packet never aliases a socket buffer or a cached
 * reply; the header fields and attribute values are views of that one copy. One allocation per
 * packet instead of one per attribute: on the RADIUS path these copies were the largest source of
 * short-lived garbage.
 */
export function decodePacket(bytes: Uint8Array): RadiusPacket {
  const length = readPacketLength(bytes);
  const own = new Uint8Array(length);
  own.set(bytes.subarray(0, length));
  return decodeOwnedPacket(own);
}

/**
 * As `decodePacket`, without the copy: the header fields and attribute values are views of
 * `bytes`, for a caller that owns them and never writes or reuses them (a datagram the server
 * received into a Buffer of its own). The views keep all of `bytes` alive, octets past the Length
 * too: what outlives the request (a fragment kept for the next one, say) must be copied out.
 */
export function decodeOwnedPacket(bytes: Uint8Array): RadiusPacket {
  const length = readPacketLength(bytes);
  const own = bytes.subarray(0, length);
  const attributes: RadiusAttribute[] = [];
  walkAttributes(own, length, (type, offset, attrLength) => {
    attributes.push({ type, value: own.subarray(offset + 2, offset + attrLength) });
  });
  return {
    code: own[0]!,
    identifier: own[1]!,
    authenticator: own.subarray(4, RADIUS_HEADER_LENGTH),
    attributes,
  };
}

function checkOctet(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 255) {
    throw new RadiusProtocolError('invalid-argument', `${what} ${n} is not an octet`);
  }
}

/** Size of the encoded packet, validating every attribute on the way (no allocation). */
export function encodedPacketLength(attributes: readonly RadiusAttribute[]): number {
  let length = RADIUS_HEADER_LENGTH;
  for (const a of attributes) {
    checkOctet('attribute type', a.type);
    if (a.value.length > RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new RadiusProtocolError('attribute-too-long', `attribute ${a.type} value has ${a.value.length} octets, max ${RADIUS_MAX_ATTRIBUTE_VALUE_LENGTH}`);
    }
    if (a.type === MESSAGE_AUTHENTICATOR_TYPE && a.value.length !== MESSAGE_AUTHENTICATOR_VALUE_LENGTH) {
      throw new RadiusProtocolError('bad-attribute-length', `Message-Authenticator value has ${a.value.length} octets, must be 16`);
    }
    length += 2 + a.value.length;
  }
  if (length > RADIUS_MAX_PACKET_LENGTH) {
    throw new RadiusProtocolError('packet-too-long', `encoded packet would be ${length} octets, max ${RADIUS_MAX_PACKET_LENGTH}`);
  }
  return length;
}

/** Serializes as given: the authenticator is written verbatim, nothing is signed. */
export function encodePacket(p: RadiusPacket): Uint8Array {
  checkOctet('code', p.code);
  checkOctet('identifier', p.identifier);
  if (p.authenticator.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RadiusProtocolError('invalid-argument', `authenticator has ${p.authenticator.length} octets, must be 16`);
  }
  const length = encodedPacketLength(p.attributes);
  const out = new Uint8Array(length);
  out[0] = p.code;
  out[1] = p.identifier;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  out.set(p.authenticator, 4);
  let offset = RADIUS_HEADER_LENGTH;
  for (const a of p.attributes) {
    out[offset] = a.type;
    out[offset + 1] = a.value.length + 2;
    out.set(a.value, offset + 2);
    offset += 2 + a.value.length;
  }
  return out;
}

/** Value of the first attribute of `type`. */
export function getAttribute(p: RadiusPacket, type: number): Uint8Array | undefined {
  return p.attributes.find((a) => a.type === type)?.value;
}

/** Values of every attribute of `type`, in packet order (RFC 2865 §5 keeps same-type order). */
export function getAttributes(p: RadiusPacket, type: number): Uint8Array[] {
  return p.attributes.filter((a) => a.type === type).map((a) => a.value);
}

export function hasAttribute(p: RadiusPacket, type: number): boolean {
  return p.attributes.some((a) => a.type === type);
}
