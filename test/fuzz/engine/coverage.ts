import { Session } from 'node:inspector/promises';

/**
 * Coverage feedback from V8 itself: precise block coverage with call counts, taken after every
 * input through an in-process inspector session (no instrumentation, no build step).
 *
 * V8 reports, per executed function, its range and the nested ranges whose count differs from the
 * enclosing one; a block executed exactly as often as its parent is not listed at all. So a block is
 * remembered once any report lists it, and its count in a later report is the count of the innermost
 * listed range that contains it. A *block* is (script, function, range) with a non-zero count; a
 * *feature* is a block with its count bucketed as AFL does (1, 2, 3, 4-7, 8-15, 16-31, 32-127,
 * 128+), so that an input taking a loop a new number of times also counts as new.
 */

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  ranges: Range[];
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

export interface CoverageSample {
  /** Features (block × count bucket) never seen before this input. */
  newFeatures: number;
  /** Blocks of the product's sources never seen before this input. */
  newBlocks: number;
  /** Blocks (product and dependencies) this input ran: how deep it got. */
  hit: number;
}

function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

export class CoverageTracker {
  /** Every range ever listed, per function, as [start, end] pairs. */
  private readonly known = new Map<string, number[]>();
  private readonly blocks = new Set<string>();
  private readonly dependencyBlocks = new Set<string>();
  private readonly features = new Set<string>();
  private readonly scripts = new Set<string>();

  private constructor(
    private readonly session: Session,
    private readonly classify: ScriptClassifier,
  ) {}

  /**
   * Starts V8 precise coverage for this thread. `classify` says which scripts count: the product's
   * sources, and the dependencies a target parses through (asn1js, pkijs, cbor-x), which guide the
   * search but are reported apart; never the fuzzer or its harness.
   */
  static async start(classify: ScriptClassifier): Promise<CoverageTracker> {
    shared ??= (async () => {
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true, allowTriggeredUpdates: false });
      return session;
    })();
    const tracker = new CoverageTracker(await shared, classify);
    await tracker.discard();
    return tracker;
  }

  /** Distinct blocks of the product's sources covered so far. */
  get blockCount(): number {
    return this.blocks.size;
  }

  /** Distinct blocks of dependencies covered so far. */
  get dependencyBlockCount(): number {
    return this.dependencyBlocks.size;
  }

  get featureCount(): number {
    return this.features.size;
  }

  /** Scripts (source files) with at least one covered block. */
  get scriptCount(): number {
    return this.scripts.size;
  }

  /** Forgets what ran since the last call (set-up work that no input caused). */
  async discard(): Promise<void> {
    await this.session.post('Profiler.takePreciseCoverage');
  }

  /** What ran since the last call, merged into the totals. Counters restart at zero afterwards. */
  async collect(): Promise<CoverageSample> {
    const { result } = (await this.session.post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
    let newFeatures = 0;
    let newBlocks = 0;
    let hit = 0;
    for (const script of result) {
      const kind = this.classify(script.url);
      if (kind === undefined) continue;
      const blocks = kind === 'product' ? this.blocks : this.dependencyBlocks;
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        const outer = ranges[0];
        if (!outer || outer.count === 0) continue;
        const fnKey = `${script.url}#${outer.startOffset}`;
        let known = this.known.get(fnKey);
        if (!known) {
          known = [];
          this.known.set(fnKey, known);
        }
        for (const r of ranges) {
          let seen = false;
          for (let i = 0; i < known.length; i += 2) {
            if (known[i] === r.startOffset && known[i + 1] === r.endOffset) {
              seen = true;
              break;
            }
          }
          if (!seen) known.push(r.startOffset, r.endOffset);
        }
        for (let i = 0; i < known.length; i += 2) {
          const start = known[i]!;
          const end = known[i + 1]!;
          const count = innermostCount(ranges, start, end);
          if (count === 0) continue;
          hit++;
          const block = `${fnKey}:${start}-${end}`;
          if (!blocks.has(block)) {
            blocks.add(block);
            if (kind === 'product') {
              this.scripts.add(script.url);
              newBlocks++;
            }
          }
          const feature = `${block}/${bucket(count)}`;
          if (!this.features.has(feature)) {
            this.features.add(feature);
            newFeatures++;
          }
        }
      }
    }
    return { newFeatures, newBlocks, hit };
  }

  /**
   * Ends this tracker's accounting. V8's coverage itself stays on for the thread: stopping and
   * starting it again loses the block counters of code compiled in between, so that a second
   * target in the same process would see fewer blocks than it covers.
   */
  async stop(): Promise<void> {
    await this.discard();
  }
}

let shared: Promise<Session> | undefined;

/**
 * Turns V8's coverage off for this thread. For a process that goes on with other work (the jest
 * process running the rest of the suite): precise coverage keeps every function's feedback alive
 * and slows all code down.
 */
export async function stopCoverage(): Promise<void> {
  const pending = shared;
  shared = undefined;
  if (!pending) return;
  const session = await pending;
  await session.post('Profiler.stopPreciseCoverage');
  await session.post('Profiler.disable');
  session.disconnect();
}

/** Count of the smallest listed range that contains [start, end) (V8's nesting rule). */
function innermostCount(ranges: readonly Range[], start: number, end: number): number {
  let best = -1;
  let bestSize = Infinity;
  for (const r of ranges) {
    if (r.startOffset <= start && end <= r.endOffset) {
      const size = r.endOffset - r.startOffset;
      if (size < bestSize) {
        bestSize = size;
        best = r.count;
      }
    }
  }
  return best < 0 ? 0 : best;
}

export type ScriptClassifier = (url: string) => 'product' | 'dependency' | undefined;

/**
 * The product's sources are `ROOT/src/**`; `dependencies` names packages (found in any
 * `node_modules/`, since that folder may be a symbolic link) whose coverage also guides the search.
 */
export function scriptClassifier(root: string, dependencies: readonly string[] = []): ScriptClassifier {
  const base = root.replace(/[\\/]+$/, '');
  const src = [`${base}/src/`, `file://${base}/src/`];
  const deps = dependencies.map((d) => `/node_modules/${d}/`);
  return (url) => {
    if (src.some((p) => url.startsWith(p))) return 'product';
    if (deps.some((p) => url.includes(p))) return 'dependency';
    return undefined;
  };
}
