/**
 * What a fuzz target is. A target owns one piece of the product that takes bytes from the network
 * (or from a file a peer hands over) and says which failures are the module's own typed refusals;
 * anything else it throws, a hang, or an `InvariantViolation` is a crash.
 */

/** How fields repeat in a target's input, so the mutator can work on whole fields. */
export interface TlvLayout {
  /** Where the first field starts. */
  offset: number;
  /** Octets of type (0: length-prefixed chunks without a type). */
  typeOctets: 0 | 1 | 2;
  /** Octets of length, big-endian. */
  lengthOctets: 1 | 2 | 4;
  /** Whether the length counts the type and length octets too (RADIUS) or only the value (TEAP). */
  lengthIncludesHeader: boolean;
}

export interface StructureHints {
  /** Field layouts found in the input (e.g. RADIUS attributes after the 20-octet header). */
  tlv?: readonly TlvLayout[];
  /** Tokens worth inserting whole: JSON member names, OIDs, magic values. */
  dictionary?: readonly Uint8Array[];
  /**
   * Repairs some mutated inputs so they get past a check the mutator cannot satisfy by chance
   * (a packet's own Length field). Applied to three inputs in four; the fourth stays raw.
   */
  fixup?: (data: Uint8Array) => Uint8Array;
}

export type TargetFunction = (data: Uint8Array) => void | Promise<void>;

export interface FuzzTarget {
  /** Command-line name and seed-corpus folder name. */
  name: string;
  /** One line for `npm run fuzz -- --list` and the docs. */
  description: string;
  /** Inputs longer than this are never produced. */
  maxLength: number;
  /** Per-input limit; a slower input is a crash (a hang). Default 2000 ms. */
  timeoutMs?: number;
  /** Packages whose coverage also guides the search (the target parses through them). */
  dependencies?: readonly string[];
  hints?: StructureHints;
  /** True for the refusals the module declares (its typed decode errors). */
  expected(err: unknown): boolean;
  /** Builds what the target needs once (keys, stores, a PKI) and returns the function to fuzz. */
  setup(): Promise<TargetFunction>;
  /**
   * The seed corpus, from published vectors and our own encoders. Only `npm run fuzz -- --make-seeds`
   * calls it; runs read the files it wrote (test/fuzz/corpus/NAME/), which are what the repository keeps.
   */
  makeSeeds?(): Promise<Seed[]>;
}

export interface Seed {
  /** File name without extension. */
  name: string;
  data: Uint8Array;
  /** Where the bytes come from, kept as a comment in the file. */
  comment: string;
}

/** Thrown by a target when the product did something it must never do (e.g. succeed unauthenticated). */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}
