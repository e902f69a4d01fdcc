/** EAP-NOOB (RFC 9140): what the composition root, the portal and the CLI use. */
export { createNoobMethod, type NoobMethod, type NoobMethodDeps } from './method.js';
export { DEFAULT_SWITCHES, NOOB_DEFAULTS, resolveNoobConfig, type NoobConfig, type NoobSwitches, type ResolvedNoobConfig } from './config.js';
export {
  deliverOob,
  deliverOobFromUrl,
  formatOobUrl,
  issueServerToPeerOob,
  parseOobMessage,
  purgeExpiredRegistrations,
  OobFormatError,
  type DeliverOobFailure,
  type DeliverOobResult,
  type IssueOobResult,
  type OobMessage,
} from './oob.js';
export { classifyNoobIdentity, isUnderEapArpa, isValidNai, NOOB_DEFAULT_NAI, NOOB_PROVISIONING_NAI, type NoobIdentityKind } from './nai.js';
export { NoobError, NoobErrorCode } from './errors.js';
export { mppeKeysFromMsk } from './crypto/mppe.js';
export { EAP_TYPE_NOOB } from './messages.js';
