import { TeapTlvError } from './errors.js';
import { concatBytes } from '../../util/bytes.js';

/**
 * The TEAP TLV header (RFC 9930 §4.2.1): M(1 bit) R(1 bit) Type(14 bits) Length(16 bits, value only).
 * This layer only splits bytes into (type, M, value); `tlv-codec.ts` gives values their meaning.
 */
export interface RawTlv {
  type: number;
  mandatory: boolean;
  value: Uint8Array;
}

export const TLV_HEADER_LENGTH = 4;
export const MAX_TLV_VALUE_LENGTH = 0xffff;
/**
 * More TLVs than this in one message is junk: one TLS record carries at most 16 KiB of data and a
 * real Phase-2 message holds a handful of TLVs. The cap bounds the work an attacker can cause.
 */
export const MAX_TLVS_PER_MESSAGE = 256;

export function decodeRawTlvs(buf: Uint8Array, maxCount: number = MAX_TLVS_PER_MESSAGE): RawTlv[] {
  const out: RawTlv[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < TLV_HEADER_LENGTH) {
      throw new TeapTlvError(`truncated TLV header at offset ${off} (${buf.length - off} octets left)`);
    }
    const word = (buf[off]! << 8) | buf[off + 1]!;
    const length = (buf[off + 2]! << 8) | buf[off + 3]!;
    if (length > buf.length - off - TLV_HEADER_LENGTH) {
      throw new TeapTlvError(`TLV type ${word & 0x3fff} length ${length} overruns the message (${buf.length - off - TLV_HEADER_LENGTH} octets left)`);
    }
    if (out.length >= maxCount) throw new TeapTlvError(`more than ${maxCount} TLVs in one message`);
    // R (0x4000) is reserved: ignored on receipt as RFC 9930 requires.
    out.push({
      type: word & 0x3fff,
      mandatory: (word & 0x8000) !== 0,
      value: buf.subarray(off + TLV_HEADER_LENGTH, off + TLV_HEADER_LENGTH + length),
    });
    off += TLV_HEADER_LENGTH + length;
  }
  return out;
}

export function encodeRawTlv(tlv: RawTlv): Uint8Array {
  if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > 0x3fff) throw new TeapTlvError(`TLV type ${tlv.type} is not a 14-bit value`);
  if (tlv.value.length > MAX_TLV_VALUE_LENGTH) throw new TeapTlvError(`TLV type ${tlv.type} value of ${tlv.value.length} octets exceeds 65535`);
  const out = new Uint8Array(TLV_HEADER_LENGTH + tlv.value.length);
  const word = (tlv.mandatory ? 0x8000 : 0) | tlv.type;
  out[0] = word >> 8;
  out[1] = word & 0xff;
  out[2] = tlv.value.length >> 8;
  out[3] = tlv.value.length & 0xff;
  out.set(tlv.value, TLV_HEADER_LENGTH);
  return out;
}

export function encodeRawTlvs(tlvs: readonly RawTlv[]): Uint8Array {
  return concatBytes(tlvs.map(encodeRawTlv));
}
