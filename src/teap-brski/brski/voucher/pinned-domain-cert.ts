/**
 * The voucher's pin on the registrar (../shared/specs/teap-brski.md §7, 8366bis §8): does the TLS
 * server certificate the pledge saw in Phase 1 (and the chain the server sent) belong to the domain
 * the MASA vouched for?
 *
 *  - pinned-domain-cert, an end-entity certificate: the server certificate must be that very
 *    certificate (byte-identical DER).
 *  - pinned-domain-cert, a CA (basicConstraints cA): the server certificate must chain to it, the
 *    pinned certificate serving as the only trust anchor (self-signed or not); the server's other
 *    certificates may serve as intermediates.
 *  - pinned-domain-pubk / -pubk-sha256 (8366bis raw-key pins): the server certificate's
 *    SubjectPublicKeyInfo, or its SHA-256, must equal the pin.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { Voucher } from './artifact.js';
import { VoucherError } from './errors.js';
import { type ValidityTime, loadCertificate, validateCertificatePath } from './path-validation.js';
import { bytesEqual } from './yang-types.js';

export type DomainPin =
  | { kind: 'cert'; certificate: Uint8Array }
  | { kind: 'pubk'; spki: Uint8Array }
  | { kind: 'pubk-sha256'; sha256: Uint8Array };

/**
 * The pin a pledge uses: the kind matching what it put in its request when given, else the first
 * present of pubk-sha256, pubk, cert (8366bis §8). Undefined: the voucher pins nothing.
 */
export function domainPinOf(voucher: Voucher, preferred?: DomainPin['kind']): DomainPin | undefined {
  const pins: DomainPin[] = [];
  if (voucher.pinnedDomainPubkSha256) pins.push({ kind: 'pubk-sha256', sha256: voucher.pinnedDomainPubkSha256 });
  if (voucher.pinnedDomainPubk) pins.push({ kind: 'pubk', spki: voucher.pinnedDomainPubk });
  if (voucher.pinnedDomainCert) pins.push({ kind: 'cert', certificate: voucher.pinnedDomainCert });
  return pins.find((p) => p.kind === preferred) ?? pins[0];
}

export interface PinCheckOptions {
  /** Validity instant, or 'ignore-time' for a pledge without a trusted clock. Default now. */
  at?: ValidityTime;
  /** Which pin kind the pledge asked for (see domainPinOf). */
  preferred?: DomainPin['kind'];
}

export interface PinCheckResult {
  pin: DomainPin;
  /** Server certificate first; ends with the pinned certificate for a certificate pin. */
  path: Uint8Array[];
  /**
   * The voucher's domain-cert-revocation-checks was true: the pledge MUST now check revocation of
   * `path`, which this function does not do.
   */
  revocationChecksRequired: boolean;
}

/**
 * Decides whether `serverChain` (DER, the TLS server certificate first, then what the server sent
 * with it) is validated by the voucher's pin. Throws VoucherError 'no-pin' or 'pin-mismatch'
 * (TEAP-BRSKI Invalid-TLS-Signer).
 */
export function checkServerAgainstPin(
  voucherOrPin: Voucher | DomainPin,
  serverChain: readonly Uint8Array[],
  options: PinCheckOptions = {},
): PinCheckResult {
  const voucher = voucherOrPin instanceof Voucher ? voucherOrPin : undefined;
  const pin = voucher ? domainPinOf(voucher, options.preferred) : (voucherOrPin as DomainPin);
  if (!pin) throw new VoucherError('no-pin', 'the voucher has no pinned-domain-cert, -pubk or -pubk-sha256');
  const revocationChecksRequired = voucher?.domainCertRevocationChecks === true;
  const at = options.at ?? new Date();
  const server = serverChain[0];
  if (!server) throw new VoucherError('pin-mismatch', 'no server certificate to check');
  const leaf = loadCertificate(server);
  if (!leaf) throw new VoucherError('pin-mismatch', 'the server certificate does not parse');
  const mismatch = (why: string): VoucherError => new VoucherError('pin-mismatch', why);

  if (pin.kind === 'cert') {
    if (bytesEqual(pin.certificate, server)) {
      const exact = validateCertificatePath(server, [], [pin.certificate], { at });
      if (!exact.ok) throw mismatch(`the pinned certificate itself: ${exact.reason}`);
      return { pin, path: [new Uint8Array(server)], revocationChecksRequired };
    }
    const pinned = loadCertificate(pin.certificate);
    if (!pinned) throw mismatch('the pinned-domain-cert does not parse');
    if (!pinned.ca) throw mismatch('the pinned end-entity certificate is not the server certificate');
    const result = validateCertificatePath(server, serverChain.slice(1), [pin.certificate], { at });
    if (!result.ok) throw mismatch(`the server certificate does not chain to the pinned CA: ${result.reason}`);
    return { pin, path: result.path, revocationChecksRequired };
  }

  const validity = validateCertificatePath(server, [], [server], { at });
  if (!validity.ok) throw mismatch(`server certificate: ${validity.reason}`);
  const spki = new X509Certificate(server).publicKey.export({ type: 'spki', format: 'der' });
  const matches =
    pin.kind === 'pubk' ? bytesEqual(spki, pin.spki) : bytesEqual(createHash('sha256').update(spki).digest(), pin.sha256);
  if (!matches) throw mismatch(`the server's public key is not the pinned-domain-${pin.kind}`);
  return { pin, path: [new Uint8Array(server)], revocationChecksRequired };
}
