import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { formatHexFile, parseHexFile } from '../engine/corpus.js';
import { crashSignature, describeError, writeCrash, type Crash, type CrashKind } from '../engine/crash.js';
import { runOne, toCrash, type FuzzStats } from '../engine/fuzzer.js';
import type { FuzzTarget } from '../engine/target.js';
import { TARGETS, targetByName } from '../targets/index.js';
import { BUSY, LENGTH, SEQUENCE, SHARED_HEADER, type WorkerJob, type WorkerMessage } from './protocol.js';

/**
 * `npm run fuzz -- [--minutes N] [--target NAME]... [--seed N] [--max-inputs N]`
 *   fuzzes each target in turn (the minutes are shared), writes every crashing input to crashes/ and
 *   exits 1 if there was one; kept corpus entries accumulate in .fuzz/corpus/ (--no-keep: not).
 * `npm run fuzz -- --target NAME --reproduce FILE`   runs one input and says what it does.
 * `npm run fuzz -- --make-seeds [--target NAME]`      rewrites test/fuzz/corpus/ from the targets' seed makers.
 * `npm run fuzz -- --list`                            lists the targets.
 */

const USAGE = 'usage: npm run fuzz -- [--minutes N] [--target NAME]... [--seed N] [--max-inputs N] [--no-keep] [--json FILE] | --reproduce FILE --target NAME | --make-seeds | --list';
const ROOT = process.cwd();
const SEED_DIR = join(ROOT, 'test', 'fuzz', 'corpus');

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        minutes: { type: 'string' },
        target: { type: 'string', multiple: true },
        seed: { type: 'string' },
        'max-inputs': { type: 'string' },
        'no-keep': { type: 'boolean' },
        json: { type: 'string' },
        crashes: { type: 'string' },
        reproduce: { type: 'string' },
        'make-seeds': { type: 'boolean' },
        list: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();

function chosenTargets(): FuzzTarget[] {
  const names = (values.target ?? []).flatMap((t) => t.split(',')).filter((t) => t.length > 0);
  if (names.length === 0) return [...TARGETS];
  return names.map((n) => targetByName(n) ?? fail(`unknown target "${n}"; --list shows them`));
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number`);
  return n;
}

if (values.list) {
  for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(20)} ${t.description}\n`);
  process.exit(0);
}

if (values['make-seeds']) {
  for (const t of chosenTargets()) {
    if (!t.makeSeeds) continue;
    const dir = join(SEED_DIR, t.name);
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (f.endsWith('.hex')) rmSync(join(dir, f));
    const seeds = await t.makeSeeds();
    for (const s of seeds) {
      if (s.data.length > t.maxLength) fail(`${t.name}: seed ${s.name} has ${s.data.length} octets, more than maxLength ${t.maxLength}`);
      writeFileSync(join(dir, `${s.name}.hex`), formatHexFile(s.data, s.comment));
    }
    process.stdout.write(`${t.name}: ${seeds.length} seeds in ${dir}\n`);
  }
  process.exit(0);
}

if (values.reproduce !== undefined) {
  const targets = chosenTargets();
  if (targets.length !== 1) fail('--reproduce needs exactly one --target');
  const target = targets[0]!;
  const file = values.reproduce;
  const data = file.endsWith('.hex') ? parseHexFile(readFileSync(file, 'utf8')) : new Uint8Array(readFileSync(file));
  const run = await target.setup();
  const bad = await runOne(target, run, data);
  if (!bad) {
    process.stdout.write(`${target.name}: ${data.length} octets, no crash\n`);
    process.exit(0);
  }
  const c = toCrash(target, bad.kind, bad.err, data);
  process.stdout.write(`${target.name}: ${c.kind}\n${c.signature}\n${c.stack ?? c.message}\n`);
  process.exit(1);
}

interface TargetResult {
  target: string;
  seconds: number;
  inputs: number;
  corpus: number;
  seedBlocks: number;
  keptBlocks: number;
  blocks: number;
  dependencyBlocks: number;
  files: number;
  crashes: Crash[];
  /** Suspected hangs that finished in time when replayed alone in a fresh thread (not crashes). */
  unconfirmedStalls: number;
  workerRestarts: number;
}

