/**
 * Revoking an LDevID for a compromised key revokes what that key obtained: every certificate a
 * re-enrolment it authenticated was issued (`reissuedFrom`), and theirs in turn. A stolen key could
 * have re-enrolled before anyone noticed; a revocation that left those certificates valid would
 * leave the thief on the network (review finding). Only for `keyCompromise`: retiring an old
 * LDevID after a routine re-enrolment (superseded, unspecified, ...) must not take the device's
 * current one with it.
 */
import type { IssuedCertificateRecord, IssuedCertificateStore, RevocationReason } from '../../store/issued-certificates.js';

/** One certificate a call revoked. */
export interface RevokedCertificate {
  serial: string;
  deviceId: string;
  /** Set on those revoked because the certificate named here was: the one whose key re-enrolled. */
  reissuedFrom?: string;
}

/** The reasons whose revocation reaches the re-enrolled certificates. */
export function revocationReachesReissues(reason: RevocationReason): boolean {
  return reason === 'keyCompromise';
}

/**
 * Revokes `serial` (unless it already is) and, for keyCompromise, every unrevoked certificate
 * re-issued from it, at any depth. `onRevoked` hears of each as soon as the store has it (so that a
 * failure half-way leaves every revocation made audited); returns them all, `serial` first when it
 * was revoked. One statement per certificate, committed as it goes: a re-enrolment finishing
 * meanwhile records its certificate before it looks at its LDevID again (Registrar.reenroll), so
 * it is either found here or refused there. A chain of N costs about 2N store calls.
 */
export async function revokeWithReissues(
  store: Pick<IssuedCertificateStore, 'get' | 'revoke' | 'listReissuedFrom'>,
  serial: string,
  at: Date,
  reason: RevocationReason,
  onRevoked: (revoked: RevokedCertificate) => void = () => {},
): Promise<RevokedCertificate[]> {
  const revoked: RevokedCertificate[] = [];
  const note = (r: RevokedCertificate): void => {
    revoked.push(r);
    onRevoked(r);
  };
  const root = await store.get(serial);
  if (!root) return revoked;
  if (await store.revoke(serial, at, reason)) note({ serial, deviceId: root.deviceId });
  if (!revocationReachesReissues(reason)) return revoked;
  // Breadth first; a child is issued after its parent, so there are no cycles, and the set only
  // guards against a store that returned one twice. Revoked children are walked too: theirs may not be.
  const seen = new Set<string>([serial]);
  const queue: IssuedCertificateRecord[] = [root];
  for (let next = queue.shift(); next; next = queue.shift()) {
    for (const child of await store.listReissuedFrom(next.serial)) {
      if (seen.has(child.serial)) continue;
      seen.add(child.serial);
      if (child.revokedAt === undefined && (await store.revoke(child.serial, at, reason))) {
        note({ serial: child.serial, deviceId: child.deviceId, reissuedFrom: next.serial });
      }
      queue.push(child);
    }
  }
  return revoked;
}
