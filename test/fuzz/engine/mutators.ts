import type { Prng } from './prng.js';
import type { StructureHints, TlvLayout } from './target.js';

/**
 * The mutation engine: AFL-style "havoc" stacks of byte-level mutations, splices with other corpus
 * entries, dictionary tokens, interesting integers, and — where a target describes its fields —
 * mutations of whole TLVs that keep (or deliberately break) their length fields.
 */

export interface MutationContext {
  rng: Prng;
  maxLength: number;
  /** Other corpus entries, for splicing. */
  corpus: readonly Uint8Array[];
  hints?: StructureHints;
}

type Mutation = (d: Uint8Array, ctx: MutationContext) => Uint8Array | undefined;

/** Boundary values of lengths and counts: empty, one, sign bits, the limits of each width, our caps. */
const INTERESTING_8 = [0, 1, 2, 3, 4, 5, 16, 18, 19, 20, 32, 64, 0x7f, 0x80, 0xfd, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 2, 4, 5, 6, 20, 21, 253, 255, 256, 1024, 1398, 4095, 4096, 4097, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffe, 0xffff, 0x10000, 0x10001, 0x1000000, 65536 + 1, 4096];

function clone(d: Uint8Array): Uint8Array {
  return new Uint8Array(d);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function writeInt(d: Uint8Array, off: number, width: 1 | 2 | 4, value: number, littleEndian: boolean): void {
  for (let i = 0; i < width; i++) {
    const shift = littleEndian ? 8 * i : 8 * (width - 1 - i);
    d[off + i] = Math.floor(value / 2 ** shift) & 0xff;
  }
}

function readInt(d: Uint8Array, off: number, width: 1 | 2 | 4): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + d[off + i]!;
  return v;
}

const flipBit: Mutation = (d, { rng }) => {
  if (d.length === 0) return undefined;
  const out = clone(d);
  out[rng.below(out.length)]! ^= 1 << rng.below(8);
  return out;
};

const randomByte: Mutation = (d, { rng }) => {
  if (d.length === 0) return undefined;
  const out = clone(d);
  out[rng.below(out.length)] = rng.u32() & 0xff;
  return out;
};

const interestingInt: Mutation = (d, { rng }) => {
  const width = rng.pick([1, 2, 2, 4] as const);
  if (d.length < width) return undefined;
  const out = clone(d);
  const table = width === 1 ? INTERESTING_8 : width === 2 ? INTERESTING_16 : INTERESTING_32;
  writeInt(out, rng.below(out.length - width + 1), width, rng.pick(table), rng.oneIn(4));
  return out;
};

const arithmetic: Mutation = (d, { rng }) => {
  const width = rng.pick([1, 2] as const);
  if (d.length < width) return undefined;
  const out = clone(d);
  const off = rng.below(out.length - width + 1);
  const delta = rng.between(1, 35) * (rng.oneIn(2) ? 1 : -1);
  const max = width === 1 ? 0x100 : 0x10000;
  writeInt(out, off, width, (readInt(out, off, width) + delta + max) % max, false);
  return out;
};

const insertBytes: Mutation = (d, { rng }) => {
  const n = rng.oneIn(8) ? rng.between(17, 256) : rng.between(1, 16);
  const fill = rng.oneIn(2) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick([0, 0xff, 0x41, rng.u32() & 0xff]));
  const at = rng.below(d.length + 1);
  return concat(d.subarray(0, at), fill, d.subarray(at));
};

const deleteRange: Mutation = (d, { rng }) => {
  if (d.length < 2) return undefined;
  const n = rng.oneIn(8) ? rng.between(1, d.length - 1) : rng.between(1, Math.min(16, d.length - 1));
  const at = rng.below(d.length - n + 1);
  return concat(d.subarray(0, at), d.subarray(at + n));
};

const duplicateRange: Mutation = (d, { rng }) => {
  if (d.length === 0) return undefined;
  const n = rng.between(1, Math.min(64, d.length));
  const from = rng.below(d.length - n + 1);
  const at = rng.below(d.length + 1);
  return concat(d.subarray(0, at), d.subarray(from, from + n), d.subarray(at));
};

