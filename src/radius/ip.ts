import { isIPv4, isIPv6 } from 'node:net';

/**
 * Textual IP addresses to octets and back. Needed for ipaddr/ipv6addr attributes and for
 * matching datagram sources against client prefixes; node:net validates but does not parse.
 */

export function parseIpv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.').map((part) => Number(part)));
}

export function parseIpv6(text: string): Uint8Array | undefined {
  // Zone ids (fe80::1%eth0) name a local interface; they are not part of the address.
  const zoneAt = text.indexOf('%');
  const bare = zoneAt >= 0 ? text.slice(0, zoneAt) : text;
  if (!isIPv6(bare)) return undefined;
  const out = new Uint8Array(16);
  let head = bare;
  let tail = '';
  const gap = bare.indexOf('::');
  if (gap >= 0) {
    head = bare.slice(0, gap);
    tail = bare.slice(gap + 2);
  }
  const words = (part: string): number[] => {
    if (part === '') return [];
    const result: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return [];
        result.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        result.push(parseInt(piece, 16));
      }
    }
    return result;
  };
  const headWords = words(head);
  const tailWords = words(tail);
  if (headWords.length + tailWords.length > 8) return undefined;
  const all = gap >= 0 ? [...headWords, ...new Array<number>(8 - headWords.length - tailWords.length).fill(0), ...tailWords] : headWords;
  if (all.length !== 8) return undefined;
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

/** RFC 5952 canonical text: lower case, longest run of two or more zero words compressed. */
export function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * An address as 4 or 16 octets. IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket
 * reports for IPv4 senders) becomes plain IPv4 so one client entry matches both socket kinds.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4) return v4;
  const v6 = parseIpv6(text);
  if (!v6) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}
