/**
 * The reference MASA (RFC 8995 §5.5-§5.8): a manufacturer CA that issues IDevIDs, and an HTTPS
 * service that answers registrar voucher-requests under an ownership policy and logs every voucher.
 */
export {
  DEFAULT_MASA_LISTEN, DEFAULT_NONCELESS_LIFETIME_SECONDS, MASA_CONFIG_FILE, loadMasaConfig, masaPaths, parseMasaConfig,
  readCertificates, spkiSha256Hex, type AssertionPolicy, type MasaConfig, type MasaDomain, type MasaPaths, type OwnershipMode,
  type PinScope,
} from './config.js';
export { DEFAULT_MANUFACTURER, initMasaDir, type MasaInitOptions, type MasaInitResult } from './init.js';
export { IdevidRegistry, type IssuedIdevid } from './idevid-registry.js';
export { issueIdevid, type IssueIdevidOptions, type IssueIdevidResult } from './issue-idevid.js';
export { NO_WELL_DEFINED_EXPIRATION, createIdevid, createManufacturerPki, isPrintableSerial } from './pki.js';
export { OwnershipPolicy, type ClaimRecord, type OwnershipDecision, type RegistrarChain } from './ownership.js';
export { VoucherLog, domainIdOf, type AuditLog, type VoucherLogEntry } from './voucher-log.js';
export { type ArtifactFormat, formatOfContentType, negotiateFormat } from './media-types.js';
export { ID_KP_CMC_RA, Masa, MasaRefusal, registrarChain, type MasaDeps, type MasaReply, type MasaRequest } from './masa.js';
export {
  MAX_REQUEST_BYTES, REQUEST_AUDIT_LOG_PATH, REQUEST_VOUCHER_PATH, startMasaServer, type MasaServerOptions, type RunningMasaServer,
} from './http-server.js';
export { runMasa, type RunningMasa } from './run.js';
