/**
 * What a pledge checks in a voucher's content once its signature is trusted
 * (../shared/specs/teap-brski.md §8 items 2-5). The pin on the registrar (item 6) is
 * pinned-domain-cert.ts.
 */
import type { Assertion, Voucher } from './artifact.js';
import { VoucherError } from './errors.js';
import { idevidIssuerMatches } from './idevid.js';
import type { ValidityTime } from './path-validation.js';
import { bytesEqual, dateAndTimeToMillis } from './yang-types.js';

export interface PledgeIdentity {
  serialNumber: string;
  /** The pledge's IDevID (DER); needed to check idevid-issuer when the voucher has one. */
  idevid?: Uint8Array;
  /** The nonce of the request this voucher answers. */
  nonce?: Uint8Array;
  /** Accept a voucher without nonce (RFC 8995 §7.2 reduced security). Default false. */
  acceptNonceless?: boolean;
  /** Acceptable assertions; default any. */
  acceptedAssertions?: readonly Assertion[];
  /** Now, or 'ignore-time' without a trusted clock. Default now. */
  at?: ValidityTime;
}

export function checkVoucherForPledge(voucher: Voucher, me: PledgeIdentity): void {
  if (voucher.serialNumber !== me.serialNumber) {
    throw new VoucherError('not-for-this-device', `voucher is for serial-number "${voucher.serialNumber}"`);
  }
  if (voucher.idevidIssuer !== undefined) {
    if (me.idevid === undefined) throw new VoucherError('not-for-this-device', 'voucher names an idevid-issuer and no IDevID was given to compare');
    if (!idevidIssuerMatches(voucher.idevidIssuer, me.idevid)) {
      throw new VoucherError('not-for-this-device', 'idevid-issuer is not the issuer of this IDevID');
    }
  }
  if (voucher.nonce !== undefined) {
    if (me.nonce === undefined || !bytesEqual(voucher.nonce, me.nonce)) throw new VoucherError('not-for-this-device', 'nonce is not the one we sent');
  } else if (me.acceptNonceless !== true) {
    throw new VoucherError('not-for-this-device', 'nonceless voucher, and nonceless vouchers are not accepted');
  }
  const at = me.at ?? new Date();
  if (voucher.expiresOn !== undefined && at !== 'ignore-time' && dateAndTimeToMillis(voucher.expiresOn) <= at.getTime()) {
    throw new VoucherError('expired', `voucher expired at ${voucher.expiresOn}`);
  }
  if (me.acceptedAssertions !== undefined && (voucher.assertion === undefined || !me.acceptedAssertions.includes(voucher.assertion))) {
    throw new VoucherError('invalid-content', `assertion ${voucher.assertion ?? '(none)'} is not acceptable`);
  }
  if (!voucher.pinnedDomainCert && !voucher.pinnedDomainPubk && !voucher.pinnedDomainPubkSha256) {
    throw new VoucherError('no-pin', 'the voucher pins no domain');
  }
}
