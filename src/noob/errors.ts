/**
 * EAP-NOOB error codes (RFC 9140 §3.6.4, IANA "EAP-NOOB Error Codes"). Every failure the codec,
 * the crypto or the state machines detect carries one of these, so the Type-0 message we send
 * (or the log line we write) names exactly the rule the other side broke.
 */
export const NoobErrorCode = {
  InvalidNai: 1001,
  InvalidMessageStructure: 1002,
  InvalidData: 1003,
  UnexpectedMessageType: 1004,
  InvalidEcdheKey: 1005,
  UnwantedPeer: 2001,
  StateMismatch: 2002,
  UnrecognizedOobId: 2003,
  UnexpectedPeerId: 2004,
  NoMutualVersion: 3001,
  NoMutualCryptosuite: 3002,
  NoMutualDirection: 3003,
  HmacVerificationFailure: 4001,
  ApplicationError: 5001,
  InvalidServerInfo: 5002,
  InvalidServerUrl: 5003,
  InvalidPeerInfo: 5004,
} as const;

export type NoobErrorCode = (typeof NoobErrorCode)[keyof typeof NoobErrorCode];

const KNOWN = new Set<number>(Object.values(NoobErrorCode));

/** True for a code registered by RFC 9140 (private-use 6001–6999 codes are not "known"). */
export function isKnownNoobErrorCode(code: number): code is NoobErrorCode {
  return KNOWN.has(code);
}

export class NoobError extends Error {
  override readonly name = 'NoobError';
  constructor(
    readonly code: NoobErrorCode,
    message: string,
  ) {
    super(message);
  }
}
