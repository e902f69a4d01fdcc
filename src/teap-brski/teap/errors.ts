/**
 * TEAP error codes (RFC 9930 §4.2.6, IANA "TEAP Error TLV (value 5) Error Codes") as typed values,
 * and the two error classes the TEAP code throws.
 *
 * Two layers fail differently, so they get different classes:
 *  - `TeapFramingError`: the outer TEAP packet is inconsistent. RFC 9930 §3.9.1 says such a packet
 *    is silently ignored, so it never carries a TEAP error code.
 *  - `TeapError`: a Phase-2 (inside the tunnel) problem. It carries the Error-Code that goes into
 *    the Error TLV sent with Result=Failure (or, for non-fatal codes, with Intermediate-Result).
 */

export const TeapErrorCode = {
  // 1-999: informational
  UserAccountExpiresSoon: 1,
  UserAccountCredentialExpiresSoon: 2,
  UserAccountAuthorizationsChangeSoon: 3,
  ClockSkewDetected: 4,
  ContactAdministrator: 5,
  UserAccountCredentialsChangeRequired: 6,
  // 1000-1999: warnings (non-fatal)
  InnerMethodError: 1001,
  UnspecifiedAuthenticationInfrastructureProblem: 1002,
  UnspecifiedAuthenticationFailure: 1003,
  UnspecifiedAuthorizationFailure: 1004,
  UserAccountCredentialsUnavailable: 1005,
  UserAccountExpired: 1006,
  UserAccountLockedTryAgainLater: 1007,
  UserAccountLockedAdminRequired: 1008,
  AuthenticationInfrastructureUnavailable: 1009,
  AuthenticationInfrastructureNotTrusted: 1010,
  ClockSkewTooGreat: 1011,
  InvalidInnerRealm: 1012,
  TokenOutOfSyncAdminRequired: 1013,
  TokenOutOfSyncPinChangeRequired: 1014,
  TokenRevoked: 1015,
  TokensExhausted: 1016,
  ChallengeExpired: 1017,
  ChallengeAlgorithmMismatch: 1018,
  ClientCertificateNotSupplied: 1019,
  ClientCertificateRejected: 1020,
  RealmMismatchInnerOuterIdentity: 1021,
  UnsupportedAlgorithmInCsr: 1022,
  UnsupportedExtensionInCsr: 1023,
  BadIdentityInCsr: 1024,
  BadCsr: 1025,
  InternalCaError: 1026,
  GeneralPkiError: 1027,
  ChannelBindingDataRequired: 1028,
  ChannelBindingDataIncomplete: 1029,
  ChannelBindingFailed: 1030,
  UserAccountCredentialsIncorrect: 1031,
  InnerMethodNotSupported: 1032,
  // 2000-2999: fatal
  TunnelCompromiseError: 2001,
  UnexpectedTlvsExchanged: 2002,
  CryptoBindingInvalid: 2003,
  FirstInnerMethodDidNotDeriveEmsk: 2004,
  MskCompoundMacMissing: 2005,
  MskCompoundMacInvalid: 2006,
  EmskCompoundMacMissing: 2007,
  EmskCompoundMacInvalid: 2008,
  EmskCompoundMacWithoutEmsk: 2009,
} as const;

export type TeapErrorCode = (typeof TeapErrorCode)[keyof typeof TeapErrorCode];

export type TeapErrorClass = 'info' | 'warning' | 'fatal' | 'unassigned';

/** RFC 9930 §4.2.6: 1-999 informative, 1000-1999 warnings, 2000-2999 fatal. */
export function teapErrorClass(code: number): TeapErrorClass {
  if (code >= 1 && code <= 999) return 'info';
  if (code >= 1000 && code <= 1999) return 'warning';
  if (code >= 2000 && code <= 2999) return 'fatal';
  return 'unassigned';
}

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(TeapErrorCode).map(([k, v]) => [v, k]));

/** Name of a code for log lines ("TunnelCompromiseError(2001)"); unknown codes print as numbers. */
export function teapErrorName(code: number): string {
  const n = NAMES.get(code);
  return n ? `${n}(${code})` : `Error(${code})`;
}

/** A Phase-2 failure: the conversation ends with Result=Failure and an Error TLV carrying `code`. */
export class TeapError extends Error {
  override readonly name = 'TeapError';
  constructor(
    readonly code: TeapErrorCode,
    message: string,
  ) {
    super(`${teapErrorName(code)}: ${message}`);
  }
}

/** A malformed TLV or TLV sequence (RFC 9930 §4.2.1, §4.3): fatal Unexpected TLVs Exchanged. */
export class TeapTlvError extends TeapError {
  constructor(message: string) {
    super(TeapErrorCode.UnexpectedTlvsExchanged, message);
  }
}

/** An outer TEAP packet whose fields are inconsistent; RFC 9930 §3.9.1: ignore the whole packet. */
export class TeapFramingError extends Error {
  override readonly name = 'TeapFramingError';
}
