/**
 * The CBOR encoding of vouchers and voucher-requests (RFC 9254 with the SIDs of
 * ../shared/specs/constrained-voucher.md §1-§2): `{container SID: {delta: value}}`.
 *
 * Reading accepts each key form RFC 9254 allows: a bare unsigned integer is a delta from the
 * container SID, tag 47 carries an absolute SID, a text string is a name (qualified at the top,
 * simple inside). The same leaf reached through two key forms is refused as ambiguous.
 * Writing uses SIDs with deltas only, deterministic, as the cBRSKI examples do.
 */
import { type AnyVoucherArtifact, Voucher, VoucherRequest } from './artifact.js';
import { VoucherError } from './errors.js';
import {
  ASSERTION_VALUES, type ArtifactKind, type LeafSpec, VOUCHER_CONTAINER, VOUCHER_REQUEST_CONTAINER, VOUCHER_REQUEST_SID,
  VOUCHER_SID, containerSid, leafByName, leafBySid, leafSid, leavesOf,
} from './leaves.js';
import { checkSize } from './limits.js';
import { Tag, bstr, copyBytes, decodeCbor, encodeCbor, isBstr, isUnsignedInteger } from './cbor.js';

/** RFC 9254 §3.2: tag 47 marks an absolute SID where a delta would otherwise be read. */
const SID_TAG = 47;

export function encodeVoucherCbor(artifact: AnyVoucherArtifact): Uint8Array {
  const base = containerSid(artifact.kind);
  const values = artifact as unknown as Record<string, unknown>;
  const entries: [number, unknown][] = [];
  for (const leaf of leavesOf(artifact.kind)) {
    const value = values[leaf.prop];
    if (value === undefined) continue;
    entries.push([leafSid(leaf, artifact.kind) - base, toCborValue(leaf, value)]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  return encodeCbor(new Map([[base, new Map(entries)]]));
}

/** Decodes a CBOR voucher or voucher-request; which one it is follows from its container key. */
export function decodeVoucherArtifactCbor(bytes: Uint8Array): AnyVoucherArtifact {
  return decode(bytes, undefined);
}

export function decodeVoucherCbor(bytes: Uint8Array): Voucher {
  return decode(bytes, 'voucher') as Voucher;
}

export function decodeVoucherRequestCbor(bytes: Uint8Array): VoucherRequest {
  return decode(bytes, 'voucher-request') as VoucherRequest;
}

function decode(bytes: Uint8Array, expected: ArtifactKind | undefined): AnyVoucherArtifact {
  checkSize(bytes, 'CBOR voucher artefact');
  const document = decodeCbor(bytes, 'CBOR voucher artefact');
  if (!(document instanceof Map) || document.size !== 1) {
    throw new VoucherError('invalid-content', 'CBOR voucher artefact is not a map with one container');
  }
  const [[topKey, container]] = [...document.entries()] as [[unknown, unknown]];
  const kind = containerKind(topKey);
  if (kind === undefined) throw new VoucherError('invalid-content', `unknown container key ${describeKey(topKey)}`);
  if (expected !== undefined && kind !== expected) {
    throw new VoucherError('invalid-content', `expected a ${expected}, found a ${kind}`);
  }
  if (!(container instanceof Map)) throw new VoucherError('invalid-content', `${kind} container is not a map`);

  const base = containerSid(kind);
  const content: Record<string, unknown> = {};
  const unknownMembers: string[] = [];
  for (const [key, value] of container.entries() as IterableIterator<[unknown, unknown]>) {
    const leaf = leafForKey(kind, base, key);
    if (leaf === undefined) {
      unknownMembers.push(describeKey(key));
      continue;
    }
    if (leaf.prop in content) throw new VoucherError('invalid-content', `${leaf.name} appears under two keys`);
    content[leaf.prop] = fromCborValue(leaf, value);
  }
  const meta = { unknownMembers };
  return kind === 'voucher'
    ? new Voucher(content as unknown as ConstructorParameters<typeof Voucher>[0], meta)
    : new VoucherRequest(content as unknown as ConstructorParameters<typeof VoucherRequest>[0], meta);
}

function containerKind(key: unknown): ArtifactKind | undefined {
  const sid = key instanceof Tag && key.tag === SID_TAG ? key.value : key;
  if (sid === VOUCHER_SID || sid === VOUCHER_CONTAINER) return 'voucher';
  if (sid === VOUCHER_REQUEST_SID || sid === VOUCHER_REQUEST_CONTAINER) return 'voucher-request';
  return undefined;
}

function leafForKey(kind: ArtifactKind, base: number, key: unknown): LeafSpec | undefined {
  if (isUnsignedInteger(key)) return leafBySid(kind, base + key);
  if (key instanceof Tag && key.tag === SID_TAG && isUnsignedInteger(key.value)) return leafBySid(kind, key.value);
  if (typeof key === 'string') return leafByName(kind, key);
  throw new VoucherError('invalid-content', `map key ${describeKey(key)} is neither a SID nor a name`);
}

function describeKey(key: unknown): string {
  if (key instanceof Tag) return `${key.tag}(${String(key.value)})`;
  if (typeof key === 'number') return `sid-delta:${key}`;
  if (typeof key === 'string') return key;
  return typeof key;
}

function toCborValue(leaf: LeafSpec, value: unknown): unknown {
  if (leaf.type === 'assertion') return ASSERTION_VALUES.indexOf(value as (typeof ASSERTION_VALUES)[number]);
  if (value instanceof Uint8Array) return bstr(value);
  if (Array.isArray(value)) return [...(value as unknown[])];
  return value;
}

/** CBOR types per constrained-voucher.md §2; the YANG-level checks follow when the artefact is built. */
function fromCborValue(leaf: LeafSpec, value: unknown): unknown {
  const bad = (why: string): VoucherError => new VoucherError('invalid-content', `${leaf.name}: ${why}`);
  switch (leaf.type) {
    case 'assertion': {
      // RFC 9254 §6.6: the enum's integer; the text names of older encoders are not accepted.
      if (!isUnsignedInteger(value) || value >= ASSERTION_VALUES.length) throw bad('not an assertion enum value');
      return ASSERTION_VALUES[value];
    }
    case 'binary':
      if (!isBstr(value)) throw bad('not a byte string');
      return copyBytes(value);
    case 'string':
    case 'uri':
    case 'date-and-time':
      // Dates are text (RFC 9254 §6.4); epoch tags from legacy encoders arrive as Date and fail here.
      if (typeof value !== 'string') throw bad('not a text string');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('not a boolean');
      return value;
    case 'string-list':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw bad('not an array of names (extension SIDs are not supported)');
      }
      return value;
  }
}
