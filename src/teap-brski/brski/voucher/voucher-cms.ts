/**
 * Signed JSON vouchers and voucher-requests (`application/voucher-cms+json`): signing an artefact,
 * and reading one received from a pledge, a registrar or a MASA. The received bytes are kept as
 * they came (a registrar forwards a voucher unchanged, and puts a pledge's request verbatim into
 * its own); the JSON inside is parsed on first use.
 */
import { type AnyVoucherArtifact, type Voucher, type VoucherRequest, expectVoucher, expectVoucherRequest } from './artifact.js';
import { type CmsSignOptions, type CmsSigner, SignedCms, signCms } from './cms.js';
import { parseVoucherArtifactJson, serializeVoucherJson } from './json-codec.js';
import { type SignerTrustOptions, type VerifiedSigner, pathToAnchors } from './signer-trust.js';

/** Serializes `artifact` to JSON and signs it (CMS SignedData, DER). */
export function signVoucherCms(artifact: AnyVoucherArtifact, signer: CmsSigner, options: CmsSignOptions = {}): Promise<Uint8Array> {
  return signCms(serializeVoucherJson(artifact), signer, options);
}

export class SignedVoucherCms {
  private parsed: AnyVoucherArtifact | undefined;

  private constructor(readonly cms: SignedCms) {}

  /** Size check and CMS structure; neither the signature nor the JSON yet. */
  static decode(bytes: Uint8Array): SignedVoucherCms {
    return new SignedVoucherCms(SignedCms.decode(bytes, 'CMS voucher artefact'));
  }

  /** The bytes exactly as received. */
  get raw(): Uint8Array {
    return this.cms.raw;
  }

  /** The voucher or voucher-request inside (parsed once, on first use). */
  artifact(): AnyVoucherArtifact {
    this.parsed ??= parseVoucherArtifactJson(this.cms.content);
    return this.parsed;
  }

  voucher(): Voucher {
    return expectVoucher(this.artifact());
  }

  voucherRequest(): VoucherRequest {
    return expectVoucherRequest(this.artifact());
  }

  /**
   * Checks the signature and, when trust anchors are given, the signer's path to one of them (the
   * carried certificates serve as intermediates). Throws VoucherError ('signature-invalid',
   * 'signer-untrusted', 'unsupported').
   */
  async verify(options: SignerTrustOptions = {}): Promise<VerifiedSigner> {
    const check = await this.cms.verifySignature();
    const path = pathToAnchors(check.signerCertificate, this.cms.certificates, options);
    return {
      signerCertificate: check.signerCertificate,
      certificates: this.cms.certificates,
      ...(path ? { path } : {}),
      ...(check.signingTime ? { signingTime: check.signingTime } : {}),
    };
  }
}
