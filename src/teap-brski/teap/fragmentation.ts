import { TeapFramingError } from './errors.js';
import type { TeapPacket } from './outer-framing.js';
import { concatBytes } from '../../util/bytes.js';

/**
 * A whole TEAP message (all fragments): TLS records plus, in each side's first message, Outer TLVs.
 * `outerTlvs` present (even empty) means the O flag is sent.
 */
export interface TeapMessage {
  version: number;
  start: boolean;
  tls: Uint8Array;
  outerTlvs?: Uint8Array;
}

/**
 * Splits a message into packets whose Type-Data is at most `maxTypeData` octets, following
 * RFC 5216 §2.1.5 as RFC 9930 §3.10 requires: L and the total length only on the first fragment,
 * M on all but the last, O (and S) only on the first.
 *
 * Message Length counts the 4-octet Outer TLV Length field as part of the message when O is set,
 * as hostapd 2.10 does; with no Outer TLVs (the only case real peers produce) both readings agree.
 */
export function fragmentTeapMessage(msg: TeapMessage, maxTypeData: number): TeapPacket[] {
  const outer = msg.outerTlvs;
  const payload = outer ? concatBytes([msg.tls, outer]) : msg.tls;
  const oField = outer ? 4 : 0;
  if (1 + oField + payload.length <= maxTypeData) {
    const p: TeapPacket = { more: false, start: msg.start, version: msg.version, data: payload };
    if (outer) p.outerTlvLength = outer.length;
    return [p];
  }
  // First fragment: Flags(1) + Message Length(4) + [Outer TLV Length(4)] + data.
  const firstData = maxTypeData - 1 - 4 - oField;
  const restData = maxTypeData - 1;
  if (firstData < 1 || restData < 1) throw new TeapFramingError(`fragment size ${maxTypeData} too small`);
  const packets: TeapPacket[] = [];
  const first: TeapPacket = {
    more: true,
    start: msg.start,
    version: msg.version,
    messageLength: oField + payload.length,
    data: payload.subarray(0, firstData),
  };
  if (outer) first.outerTlvLength = outer.length;
  packets.push(first);
  for (let off = firstData; off < payload.length; off += restData) {
    packets.push({ more: true, start: false, version: msg.version, data: payload.subarray(off, off + restData) });
  }
  packets[packets.length - 1]!.more = false;
  return packets;
}

export interface ReassemblyLimits {
  /** Largest reassembled message accepted; checked against Message Length before allocating. */
  maxMessageLength: number;
  /** Most fragments per message; stops "endless fragments" with tiny or empty fragments. */
  maxFragments: number;
}

/** 64 KiB as hostapd and RFC 5216 suggest; 64 fragments is far above any real certificate flight. */
export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxMessageLength: 65536, maxFragments: 64 };

/** Thrown when a peer exceeds a reassembly cap: the conversation must end, not just drop the packet. */
export class TeapReassemblyLimitError extends TeapFramingError {}

export type ReassemblyResult = { done: false } | { done: true; message: TeapMessage };

/** Collects fragments until M is clear. Packets are assumed to be in order (EAP is lock-step). */
export class TeapReassembler {
  private parts: Uint8Array[] = [];
  private received = 0;
  private declared: number | undefined;
  private outerTlvLength: number | undefined;
  private start = false;
  private version = 0;

  constructor(private readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) {}

  get inProgress(): boolean {
    return this.parts.length > 0;
  }

  reset(): void {
    this.parts = [];
    this.received = 0;
    this.declared = undefined;
    this.outerTlvLength = undefined;
    this.start = false;
  }

  push(p: TeapPacket): ReassemblyResult {
    if (!this.inProgress) return this.first(p);
    if (p.start) throw new TeapFramingError('S flag on a non-first fragment');
    if (p.outerTlvLength !== undefined) throw new TeapFramingError('O flag on a non-first fragment');
    if (p.version !== this.version) throw new TeapFramingError(`fragment version ${p.version} differs from ${this.version}`);
    // RFC 9930 forbids L on later fragments, but FreeRADIUS-style senders repeat it; tolerate an
    // identical value, reject a different one.
    if (p.messageLength !== undefined && p.messageLength !== this.declared) {
      throw new TeapFramingError('Message Length changed between fragments');
    }
    if (this.parts.length >= this.limits.maxFragments) {
      this.reset();
      throw new TeapReassemblyLimitError(`more than ${this.limits.maxFragments} fragments in one message`);
    }
    this.add(p.data);
    if (p.more) return { done: false };
    return this.finish();
  }

  private first(p: TeapPacket): ReassemblyResult {
    this.start = p.start;
    this.version = p.version;
    this.outerTlvLength = p.outerTlvLength;
    if (!p.more) {
      // Unfragmented (an L on an unfragmented message is allowed by RFC 9190 and ignored).
      if (p.data.length > this.limits.maxMessageLength) {
        throw new TeapReassemblyLimitError(`message of ${p.data.length} octets exceeds ${this.limits.maxMessageLength}`);
      }
      // A copy of our own, whose views the message's fields are: the caller's buffer may be reused.
      return { done: true, message: this.split(p.data.slice()) };
    }
    if (p.messageLength !== undefined) {
      if (p.messageLength > this.limits.maxMessageLength) {
        throw new TeapReassemblyLimitError(`Message Length ${p.messageLength} exceeds ${this.limits.maxMessageLength}`);
      }
      this.declared = p.messageLength;
    }
    this.add(p.data);
    return { done: false };
  }

  private add(data: Uint8Array): void {
    const cap = this.declared ?? this.limits.maxMessageLength;
    if (this.received + data.length > cap) {
      const declared = this.declared;
      this.reset();
      if (declared !== undefined) throw new TeapReassemblyLimitError(`fragments exceed the declared Message Length ${declared}`);
      throw new TeapReassemblyLimitError(`message exceeds ${this.limits.maxMessageLength} octets`);
    }
    this.parts.push(data.slice());
    this.received += data.length;
  }

  private finish(): ReassemblyResult {
    const total = this.received;
    const declared = this.declared;
    const oField = this.outerTlvLength !== undefined ? 4 : 0;
    // Each part is a copy of our own (add), so one part needs no second copy, and the message's
    // fields may be views of the whole: a copy each was memory of its own for every fragment.
    const all = this.parts.length === 1 ? this.parts[0]! : concatBytes(this.parts);
    const message = this.split(all);
    this.reset();
    if (declared !== undefined && total !== declared && total + oField !== declared) {
      throw new TeapFramingError(`reassembled ${total} octets, Message Length said ${declared}`);
    }
    return { done: true, message };
  }

  private split(payload: Uint8Array): TeapMessage {
    const o = this.outerTlvLength;
    if (o === undefined) return { version: this.version, start: this.start, tls: payload };
    if (o > payload.length) throw new TeapFramingError(`Outer TLV Length ${o} exceeds the message's ${payload.length} octets`);
    return {
      version: this.version,
      start: this.start,
      tls: payload.subarray(0, payload.length - o),
      outerTlvs: payload.subarray(payload.length - o),
    };
  }
}
