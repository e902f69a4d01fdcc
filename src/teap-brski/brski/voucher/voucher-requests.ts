/**
 * Building the two voucher-requests of RFC 8995 and checking a pledge's:
 *  - the pledge voucher-request (PVR, ../shared/specs/teap-brski.md §6.3): assertion "proximity",
 *    a fresh nonce, the registrar's TLS certificate as proximity-registrar-cert;
 *  - the registrar voucher-request (RVR, §5.2): nonce copied from the PVR, serial-number and
 *    idevid-issuer from the IDevID, the PVR verbatim as prior-signed-voucher-request, and never a
 *    proximity-registrar-cert.
 * Signing is separate (voucher-cms.ts, voucher-cose.ts); these are the contents.
 */
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { VoucherRequest, type VoucherRequestContent } from './artifact.js';
import { VoucherError } from './errors.js';
import { idevidIssuerOf, serialNumberOf } from './idevid.js';
import { bytesEqual, toDateAndTime } from './yang-types.js';

export interface PledgeVoucherRequestInput {
  serialNumber: string;
  /** DER of the registrar's TLS end-entity certificate (first of the server's certificate_list). */
  proximityRegistrarCert: Uint8Array;
  /** Default: 16 fresh random octets. Re-use only when re-sending the same attempt. */
  nonce?: Uint8Array;
  /** Default now; null leaves created-on out (a pledge without a real-time clock). */
  createdOn?: Date | null;
}

export function createPledgeVoucherRequest(input: PledgeVoucherRequestInput): VoucherRequest {
  const content: VoucherRequestContent = {
    assertion: 'proximity',
    serialNumber: input.serialNumber,
    nonce: input.nonce ?? new Uint8Array(randomBytes(16)),
    proximityRegistrarCert: input.proximityRegistrarCert,
  };
  if (input.createdOn !== null) content.createdOn = toDateAndTime(input.createdOn ?? new Date());
  return new VoucherRequest(content);
}

export interface RegistrarVoucherRequestInput {
  /** The pledge's IDevID (DER), i.e. the TLS client certificate of this session. */
  idevid: Uint8Array;
  /**
   * The pledge's request exactly as received (signed bytes, CMS or COSE) and its content.
   * Absent: a nonceless request (offline pre-fetch; ../shared/specs/teap-brski.md §5.2).
   */
  priorSigned?: { bytes: Uint8Array; request: VoucherRequest };
  /** Default: the IDevID's subject serialNumber; a manufacturer policy may name another field. */
  serialNumber?: string;
  /** Default now. */
  createdOn?: Date;
}

export function createRegistrarVoucherRequest(input: RegistrarVoucherRequestInput): VoucherRequest {
  const serialNumber = input.serialNumber ?? serialNumberOf(input.idevid);
  if (serialNumber === undefined) throw new VoucherError('invalid-content', 'the IDevID has no subject serialNumber');
  const content: VoucherRequestContent = {
    createdOn: toDateAndTime(input.createdOn ?? new Date()),
    serialNumber,
    idevidIssuer: idevidIssuerOf(input.idevid),
  };
  const pvr = input.priorSigned?.request;
  if (pvr === undefined || input.priorSigned === undefined) return new VoucherRequest(content);
  // §4.2 item 6: a sanity check only; the serial always comes from the certificate, never the PVR.
  if (pvr.serialNumber !== serialNumber) {
    throw new VoucherError('not-for-this-device', `PVR serial-number "${pvr.serialNumber}" is not the IDevID's "${serialNumber}"`);
  }
  if (pvr.nonce) content.nonce = pvr.nonce;
  // cBRSKI §7.2: the registrar copies the pledge's proximity assertion (the MASA may ignore it).
  if (pvr.assertion) content.assertion = pvr.assertion;
  content.priorSignedVoucherRequest = input.priorSigned.bytes;
  const spelling = pvr.base64Spelling.nonce;
  return new VoucherRequest(content, spelling ? { base64Spelling: { nonce: spelling } } : {});
}

export interface PledgeRequestExpectations {
  /** DER of the TLS server certificate this registrar sent in this session. */
  registrarCertificate: Uint8Array;
  /** The serial-number taken from the pledge's IDevID. */
  serialNumber: string;
}

/**
 * The content checks a registrar makes on a pledge's request (../shared/specs/teap-brski.md §4.2
 * items 4-6); the signature and signer checks come before, on the signed form. The proximity
 * registrar may be named by certificate (RFC 8995) or, in cBRSKI, by public key or its SHA-256.
 */
export function checkPledgeVoucherRequest(pvr: VoucherRequest, expect: PledgeRequestExpectations): void {
  if (pvr.assertion !== 'proximity') {
    throw new VoucherError('invalid-content', `PVR assertion is ${pvr.assertion ?? 'absent'}, not proximity`);
  }
  const spki = new X509Certificate(expect.registrarCertificate).publicKey.export({ type: 'spki', format: 'der' });
  const named =
    pvr.proximityRegistrarCert !== undefined
      ? bytesEqual(pvr.proximityRegistrarCert, expect.registrarCertificate)
      : pvr.proximityRegistrarPubk !== undefined
        ? bytesEqual(pvr.proximityRegistrarPubk, spki)
        : pvr.proximityRegistrarPubkSha256 !== undefined
          ? bytesEqual(pvr.proximityRegistrarPubkSha256, createHash('sha256').update(spki).digest())
          : undefined;
  if (named === undefined) throw new VoucherError('invalid-content', 'PVR names no proximity registrar');
  if (!named) throw new VoucherError('proximity-mismatch', 'PVR names another registrar than this TLS session\'s');
  if (!pvr.nonce) throw new VoucherError('invalid-content', 'PVR has no nonce');
  if (pvr.serialNumber !== expect.serialNumber) {
    throw new VoucherError('not-for-this-device', `PVR serial-number "${pvr.serialNumber}" is not the IDevID's "${expect.serialNumber}"`);
  }
}
