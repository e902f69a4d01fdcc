/**
 * The one error type the RADIUS codec throws. Callers on the receive path treat every
 * instance as "discard this packet" and log `code`; nothing else may escape a decoder.
 */
export type RadiusErrorCode =
  /** Fewer octets arrived than the header or its Length field needs. */
  | 'truncated'
  /** Length field outside 20..4096. */
  | 'bad-length'
  /** An attribute Length below 2, or wrong for a type whose size is fixed. */
  | 'bad-attribute-length'
  /** An attribute runs past the end of the packet (attributes do not tile it). */
  | 'attribute-overrun'
  | 'missing-message-authenticator'
  | 'bad-message-authenticator'
  /** Response or accounting-style Request Authenticator does not verify. */
  | 'bad-authenticator'
  /** An attribute value cannot be interpreted as the requested data type. */
  | 'bad-value'
  /** Encoding would exceed 4096 octets. */
  | 'packet-too-long'
  /** Encoding an attribute value longer than 253 octets (or a format-specific cap). */
  | 'attribute-too-long'
  /** A caller passed something no packet could carry (identifier 300, 15-octet authenticator...). */
  | 'invalid-argument';

export class RadiusProtocolError extends Error {
  readonly code: RadiusErrorCode;

  constructor(code: RadiusErrorCode, message: string) {
    super(message);
    this.name = 'RadiusProtocolError';
    this.code = code;
  }
}

export function isRadiusProtocolError(e: unknown): e is RadiusProtocolError {
  return e instanceof RadiusProtocolError;
}

/** Failures of the UDP client that are about the exchange, not about the bytes. */
export type RadiusClientErrorCode = 'timeout' | 'closed' | 'busy' | 'socket';

export class RadiusClientError extends Error {
  readonly code: RadiusClientErrorCode;

  constructor(code: RadiusClientErrorCode, message: string) {
    super(message);
    this.name = 'RadiusClientError';
    this.code = code;
  }
}
