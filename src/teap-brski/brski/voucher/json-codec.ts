/**
 * The JSON encoding of vouchers and voucher-requests (RFC 8366 §5.3, RFC 7951): one top-level
 * member `ietf-voucher:voucher` or `ietf-voucher-request:voucher` holding the leaves by their simple
 * names; binaries as base64. Unknown leaves are ignored (../shared/specs/teap-brski.md §4.2 item 7,
 * §8 item 8) and listed in `unknownMembers`.
 */
import { type AnyVoucherArtifact, type ArtifactMeta, Voucher, VoucherRequest } from './artifact.js';
import { VoucherError } from './errors.js';
import {
  type ArtifactKind, type LeafProp, type LeafSpec, VOUCHER_CONTAINER, VOUCHER_REQUEST_CONTAINER, containerName,
  leafByName, leavesOf,
} from './leaves.js';
import { checkSize } from './limits.js';
import { decodeBase64Binary, encodeBase64 } from './yang-types.js';

/** Media type of the CMS-signed JSON artefacts (RFC 8366 §8.3). */
export const VOUCHER_CMS_JSON_MEDIA_TYPE = 'application/voucher-cms+json';

/** Decodes a JSON voucher or voucher-request; which one it is follows from its container. */
export function parseVoucherArtifactJson(bytes: Uint8Array): AnyVoucherArtifact {
  return parseJson(bytes, undefined);
}

export function parseVoucherJson(bytes: Uint8Array): Voucher {
  return parseJson(bytes, 'voucher') as Voucher;
}

export function parseVoucherRequestJson(bytes: Uint8Array): VoucherRequest {
  return parseJson(bytes, 'voucher-request') as VoucherRequest;
}

/** UTF-8 JSON, members in SID order, binaries as the spelling they arrived in or standard base64. */
export function serializeVoucherJson(artifact: AnyVoucherArtifact): Uint8Array {
  const members: Record<string, unknown> = {};
  const values = artifact as unknown as Record<string, unknown>;
  for (const leaf of leavesOf(artifact.kind)) {
    const value = values[leaf.prop];
    if (value === undefined) continue;
    members[leaf.name] = value instanceof Uint8Array ? (artifact.base64Spelling[leaf.prop] ?? encodeBase64(value)) : value;
  }
  return new TextEncoder().encode(JSON.stringify({ [containerName(artifact.kind)]: members }));
}

function parseJson(bytes: Uint8Array, expected: ArtifactKind | undefined): AnyVoucherArtifact {
  checkSize(bytes, 'JSON voucher artefact');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new VoucherError('malformed', 'JSON voucher artefact is not UTF-8');
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new VoucherError('malformed', `not JSON: ${(e as Error).message}`);
  }
  // JSON.parse keeps the last of duplicate names; two readers could then see two different vouchers.
  const duplicate = findDuplicateMember(text);
  if (duplicate !== undefined) throw new VoucherError('malformed', `member "${duplicate}" appears twice in one object`);

  if (!isObject(document)) throw new VoucherError('invalid-content', 'JSON artefact is not an object');
  const names = Object.keys(document);
  if (names.length !== 1) {
    throw new VoucherError('invalid-content', `expected one top-level member, found ${names.length}`);
  }
  const top = names[0] as string;
  const kind: ArtifactKind | undefined =
    top === VOUCHER_CONTAINER ? 'voucher' : top === VOUCHER_REQUEST_CONTAINER ? 'voucher-request' : undefined;
  if (kind === undefined) throw new VoucherError('invalid-content', `unknown top-level member "${top}"`);
  if (expected !== undefined && kind !== expected) {
    throw new VoucherError('invalid-content', `expected ${containerName(expected)}, found ${top}`);
  }
  const container = document[top];
  if (!isObject(container)) throw new VoucherError('invalid-content', `${top} is not an object`);

  const content: Record<string, unknown> = {};
  const spellings: Partial<Record<LeafProp, string>> = {};
  const unknownMembers: string[] = [];
  for (const [name, value] of Object.entries(container)) {
    const leaf = leafByName(kind, name);
    if (!leaf) {
      unknownMembers.push(name);
      continue;
    }
    content[leaf.prop] = fromJsonValue(leaf, value, spellings);
  }
  const meta: ArtifactMeta = { unknownMembers, base64Spelling: spellings };
  return kind === 'voucher'
    ? new Voucher(content as unknown as ConstructorParameters<typeof Voucher>[0], meta)
    : new VoucherRequest(content as unknown as ConstructorParameters<typeof VoucherRequest>[0], meta);
}

function fromJsonValue(leaf: LeafSpec, value: unknown, spellings: Partial<Record<LeafProp, string>>): unknown {
  if (leaf.type !== 'binary') return value; // type-checked when the artefact is built
  if (typeof value !== 'string') throw new VoucherError('invalid-content', `${leaf.name}: not a base64 string`);
  const decoded = decodeBase64Binary(value);
  if (!decoded) throw new VoucherError('invalid-content', `${leaf.name}: not base64`);
  if (!decoded.canonical) spellings[leaf.prop] = value;
  return decoded.bytes;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The first member name that occurs twice in one object of `text`, which must already have parsed
 * as JSON (so every string followed by a colon is a member name).
 */
export function findDuplicateMember(text: string): string | undefined {
  const open: (Set<string> | undefined)[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const literal = text.slice(i, j + 1);
      i = j + 1;
      let k = i;
      while (text[k] === ' ' || text[k] === '\t' || text[k] === '\n' || text[k] === '\r') k++;
      const names = open[open.length - 1];
      if (text[k] === ':' && names) {
        const name = JSON.parse(literal) as string;
        if (names.has(name)) return name;
        names.add(name);
      }
      continue;
    }
    if (c === '{') open.push(new Set());
    else if (c === '[') open.push(undefined);
    else if (c === '}' || c === ']') open.pop();
    i++;
  }
  return undefined;
}
