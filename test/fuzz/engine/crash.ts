import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHexFile, inputId } from './corpus.js';

/**
 * What went wrong with one input, and where it is kept. A crash file is named
 * `TARGET-KIND-ID.bin` with ID the first 16 hex digits of the input's SHA-256, so the same crash
 * found twice (or on another machine with the same seed) lands in the same file; a `.txt` next to
 * it says what happened and how to replay it.
 */

export type CrashKind =
  /** An exception other than the module's declared typed errors. */
  | 'exception'
  /** The target reported something the product must never do. */
  | 'invariant'
  /** The input took longer than the per-input limit (or never finished). */
  | 'timeout'
  /** The worker ran out of its heap while running the input. */
  | 'oom';

export interface Crash {
  target: string;
  kind: CrashKind;
  /** Error class and message with numbers masked: equal signatures are one bug. */
  signature: string;
  message: string;
  stack?: string;
  input: Uint8Array;
}

export function describeError(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  return { name: typeof err, message: String(err) };
}

export function crashSignature(kind: CrashKind, name: string, message: string, stack?: string): string {
  const masked = message.replace(/0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+/gi, 'N').slice(0, 160);
  // The first frame in the product's sources tells two bugs with the same message apart.
  const frame = stack?.split('\n').find((l) => /[\\/]src[\\/]/.test(l))?.replace(/^.*[\\/]src[\\/]/, 'src/').replace(/[:)]+\d+.*$/, '').replace(/:\d+$/, '');
  return `${kind}: ${name}: ${masked}${frame ? ` @ ${frame}` : ''}`;
}

export function crashFileName(c: Pick<Crash, 'target' | 'kind' | 'input'>): string {
  return `${c.target}-${c.kind}-${inputId(c.input)}.bin`;
}

/** Writes the input and a note; returns the input's path. */
export function writeCrash(dir: string, c: Crash): string {
  mkdirSync(dir, { recursive: true });
  const file = crashFileName(c);
  const path = join(dir, file);
  writeFileSync(path, c.input);
  const note = [
    `target: ${c.target}`,
    `kind: ${c.kind}`,
    `signature: ${c.signature}`,
    `message: ${c.message}`,
    `replay: npm run fuzz -- --target ${c.target} --reproduce ${path}`,
    '',
    c.stack ?? '',
    '',
    formatHexFile(c.input),
  ].join('\n');
  writeFileSync(path.replace(/\.bin$/, '.txt'), note);
  return path;
}
