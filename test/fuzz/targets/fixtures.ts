import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Seed makers read the repository's copies of ../shared/specs vectors (run from the repository root). */
export function readJsonFixture<T>(...path: string[]): T {
  return JSON.parse(readFileSync(join(process.cwd(), ...path), 'utf8')) as T;
}

export const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
