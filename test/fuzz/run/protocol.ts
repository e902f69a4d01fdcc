import type { Crash } from '../engine/crash.js';
import type { FuzzStats } from '../engine/fuzzer.js';

/** What the CLI and a fuzzing worker (worker.ts) say to each other. */

export interface WorkerJob {
  target: string;
  seed: number;
  deadline: number;
  maxInputs?: number;
  /** The repository's seed corpus (one folder per target). */
  seedDir: string;
  /** Entries kept by earlier runs are read from and written to here; none when undefined. */
  corpusDir?: string;
  /** See SHARED_HEADER. */
  shared: SharedArrayBuffer;
  /** Run only this input once (to confirm a suspected hang in a fresh thread) instead of fuzzing. */
  replay?: Uint8Array;
}

/**
 * `shared` starts with four Int32: the input sequence number, 1 while an input runs, the input's
 * length, and one spare; the input's octets follow. The worker writes the input there before it
 * runs, so a worker that stops advancing or dies still tells which input did it.
 */
export const SHARED_HEADER = 16;
export const SEQUENCE = 0;
export const BUSY = 1;
export const LENGTH = 2;

export type WorkerMessage =
  | { type: 'progress'; stats: FuzzStats }
  | { type: 'crash'; crash: Crash }
  | { type: 'done'; stats: FuzzStats }
  /** The outcome of a replay: the crash it reproduced, or none. */
  | { type: 'replayed'; crash?: Crash };
