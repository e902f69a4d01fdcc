import { TeapFramingError } from './errors.js';

/**
 * One TEAP packet's Type-Data (RFC 9930 §4.1), i.e. everything after the EAP Type octet:
 *
 *   Flags(L M S O R)|Ver(3) [Message Length(4) iff L] [Outer TLV Length(4) iff O] TLS Data... Outer TLVs...
 *
 * `data` is everything after the fixed fields. On an unfragmented message with O set, the last
 * `outerTlvLength` octets of `data` are the Outer TLVs; on a fragmented one they sit at the end of
 * the reassembled message (see fragmentation.ts).
 */
export interface TeapPacket {
  /** More fragments follow (M). */
  more: boolean;
  /** TEAP/Start (S): only in the server's first message. */
  start: boolean;
  /** 3-bit version; 1 for TEAPv1. */
  version: number;
  /** Total message length (L set); only on the first fragment of a fragmented message. */
  messageLength?: number;
  /** Outer TLV length (O set); only in the first message of each side (first fragment). */
  outerTlvLength?: number;
  data: Uint8Array;
}

export const EAP_TYPE_TEAP = 55;
export const TEAP_VERSION = 1;

export const TeapFlag = {
  LengthIncluded: 0x80,
  MoreFragments: 0x40,
  Start: 0x20,
  OuterTlvLength: 0x10,
  Reserved: 0x08,
} as const;
const VERSION_MASK = 0x07;

/** Parses a TEAP Type-Data. Inconsistent packets throw `TeapFramingError` (RFC 9930 §3.9.1: ignore them). */
export function decodeTeapPacket(typeData: Uint8Array): TeapPacket {
  if (typeData.length < 1) throw new TeapFramingError('TEAP packet without Flags/Ver octet');
  const flags = typeData[0]!;
  let off = 1;
  const readU32 = (what: string): number => {
    if (typeData.length < off + 4) throw new TeapFramingError(`TEAP packet truncated in ${what}`);
    const v = ((typeData[off]! << 24) | (typeData[off + 1]! << 16) | (typeData[off + 2]! << 8) | typeData[off + 3]!) >>> 0;
    off += 4;
    return v;
  };
  const packet: TeapPacket = {
    more: (flags & TeapFlag.MoreFragments) !== 0,
    start: (flags & TeapFlag.Start) !== 0,
    version: flags & VERSION_MASK,
    data: new Uint8Array(0),
  };
  if (flags & TeapFlag.LengthIncluded) packet.messageLength = readU32('Message Length');
  if (flags & TeapFlag.OuterTlvLength) packet.outerTlvLength = readU32('Outer TLV Length');
  packet.data = typeData.subarray(off);
  if (packet.outerTlvLength !== undefined && !packet.more && packet.messageLength === undefined && packet.outerTlvLength > packet.data.length) {
    throw new TeapFramingError(`Outer TLV Length ${packet.outerTlvLength} exceeds the packet's ${packet.data.length} data octets`);
  }
  return packet;
}

export function encodeTeapPacket(p: TeapPacket): Uint8Array {
  if (!Number.isInteger(p.version) || p.version < 0 || p.version > 7) throw new TeapFramingError('TEAP version is 3 bits');
  let flags = p.version;
  let n = 1 + p.data.length;
  if (p.more) flags |= TeapFlag.MoreFragments;
  if (p.start) flags |= TeapFlag.Start;
  if (p.messageLength !== undefined) {
    flags |= TeapFlag.LengthIncluded;
    n += 4;
  }
  if (p.outerTlvLength !== undefined) {
    flags |= TeapFlag.OuterTlvLength;
    n += 4;
  }
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  out[0] = flags;
  let off = 1;
  if (p.messageLength !== undefined) {
    dv.setUint32(off, p.messageLength);
    off += 4;
  }
  if (p.outerTlvLength !== undefined) {
    dv.setUint32(off, p.outerTlvLength);
    off += 4;
  }
  out.set(p.data, off);
  return out;
}

/** An empty TEAP message (flags 0): fragment ACK, alert/Finished ACK, or "nothing to say" (RFC 9930 §4.1). */
export function isTeapAck(p: TeapPacket): boolean {
  return !p.more && !p.start && p.data.length === 0 && p.messageLength === undefined && p.outerTlvLength === undefined;
}

export function teapAck(version: number = TEAP_VERSION): Uint8Array {
  return encodeTeapPacket({ more: false, start: false, version, data: new Uint8Array(0) });
}
