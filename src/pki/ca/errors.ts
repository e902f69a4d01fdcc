/**
 * Why the registrar CA refused to issue. Each code names one of RFC 9930's CSR/PKI error codes
 * (§4.2.6, 1022-1027) so the TEAP registrar can put `teapErrorCode` straight into an Error TLV and
 * the EST endpoints can map the same codes to HTTP statuses. `pki/` must not import the TEAP
 * module, so the numbers are repeated here.
 */
export type CaErrorCode =
  /** The CSR's key type, key size, curve or signature algorithm is not allowed by policy. */
  | 'unsupported-algorithm'
  /** The CSR asks for an extension policy does not allow (or asks to be a CA). */
  | 'unsupported-extension'
  /** The CSR's subject or subjectAltName disagrees with what policy derives for this device. */
  | 'bad-identity'
  /** Not a PKCS#10 request, a bad signature (no proof of possession), a wrong challengePassword. */
  | 'bad-csr'
  /** Our side failed: the store, the signing key, serial numbers exhausted. */
  | 'internal-ca-error'
  /** The request was well formed but cannot be served (e.g. an unusable device identity). */
  | 'general-pki-error';

export const TEAP_ERROR_FOR_CA_ERROR: Readonly<Record<CaErrorCode, number>> = Object.freeze({
  'unsupported-algorithm': 1022,
  'unsupported-extension': 1023,
  'bad-identity': 1024,
  'bad-csr': 1025,
  'internal-ca-error': 1026,
  'general-pki-error': 1027,
});

export class CaError extends Error {
  override readonly name = 'CaError';
  /** RFC 9930 Error TLV code for this refusal. */
  readonly teapErrorCode: number;
  constructor(readonly code: CaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.teapErrorCode = TEAP_ERROR_FOR_CA_ERROR[code];
  }
}

/**
 * The CA's data directory cannot be used: a missing half (key without certificate), a key file
 * others can read, a key that does not match the certificate. Names the file; an operator fixes it.
 */
export class CaDirectoryError extends Error {
  override readonly name = 'CaDirectoryError';
  constructor(readonly path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
  }
}
