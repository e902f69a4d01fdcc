import { X509Certificate } from 'node:crypto';
import type { NasFacts } from '../../eap-methods/method.js';

/**
 * Which TEAP policy serves a conversation: the first rule whose every condition holds, else the
 * default policy. One server thus serves a pledge with an IDevID, a laptop with a password and a
 * device with an LDevID.
 */
export interface TeapPolicyRule {
  /**
   * Realm of the outer identity (after the last '@'), compared case-insensitively. The peer writes
   * the outer identity, so a policy chosen this way only accepts identities in the same realm.
   */
  realm?: string;
  /**
   * RADIUS client name (clients[].name). Not NAS-Identifier: any client may send any
   * NAS-Identifier, and one client must not pick another's policy.
   */
  nas?: string;
  /**
   * Issuer class of the validated Phase-1 certificate: 'domain' (our CAs, tls.ca), 'manufacturer'
   * (any trusted manufacturer's IDevID CA) or 'manufacturer:NAME'.
   */
  certificate?: string;
  policy: string;
}

export type CertificateClass = { kind: 'domain' } | { kind: 'manufacturer'; name: string };

export interface ManufacturerAnchors {
  name: string;
  anchors: readonly X509Certificate[];
}

export interface ConversationFacts {
  outerIdentity: string;
  nas: NasFacts;
  certificateClass?: CertificateClass;
}

export function realmOf(identity: string): string | undefined {
  const at = identity.lastIndexOf('@');
  return at >= 0 && at < identity.length - 1 ? identity.slice(at + 1).toLowerCase() : undefined;
}

function certificateMatches(want: string, cls: CertificateClass | undefined): boolean {
  if (!cls) return false;
  if (want === 'domain') return cls.kind === 'domain';
  if (want === 'manufacturer') return cls.kind === 'manufacturer';
  return cls.kind === 'manufacturer' && want === `manufacturer:${cls.name}`;
}

/** The first matching rule, or undefined (the default policy). */
export function selectPolicyRule(rules: readonly TeapPolicyRule[], facts: ConversationFacts): TeapPolicyRule | undefined {
  const realm = realmOf(facts.outerIdentity);
  return rules.find((r) =>
    (r.realm === undefined || r.realm.toLowerCase() === realm) &&
    (r.nas === undefined || r.nas === facts.nas.clientName) &&
    (r.certificate === undefined || certificateMatches(r.certificate, facts.certificateClass)));
}

/** Whether `cert` was issued by `anchor` (names and signature). */
function issuedBy(cert: X509Certificate, anchor: X509Certificate): boolean {
  try {
    return cert.checkIssued(anchor) && cert.verify(anchor.publicKey);
  } catch {
    return false;
  }
}

/**
 * Which trust anchor set a TLS-validated certificate chains to. `chain` is the peer's certificate
 * list (leaf first, as sent). Domain anchors win over a manufacturer's, so that a device that
 * already holds an LDevID is treated as enrolled.
 */
export function classifyCertificate(chain: readonly X509Certificate[], domainAnchors: readonly X509Certificate[], manufacturers: readonly ManufacturerAnchors[]): CertificateClass | undefined {
  const chainsTo = (anchors: readonly X509Certificate[]): boolean => {
    let cert = chain[0];
    for (let depth = 0; cert && depth < 8; depth++) {
      const c: X509Certificate = cert;
      if (anchors.some((a) => a.fingerprint256 === c.fingerprint256 || issuedBy(c, a))) return true;
      cert = chain.find((x) => x !== c && issuedBy(c, x));
    }
    return false;
  };
  if (chainsTo(domainAnchors)) return { kind: 'domain' };
  const m = manufacturers.find((x) => chainsTo(x.anchors));
  return m ? { kind: 'manufacturer', name: m.name } : undefined;
}

export { parsePemCertificates } from '../../pki/pem-certificates.js';
