/**
 * Vouchers (RFC 8366 / draft-ietf-anima-rfc8366bis) for BRSKI: the public surface used by the
 * registrar, the MASA and the pledge. Sans-IO: bytes in, bytes or values out.
 */
export { VoucherError, type VoucherErrorCode, type TeapBrskiErrorClass } from './errors.js';
export { MAX_ARTIFACT_BYTES } from './limits.js';
export {
  Voucher, VoucherRequest, type AnyVoucherArtifact, type Assertion, type ArtifactMeta, type VoucherContent,
  type VoucherRequestContent,
} from './artifact.js';
export {
  VOUCHER_CMS_JSON_MEDIA_TYPE, parseVoucherArtifactJson, parseVoucherJson, parseVoucherRequestJson, serializeVoucherJson,
} from './json-codec.js';
export { decodeVoucherArtifactCbor, decodeVoucherCbor, decodeVoucherRequestCbor, encodeVoucherCbor } from './cbor-codec.js';
export { ID_CT_ANIMA_JSON_VOUCHER, ID_DATA, SignedCms, signCms, type CmsContentType, type CmsSignOptions, type CmsSigner } from './cms.js';
export { SignedVoucherCms, signVoucherCms } from './voucher-cms.js';
export { CoseSign1, signCoseSign1, type CoseAlgorithm, type CoseSigner } from './cose-sign1.js';
export {
  LEGACY_VOUCHER_COSE_MEDIA_TYPE, SignedVoucherCose, VOUCHER_COSE_MEDIA_TYPE, isVoucherCoseMediaType, signVoucherCose,
  type CoseVerifyOptions,
} from './voucher-cose.js';
export { type SignerTrustOptions, type VerifiedSigner } from './signer-trust.js';
export {
  isCaCertificate, validateCertificatePath, type PathValidationOptions, type PathValidationResult, type ValidityTime,
} from './path-validation.js';
export { checkServerAgainstPin, domainPinOf, type DomainPin, type PinCheckOptions, type PinCheckResult } from './pinned-domain-cert.js';
export { idevidIssuerMatches, idevidIssuerOf, readableSerialNumberOf, serialNumberOf } from './idevid.js';
export {
  checkPledgeVoucherRequest, createPledgeVoucherRequest, createRegistrarVoucherRequest, type PledgeRequestExpectations,
  type PledgeVoucherRequestInput, type RegistrarVoucherRequestInput,
} from './voucher-requests.js';
export { checkVoucherForPledge, type PledgeIdentity } from './pledge-checks.js';
export { checkVoucherSigner } from './voucher-signer.js';
