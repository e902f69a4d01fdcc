import { EapProtocolError } from '../../../src/eap-methods/errors.js';
import { DEFAULT_MAX_TLS_MESSAGE, TlsMessageFragmenter, TlsMessageReassembler, decodeTlsFragment, encodeTlsFragment } from '../../../src/eap-methods/tls-fragmentation.js';
import { TeapFramingError } from '../../../src/teap-brski/teap/errors.js';
import { DEFAULT_REASSEMBLY_LIMITS, TeapReassembler, fragmentTeapMessage } from '../../../src/teap-brski/teap/fragmentation.js';
import { decodeTeapPacket, encodeTeapPacket } from '../../../src/teap-brski/teap/outer-framing.js';
import { concatBytes } from '../../../src/util/bytes.js';
import { CHUNK_LAYOUT, joinChunks, splitChunks } from '../engine/chunks.js';
import { invariant, type FuzzTarget } from '../engine/target.js';

const expected = (err: unknown): boolean => err instanceof EapProtocolError || err instanceof TeapFramingError;

/** Small caps make the limits reachable by short inputs; the code paths are the same as at 64 KiB. */
const TLS_CAP = 3000;
const TEAP_LIMITS = { maxMessageLength: 3000, maxFragments: 8 };

/**
 * L/M/S fragment reassembly of EAP-TLS (RFC 5216 §2.1.5) and TEAP (RFC 9930 §3.10). The first
 * octet picks the reassembler (even: EAP-TLS, odd: TEAP); each chunk after it is one packet's
 * Type-Data. A refusal resets nothing silently: after a typed error the next packet starts a new
 * message, as the methods do. Invariants: a completed message never exceeds the cap and is exactly
 * the fragments' data in order (with Outer TLVs split off at the end for TEAP), and whatever the
 * fragmenters cut a message into reassembles to the same message.
 */
export const fragmentReassembly: FuzzTarget = {
  name: 'fragment-reassembly',
  description: 'EAP-TLS and TEAP L/M/S fragment reassembly (and the fragmenters, round trip)',
  maxLength: 8000,
  expected,
  hints: { tlv: [{ ...CHUNK_LAYOUT, offset: 1 }], dictionary: [Uint8Array.of(0xc0, 0, 0, 4, 0), Uint8Array.of(0x40), Uint8Array.of(0x80), Uint8Array.of(0xd1, 0, 0, 0, 0x10, 0, 0, 0, 4), Uint8Array.of(0x51)] },
  async setup() {
    return (data) => {
      const chunks = splitChunks(data.subarray(1), 64);
      if ((data[0] ?? 0) % 2 === 0) eapTls(chunks);
      else teap(chunks);
      roundTrip(data);
    };
  },
};

function eapTls(chunks: Uint8Array[]): void {
  const r = new TlsMessageReassembler(TLS_CAP);
  let pending: Uint8Array[] = [];
  for (const typeData of chunks) {
    let f;
    try {
      f = decodeTlsFragment(typeData);
    } catch (err) {
      if (expected(err)) continue;
      throw err;
    }
    let message: Uint8Array | undefined;
    try {
      message = r.add(f);
    } catch (err) {
      if (!expected(err)) throw err;
      r.reset();
      pending = [];
      continue;
    }
    pending.push(f.data);
    if (message === undefined) {
      invariant(r.inProgress, 'an incomplete message is not in progress');
      continue;
    }
    invariant(message.length <= TLS_CAP, `reassembled ${message.length} octets past the ${TLS_CAP} cap`);
    invariant(Buffer.from(message).equals(Buffer.from(concatBytes(pending))), 'reassembled message is not its fragments in order');
    pending = [];
  }
}

function teap(chunks: Uint8Array[]): void {
  const r = new TeapReassembler(TEAP_LIMITS);
  let pending: Uint8Array[] = [];
  for (const typeData of chunks) {
    let p;
    try {
      p = decodeTeapPacket(typeData);
    } catch (err) {
      if (expected(err)) continue;
      throw err;
    }
    let result;
    try {
      result = r.push(p);
    } catch (err) {
      if (!expected(err)) throw err;
      r.reset();
      pending = [];
      continue;
    }
    pending.push(p.data);
    if (!result.done) continue;
    const m = result.message;
    const whole = concatBytes([m.tls, m.outerTlvs ?? new Uint8Array(0)]);
    invariant(whole.length <= TEAP_LIMITS.maxMessageLength, `reassembled ${whole.length} octets past the cap`);
    invariant(Buffer.from(whole).equals(Buffer.from(concatBytes(pending))), 'reassembled TEAP message is not its fragments in order');
    pending = [];
  }
}

