import type { TeapCompat } from './compat.js';

/** The name of the TLV-based inner method (RFC 9930 §3.6.2); every other name is an EAP method's. */
export const BASIC_PASSWORD = 'basic-password';
/**
 * A step method satisfied by a validated Phase-1 client certificate (an IDevID/LDevID, a machine
 * certificate) rather than by anything run inside the tunnel.
 */
export const CLIENT_CERTIFICATE = 'client-certificate';

export type TeapIdentityType = 'user' | 'machine';

/** One inner authentication the server asks for, in sequence (RFC 9930 §3.6: user and machine). */
export interface TeapInnerStep {
  /** Sent as an Identity-Type TLV with the first request of the step; omitted when undefined. */
  identityType?: TeapIdentityType;
  /**
   * Inner methods in order of preference: EAP method names (as registered, e.g. 'eap-mschapv2',
   * 'eap-tls'), 'basic-password' and/or 'client-certificate'. EAP methods are negotiated with EAP
   * Nak among all EAP methods listed; Basic-Password is offered at its position and declined with a
   * NAK TLV; 'client-certificate' is satisfied by a validated Phase-1 certificate without a round.
   */
  methods: string[];
  /** A failed or declined optional step does not fail the conversation. */
  optional?: boolean;
}

export interface TeapPolicy {
  /**
   * Client certificate in Phase 1: 'none' (not requested: the TLS 1.2 certificate would travel in
   * clear), 'optional' (requested, checked when sent), 'required' (no certificate ⇒ failure).
   */
  clientCertificate: 'none' | 'optional' | 'required';
  /**
   * Accept a valid Phase-1 client certificate as the whole authentication: Phase 2 is then only
   * Crypto-Binding + Result (RFC 9930 Appendix C.13; IDevID-style onboarding).
   */
  certificateOnly: boolean;
  /**
   * The same under TLS 1.3. RFC 9427 §2.2.1 forbids certificate-only TEAP with TLS 1.3; RFC 9930
   * (which updates it) recommends Phase-1 certificates and shows the exchange. Off by default.
   */
  certificateOnlyTls13: boolean;
  /** Inner methods run in this order after the tunnel is up. */
  sequence: TeapInnerStep[];
  /**
   * A peer answering a typed step with another Identity-Type (RFC 9930 §4.2.3): 'pending-step'
   * moves to the pending step of that type, which must then be completed with its own methods;
   * 'refuse' ends the conversation (steps strictly in policy order).
   */
  identityTypeSwitch: 'pending-step' | 'refuse';
  /** Cap on inner methods started in one conversation (RFC 9930 §3.6: SHOULD limit). */
  maxInnerMethods: number;
  /** Prompt of Basic-Password-Auth-Req (RFC 9930 §3.6.2: the first one MUST carry a prompt). */
  basicPasswordPrompt: string;
  /** Require the peer's EMSK Compound-MAC whenever the inner method exported an EMSK (error 2007). */
  requireEmskMac: boolean;
  /**
   * An EMSK-deriving inner method after an MSK-only one (e.g. EAP-TLS after EAP-MSCHAPv2): RFC 9930
   * §5.1/§6.2.5 record that implementations disagree on the EMSK chain there, so EMSK MACs would
   * look like a tunnel compromise. 'reject' fails the conversation (Error 2004); 'msk-mac-only'
   * sends Flags=2 for that round, which RFC 9930 §5.1 lists as interoperable.
   */
  emskAfterMskOnly: 'reject' | 'msk-mac-only';
  /** Phase-2 messages accepted from the peer before giving up. */
  maxPhase2Rounds: number;
  /** Outer NAKs for unknown mandatory TLVs before giving up (loop guard). */
  maxNaks: number;
}

export const DEFAULT_TEAP_POLICY: Readonly<TeapPolicy> = Object.freeze({
  clientCertificate: 'none',
  certificateOnly: false,
  certificateOnlyTls13: false,
  sequence: [{ methods: ['eap-mschapv2', 'eap-tls'] }],
  identityTypeSwitch: 'pending-step',
  maxInnerMethods: 4,
  basicPasswordPrompt: 'Password',
  requireEmskMac: false,
  emskAfterMskOnly: 'reject',
  maxPhase2Rounds: 40,
  maxNaks: 3,
}) as Readonly<TeapPolicy>;

