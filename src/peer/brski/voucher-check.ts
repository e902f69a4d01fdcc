/**
 * The pledge's verdict on a voucher (../shared/specs/teap-brski.md §8): signed by a chain to its
 * manufacturer anchor, for this device and this request, and pinning the registrar whose TLS
 * certificate the pledge saw in Phase 1. Only when all hold does the pledge trust the tunnel.
 */
import {
  SignedVoucherCms,
  VoucherError,
  checkServerAgainstPin,
  checkVoucherForPledge,
  checkVoucherSigner,
  type DomainPin,
  type ValidityTime,
  type Voucher,
} from '../../teap-brski/brski/voucher/index.js';

export interface VoucherExpectations {
  manufacturerAnchors: readonly Uint8Array[];
  serialNumber: string;
  idevid: Uint8Array;
  /** The nonce of our voucher-request. */
  nonce: Uint8Array;
  /** The server's TLS certificates from Phase 1, end-entity first. */
  serverChain: readonly Uint8Array[];
  /** Default now; 'ignore-time' for a device without a trusted clock. */
  at?: ValidityTime;
  /** RFC 8995 §7.2 reduced security. Default false. */
  acceptNonceless?: boolean;
}

export interface AcceptedVoucher {
  voucher: Voucher;
  pin: DomainPin;
  /** The server chain up to the pin. */
  path: Uint8Array[];
}

/** Throws VoucherError; its `teapError` is the class the pledge reports. */
export async function acceptVoucher(der: Uint8Array, expect: VoucherExpectations): Promise<AcceptedVoucher> {
  const at = expect.at ?? new Date();
  const signed = SignedVoucherCms.decode(der);
  // §8 item 1: the signature, and its signer's path to the manufacturer (before reading content).
  const signer = await signed.verify({ trustAnchors: expect.manufacturerAnchors, at });
  if (!signer.signerCertificate) throw new VoucherError('signature-invalid', 'the voucher names no signer certificate');
  checkVoucherSigner(signer.signerCertificate);
  const voucher = signed.voucher();
  // Items 2-5: this device, this request, a pin.
  checkVoucherForPledge(voucher, {
    serialNumber: expect.serialNumber,
    idevid: expect.idevid,
    nonce: expect.nonce,
    acceptNonceless: expect.acceptNonceless ?? false,
    at,
  });
  // Item 6: the registrar of this tunnel is the one the MASA vouched for.
  const checked = checkServerAgainstPin(voucher, expect.serverChain, { at });
  if (checked.revocationChecksRequired) {
    // The voucher makes revocation checking a MUST (8366bis); this pledge has no revocation
    // source, so it cannot honour it and must not proceed.
    throw new VoucherError('pin-mismatch', 'the voucher requires revocation checks of the domain certificate, which this pledge cannot make');
  }
  return { voucher, pin: checked.pin, path: checked.path };
}
