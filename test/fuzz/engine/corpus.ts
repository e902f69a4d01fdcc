import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Corpus files. Seeds in the repository are `.hex` files (hex digits, whitespace and `#` comments
 * ignored) so that a reviewer can read them; what a run finds is written as `.bin` files named by
 * their SHA-256, so the same input always lands in the same file.
 */

export function parseHexFile(text: string): Uint8Array {
  const hex = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error('not an even number of hex digits');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function formatHexFile(data: Uint8Array, comment?: string): string {
  const hex = Buffer.from(data).toString('hex');
  const lines = comment ? comment.split('\n').map((l) => `# ${l}`) : [];
  for (let i = 0; i < hex.length; i += 64) lines.push(hex.slice(i, i + 64));
  return `${lines.join('\n')}\n`;
}

export function inputId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Every `.hex` and `.bin` file of `dir` (none if it does not exist), in name order. */
export function loadCorpusDir(dir: string): Uint8Array[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex') || f.endsWith('.bin'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      return f.endsWith('.hex') ? parseHexFile(readFileSync(path, 'utf8')) : new Uint8Array(readFileSync(path));
    });
}

export function saveCorpusEntry(dir: string, data: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${inputId(data)}.bin`);
  if (!existsSync(path)) writeFileSync(path, data);
  return path;
}
