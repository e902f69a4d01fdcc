import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { loadCorpusDir, saveCorpusEntry } from '../engine/corpus.js';
import { fuzz, runOne, toCrash } from '../engine/fuzzer.js';
import { targetByName } from '../targets/index.js';
import { BUSY, LENGTH, SEQUENCE, SHARED_HEADER, type WorkerJob, type WorkerMessage } from './protocol.js';

/** One target's fuzzing (or one replayed input), in a worker thread the CLI can stop (see protocol.ts). */

const job = workerData as WorkerJob;
const target = targetByName(job.target);
if (!target) throw new Error(`unknown target ${job.target}`);
const control = new Int32Array(job.shared, 0, 4);
const bytes = new Uint8Array(job.shared, SHARED_HEADER);
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);
const keptDir = job.corpusDir !== undefined ? join(job.corpusDir, target.name) : undefined;

function started(data: Uint8Array): void {
  bytes.set(data.subarray(0, bytes.length));
  Atomics.store(control, LENGTH, Math.min(data.length, bytes.length));
  Atomics.store(control, BUSY, 1);
  Atomics.add(control, SEQUENCE, 1);
}

function finished(): void {
  Atomics.store(control, BUSY, 0);
}

if (job.replay !== undefined) {
  const input = job.replay;
  const run = await target.setup();
  started(input);
  const bad = await runOne(target, run, input);
  finished();
  post(bad ? { type: 'replayed', crash: toCrash(target, bad.kind, bad.err, input) } : { type: 'replayed' });
} else {
  const stats = await fuzz(target, {
    seed: job.seed,
    seeds: loadCorpusDir(join(job.seedDir, target.name)),
    saved: keptDir !== undefined ? loadCorpusDir(keptDir) : [],
    deadline: job.deadline,
    ...(job.maxInputs !== undefined ? { maxInputs: job.maxInputs } : {}),
    beforeInput: started,
    afterInput: finished,
    onNewEntry(data) {
      if (keptDir !== undefined) saveCorpusEntry(keptDir, data);
    },
    onCrash(crash) {
      post({ type: 'crash', crash });
    },
    onProgress(s) {
      post({ type: 'progress', stats: s });
    },
    progressEveryMs: 15_000,
  });
  post({ type: 'done', stats });
}
