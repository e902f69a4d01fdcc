import fc from 'fast-check';
import { EapProtocolError } from '../../src/eap-methods/errors.js';
import {
  TlsFlag, TlsMessageFragmenter, TlsMessageReassembler, decodeTlsFragment, encodeTlsFragment,
} from '../../src/eap-methods/tls-fragmentation.js';

function fragmentAll(message: Uint8Array, budget: number): Uint8Array[] {
  const f = new TlsMessageFragmenter();
  f.load(message);
  const out: Uint8Array[] = [];
  do out.push(encodeTlsFragment(f.next(budget))); while (f.hasMore);
  return out;
}

describe('TLS-based method fragmentation (RFC 5216 §2.1.5)', () => {
  test('a message that fits goes whole, without the L flag', () => {
    const [only, ...rest] = fragmentAll(new Uint8Array([1, 2, 3]), 10);
    expect(rest).toHaveLength(0);
    expect([...only!]).toEqual([0, 1, 2, 3]);
  });

  test('first fragment carries L and the total length, middle ones M, the last neither', () => {
    const frags = fragmentAll(new Uint8Array(25).fill(7), 10);
    expect(frags.map((f) => f[0])).toEqual([TlsFlag.Length | TlsFlag.More, TlsFlag.More, 0]);
    expect([...frags[0]!.subarray(1, 5)]).toEqual([0, 0, 0, 25]);
    expect(frags[0]!.length).toBe(1 + 4 + 6);
  });

  test('a fragment kept for the next request is copied: the request\'s datagram may be reused or freed', () => {
    const message = new Uint8Array(25).map((_, i) => i);
    const r = new TlsMessageReassembler(65536);
    let result: Uint8Array | undefined;
    for (const bytes of fragmentAll(message, 10)) {
      // Each fragment inside a larger buffer, as a view of a whole datagram is.
      const datagram = new Uint8Array(4096);
      datagram.set(bytes, 100);
      result = r.add(decodeTlsFragment(datagram.subarray(100, 100 + bytes.length)));
      datagram.fill(0xee);
    }
    expect([...result!]).toEqual([...message]);
  });

  test('fragment then reassemble gives the message back, for any size and budget', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.integer({ min: 5, max: 1500 }), (message, budget) => {
      const r = new TlsMessageReassembler(65536);
      const frags = fragmentAll(message, budget);
      let result: Uint8Array | undefined;
      frags.forEach((bytes, i) => {
        result = r.add(decodeTlsFragment(bytes));
        expect(result === undefined).toBe(i < frags.length - 1);
      });
      expect(Buffer.from(result!).equals(Buffer.from(message))).toBe(true);
    }));
  });

  test('an announced length over the cap is refused before anything is kept', () => {
    const r = new TlsMessageReassembler(1000);
    expect(() => r.add({ flags: TlsFlag.Length | TlsFlag.More, totalLength: 0xffffffff, data: new Uint8Array(10) }))
      .toThrow(expect.objectContaining({ code: 'fragment-overflow' }) as Error);
    expect(r.inProgress).toBe(false);
  });

  test('endless fragments stop at the announced length', () => {
    const r = new TlsMessageReassembler(65536);
    r.add({ flags: TlsFlag.Length | TlsFlag.More, totalLength: 100, data: new Uint8Array(60) });
    expect(() => r.add({ flags: TlsFlag.More, data: new Uint8Array(60) })).toThrow(EapProtocolError);
  });

  test('endless fragments without L stop at the cap', () => {
    const r = new TlsMessageReassembler(4096);
    expect(() => r.add({ flags: TlsFlag.More, data: new Uint8Array(10) })).toThrow(expect.objectContaining({ code: 'bad-flags' }) as Error);
  });

  test('a short last fragment is a length mismatch', () => {
    const r = new TlsMessageReassembler(65536);
    r.add({ flags: TlsFlag.Length | TlsFlag.More, totalLength: 100, data: new Uint8Array(60) });
    expect(() => r.add({ flags: 0, data: new Uint8Array(10) })).toThrow(expect.objectContaining({ code: 'length-mismatch' }) as Error);
  });

  test('decoder refuses an L flag without its length field', () => {
    expect(() => decodeTlsFragment(new Uint8Array([0x80, 0, 0]))).toThrow(expect.objectContaining({ code: 'truncated' }) as Error);
    expect(() => decodeTlsFragment(new Uint8Array([]))).toThrow(EapProtocolError);
  });
});
