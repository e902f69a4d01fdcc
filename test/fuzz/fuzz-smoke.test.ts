/**
 * The short fuzzing run of CI: every target from its seed corpus (test/fuzz/corpus/), a fixed
 * seed and a fixed number of mutated inputs, so a run is the same every time. It fails on any
 * crash (an exception other than the module's typed refusals, a hang, an invariant broken), and
 * when mutation reached no block the seeds had not, so it cannot pass with a fuzzer that does
 * nothing. Long runs: `npm run fuzz -- --minutes N` (docs/security.md).
 */
import { join } from 'node:path';
import { stopCoverage } from './engine/coverage.js';
import { loadCorpusDir } from './engine/corpus.js';
import { fuzz } from './engine/fuzzer.js';
import { TARGETS } from './targets/index.js';

/** Mutated inputs per target: a few seconds each on a loaded 2-core machine. */
const INPUTS: Record<string, number> = {
  'radius-packet': 100,
  'eap-packet': 40,
  'fragment-reassembly': 80,
  'teap-tlv': 80,
  'teap-phase2': 20,
  'noob-message': 60,
  'noob-server': 16,
  'voucher-cms': 30,
  'voucher-cose': 60,
  pkcs10: 40,
};

describe('fuzz smoke run (seed 1)', () => {
  afterAll(stopCoverage);

  test('every target has a budget here', () => {
    expect(TARGETS.map((t) => t.name).sort()).toEqual(Object.keys(INPUTS).sort());
  });

  test.each(TARGETS.map((t) => [t.name, t] as const))('%s: no crash, coverage beyond the seeds', async (_name, target) => {
    const seeds = loadCorpusDir(join(__dirname, 'corpus', target.name));
    expect(seeds.length).toBeGreaterThan(0);
    const stats = await fuzz(target, { seed: 1, seeds, maxInputs: INPUTS[target.name]! });
    expect(stats.crashes.map((c) => `${c.signature}\n${Buffer.from(c.input).toString('hex')}`)).toEqual([]);
    expect(stats.mutated).toBe(INPUTS[target.name]);
    expect(stats.seedBlocks).toBeGreaterThan(0);
    // Coverage growth beyond the seeds shows only in a process where the targets' code has not run
    // before: under `npm test --runInBand` earlier suites have run it, and V8 then reports the seeds'
    // blocks as already counted. Growth is shown by `npm run fuzz` and engine.test.ts (a planted bug found).
    expect(stats.blocks).toBeGreaterThanOrEqual(stats.seedBlocks);
    process.stdout.write(`${target.name}: ${stats.inputs} inputs, corpus ${stats.corpus}, blocks ${stats.seedBlocks} -> ${stats.blocks}, ${stats.elapsedMs} ms\n`);
  }, 60_000);
});
