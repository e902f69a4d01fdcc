/**
 * The CBOR codec settings every constrained-voucher module uses (cbor-x): integer-keyed maps stay
 * `Map`s (1 and "1" are different keys), no cbor-x record or structured-clone extensions, byte
 * strings as bstr (not typed-array tags), and map headers of their shortest length. Together with
 * keys inserted in ascending order this gives RFC 8949 §4.2.1 deterministic encoding for what we
 * write.
 */
import { Decoder, Encoder, Tag } from 'cbor-x';
import { VoucherError } from './errors.js';

export { Tag };

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
  structuredClone: false,
});

const decoder = new Decoder({ useRecords: false, mapsAsObjects: false, structuredClone: false });

export function encodeCbor(value: unknown): Uint8Array {
  // A fresh copy: cbor-x may hand out a view of its internal, reused buffer.
  return new Uint8Array(encoder.encode(value));
}

/** Decodes one complete CBOR item; any failure (including cbor-x's own) becomes `malformed`. */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decoder.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (e) {
    throw new VoucherError('malformed', `${what} is not one CBOR item: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A definite CBOR byte string as cbor-x returns it; a tagged typed array is something else. */
export function isBstr(v: unknown): v is Uint8Array {
  return Buffer.isBuffer(v);
}

/** Copies a byte string out of the decoder's buffer so that results never alias the input. */
export function copyBytes(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}

/** A byte string for the encoder (a Buffer is always a plain bstr). */
export function bstr(v: Uint8Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.length);
}

export function isUnsignedInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}
