import { VoucherError } from './errors.js';

/**
 * Largest voucher, voucher-request or signed container we decode. Real artefacts are 0.2-6 KB (the
 * largest, a CMS registrar voucher-request wrapping the pledge's with both certificate chains, is
 * about 4 KB); 64 KiB leaves room for long chains while bounding what a peer can make us parse.
 */
export const MAX_ARTIFACT_BYTES = 64 * 1024;

/** Refuses input over `limit` before anything looks inside it. */
export function checkSize(bytes: Uint8Array, what: string, limit = MAX_ARTIFACT_BYTES): void {
  if (bytes.length > limit) {
    throw new VoucherError('too-large', `${what} is ${bytes.length} octets, over the ${limit}-octet limit`);
  }
  if (bytes.length === 0) throw new VoucherError('malformed', `${what} is empty`);
}
