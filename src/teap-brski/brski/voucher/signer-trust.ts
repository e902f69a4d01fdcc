/**
 * The step after a good signature: does the signer chain to one of the caller's trust anchors
 * (a pledge's manufacturer anchor, a MASA's registrar anchors)? Shared by the CMS and COSE forms.
 */
import { VoucherError } from './errors.js';
import { type ValidityTime, validateCertificatePath } from './path-validation.js';

export interface SignerTrustOptions {
  /** DER trust anchors. Absent: only the signature is checked, and `path` stays undefined. */
  trustAnchors?: readonly Uint8Array[];
  /** When to check validity periods; default now. */
  at?: ValidityTime;
}

export interface VerifiedSigner {
  /** DER certificate whose key made the signature (absent for a COSE signature checked with a bare key). */
  signerCertificate?: Uint8Array;
  /** Every certificate the artefact carried, as carried. */
  certificates: readonly Uint8Array[];
  /** Signer to anchor, DER, when trust anchors were given. */
  path?: readonly Uint8Array[];
  /** CMS signing-time attribute, when present. */
  signingTime?: Date;
}

export function pathToAnchors(
  signer: Uint8Array,
  carried: readonly Uint8Array[],
  options: SignerTrustOptions,
): Uint8Array[] | undefined {
  if (options.trustAnchors === undefined) return undefined;
  const result = validateCertificatePath(signer, carried, options.trustAnchors, options.at !== undefined ? { at: options.at } : {});
  if (!result.ok) throw new VoucherError('signer-untrusted', `signer does not chain to a trust anchor: ${result.reason}`);
  return result.path;
}
