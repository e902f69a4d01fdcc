import { TeapTlvError } from './errors.js';
import {
  ResultStatus,
  tlvTypeOf,
  type CryptoBindingTlv,
  type EapPayloadTlv,
  type ErrorTlv,
  type IdentityTypeTlv,
  type IntermediateResultTlv,
  type NakTlv,
  type RequestActionTlv,
  type ResultTlv,
  type TeapTlv,
} from './tlv-codec.js';
import type { BasicPasswordAuthRespTlv } from './basic-password-tlv.js';

/** What the server has outstanding, i.e. which answers a peer message may legitimately contain. */
export interface Phase2Expectations {
  /** We sent a Crypto-Binding request and need the peer's. */
  cryptoBinding: boolean;
  /** We sent Result=Success (only then may the peer send Result=Success). */
  resultSuccess: boolean;
  /** We sent an Intermediate-Result. */
  intermediateResult: boolean;
}

/** One peer Phase-2 message, validated and sorted by role (RFC 9930 §4.3 processing order). */
export interface Phase2Message {
  cryptoBinding?: CryptoBindingTlv;
  intermediateResult?: IntermediateResultTlv;
  result?: ResultTlv;
  requestAction?: RequestActionTlv;
  identityType?: IdentityTypeTlv;
  eapPayload?: EapPayloadTlv;
  basicPasswordResp?: BasicPasswordAuthRespTlv;
  nak?: NakTlv;
  errors: ErrorTlv[];
  /** Nothing at all: hostapd 2.10 peers answer an empty message when they understood nothing. */
  empty: boolean;
}

export type Phase2Validation =
  | { kind: 'message'; message: Phase2Message }
  /** Unknown mandatory TLVs: RFC 9930 §4.2 says NAK them and ignore the rest of the message. */
  | { kind: 'nak'; unsupported: TeapTlv[] };

/** TLVs a server never accepts from a peer: seeing one is "Unexpected TLVs Exchanged". */
const SERVER_ONLY_KINDS: ReadonlySet<TeapTlv['kind']> = new Set(['basic-password-auth-req', 'csr-attributes', 'authority-id', 'pkcs7']);
/** A draft-style TEAP-BRSKI peer asks for CSR-Attributes with an empty TLV 18 (teap-brski.md §2.3). */
const peerMaySend = (t: TeapTlv): boolean => !SERVER_ONLY_KINDS.has(t.kind) || (t.kind === 'csr-attributes' && t.der.length === 0);
const AT_MOST_ONE = ['eap-payload', 'crypto-binding', 'result', 'intermediate-result', 'basic-password-auth-resp', 'identity-type', 'request-action'] as const;

/**
 * The TLV rules of RFC 9930 §4.3 for a message from the peer, with nothing else: pure, no state.
 * Throws `TeapTlvError` (Error 2002) for a message that breaks them; it never decides whether an
 * authentication succeeded.
 */
export function validatePhase2Message(tlvs: readonly TeapTlv[], expect: Phase2Expectations): Phase2Validation {
  const count = (kind: TeapTlv['kind']): number => tlvs.filter((t) => t.kind === kind).length;
  for (const kind of AT_MOST_ONE) {
    if (count(kind) > 1) throw new TeapTlvError(`peer sent ${count(kind)} ${kind} TLVs in one message`);
  }
  if (count('eap-payload') && count('basic-password-auth-resp')) throw new TeapTlvError('peer sent EAP-Payload and Basic-Password-Auth-Resp together');
  if (count('pac')) throw new TeapTlvError('peer sent a PAC TLV (deprecated by RFC 9930 §4.2.12)');
  const wrongWay = tlvs.find((t) => !peerMaySend(t));
  if (wrongWay) throw new TeapTlvError(`peer sent a ${wrongWay.kind} TLV, which only a server sends`);

  const find = <K extends TeapTlv['kind']>(kind: K): Extract<TeapTlv, { kind: K }> | undefined =>
    tlvs.find((t): t is Extract<TeapTlv, { kind: K }> => t.kind === kind);
  const result = find('result');
  const unsupported = tlvs.filter((t) => t.mandatory && (t.kind === 'unknown' || t.kind === 'vendor-specific'));
  if (unsupported.length > 0) {
    if (result) throw new TeapTlvError(`unsupported mandatory TLV type ${tlvTypeOf(unsupported[0]!)} in a message with a Result TLV`);
    return { kind: 'nak', unsupported };
  }

  const cryptoBinding = find('crypto-binding');
  if (cryptoBinding && !expect.cryptoBinding) throw new TeapTlvError('peer sent a Crypto-Binding TLV we did not ask for');
  if (result && result.status !== ResultStatus.Success && result.status !== ResultStatus.Failure) {
    throw new TeapTlvError(`Result TLV with unknown Status ${result.status}`);
  }
  if (result?.status === ResultStatus.Success && !expect.resultSuccess) {
    throw new TeapTlvError('peer sent Result=Success although the server sent no successful Result');
  }
  const intermediateResult = find('intermediate-result');
  if (intermediateResult && !expect.intermediateResult) throw new TeapTlvError('peer sent an Intermediate-Result TLV no inner method asked for');
  if (intermediateResult && intermediateResult.status !== ResultStatus.Success && intermediateResult.status !== ResultStatus.Failure) {
    throw new TeapTlvError(`Intermediate-Result with unknown Status ${intermediateResult.status}`);
  }
  const requestAction = find('request-action');
  if (requestAction && requestAction.status !== ResultStatus.Success && requestAction.status !== ResultStatus.Failure) {
    throw new TeapTlvError(`Request-Action with unknown Status ${requestAction.status}`);
  }

  const message: Phase2Message = { errors: tlvs.filter((t): t is ErrorTlv => t.kind === 'error'), empty: tlvs.length === 0 };
  const set = <K extends keyof Phase2Message>(k: K, v: Phase2Message[K] | undefined): void => {
    if (v !== undefined) message[k] = v;
  };
  set('cryptoBinding', cryptoBinding);
  set('intermediateResult', intermediateResult);
  set('result', result);
  set('requestAction', requestAction);
  set('identityType', find('identity-type'));
  set('eapPayload', find('eap-payload'));
  set('basicPasswordResp', find('basic-password-auth-resp'));
  set('nak', find('nak'));
  return { kind: 'message', message };
}
