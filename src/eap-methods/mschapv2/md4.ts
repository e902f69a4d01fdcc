/**
 * MD4 (RFC 1320). Needed for the NT password hash of MS-CHAPv2 (RFC 2759 §8.3); OpenSSL 3 only
 * offers MD4 through its legacy provider, which Node does not load by default. MD4 is broken as a
 * hash; it is used here only because MS-CHAPv2 is defined with it.
 */

const S1 = [3, 7, 11, 19] as const;
const S2 = [3, 5, 9, 13] as const;
const S3 = [3, 9, 11, 15] as const;
const ORDER3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;

function rotl(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

export function md4(message: Uint8Array): Uint8Array {
  // Padding: 0x80, zeros to 56 mod 64, then the bit length as a 64-bit little-endian integer.
  const bitLength = message.length * 8;
  const padded = new Uint8Array(((message.length + 8) >> 6) * 64 + 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, bitLength >>> 0, true);
  dv.setUint32(padded.length - 4, Math.floor(bitLength / 2 ** 32), true);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Uint32Array(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = dv.getUint32(block + i * 4, true);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    // Round 1: F(x,y,z) = xy | ~x z
    for (let i = 0; i < 16; i++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + x[i]!) >>> 0, S1[i % 4]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: G(x,y,z) = xy | xz | yz, constant 0x5A827999, word order by columns
    for (let i = 0; i < 16; i++) {
      const k = (i % 4) * 4 + (i >> 2);
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + x[k]! + 0x5a827999) >>> 0, S2[i % 4]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: H(x,y,z) = x ^ y ^ z, constant 0x6ED9EBA1, bit-reversed word order
    for (let i = 0; i < 16; i++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + x[ORDER3[i]!]! + 0x6ed9eba1) >>> 0, S3[i % 4]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, a, true);
  ov.setUint32(4, b, true);
  ov.setUint32(8, c, true);
  ov.setUint32(12, d, true);
  return out;
}