const overwriteRange: Mutation = (d, { rng }) => {
  if (d.length < 2) return undefined;
  const n = rng.between(1, Math.min(32, d.length - 1));
  const from = rng.below(d.length - n + 1);
  const to = rng.below(d.length - n + 1);
  const out = clone(d);
  out.set(d.subarray(from, from + n), to);
  return out;
};

const truncate: Mutation = (d, { rng }) => (d.length < 2 ? undefined : d.slice(0, rng.below(d.length)));


const crossover: Mutation = (d, { rng, corpus }) => {
  if (corpus.length === 0) return undefined;
  const other = rng.pick(corpus);
  return concat(d.subarray(0, rng.below(d.length + 1)), other.subarray(rng.below(other.length + 1)));
};

const insertFromOther: Mutation = (d, { rng, corpus }) => {
  if (corpus.length === 0) return undefined;
  const other = rng.pick(corpus);
  if (other.length === 0) return undefined;
  const n = rng.between(1, Math.min(128, other.length));
  const from = rng.below(other.length - n + 1);
  const at = rng.below(d.length + 1);
  return concat(d.subarray(0, at), other.subarray(from, from + n), d.subarray(at));
};

const dictionary: Mutation = (d, { rng, hints }) => {
  const words = hints?.dictionary;
  if (!words || words.length === 0) return undefined;
  const w = rng.pick(words);
  const at = rng.below(d.length + 1);
  if (rng.oneIn(2) || at + w.length > d.length) return concat(d.subarray(0, at), w, d.subarray(at));
  const out = clone(d);
  out.set(w, at);
  return out;
};

// ---- whole fields ----

interface Field {
  start: number;
  valueStart: number;
  end: number;
}

/** The fields of `d` under `layout`, up to the first one that does not fit. */
export function walkFields(d: Uint8Array, layout: TlvLayout): Field[] {
  const header = layout.typeOctets + layout.lengthOctets;
  const out: Field[] = [];
  let off = layout.offset;
  while (off + header <= d.length && out.length < 4096) {
    const len = readInt(d, off + layout.typeOctets, layout.lengthOctets);
    const valueLength = layout.lengthIncludesHeader ? len - header : len;
    if (valueLength < 0 || off + header + valueLength > d.length) break;
    out.push({ start: off, valueStart: off + header, end: off + header + valueLength });
    off += header + valueLength;
  }
  return out;
}

/** One field with `value`, its type octets copied from `typeFrom` (or zero). */
function encodeField(layout: TlvLayout, typeFrom: Uint8Array, value: Uint8Array): Uint8Array | undefined {
  const header = layout.typeOctets + layout.lengthOctets;
  const len = layout.lengthIncludesHeader ? value.length + header : value.length;
  if (len >= 2 ** (8 * layout.lengthOctets)) return undefined;
  const out = new Uint8Array(header + value.length);
  out.set(typeFrom.subarray(0, layout.typeOctets), 0);
  writeInt(out, layout.typeOctets, layout.lengthOctets, len, false);
  out.set(value, header);
  return out;
}

const BYTE_MUTATIONS: readonly Mutation[] = [flipBit, randomByte, interestingInt, arithmetic, insertBytes, deleteRange, duplicateRange, overwriteRange];
/** For a field's value: the byte mutations, and shortening it, down to nothing. */
const VALUE_MUTATIONS: readonly Mutation[] = [...BYTE_MUTATIONS, (d, { rng }) => d.slice(0, rng.below(d.length + 1) >> (rng.oneIn(2) ? 0 : 8))];