const minutes = positive('minutes', values.minutes, 1);
const baseSeed = values.seed !== undefined ? Math.floor(positive('seed', values.seed, 1)) : Date.now() % 0x7fffffff;
const maxInputs = values['max-inputs'] !== undefined ? Math.floor(positive('max-inputs', values['max-inputs'], 1)) : undefined;
const crashesDir = resolve(values.crashes ?? join(ROOT, 'crashes'));
const corpusDir = values['no-keep'] ? undefined : join(ROOT, '.fuzz', 'corpus');
const targets = chosenTargets();
const share = (minutes * 60_000) / targets.length;
process.stdout.write(`fuzzing ${targets.length} target(s), ${(share / 1000).toFixed(0)} s each, seed ${baseSeed}\n`);

type Ending =
  | { kind: 'done'; stats: FuzzStats }
  | { kind: 'replayed'; crash?: Crash }
  /** The thread stopped advancing while running `input` and was terminated. */
  | { kind: 'hung'; input: Uint8Array; ms: number }
  /** The thread died (out of heap, an error nothing caught) while running `input`. */
  | { kind: 'died'; crash: Crash }
  | { kind: 'exited' };

/** How long an input may hold the thread before the watchdog stops it. */
const stallLimit = (target: FuzzTarget): number => Math.max(2 * (target.timeoutMs ?? 2000), (target.timeoutMs ?? 2000) + 3000);

/** Runs one worker to its end, stopping it when an input never yields; `inputs` gets its count. */
function supervise(target: FuzzTarget, job: Omit<WorkerJob, 'shared'>, onMessage: (m: WorkerMessage) => void): Promise<Ending & { inputs: number }> {
  const shared = new SharedArrayBuffer(SHARED_HEADER + target.maxLength);
  const control = new Int32Array(shared, 0, 4);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: { ...job, shared }, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
  const current = (): Uint8Array => new Uint8Array(shared, SHARED_HEADER, Atomics.load(control, LENGTH)).slice();
  return new Promise((settle) => {
    let seen = -1;
    let since = Date.now();
    let settled = false;
    const finish = (e: Ending): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      // Inputs started by this worker, counted by the worker itself in shared memory.
      settle({ ...e, inputs: Atomics.load(control, SEQUENCE) });
    };
    // An input that never yields the thread cannot time itself out: stop the whole worker.
    const watchdog = setInterval(() => {
      const seq = Atomics.load(control, SEQUENCE);
      if (seq !== seen) {
        seen = seq;
        since = Date.now();
      } else if (Atomics.load(control, BUSY) === 1 && Date.now() - since > stallLimit(target)) {
        const input = current();
        const ms = Date.now() - since;
        void worker.terminate();
        finish({ kind: 'hung', input, ms });
      }
    }, 250);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') finish({ kind: 'done', stats: m.stats });
      else if (m.type === 'replayed') finish(m.crash ? { kind: 'replayed', crash: m.crash } : { kind: 'replayed' });
      else onMessage(m);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const kind: CrashKind = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'exception';
      const e = describeError(err);
      finish({ kind: 'died', crash: { target: target.name, kind, signature: crashSignature(kind, e.name, e.message, e.stack), message: `${e.name}: ${e.message}`, ...(e.stack ? { stack: e.stack } : {}), input: current() } });
    });
    worker.on('exit', () => finish({ kind: 'exited' }));
  });
}

/**
 * A timeout is only a crash if the input also hangs alone, in a fresh thread: on a loaded machine a
 * garbage collection or a starved thread can hold one input past the limit.
 */
async function confirmTimeout(target: FuzzTarget, input: Uint8Array): Promise<Crash | undefined> {
  const replay = await supervise(target, { target: target.name, seed: 0, deadline: 0, seedDir: SEED_DIR, replay: input }, () => undefined);
  if (replay.kind === 'hung') return toCrash(target, 'timeout', new Error(`input still running after ${stallLimit(target)} ms without yielding (also when run alone)`), input);
  if (replay.kind === 'replayed') return replay.crash;
  if (replay.kind === 'died') return replay.crash;
  return undefined;
}