/** The same bytes as a message: fragmented at a size taken from the input, then reassembled. */
function roundTrip(data: Uint8Array): void {
  const size = 12 + ((data[data.length - 1] ?? 0) % 200);
  const message = data.subarray(0, Math.min(data.length, DEFAULT_MAX_TLS_MESSAGE));
  const fragmenter = new TlsMessageFragmenter();
  fragmenter.load(message);
  const r = new TlsMessageReassembler();
  let out: Uint8Array | undefined;
  for (let i = 0; i < 10_000 && fragmenter.hasMore; i++) out = r.add(decodeTlsFragment(encodeTlsFragment(fragmenter.next(size))));
  invariant(out !== undefined && Buffer.from(out).equals(Buffer.from(message)), 'EAP-TLS fragmenter and reassembler disagree');

  const split = (data[0] ?? 0) & 0x3f;
  const outer = message.length > 0 && (data[0] ?? 0) & 0x40 ? message.subarray(message.length - Math.min(split, message.length)) : undefined;
  const tls = outer ? message.subarray(0, message.length - outer.length) : message;
  const packets = fragmentTeapMessage({ version: 1, start: false, tls, ...(outer ? { outerTlvs: outer } : {}) }, size);
  const t = new TeapReassembler({ ...DEFAULT_REASSEMBLY_LIMITS, maxFragments: 100_000 });
  let done;
  for (const p of packets) done = t.push(decodeTeapPacket(encodeTeapPacket(p)));
  invariant(done?.done === true, 'TEAP fragments did not complete a message');
  invariant(Buffer.from(done.message.tls).equals(Buffer.from(tls)), 'TEAP fragmenter and reassembler disagree on the TLS data');
  invariant(Buffer.from(done.message.outerTlvs ?? new Uint8Array(0)).equals(Buffer.from(outer ?? new Uint8Array(0))), 'TEAP fragmenter and reassembler disagree on the Outer TLVs');
}

fragmentReassembly.makeSeeds = async () => {
  const tlsRecord = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
  const fragments = (message: Uint8Array, size: number): Uint8Array[] => {
    const f = new TlsMessageFragmenter();
    f.load(message);
    const out: Uint8Array[] = [];
    while (f.hasMore) out.push(encodeTlsFragment(f.next(size)));
    return out;
  };
  const teapPackets = (tls: Uint8Array, outer: Uint8Array | undefined, size: number): Uint8Array[] =>
    fragmentTeapMessage({ version: 1, start: false, tls, ...(outer ? { outerTlvs: outer } : {}) }, size).map(encodeTeapPacket);
  const authorityId = Uint8Array.of(0, 1, 0, 16, ...Array.from({ length: 16 }, (_, i) => 0x10 + i));
  return [
    { name: 'eap-tls-three-fragments', data: Uint8Array.of(0, ...joinChunks(fragments(tlsRecord(700), 300))), comment: 'EAP-TLS: a 700-octet message in fragments of 300 (L+M, M, last), our fragmenter' },
    { name: 'eap-tls-unfragmented', data: Uint8Array.of(0, ...joinChunks(fragments(tlsRecord(120), 300))), comment: 'EAP-TLS: one unfragmented message' },
    { name: 'eap-tls-two-messages', data: Uint8Array.of(0, ...joinChunks([...fragments(tlsRecord(400), 150), Uint8Array.of(0), ...fragments(tlsRecord(90), 150)])), comment: 'EAP-TLS: a fragmented message, an ACK-like empty fragment, a second message' },
    { name: 'teap-fragmented-with-outer-tlvs', data: Uint8Array.of(1, ...joinChunks(teapPackets(tlsRecord(900), authorityId, 300))), comment: 'TEAP: 900 octets of TLS and an Authority-ID Outer TLV, fragments of 300 (V0 style)' },
    { name: 'teap-v0-start-and-ack', data: Uint8Array.of(1, ...joinChunks([Uint8Array.of(0x31, 0, 0, 0, 20, ...authorityId), Uint8Array.of(0x01)])), comment: 'TEAP: V0 TEAP/Start with an Authority-ID Outer TLV (../shared/specs/teap-vectors.md), then an ACK' },
    { name: 'teap-unfragmented', data: Uint8Array.of(1, ...joinChunks(teapPackets(tlsRecord(200), undefined, 1400))), comment: 'TEAP: one unfragmented message' },
  ];
};
