/**
 * Signed constrained vouchers and voucher-requests (`application/voucher+cose`, cBRSKI): the CBOR
 * artefact as the payload of a COSE_Sign1. Rules of ../shared/specs/constrained-voucher.md §3: a
 * voucher's MASA chain and a registrar request's chain travel in the unprotected x5bag; a pledge
 * request carries none and is checked with the key of the pledge's (D)TLS client certificate.
 */
import type { KeyObject } from 'node:crypto';
import { type AnyVoucherArtifact, type Voucher, type VoucherRequest, expectVoucher, expectVoucherRequest } from './artifact.js';
import { decodeVoucherArtifactCbor, encodeVoucherCbor } from './cbor-codec.js';
import { CoseSign1, type CoseSigner, signCoseSign1 } from './cose-sign1.js';
import { VoucherError } from './errors.js';
import { type SignerTrustOptions, type VerifiedSigner, pathToAnchors } from './signer-trust.js';

/** Media type of cBRSKI artefacts (constrained-voucher.md §3), CoAP Content-Format 836. */
export const VOUCHER_COSE_MEDIA_TYPE = 'application/voucher+cose';
/** The first registered name of the same format, still sent by Highway and ot-registrar (§5 item 4). */
export const LEGACY_VOUCHER_COSE_MEDIA_TYPE = 'application/voucher-cose+cbor';

export function isVoucherCoseMediaType(mediaType: string): boolean {
  const bare = (mediaType.split(';')[0] ?? '').trim().toLowerCase();
  return bare === VOUCHER_COSE_MEDIA_TYPE || bare === LEGACY_VOUCHER_COSE_MEDIA_TYPE;
}

/** Encodes `artifact` as SID-keyed CBOR and signs it into a tagged COSE_Sign1. */
export function signVoucherCose(artifact: AnyVoucherArtifact, signer: CoseSigner): Uint8Array {
  return signCoseSign1(encodeVoucherCbor(artifact), signer);
}

export interface CoseVerifyOptions extends SignerTrustOptions {
  /**
   * The key that must have signed: a public key, or a DER certificate (e.g. the pledge's TLS
   * client certificate for a pledge voucher-request). Absent: the signer is looked for among the
   * carried certificates and then the trust anchors.
   */
  signer?: KeyObject | Uint8Array;
}

export class SignedVoucherCose {
  private parsed: AnyVoucherArtifact | undefined;

  private constructor(readonly cose: CoseSign1) {}

  /** Size check and COSE_Sign1 structure; neither the signature nor the payload yet. */
  static decode(bytes: Uint8Array): SignedVoucherCose {
    return new SignedVoucherCose(CoseSign1.decode(bytes, 'COSE voucher artefact'));
  }

  get raw(): Uint8Array {
    return this.cose.raw;
  }

  artifact(): AnyVoucherArtifact {
    this.parsed ??= decodeVoucherArtifactCbor(this.cose.payload);
    return this.parsed;
  }

  voucher(): Voucher {
    return expectVoucher(this.artifact());
  }

  voucherRequest(): VoucherRequest {
    return expectVoucherRequest(this.artifact());
  }

  /** Checks the signature, then (with trust anchors) the signer's path. Throws VoucherError. */
  verify(options: CoseVerifyOptions = {}): VerifiedSigner {
    const carried = this.cose.certificates();
    let signerCertificate: Uint8Array | undefined;
    if (options.signer !== undefined) {
      if (!this.cose.verifyWithKey(options.signer)) throw new VoucherError('signature-invalid', 'COSE signature does not verify with the expected key');
      if (options.signer instanceof Uint8Array) signerCertificate = options.signer;
    } else {
      signerCertificate = [...carried, ...(options.trustAnchors ?? [])].find((c) => this.verifiesWith(c));
      if (!signerCertificate) throw new VoucherError('signature-invalid', 'no carried or trusted certificate verifies the COSE signature');
    }
    if (signerCertificate === undefined && options.trustAnchors !== undefined) {
      throw new VoucherError('signer-untrusted', 'a bare signer key cannot be checked against trust anchors');
    }
    const path = signerCertificate ? pathToAnchors(signerCertificate, carried, options) : undefined;
    return { ...(signerCertificate ? { signerCertificate } : {}), certificates: carried, ...(path ? { path } : {}) };
  }

  private verifiesWith(certificate: Uint8Array): boolean {
    try {
      return this.cose.verifyWithKey(certificate);
    } catch {
      return false; // a carried certificate that does not parse signs nothing
    }
  }

  /** The artefact without unprotected x5bag/x5chain, for a registrar forwarding to a pledge (cBRSKI §6.8). */
  withoutUnprotectedCertificates(): Uint8Array {
    return this.cose.withoutUnprotectedCertificates();
  }
}
