import { parseIpAddress } from './ip.js';

/** One RADIUS client (NAS or proxy) as configured. */
export interface RadiusClientConfig {
  name: string;
  /** An IP address or CIDR prefix, IPv4 or IPv6. */
  address: string;
  secret: string;
  /** Drop Access-Requests without Message-Authenticator. Default true (BlastRADIUS). */
  requireMessageAuthenticator?: boolean;
  /** When MA is not required: drop Access-Requests with Proxy-State but no MA. Default true. */
  limitProxyState?: boolean;
}

export interface ResolvedClient {
  readonly name: string;
  /** The configured address/prefix, for logs. */
  readonly prefix: string;
  readonly secret: Uint8Array;
  readonly requireMessageAuthenticator: boolean;
  readonly limitProxyState: boolean;
}

interface Family {
  /** Prefix lengths present, longest first, so the first hit is the most specific. */
  lengths: number[];
  byLength: Map<number, Map<string, ResolvedClient>>;
}

function maskedKey(address: Uint8Array, length: number): string {
  let key = '';
  for (let i = 0; i < address.length; i++) {
    const bits = Math.max(0, Math.min(8, length - 8 * i));
    const mask = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    key += (address[i]! & mask).toString(16).padStart(2, '0');
  }
  return key;
}

/** Source addresses whose client is remembered (NAS addresses, or proxies: a few per server). */
const FOUND_LIMIT = 4096;

/**
 * Maps a datagram's source address to its client by longest prefix match: the source address
 * alone selects the shared secret (RFC 2865 §3, RFC 5080 §2.7.2).
 */
export class ClientTable {
  private readonly families = new Map<number, Family>();
  private readonly found = new Map<string, ResolvedClient>();
  readonly size: number;

  /** Throws a plain Error describing the first invalid entry: configuration, not protocol. */
  constructor(configs: readonly RadiusClientConfig[]) {
    for (const c of configs) this.add(c);
    this.size = configs.length;
  }

  private add(c: RadiusClientConfig): void {
    if (!c.name) throw new Error('RADIUS client without a name');
    if (!c.secret) throw new Error(`RADIUS client ${c.name}: empty shared secret`);
    const slash = c.address.indexOf('/');
    const addressText = slash >= 0 ? c.address.slice(0, slash) : c.address;
    const address = parseIpAddress(addressText);
    if (!address) throw new Error(`RADIUS client ${c.name}: ${c.address} is not an IP address or prefix`);
    const bits = address.length * 8;
    let length = bits;
    if (slash >= 0) {
      const text = c.address.slice(slash + 1);
      length = /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
      // An IPv4-mapped prefix was parsed down to IPv4: shift its length with it.
      if (address.length === 4 && addressText.includes(':')) length -= 96;
      if (!(length >= 0 && length <= bits)) throw new Error(`RADIUS client ${c.name}: bad prefix length in ${c.address}`);
    }
    if (maskedKey(address, length) !== maskedKey(address, bits)) {
      throw new Error(`RADIUS client ${c.name}: ${c.address} has host bits set`);
    }
    let family = this.families.get(address.length);
    if (!family) {
      family = { lengths: [], byLength: new Map() };
      this.families.set(address.length, family);
    }
    let table = family.byLength.get(length);
    if (!table) {
      table = new Map();
      family.byLength.set(length, table);
      family.lengths.push(length);
      family.lengths.sort((a, b) => b - a);
    }
    const key = maskedKey(address, length);
    const existing = table.get(key);
    if (existing) throw new Error(`RADIUS clients ${existing.name} and ${c.name} have the same address ${c.address}`);
    table.set(key, {
      name: c.name,
      prefix: c.address,
      secret: new TextEncoder().encode(c.secret),
      requireMessageAuthenticator: c.requireMessageAuthenticator ?? true,
      limitProxyState: c.limitProxyState ?? true,
    });
  }

  /**
   * Every datagram asks; a server hears from a handful of NAS addresses. Only clients found are
   * remembered (a table is never changed, a reload builds a new one), so spoofed sources cannot
   * fill it, and it is emptied when full.
   */
  lookup(sourceAddress: string): ResolvedClient | undefined {
    const known = this.found.get(sourceAddress);
    if (known) return known;
    const hit = this.search(sourceAddress);
    if (hit) {
      if (this.found.size >= FOUND_LIMIT) this.found.clear();
      this.found.set(sourceAddress, hit);
    }
    return hit;
  }

  private search(sourceAddress: string): ResolvedClient | undefined {
    const address = parseIpAddress(sourceAddress);
    if (!address) return undefined;
    const family = this.families.get(address.length);
    if (!family) return undefined;
    for (const length of family.lengths) {
      const hit = family.byLength.get(length)?.get(maskedKey(address, length));
      if (hit) return hit;
    }
    return undefined;
  }
}
