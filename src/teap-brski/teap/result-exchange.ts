import type { Grant } from '../../eap-methods/method.js';
import { TeapError, TeapErrorCode } from './errors.js';
import { ResultStatus, tlv, type CryptoBindingTlv, type TeapTlv } from './tlv-codec.js';
import type { CompoundKeyChain, CompoundMacKeys } from './compound-key-chain.js';
import { buildCryptoBindingRequest, verifyCryptoBindingResponse, type CryptoBindingContext } from './crypto-binding.js';
import type { PolicySequencer } from './policy-sequencer.js';

/** A Crypto-Binding request we sent and the CMKs it was computed with. */
export interface PendingBinding {
  cb: CryptoBindingTlv;
  cmk: CompoundMacKeys;
}

export interface TeapSuccess {
  kind: 'success';
  msk: Uint8Array;
  emsk: Uint8Array;
  grant: Grant;
  keyChain: 'msk' | 'emsk';
}

/**
 * The Result / Intermediate-Result / Crypto-Binding exchange (RFC 9930 §3.6, §4.2.13): binds each
 * inner method to the tunnel, and ends Phase 2. `conclude()` is the only way to a successful
 * verdict, and it asks the policy sequencer first.
 */
export class ResultExchange {
  /** Whether the peer's latest Crypto-Binding carried a verified EMSK Compound-MAC. */
  private peerEmskMac = false;

  constructor(
    private readonly chain: CompoundKeyChain,
    private readonly ctx: CryptoBindingContext,
    private readonly opts: { emskCompoundMac: boolean; requireEmskMac: boolean },
  ) {}

  /** A Crypto-Binding request over the current CMKs (`mskMacOnly`: Flags 2 for this round). */
  bind(mskMacOnly = false): PendingBinding {
    const cmk = this.chain.cmk();
    return { cb: buildCryptoBindingRequest(this.ctx, cmk, { emskMac: this.opts.emskCompoundMac && !mskMacOnly }), cmk };
  }

  /** The peer must answer our Crypto-Binding with a valid one (RFC 9930 §4.2.13; Error 2001/2003/2006/2007). */
  checkPeerBinding(sent: PendingBinding, received: CryptoBindingTlv | undefined): void {
    if (!received) throw new TeapError(TeapErrorCode.TunnelCompromiseError, 'peer answered without the Crypto-Binding TLV');
    this.peerEmskMac = verifyCryptoBindingResponse(this.ctx, sent.cb, received, sent.cmk, { requireEmskMac: this.opts.requireEmskMac }).emskMacVerified;
  }

  /**
   * Result=Success (+ Crypto-Binding): sent only when the sequencer says every required step is
   * satisfied. Otherwise this is a bug in the caller, and it fails closed.
   */
  successResult(sequencer: PolicySequencer, withIntermediate: boolean, binding: PendingBinding = this.bind()): { tlvs: TeapTlv[]; binding: PendingBinding } {
    requireComplete(sequencer, 'send Result=Success');
    const tlvs: TeapTlv[] = [...(withIntermediate ? [tlv.intermediateResult(ResultStatus.Success)] : []), tlv.result(ResultStatus.Success), binding.cb];
    return { tlvs, binding };
  }

  /** Result=Failure + Error (RFC 9930 §3.9.3). */
  static failureResult(code: number, innerMethodEnded: boolean, extraTlvs: readonly TeapTlv[] = []): TeapTlv[] {
    return [...(innerMethodEnded ? [tlv.intermediateResult(ResultStatus.Failure)] : []), tlv.error(code), ...extraTlvs, tlv.result(ResultStatus.Failure)];
  }

  /** The peer confirmed our Result=Success: the keys and the grant, if the policy is complete. */
  conclude(sequencer: PolicySequencer, grant: (s: PolicySequencer) => Grant): TeapSuccess {
    requireComplete(sequencer, 'accept the peer');
    const keys = this.chain.finalKeys(this.peerEmskMac);
    return { kind: 'success', msk: keys.msk, emsk: keys.emsk, keyChain: keys.chain, grant: grant(sequencer) };
  }
}

function requireComplete(sequencer: PolicySequencer, what: string): void {
  if (!sequencer.isComplete()) {
    throw new TeapError(TeapErrorCode.UnspecifiedAuthenticationFailure, `refusing to ${what}: required policy steps are not satisfied`);
  }
}
