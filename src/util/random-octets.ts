import { randomFillSync } from 'node:crypto';

/*
 * Every RADIUS round trip wants a few small random values (MS-MPPE salts, TEAP nonces, MSCHAPv2
 * challenges, NOOB nonces). Each crypto.randomBytes() call is a trip into OpenSSL's RAND_bytes
 * with a job object around it, which costs more than the bytes; one fill of a pool serves many
 * calls. Values are copied out, never handed out as views, so a long-lived 16-octet value does
 * not keep the pool alive, and the copied region is zeroed so no value stays behind in the pool.
 * Each worker thread has its own module instance, hence its own pool.
 */

const POOL_OCTETS = 4096;
/** Larger requests go straight to the generator: pooling them saves nothing. */
const MAX_POOLED = 256;

const pool = Buffer.alloc(POOL_OCTETS);
let offset = POOL_OCTETS;

/** `length` octets from the CSPRNG, as a Buffer of their own. */
export function randomOctets(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`random octets: length ${length} is not a non-negative integer`);
  const out = Buffer.alloc(length);
  if (length > MAX_POOLED) return randomFillSync(out);
  if (offset + length > POOL_OCTETS) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(out, 0, offset, offset + length);
  pool.fill(0, offset, offset + length);
  offset += length;
  return out;
}

/** One random octet. */
export function randomOctet(): number {
  return randomOctets(1)[0]!;
}
