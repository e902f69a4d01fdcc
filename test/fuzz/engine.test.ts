/**
 * The fuzzer's own parts: the generator repeats, chunks and field walks read what they write, and
 * the loop finds a planted bug, tells typed refusals from crashes, and stops a hanging input.
 */
import { joinChunks, splitChunks } from './engine/chunks.js';
import { stopCoverage } from './engine/coverage.js';
import { formatHexFile, parseHexFile } from './engine/corpus.js';
import { fuzz, runOne } from './engine/fuzzer.js';
import { mutate, walkFields } from './engine/mutators.js';
import { Prng } from './engine/prng.js';
import { InvariantViolation, type FuzzTarget } from './engine/target.js';
import { RadiusProtocolError, decodePacket } from '../../src/radius/index.js';

describe('fuzzer engine', () => {
  afterAll(stopCoverage);

  test('the generator gives the same sequence for the same seed, another for another', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const c = new Prng(8);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
    for (let i = 0; i < 1000; i++) expect(a.below(5)).toBeLessThan(5);
  });

  test('chunks, hex files and field walks read back what was written', () => {
    const parts = [Uint8Array.of(1, 2), new Uint8Array(0), new Uint8Array(300).fill(9)];
    expect(splitChunks(joinChunks(parts), 10)).toEqual(parts);
    expect(splitChunks(Uint8Array.of(0, 5, 1), 10)).toEqual([Uint8Array.of(1)]);
    const data = Uint8Array.of(0xde, 0xad, 0, 1, 2);
    expect(parseHexFile(formatHexFile(data, 'two\nlines'))).toEqual(data);
    // RADIUS-style attributes after a 2-octet header; the third overruns and is not a field.
    const packet = Uint8Array.of(9, 9, 1, 3, 0x61, 2, 2, 5, 9);
    expect(walkFields(packet, { offset: 2, typeOctets: 1, lengthOctets: 1, lengthIncludesHeader: true })).toEqual([
      { start: 2, valueStart: 4, end: 5 },
      { start: 5, valueStart: 7, end: 7 },
    ]);
  });

  test('mutation is deterministic, bounded by maxLength, and never returns the parent', () => {
    const parent = new Uint8Array(64).fill(0x41);
    const run = (seed: number): Uint8Array[] => {
      const rng = new Prng(seed);
      return Array.from({ length: 200 }, () => mutate(parent, { rng, maxLength: 80, corpus: [parent, Uint8Array.of(1, 2, 3)] }));
    };
    const first = run(3);
    expect(run(3)).toEqual(first);
    for (const m of first) {
      expect(m.length).toBeLessThanOrEqual(80);
      expect(m).not.toBe(parent);
    }
    expect(parent.every((b) => b === 0x41)).toBe(true);
  });

  const planted: FuzzTarget = {
    name: 'planted',
    description: 'a RADIUS decode with a planted bug three branches deep: three attributes, two alike, one empty',
    maxLength: 256,
    expected: (err) => err instanceof RadiusProtocolError,
    hints: {
      tlv: [{ offset: 20, typeOctets: 1, lengthOctets: 1, lengthIncludesHeader: true }],
      fixup: (d) => {
        const out = new Uint8Array(d);
        if (out.length >= 4) [out[2], out[3]] = [out.length >> 8, out.length & 0xff];
        return out;
      },
    },
    async setup() {
      return (data) => {
        const p = decodePacket(data);
        // Each branch is a block of its own, so coverage leads the fuzzer from one to the next.
        if (p.attributes.length >= 3) {
          const twins = p.attributes.findIndex((a, i) => i > 0 && a.type === p.attributes[i - 1]!.type);
          if (twins > 0) {
            if (p.attributes[twins]!.value.length === 0) throw new TypeError('planted bug');
          }
        }
      };
    },
  };

  test('finds a planted bug that needs a valid packet, and keeps the input that shows it', async () => {
    const seed = Uint8Array.of(1, 1, 0, 26, ...new Array(16).fill(0), 1, 6, 0x61, 0x62, 0x63, 0x64);
    const stats = await fuzz(planted, { seed: 1, seeds: [seed], maxInputs: 3000, stopOnCrash: true, alsoCover: [__filename] });
    expect(stats.crashes).toHaveLength(1);
    const crash = stats.crashes[0]!;
    expect(crash.kind).toBe('exception');
    expect(crash.signature).toMatch(/^exception: TypeError: planted bug/);
    expect(await runOne(planted, await planted.setup(), crash.input)).toMatchObject({ kind: 'exception' });
    expect(stats.blocks).toBeGreaterThan(0);
  }, 60_000);

  test('typed refusals are not crashes; invariant violations and hangs are', async () => {
    const target = (run: (d: Uint8Array) => void | Promise<void>): FuzzTarget => ({ ...planted, timeoutMs: 200, setup: async () => run });
    const typed = target(() => {
      throw new RadiusProtocolError('truncated', 'short');
    });
    expect(await runOne(typed, await typed.setup(), new Uint8Array(1))).toBeUndefined();
    const broken = target(() => {
      throw new InvariantViolation('accepted without credentials');
    });
    expect(await runOne(broken, await broken.setup(), new Uint8Array(1))).toMatchObject({ kind: 'invariant' });
    const hangs = target(() => new Promise<void>(() => undefined));
    expect(await runOne(hangs, await hangs.setup(), new Uint8Array(1))).toMatchObject({ kind: 'timeout' });
  });
});
