import { EapProtocolError } from './errors.js';
import { concatBytes } from '../util/bytes.js';

/**
 * The L/M/S flags shared by EAP-TLS (RFC 5216 §3.1), TEAP (RFC 9930 §4.1) and their kin.
 * Bits below S belong to each method (TEAP's O flag and version) and are left to it.
 */
export const TlsFlag = { Length: 0x80, More: 0x40, Start: 0x20 } as const;

/** RFC 5216 §2.1.5 suggests 64 KB as the largest sane TLS message; hostapd caps both sides at 65536. */
export const DEFAULT_MAX_TLS_MESSAGE = 65536;

export interface TlsFragment {
  flags: number;
  /** TLS Message Length, present iff the L flag is set. */
  totalLength?: number;
  data: Uint8Array;
}

/**
 * Collects the fragments of one TLS message from the peer. The announced total is checked against
 * the cap before anything is allocated, and the sum of fragments may never exceed the announcement.
 */
export class TlsMessageReassembler {
  private chunks: Uint8Array[] = [];
  private received = 0;
  private expected: number | undefined;

  constructor(private readonly maxMessage: number = DEFAULT_MAX_TLS_MESSAGE) {}

  get inProgress(): boolean {
    return this.chunks.length > 0 || this.expected !== undefined;
  }

  /** Returns the whole message when this fragment completes it, else undefined (send an ACK). */
  add(fragment: TlsFragment): Uint8Array | undefined {
    const more = (fragment.flags & TlsFlag.More) !== 0;
    if (fragment.totalLength !== undefined) {
      if (fragment.totalLength > this.maxMessage) {
        throw new EapProtocolError('fragment-overflow', `TLS Message Length ${fragment.totalLength} exceeds the cap of ${this.maxMessage}`);
      }
      if (this.expected === undefined && !this.inProgress) this.expected = fragment.totalLength;
    } else if (more && !this.inProgress) {
      // RFC 5216 §2.1.5: the first fragment of a fragmented message must carry the L flag.
      throw new EapProtocolError('bad-flags', 'first fragment has M set but no TLS Message Length');
    }
    const limit = this.expected ?? this.maxMessage;
    if (this.received + fragment.data.length > limit) {
      throw new EapProtocolError('fragment-overflow', `fragments total ${this.received + fragment.data.length} octets, more than the ${limit} announced or allowed`);
    }
    if (fragment.data.length === 0 && more) {
      throw new EapProtocolError('bad-flags', 'empty fragment with M set');
    }
    // A fragment kept for a later request is copied: the request's bytes may be a view of its whole
    // datagram, and a peer sending one octet per fragment would otherwise pin a datagram each.
    this.chunks.push(more ? fragment.data.slice() : fragment.data);
    this.received += fragment.data.length;
    if (more) return undefined;
    const message = this.chunks.length === 1 ? this.chunks[0]! : concatBytes(this.chunks);
    if (this.expected !== undefined && this.received !== this.expected) {
      this.reset();
      throw new EapProtocolError('length-mismatch', `TLS message of ${message.length} octets, ${this.expected} announced`);
    }
    this.reset();
    return message;
  }

  reset(): void {
    this.chunks = [];
    this.received = 0;
    this.expected = undefined;
  }
}

/**
 * Hands out one outgoing TLS message in fragments of at most `maxData` octets. The L flag and
 * total length go on the first fragment of a fragmented message only (RFC 9190 §2.1.5 asks not to
 * set L on an unfragmented one).
 */
export class TlsMessageFragmenter {
  private message: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private pending = false;

  /** True while fragments of the current message remain to be sent. */
  get hasMore(): boolean {
    return this.pending;
  }

  load(message: Uint8Array): void {
    this.message = message;
    this.offset = 0;
    this.pending = true;
  }

  /**
   * The next fragment. `budget` is the octets available after the method's own header octets,
   * including the 4-octet length field if L is needed.
   */
  next(budget: number): TlsFragment {
    if (!this.pending) throw new Error('no TLS message to fragment');
    const first = this.offset === 0;
    const remaining = this.message.length - this.offset;
    if (first && remaining <= budget) {
      this.pending = false;
      this.offset = this.message.length;
      return { flags: 0, data: this.message };
    }
    const room = first ? budget - 4 : budget;
    if (room <= 0) throw new Error(`fragment budget ${budget} leaves no room for data`);
    const take = Math.min(room, remaining);
    const data = this.message.subarray(this.offset, this.offset + take);
    this.offset += take;
    const more = this.offset < this.message.length;
    this.pending = more;
    let flags = more ? TlsFlag.More : 0;
    if (first) flags |= TlsFlag.Length;
    return first ? { flags, totalLength: this.message.length, data } : { flags, data };
  }
}

/** Encodes the flags octet, optional length and data that follow a TLS-based method's Type octet. */
export function encodeTlsFragment(f: TlsFragment, extraFlags = 0): Uint8Array {
  const hasLength = (f.flags & TlsFlag.Length) !== 0;
  const out = new Uint8Array(1 + (hasLength ? 4 : 0) + f.data.length);
  out[0] = f.flags | extraFlags;
  let o = 1;
  if (hasLength) {
    const n = f.totalLength ?? f.data.length;
    out[1] = (n >>> 24) & 0xff;
    out[2] = (n >>> 16) & 0xff;
    out[3] = (n >>> 8) & 0xff;
    out[4] = n & 0xff;
    o = 5;
  }
  out.set(f.data, o);
  return out;
}

/** Parses the Type-Data of an EAP-TLS-style packet (flags, optional length, data). */
export function decodeTlsFragment(typeData: Uint8Array): TlsFragment {
  if (typeData.length < 1) throw new EapProtocolError('truncated', 'TLS-based EAP packet without a Flags octet');
  const flags = typeData[0]!;
  if ((flags & TlsFlag.Length) !== 0) {
    if (typeData.length < 5) throw new EapProtocolError('truncated', 'L flag set but the TLS Message Length is cut off');
    const totalLength = ((typeData[1]! << 24) | (typeData[2]! << 16) | (typeData[3]! << 8) | typeData[4]!) >>> 0;
    return { flags, totalLength, data: typeData.subarray(5) };
  }
  return { flags, data: typeData.subarray(1) };
}