/** Runs one target until its time is up, restarting the worker after a hang or a death. */
async function fuzzTarget(target: FuzzTarget, index: number): Promise<TargetResult> {
  const started = Date.now();
  const deadline = started + share;
  const crashes = new Map<string, Crash>();
  const suspectedTimeouts: Crash[] = [];
  let unconfirmedStalls = 0;
  let inputs = 0;
  let last: FuzzStats | undefined;
  let restarts = 0;
  const record = (c: Crash): void => {
    if (crashes.has(c.signature)) return;
    crashes.set(c.signature, c);
    const path = writeCrash(crashesDir, c);
    process.stdout.write(`  CRASH ${c.signature}\n        ${path}\n`);
  };
  const onMessage = (m: WorkerMessage): void => {
    if (m.type === 'crash') {
      if (m.crash.kind === 'timeout') suspectedTimeouts.push(m.crash);
      else record(m.crash);
    } else if (m.type === 'progress') {
      last = m.stats;
      process.stdout.write(`  ${target.name}: ${m.stats.inputs} inputs, corpus ${m.stats.corpus}, ${m.stats.blocks} blocks, ${crashes.size} crashes\n`);
    }
  };
  const confirm = async (input: Uint8Array): Promise<void> => {
    const c = await confirmTimeout(target, input);
    if (c) record(c);
    else {
      unconfirmedStalls++;
      process.stdout.write('  a suspected hang finished in time when replayed alone (machine load?); not counted\n');
    }
  };
  while (Date.now() < deadline - 1000 && (maxInputs === undefined || inputs < maxInputs)) {
    const end = await supervise(
      target,
      {
        target: target.name,
        seed: (baseSeed + 7919 * index + 104_729 * restarts) >>> 0,
        deadline,
        ...(maxInputs !== undefined ? { maxInputs: maxInputs - inputs } : {}),
        seedDir: SEED_DIR,
        ...(corpusDir !== undefined ? { corpusDir } : {}),
      },
      onMessage,
    );
    inputs += end.inputs;
    if (end.kind === 'done') {
      last = end.stats;
      break;
    }
    if (end.kind === 'hung') await confirm(end.input);
    else if (end.kind === 'died') record(end.crash);
    else if (end.kind === 'exited') break;
    restarts++;
  }
  for (const t of suspectedTimeouts) await confirm(t.input);
  return {
    target: target.name,
    seconds: Math.round((Date.now() - started) / 1000),
    inputs,
    corpus: last?.corpus ?? 0,
    seedBlocks: last?.seedBlocks ?? 0,
    keptBlocks: last?.keptBlocks ?? 0,
    blocks: last?.blocks ?? 0,
    dependencyBlocks: last?.dependencyBlocks ?? 0,
    files: last?.files ?? 0,
    crashes: [...crashes.values()],
    unconfirmedStalls,
    workerRestarts: restarts,
  };
}

const results: TargetResult[] = [];
for (const [i, t] of targets.entries()) {
  process.stdout.write(`${t.name}\n`);
  const r = await fuzzTarget(t, i);
  results.push(r);
  process.stdout.write(`  done: ${r.inputs} inputs in ${r.seconds} s, corpus ${r.corpus}, blocks ${r.seedBlocks} (seeds) / ${r.keptBlocks} (kept entries) -> ${r.blocks} (+${r.dependencyBlocks} in dependencies), ${r.crashes.length} crashes\n`);
}
process.stdout.write('\ntarget               inputs    corpus  blocks (seeds / kept -> end)  crashes\n');
for (const r of results) {
  process.stdout.write(`${r.target.padEnd(20)} ${String(r.inputs).padStart(8)} ${String(r.corpus).padStart(8)}  ${`${r.seedBlocks} / ${r.keptBlocks} -> ${r.blocks}`.padStart(26)}  ${r.crashes.length}\n`);
}
if (values.json !== undefined) {
  writeFileSync(values.json, `${JSON.stringify(results.map((r) => ({ ...r, crashes: r.crashes.map((c) => ({ kind: c.kind, signature: c.signature })) })), null, 2)}\n`);
}
process.exit(results.some((r) => r.crashes.length > 0) ? 1 : 0);
