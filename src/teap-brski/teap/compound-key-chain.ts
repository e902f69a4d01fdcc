import type { TeapKeySchedule } from './key-schedule.js';
import type { TeapCompat } from './compat.js';

/** Keys an inner method exported. Neither (Basic-Password, key-less vendor method) ⇒ zero IMSK. */
export interface InnerMethodKeys {
  msk?: Uint8Array;
  emsk?: Uint8Array;
}

/** CMKs for the next Crypto-Binding. `emsk` only when the latest inner method exported an EMSK. */
export interface CompoundMacKeys {
  msk: Uint8Array;
  emsk?: Uint8Array;
}

/**
 * The two S-IMCK chains of RFC 9930 §6.2 (MSK and EMSK), advanced once per successful inner method.
 *
 * - The EMSK chain only moves when the method exported an EMSK; otherwise it is carried forward
 *   (IMCK_EMSK[j] = IMCK_EMSK[j-1], RFC 9930 §6.2.5) and that round has no EMSK Compound-MAC.
 * - A round without keys uses a 32-octet zero IMSK on the MSK chain; whether it advances S-IMCK is
 *   the `zeroImskAdvancesChain` compat switch (the CMK is the same either way).
 * - With no inner method at all, the CMK comes from S-IMCK[0] and a zero IMSK (RFC 9930 §6.2.1,
 *   Appendix C.13) and the final keys from S-IMCK[0].
 */
export class CompoundKeyChain {
  private sImckMsk: Uint8Array;
  private sImckEmsk: Uint8Array;
  private cmkMsk: Uint8Array | undefined;
  private cmkEmsk: Uint8Array | undefined;
  /** Number of successful inner methods folded in. */
  methods = 0;
  /** An MSK-only method has been folded in (relevant for the EMSK-after-MSK-only ordering rule). */
  mskOnlySeen = false;

  constructor(
    private readonly ks: TeapKeySchedule,
    sessionKeySeed: Uint8Array,
    private readonly compat: Pick<TeapCompat, 'zeroImskAdvancesChain' | 'finalKeyChain'>,
  ) {
    this.sImckMsk = sessionKeySeed.slice();
    this.sImckEmsk = sessionKeySeed.slice();
  }

  get keySchedule(): TeapKeySchedule {
    return this.ks;
  }

  /** Folds in inner method j = methods + 1. `imskMsk` overrides the MSK-chain IMSK (MSCHAPv2 order). */
  addInnerMethod(keys: InnerMethodKeys, imskMsk?: Uint8Array): void {
    if (keys.emsk) {
      const r = this.ks.imck(this.sImckEmsk, this.ks.imskFromEmsk(keys.emsk));
      this.sImckEmsk = r.sImck;
      this.cmkEmsk = r.cmk;
    } else {
      this.cmkEmsk = undefined;
    }
    if (keys.msk || imskMsk) {
      const r = this.ks.imck(this.sImckMsk, imskMsk ?? this.ks.imskFromMsk(keys.msk!));
      this.sImckMsk = r.sImck;
      this.cmkMsk = r.cmk;
      if (!keys.emsk) this.mskOnlySeen = true;
    } else {
      const r = this.ks.imck(this.sImckMsk, this.ks.zeroImsk());
      this.cmkMsk = r.cmk;
      if (this.compat.zeroImskAdvancesChain) this.sImckMsk = r.sImck;
    }
    this.methods++;
  }

  /** CMK_MSK[n] (and CMK_EMSK[n] if this round has an EMSK) for the next Crypto-Binding. */
  cmk(): CompoundMacKeys {
    if (this.cmkMsk === undefined) {
      this.cmkMsk = this.ks.imck(this.sImckMsk, this.ks.zeroImsk()).cmk;
    }
    return this.cmkEmsk ? { msk: this.cmkMsk, emsk: this.cmkEmsk } : { msk: this.cmkMsk };
  }

  /** Final MSK/EMSK (RFC 9930 §6.4) given whether the peer's last Crypto-Binding had an EMSK MAC. */
  finalKeys(peerSentEmskMac: boolean): { msk: Uint8Array; emsk: Uint8Array; chain: 'msk' | 'emsk' } {
    const useEmsk = this.compat.finalKeyChain === 'rfc9930' && peerSentEmskMac;
    const s = useEmsk ? this.sImckEmsk : this.sImckMsk;
    return { msk: this.ks.msk(s), emsk: this.ks.emsk(s), chain: useEmsk ? 'emsk' : 'msk' };
  }

  /** An independent copy (the peer tries both MSCHAPv2 key orders on copies). */
  clone(): CompoundKeyChain {
    const c = new CompoundKeyChain(this.ks, this.sImckMsk, this.compat);
    c.sImckEmsk = this.sImckEmsk.slice();
    c.cmkMsk = this.cmkMsk?.slice();
    c.cmkEmsk = this.cmkEmsk?.slice();
    c.methods = this.methods;
    c.mskOnlySeen = this.mskOnlySeen;
    return c;
  }

  /** For tests and debug logs (never log these in production). */
  debugState(): { sImckMsk: Uint8Array; sImckEmsk: Uint8Array } {
    return { sImckMsk: this.sImckMsk.slice(), sImckEmsk: this.sImckEmsk.slice() };
  }
}
