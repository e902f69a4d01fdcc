import { X509Certificate } from 'node:crypto';
import { VoucherError } from './errors.js';

const ID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * A voucher must be signed by the MASA, not by a device. The manufacturer's CA usually issues both
 * the MASA's signing certificate and every IDevID, so a chain to the manufacturer anchor alone
 * would let anyone holding a device's key sign vouchers for other devices. A certificate that looks
 * like a device identity — an 802.1AR subject serialNumber, or TLS client authentication — is
 * therefore no voucher signer.
 */
export function checkVoucherSigner(signerDer: Uint8Array): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(signerDer);
  } catch {
    throw new VoucherError('signature-invalid', 'the voucher signer certificate cannot be parsed');
  }
  if (cert.subject.split('\n').some((rdn) => rdn.startsWith('serialNumber='))) {
    throw new VoucherError('signer-untrusted', 'the voucher is signed by a device identity (subject serialNumber), not by a MASA');
  }
  if (cert.keyUsage?.includes(ID_KP_CLIENT_AUTH)) {
    throw new VoucherError('signer-untrusted', 'the voucher is signed by a certificate for TLS client authentication (a device identity), not by a MASA');
  }
}
