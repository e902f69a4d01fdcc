import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * radius-vectors.json is copied from the shared spec folder so the tests are self-contained;
 * fixtures.test.ts checks the copy still equals the original where that folder exists.
 */
export const VECTORS_PATH = join(__dirname, 'fixtures', 'radius-vectors.json');
/** The project's protocol digests live beside the repository: ../shared/specs/. */
export const SHARED_VECTORS_PATH = join(__dirname, '..', '..', '..', 'shared', 'specs', 'radius-vectors.json');

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Record<string, Record<string, Json>>;

/** A string field of a vector group; throws on typos so a test cannot silently compare undefined. */
export function field(group: string, name: string): string {
  const value = vectors[group]?.[name];
  if (typeof value !== 'string') throw new Error(`vector ${group}.${name} missing or not a string`);
  return value;
}

export function list(group: string, name: string): string[] {
  const value = vectors[group]?.[name];
  if (!Array.isArray(value)) throw new Error(`vector ${group}.${name} missing or not a list`);
  return value.map(String);
}

export const SECRET = 'xyzzy5461';

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function sharedVectorsAvailable(): boolean {
  return existsSync(SHARED_VECTORS_PATH);
}

/** A string in a nested object of a vector group, e.g. rfc2865_examples.expected.*. */
export function nestedField(group: string, object: string, name: string): string {
  const container = vectors[group]?.[object];
  const value = container !== null && typeof container === 'object' && !Array.isArray(container) ? container[name] : undefined;
  if (typeof value !== 'string') throw new Error(`vector ${group}.${object}.${name} missing or not a string`);
  return value;
}