const fieldMutation: Mutation = (d, ctx) => {
  const layouts = ctx.hints?.tlv;
  if (!layouts || layouts.length === 0) return undefined;
  const { rng } = ctx;
  const layout = rng.pick(layouts);
  const fields = walkFields(d, layout);
  if (fields.length === 0) return undefined;
  const f = rng.pick(fields);
  const before = d.subarray(0, f.start);
  const after = d.subarray(f.end);
  const whole = d.subarray(f.start, f.end);
  switch (rng.below(8)) {
    case 0: {
      // A length that lies: boundary values, one off, or random.
      const out = clone(d);
      const at = f.start + layout.typeOctets;
      const current = readInt(d, at, layout.lengthOctets);
      const table = layout.lengthOctets === 1 ? INTERESTING_8 : layout.lengthOctets === 2 ? INTERESTING_16 : INTERESTING_32;
      const choice = rng.below(3);
      const value = choice === 0 ? rng.pick(table) : choice === 1 ? current + (rng.oneIn(2) ? 1 : -1) : rng.u32();
      writeInt(out, at, layout.lengthOctets, ((value % 2 ** (8 * layout.lengthOctets)) + 2 ** (8 * layout.lengthOctets)) % 2 ** (8 * layout.lengthOctets), false);
      return out;
    }
    case 1:
      return concat(before, after);
    case 2:
      return concat(before, whole, whole, after);
    case 3: {
      // Move the field elsewhere (field order rules).
      const rest = concat(before, after);
      const others = walkFields(rest, layout);
      const at = others.length === 0 ? layout.offset : rng.pick(others).start;
      return concat(rest.subarray(0, at), whole, rest.subarray(at));
    }
    case 4: {
      // A field from another entry, e.g. a TLV this input never had.
      if (ctx.corpus.length === 0) return undefined;
      const other = rng.pick(ctx.corpus);
      const theirs = walkFields(other, layout);
      if (theirs.length === 0) return undefined;
      const g = rng.pick(theirs);
      return concat(before, other.subarray(g.start, g.end), rng.oneIn(2) ? whole : new Uint8Array(0), after);
    }
    case 5: {
      // Edge values with a true length: empty, one octet, all ones.
      const value = rng.pick([new Uint8Array(0), Uint8Array.of(rng.pick(INTERESTING_8)), new Uint8Array(rng.between(2, 64)).fill(0xff)]);
      const field = encodeField(layout, whole, value);
      return field ? concat(before, field, after) : undefined;
    }
    default: {
      // Mutate the value and keep the length true, so the damage reaches the value's parser.
      const value = d.subarray(f.valueStart, f.end);
      const mutated = rng.pick(VALUE_MUTATIONS)(value, ctx) ?? value;
      const field = encodeField(layout, whole, mutated);
      return field ? concat(before, field, after) : undefined;
    }
  }
};

const MUTATIONS: readonly Mutation[] = [...BYTE_MUTATIONS, truncate, crossover, insertFromOther, dictionary, dictionary];

/**
 * A new input from `parent`: one mutation half of the time, else 2, 4 or 8 stacked (deep stacks
 * break the structure a single mutation keeps), cut to the target's maximum length.
 */
export function mutate(parent: Uint8Array, ctx: MutationContext): Uint8Array {
  const { rng } = ctx;
  let d = parent;
  const rounds = rng.oneIn(2) ? 1 : 1 << rng.between(1, 3);
  // A target that describes its fields gets whole-field mutations half of the time.
  const fields = ctx.hints?.tlv !== undefined && ctx.hints.tlv.length > 0;
  for (let i = 0; i < rounds; i++) {
    const next = (fields && rng.oneIn(2) ? fieldMutation : rng.pick(MUTATIONS))(d, ctx);
    if (next) d = next;
    if (d.length > ctx.maxLength) d = d.subarray(0, ctx.maxLength);
  }
  if (d === parent) d = insertBytes(d, ctx)!.subarray(0, ctx.maxLength);
  const fixup = ctx.hints?.fixup;
  if (fixup && !rng.oneIn(4)) {
    d = fixup(d);
    if (d.length > ctx.maxLength) d = d.subarray(0, ctx.maxLength);
  }
  return d === parent ? clone(d) : d;
}
