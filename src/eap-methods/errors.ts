/**
 * Why an EAP packet or TLS-based fragment was refused. The code names the rule that failed so a
 * log line can say exactly what the peer did wrong.
 */
export type EapErrorCode =
  | 'truncated'
  | 'length-mismatch'
  | 'bad-code'
  | 'missing-type'
  | 'oversized'
  | 'fragment-overflow'
  | 'unexpected-fragment'
  | 'bad-flags';

export class EapProtocolError extends Error {
  override readonly name = 'EapProtocolError';
  constructor(readonly code: EapErrorCode, message: string) {
    super(message);
  }
}
