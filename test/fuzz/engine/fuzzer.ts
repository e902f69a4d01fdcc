import { CoverageTracker, scriptClassifier } from './coverage.js';
import { crashSignature, describeError, type Crash, type CrashKind } from './crash.js';
import { mutate } from './mutators.js';
import { Prng } from './prng.js';
import { InvariantViolation, type FuzzTarget, type TargetFunction } from './target.js';

/**
 * The fuzzing loop, in-process: run the seeds, then pick a corpus entry, mutate it, run it with a
 * time limit, and keep it when V8 saw a block (or a block's count bucket) no earlier input reached.
 * A run is a pure function of the seed, the corpus and the target, so it can be repeated exactly.
 * Hangs that never yield the thread are caught by the CLI's watchdog (run/cli.ts), not here.
 */

export interface FuzzOptions {
  seed: number;
  /** The repository's seed corpus; always run first. */
  seeds: readonly Uint8Array[];
  /** Entries a previous run kept; run after the seeds. */
  saved?: readonly Uint8Array[];
  /** Stop after this many mutated inputs. */
  maxInputs?: number;
  /** Stop at this time (ms since the epoch). */
  deadline?: number;
  /** Where `src/` lives (coverage of the product is counted there). Default: the working directory. */
  root?: string;
  /** Further files whose coverage counts as the product's (the engine's own test plants a bug in one). */
  alsoCover?: readonly string[];
  stopOnCrash?: boolean;
  /** Called with each input before it runs (the CLI's watchdog keeps a copy). */
  beforeInput?(data: Uint8Array): void;
  afterInput?(): void;
  onNewEntry?(data: Uint8Array): void;
  onCrash?(crash: Crash): void;
  onProgress?(stats: FuzzStats): void;
  progressEveryMs?: number;
}

export interface FuzzStats {
  target: string;
  seed: number;
  /** Every input run, seeds included. */
  inputs: number;
  /** Inputs made by mutation. */
  mutated: number;
  corpus: number;
  /** Product blocks covered once the repository's seeds had run. */
  seedBlocks: number;
  /** Product blocks covered once the entries kept by earlier runs had run too (= seedBlocks without them). */
  keptBlocks: number;
  /** Product blocks covered at the end. */
  blocks: number;
  dependencyBlocks: number;
  features: number;
  /** Product source files with covered blocks. */
  files: number;
  /** One per distinct signature. */
  crashes: Crash[];
  /** Inputs that crashed, duplicates included. */
  crashingInputs: number;
  elapsedMs: number;
}

export class InputTimeout extends Error {
  override readonly name = 'InputTimeout';
}

/** Runs one input; resolves with undefined when the target behaved, else with what went wrong. */
export async function runOne(
  target: FuzzTarget,
  run: TargetFunction,
  data: Uint8Array,
): Promise<{ kind: CrashKind; err: unknown } | undefined> {
  const limit = target.timeoutMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = run(data);
    if (result instanceof Promise) {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new InputTimeout(`input still running after ${limit} ms`)), limit);
      });
      await Promise.race([result, timeout]);
    }
    return undefined;
  } catch (err) {
    if (err instanceof InputTimeout) return { kind: 'timeout', err };
    if (err instanceof InvariantViolation) return { kind: 'invariant', err };
    if (target.expected(err)) return undefined;
    return { kind: 'exception', err };
  } finally {
    clearTimeout(timer);
  }
}

export function toCrash(target: FuzzTarget, kind: CrashKind, err: unknown, input: Uint8Array): Crash {
  const e = describeError(err);
  return {
    target: target.name,
    kind,
    signature: crashSignature(kind, e.name, e.message, e.stack),
    message: `${e.name}: ${e.message}`,
    ...(e.stack ? { stack: e.stack } : {}),
    input: new Uint8Array(input),
  };
}

