/**
 * Revoking an LDevID revokes what its key obtained: every certificate a re-enrolment it
 * authenticated was issued (`reissuedFrom`), and theirs in turn. A key that was stolen could have
 * re-enrolled before anyone noticed; a revocation that left those certificates valid would leave
 * the thief on the network (review finding). Not for `superseded`: that reason says the
 * certificate was replaced, and its replacement is the one in use.
 */
import type { IssuedCertificateRecord, IssuedCertificateStore, RevocationReason } from '../../store/issued-certificates.js';

/** One certificate this call revoked. */
export interface RevokedCertificate {
  serial: string;
  deviceId: string;
  /** Set on those revoked because the certificate named here was: the one whose key re-enrolled. */
  reissuedFrom?: string;
}

/**
 * Revokes `serial` (unless it already is) and, unless the reason is `superseded`, every unrevoked
 * certificate re-issued from it, at any depth. Returns what was revoked, `serial` first when it was.
 */
export async function revokeWithReissues(
  store: Pick<IssuedCertificateStore, 'get' | 'revoke' | 'listReissuedFrom'>,
  serial: string,
  at: Date,
  reason: RevocationReason,
): Promise<RevokedCertificate[]> {
  const root = await store.get(serial);
  if (!root) return [];
  const revoked: RevokedCertificate[] = [];
  if (await store.revoke(serial, at, reason)) revoked.push({ serial, deviceId: root.deviceId });
  if (reason === 'superseded') return revoked;
  // Breadth first; a child is issued after its parent, so there are no cycles, and the set only
  // guards against a store that returned one twice.
  const seen = new Set<string>([serial]);
  const queue: IssuedCertificateRecord[] = [root];
  for (let next = queue.shift(); next; next = queue.shift()) {
    for (const child of await store.listReissuedFrom(next.serial)) {
      if (seen.has(child.serial)) continue;
      seen.add(child.serial);
      if (child.revokedAt === undefined && (await store.revoke(child.serial, at, reason))) {
        revoked.push({ serial: child.serial, deviceId: child.deviceId, reissuedFrom: next.serial });
      }
      queue.push(child);
    }
  }
  return revoked;
}