/** Inner EAP methods known to export no EMSK (so an EMSK method after them hits `emskAfterMskOnly`). */
export const MSK_ONLY_METHODS: ReadonlySet<string> = new Set(['eap-mschapv2']);
/** Inner EAP methods known to export an EMSK. */
export const EMSK_METHODS: ReadonlySet<string> = new Set(['eap-tls']);

/**
 * Completes and checks a policy: every method must exist, sequences must be non-empty (unless the
 * policy is certificate-only), and statically forbidden orders are refused at configuration time.
 */
export function resolveTeapPolicy(
  partial: Partial<TeapPolicy>,
  innerMethodNames: readonly string[],
  compat: Pick<TeapCompat, 'emskCompoundMac'>,
): TeapPolicy {
  const p: TeapPolicy = { ...DEFAULT_TEAP_POLICY, ...partial, sequence: (partial.sequence ?? DEFAULT_TEAP_POLICY.sequence).map((s) => ({ ...s, methods: [...s.methods] })) };
  const known = new Set([...innerMethodNames, BASIC_PASSWORD, CLIENT_CERTIFICATE]);
  if (!partial.sequence) {
    // The default lists the usual methods; keep those that are configured.
    p.sequence = p.sequence.map((s) => ({ ...s, methods: s.methods.filter((m) => known.has(m)) })).filter((s) => s.methods.length > 0);
  }
  for (const [i, step] of p.sequence.entries()) {
    if (step.methods.length === 0) throw new Error(`teap policy: step ${i + 1} lists no inner method`);
    for (const m of step.methods) {
      if (!known.has(m)) throw new Error(`teap policy: step ${i + 1} names unknown inner method "${m}" (configured: ${[...known].join(', ')})`);
    }
    if (step.identityType !== undefined && step.identityType !== 'user' && step.identityType !== 'machine') {
      throw new Error(`teap policy: step ${i + 1} identityType must be "user" or "machine"`);
    }
    // RFC 9930 §4.2.3: a type is authenticated once per conversation, so a second step of the
    // same type could never run; refusing it keeps the policy meaning what it says.
    if (step.identityType !== undefined && p.sequence.findIndex((s) => s.identityType === step.identityType) !== i) {
      throw new Error(`teap policy: step ${i + 1} repeats identityType ${step.identityType}`);
    }
    if (step.methods.includes(CLIENT_CERTIFICATE) && p.clientCertificate === 'none') {
      throw new Error(`teap policy: step ${i + 1} accepts client-certificate but clientCertificate is "none"`);
    }
  }
  if (p.identityTypeSwitch !== 'pending-step' && p.identityTypeSwitch !== 'refuse') throw new Error('teap policy: identityTypeSwitch must be "pending-step" or "refuse"');
  if (p.sequence.length === 0 && !p.certificateOnly) throw new Error('teap policy: no inner method configured and certificate-only authentication is off');
  if (p.certificateOnly && p.clientCertificate === 'none') throw new Error('teap policy: certificateOnly needs clientCertificate "optional" or "required"');
  if (!Number.isInteger(p.maxInnerMethods) || p.maxInnerMethods < 1) throw new Error('teap policy: maxInnerMethods must be a positive integer');
  if (p.emskAfterMskOnly === 'reject' && compat.emskCompoundMac === 'when-available') {
    let mskOnlyBefore: string | undefined;
    for (const step of p.sequence) {
      const emsk = step.methods.find((m) => EMSK_METHODS.has(m));
      if (mskOnlyBefore && emsk && step.methods.every((m) => EMSK_METHODS.has(m))) {
        throw new Error(`teap policy: ${emsk} after ${mskOnlyBefore} is a forbidden inner-method order with EMSK Compound-MACs (RFC 9930 §5.1); reorder, or set emskAfterMskOnly: msk-mac-only`);
      }
      if (!step.optional && step.methods.every((m) => MSK_ONLY_METHODS.has(m))) mskOnlyBefore = step.methods[0];
    }
  }
  return p;
}
