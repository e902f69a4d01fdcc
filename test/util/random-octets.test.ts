import { randomOctet, randomOctets } from '../../src/util/random-octets.js';

describe('randomOctets', () => {
  it('returns buffers of their own with the requested length', () => {
    const a = randomOctets(16);
    const b = randomOctets(16);
    expect(a).toHaveLength(16);
    expect(a.buffer).not.toBe(b.buffer);
    // Two 128-bit values from a CSPRNG are equal with probability 2^-128.
    expect(a.equals(b)).toBe(false);
  });

  it('serves requests across pool refills and larger than the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(randomOctets(32).toString('hex'));
    expect(seen.size).toBe(1000);
    expect(randomOctets(5000)).toHaveLength(5000);
    expect(randomOctets(0)).toHaveLength(0);
  });

  it('is not constant over many octets (every bit position takes both values)', () => {
    let or = 0;
    let and = 0xff;
    for (let i = 0; i < 512; i++) {
      const o = randomOctet();
      or |= o;
      and &= o;
    }
    expect(or).toBe(0xff);
    expect(and).toBe(0);
  });

  it('refuses a length that is not a non-negative integer', () => {
    expect(() => randomOctets(-1)).toThrow(RangeError);
    expect(() => randomOctets(1.5)).toThrow(RangeError);
  });
});
