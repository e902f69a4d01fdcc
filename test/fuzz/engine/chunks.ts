import type { TlvLayout } from './target.js';

/**
 * Inputs of multi-message targets (fragments, conversations) are a sequence of chunks, each a
 * 2-octet big-endian length and that many octets. A truncated last chunk is taken as it is, so every
 * byte string is a valid input.
 */
export const CHUNK_LAYOUT: TlvLayout = { offset: 0, typeOctets: 0, lengthOctets: 2, lengthIncludesHeader: false };

export function splitChunks(data: Uint8Array, maxChunks: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < data.length && out.length < maxChunks) {
    if (off + 2 > data.length) {
      out.push(data.subarray(off));
      break;
    }
    const n = (data[off]! << 8) | data[off + 1]!;
    out.push(data.subarray(off + 2, Math.min(data.length, off + 2 + n)));
    off += 2 + n;
  }
  return out;
}

export function joinChunks(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + 2 + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    if (p.length > 0xffff) throw new Error(`chunk of ${p.length} octets does not fit a 2-octet length`);
    out[off] = p.length >> 8;
    out[off + 1] = p.length & 0xff;
    out.set(p, off + 2);
    off += 2 + p.length;
  }
  return out;
}
