/**
 * Whether a client certificate is one our registrar CA issued, and whether it is revoked: the one
 * answer EAP-TLS, TEAP, re-enrolment and the credential policy share.
 *
 * "Ours" means the store holds a record under the certificate's serial whose TBSCertificate equals
 * the presented one. The signed part, not the whole DER: an ECDSA signature has a second valid
 * form that anyone can compute, so a revoked LDevID with its signature so altered is still the
 * revoked LDevID (review finding). A certificate of another CA with the same serial has another
 * issuer, so another TBSCertificate, and is not ours.
 *
 * With the CA certificate known (a `brski` section), a certificate our key signed that the store
 * does not hold is refused too (the store was lost or the key misused: fail closed). Without it
 * (no `brski` section, or a worker thread), the store alone decides, which still refuses every
 * LDevID that was issued and then revoked.
 */
import type { X509Certificate } from 'node:crypto';
import type { PresentedCertificate } from '../../eap-methods/tls-tunnel.js';
import type { IssuedCertificateRecord, IssuedCertificateStore } from '../../store/issued-certificates.js';
import type { Log } from '../../util/log.js';
import { CertificateDer } from '../certificate-der.js';

/** The record of the certificate we issued that `der` is (same serial, same TBSCertificate), if any. */
export async function issuedRecordOf(store: Pick<IssuedCertificateStore, 'get'>, der: Uint8Array): Promise<IssuedCertificateRecord | undefined> {
  let presented: CertificateDer;
  let serial: string;
  try {
    presented = CertificateDer.read(der);
    serial = presented.serialNumberHex();
  } catch {
    // Not a certificate we could have written (a negative serial, say): not ours.
    return undefined;
  }
  const record = await store.get(serial);
  if (!record) return undefined;
  return sameTbsCertificate(presented, record.der) ? record : undefined;
}

function sameTbsCertificate(presented: CertificateDer, recordedDer: Uint8Array): boolean {
  try {
    return Buffer.from(presented.tbsCertificate()).equals(CertificateDer.read(recordedDer).tbsCertificate());
  } catch {
    return false;
  }
}

export interface IssuedRevocationOptions {
  store: Pick<IssuedCertificateStore, 'get'>;
  /** Our registrar CA: certificates it signed must be in the store. Without it the store alone decides. */
  ca?: X509Certificate;
  log?: Log;
}

export class IssuedCertificateRevocation {
  /** Per certificate object (one per conversation): whether the CA's key signed it, verified once. */
  private readonly signedHere = new WeakMap<X509Certificate, boolean>();
  /**
   * Per certificate object: the store held no record of it. A certificate that exists already
   * cannot become one we issue later, so the conversation's second question costs no read.
   */
  private readonly notOurs = new WeakSet<PresentedCertificate | X509Certificate>();

  constructor(private readonly options: IssuedRevocationOptions) {}

  /**
   * EAP-TLS's and TEAP's `isRevoked` hook. Store alone: it reads only the DER, and the peer's
   * certificate is never parsed for it. With the CA: the parsed certificate, for the signature.
   */
  readonly isRevoked = async (presented: PresentedCertificate | X509Certificate): Promise<boolean> => {
    // Told apart by what it has, not by its class: anything without DER is read as a node:crypto certificate.
    const cert = 'der' in presented ? presented : { der: new Uint8Array(presented.raw.buffer, presented.raw.byteOffset, presented.raw.byteLength), certificate: presented };
    // With the CA known, a certificate its key did not sign is not ours, and costs no store read.
    if (this.options.ca && !this.signedByCa(cert.certificate)) return false;
    if (this.notOurs.has(presented)) return this.options.ca !== undefined;
    const record = await issuedRecordOf(this.options.store, cert.der);
    if (record) return record.revokedAt !== undefined;
    this.notOurs.add(presented);
    if (!this.options.ca) return false;
    this.options.log?.warn({ serial: cert.certificate.serialNumber }, 'certificate signed by the registrar CA is not in the store; refusing it');
    return true;
  };

  private signedByCa(cert: X509Certificate): boolean {
    const ca = this.options.ca;
    if (!ca) return false;
    let ours = this.signedHere.get(cert);
    if (ours === undefined) {
      try {
        ours = cert.checkIssued(ca) && cert.verify(ca.publicKey);
      } catch {
        ours = false;
      }
      this.signedHere.set(cert, ours);
    }
    return ours;
  }
}
