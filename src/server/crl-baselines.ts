/**
 * The newest CRL held of each CA key, as recorded in the store (store/crl-baselines.ts), and the
 * raising of it whenever CRLs are put in force: at start, on a CRL refresh, on SIGHUP. Only CRLs
 * whose signature was verified under a `tls.ca` key raise it; a CRL no one could check (an
 * intermediate's, a badly signed one loaded at start) never does, so no third party can plant a
 * huge CRL number that locks the CA's genuine CRLs out.
 */
import type { RecordedCrlBaselines } from '../pki/crl-acceptance.js';
import { baselineKey, raisesBaseline, type CrlBaseline, type CrlBaselineStore } from '../store/crl-baselines.js';
import type { Log } from '../util/log.js';
import type { CrlsInForce } from './crls-in-force.js';

export class HeldCrlBaselines {
  private constructor(
    private readonly store: CrlBaselineStore,
    private readonly held: Map<string, CrlBaseline>,
  ) {}

  /** Reads what the store has recorded: before the CRL files are read at start. */
  static async load(store: CrlBaselineStore): Promise<HeldCrlBaselines> {
    const held = new Map<string, CrlBaseline>();
    for (const b of await store.list()) held.set(baselineKey(b.issuerKey, b.signerKeySha256), b);
    return new HeldCrlBaselines(store, held);
  }

  get recorded(): RecordedCrlBaselines {
    return this.held;
  }

  /**
   * Records the verified CRLs of `files` that are newer than what is held. A store that fails is
   * logged, not thrown: the CRLs are in force either way, and the next raise records them.
   */
  async raiseFrom(files: CrlsInForce, now: Date, log: Log): Promise<void> {
    for (const file of files.values()) {
      for (const f of file.facts) {
        if (!f.verified || f.signerKeySha256 === undefined) continue;
        const key = baselineKey(f.issuerKey, f.signerKeySha256);
        const held = this.held.get(key);
        if (held && !raisesBaseline(f, held)) continue;
        const candidate: CrlBaseline = {
          issuerKey: f.issuerKey,
          signerKeySha256: f.signerKeySha256,
          issuer: f.issuer,
          ...(f.crlNumber !== undefined ? { crlNumber: f.crlNumber } : {}),
          thisUpdate: f.thisUpdate,
          recordedAt: now,
        };
        try {
          this.held.set(key, await this.store.raise(candidate));
        } catch (err) {
          log.error({ err, issuer: f.issuer, crlNumber: f.crlNumber?.toString() }, 'cannot record the newest CRL of a CA; rollback protection across a restart stays at the CRL recorded before');
        }
      }
    }
  }
}