export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzStats> {
  const started = Date.now();
  const rng = new Prng(options.seed);
  const run = await target.setup();
  const classify = scriptClassifier(options.root ?? process.cwd(), target.dependencies ?? []);
  const extra = options.alsoCover ?? [];
  const tracker = await CoverageTracker.start((url) => (extra.some((f) => url.endsWith(f)) ? 'product' : classify(url)));
  const corpus: Uint8Array[] = [];
  /** Blocks each corpus entry ran, for choosing parents. */
  const depth: number[] = [];
  const crashes = new Map<string, Crash>();
  let inputs = 0;
  let mutated = 0;
  let crashingInputs = 0;
  let seedBlocks = 0;
  let keptBlocks = 0;
  let lastProgress = started;

  const stats = (): FuzzStats => ({
    target: target.name,
    seed: options.seed,
    inputs,
    mutated,
    corpus: corpus.length,
    seedBlocks,
    keptBlocks,
    blocks: tracker.blockCount,
    dependencyBlocks: tracker.dependencyBlockCount,
    features: tracker.featureCount,
    files: tracker.scriptCount,
    crashes: [...crashes.values()],
    crashingInputs,
    elapsedMs: Date.now() - started,
  });

  let lastHit = 0;
  /**
   * Half the time the deeper of two random entries (what ran more blocks got past more checks, and
   * mutating it explores beyond them), else one of the newest quarter (the frontier), else any.
   */
  const chooseParent = (): number => {
    const r = rng.below(4);
    if (r < 2) {
      const a = rng.below(corpus.length);
      const b = rng.below(corpus.length);
      return depth[a]! >= depth[b]! ? a : b;
    }
    if (r === 2) return corpus.length - 1 - rng.below(Math.max(1, Math.floor(corpus.length / 4)));
    return rng.below(corpus.length);
  };
  /** Runs `data`; true when it found new coverage and behaved. */
  const execute = async (data: Uint8Array): Promise<boolean> => {
    options.beforeInput?.(data);
    const bad = await runOne(target, run, data);
    options.afterInput?.();
    inputs++;
    const sample = await tracker.collect();
    lastHit = sample.hit;
    if (bad) {
      crashingInputs++;
      const crash = toCrash(target, bad.kind, bad.err, data);
      if (!crashes.has(crash.signature)) {
        crashes.set(crash.signature, crash);
        options.onCrash?.(crash);
      }
      return false;
    }
    return sample.newFeatures > 0;
  };

  try {
    await tracker.discard();
    for (const s of options.seeds) {
      if (s.length > target.maxLength) throw new Error(`${target.name}: a seed of ${s.length} octets exceeds maxLength ${target.maxLength}`);
      await execute(s);
      corpus.push(s);
      depth.push(lastHit);
    }
    seedBlocks = tracker.blockCount;
    for (const s of options.saved ?? []) {
      if (s.length <= target.maxLength && (await execute(s))) {
        corpus.push(s);
        depth.push(lastHit);
      }
    }
    if (corpus.length === 0) {
      corpus.push(new Uint8Array(0));
      depth.push(0);
    }
    keptBlocks = tracker.blockCount;

    const done = (): boolean =>
      (options.maxInputs !== undefined && mutated >= options.maxInputs) ||
      (options.deadline !== undefined && Date.now() >= options.deadline) ||
      (options.stopOnCrash === true && crashes.size > 0);
    while (!done()) {
      const parent = corpus[chooseParent()]!;
      const child = mutate(parent, { rng, maxLength: target.maxLength, corpus, ...(target.hints ? { hints: target.hints } : {}) });
      mutated++;
      if (await execute(child)) {
        corpus.push(child);
        depth.push(lastHit);
        options.onNewEntry?.(child);
      }
      if (options.onProgress && Date.now() - lastProgress >= (options.progressEveryMs ?? 10_000)) {
        lastProgress = Date.now();
        options.onProgress(stats());
      }
    }
    return stats();
  } finally {
    await tracker.stop();
  }
}
