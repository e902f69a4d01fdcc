/**
 * The one error type of the voucher library. Its `code` says what went wrong; `teapError` names the
 * TEAP-BRSKI error class (../shared/specs/teap-brski.md §2.2) that a pledge reports for it, and
 * `httpStatus` the RFC 8995 §5.6/§5.7 status a registrar or MASA answers over HTTPS. The TEAP error
 * numbers themselves are configuration of the registrar (§2.3), so only the class names live here.
 */

export type VoucherErrorCode =
  /** Input larger than the limit, refused before any decoding. */
  | 'too-large'
  /** Not decodable as the container claims: ASN.1/CMS, CBOR/COSE or JSON syntax. */
  | 'malformed'
  /** Well formed but outside what we implement: content type, algorithm, critical header. */
  | 'unsupported'
  /** The voucher or voucher-request content breaks the YANG model: member, type, format. */
  | 'invalid-content'
  /** Signature missing or wrong, signed attributes absent, signer certificate not included. */
  | 'signature-invalid'
  /** The signature is good but the signer does not chain to a given trust anchor. */
  | 'signer-untrusted'
  /** A pledge voucher-request names another registrar certificate (RFC 8995 §5.3: MITM). */
  | 'proximity-mismatch'
  /** serial-number, idevid-issuer or nonce are not this pledge's (RFC 8995 §5.6.1). */
  | 'not-for-this-device'
  /** The voucher is outside its validity (expires-on passed). */
  | 'expired'
  /** The voucher carries no pinned-domain-* member we can use. */
  | 'no-pin'
  /** The registrar's TLS certificate is not validated by the voucher's pin (§7). */
  | 'pin-mismatch';

/** Error classes of ../shared/specs/teap-brski.md §2.2 that a pledge sends back. */
export type TeapBrskiErrorClass = 'Invalid-Signature' | 'Invalid-Voucher' | 'Invalid-TLS-Signer';

const TEAP_CLASS: Record<VoucherErrorCode, TeapBrskiErrorClass> = {
  'too-large': 'Invalid-Voucher',
  malformed: 'Invalid-Voucher',
  unsupported: 'Invalid-Voucher',
  'invalid-content': 'Invalid-Voucher',
  'signature-invalid': 'Invalid-Signature',
  'signer-untrusted': 'Invalid-Signature',
  'proximity-mismatch': 'Invalid-Voucher',
  'not-for-this-device': 'Invalid-Voucher',
  expired: 'Invalid-Voucher',
  'no-pin': 'Invalid-Voucher',
  'pin-mismatch': 'Invalid-TLS-Signer',
};

// RFC 8995 §5.5/§5.6: 400 bad request, 401 proximity failure, 403 signature or policy, 406 format
// not supported, 413 too large (RFC 9110).
const HTTP_STATUS: Record<VoucherErrorCode, number> = {
  'too-large': 413,
  malformed: 400,
  unsupported: 406,
  'invalid-content': 400,
  'signature-invalid': 403,
  'signer-untrusted': 403,
  'proximity-mismatch': 401,
  'not-for-this-device': 403,
  expired: 403,
  'no-pin': 403,
  'pin-mismatch': 403,
};

export class VoucherError extends Error {
  override readonly name = 'VoucherError';

  constructor(
    readonly code: VoucherErrorCode,
    message: string,
  ) {
    super(message);
  }

  get teapError(): TeapBrskiErrorClass {
    return TEAP_CLASS[this.code];
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

/** Runs `fn`; any failure that is not already a VoucherError becomes one with `code`. */
export function asVoucherError<T>(code: VoucherErrorCode, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw wrapError(code, what, e);
  }
}

export async function asVoucherErrorAsync<T>(code: VoucherErrorCode, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw wrapError(code, what, e);
  }
}

function wrapError(code: VoucherErrorCode, what: string, e: unknown): VoucherError {
  if (e instanceof VoucherError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new VoucherError(code, `${what}: ${detail}`);
}
