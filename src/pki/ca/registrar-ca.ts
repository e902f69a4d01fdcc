import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { x509 } from './x509.js';
import type { AuditStore } from '../../store/audit.js';
import { IssuedCertificateRevocation, issuedRecordOf } from './issued-revocation.js';
import type { PresentedCertificate } from '../../eap-methods/tls-tunnel.js';
import { revokeWithReissues } from './revoke-with-reissues.js';
import { IssuanceLimitReachedError, SerialInUseError, type IssuanceLimit, type IssuedCertificateRecord, type IssuedCertificateStore, type RevocationReason, type SubjectAltName } from '../../store/issued-certificates.js';
import type { Log } from '../../util/log.js';
import { createCrl, crlToPem } from '../crl.js';
import { buildCsrAttributes, type CsrAttributeItem, type SignatureAlgorithmName } from './csr-attributes.js';
import { inspectCsr } from './csr.js';
import { CaDirectoryError, CaError } from './errors.js';
import { commitFile, syncDirectory, writeFileDurably } from '../../util/atomic-file.js';
import { ensurePrivateDirectory, PRIVATE_KEY_MODE, readPrivateKeyFile, readPublicFile } from './key-files.js';
import { checkCsrAgainstPolicy, DEFAULT_LDEVID_POLICY, namesForDevice, validatePolicy, type LdevidPolicy } from './ldevid-policy.js';
import { certsOnlyPkcs7 } from './pkcs7.js';
import { canonicalSerialHex, randomSerial } from './serial.js';

export type CaKeyAlgorithm = { kind: 'ec'; curve: 'P-256' | 'P-384' } | { kind: 'rsa'; bits: 2048 | 3072 | 4096 };

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca.key';
/**
 * A new CA is written under these names first, both flushed to the disk, then committed: the key
 * linked as ca.key, the certificate renamed to ca.pem last. A crash between the two commits leaves
 * ca.key and the pending certificate, which the next start renames into place (after checking that
 * it belongs to the key); a crash before leaves only pending files, which are never read as a CA.
 */
export const CA_PENDING_KEY_FILE = '.ca.key.pending';
export const CA_PENDING_CERT_FILE = '.ca.pem.pending';

export interface RegistrarCaOptions {
  /** Holds ca.pem and ca.key (0600); created 0700 when missing. */
  directory: string;
  store: IssuedCertificateStore;
  audit: AuditStore;
  log?: Log;
  policy?: Partial<LdevidPolicy>;
  /** Only used when the directory holds no CA yet. */
  creation?: {
    keyAlgorithm?: CaKeyAlgorithm;
    /** Default "Gangway Registrar CA" plus a random suffix, so two installs never share a DN. */
    commonName?: string;
    validityDays?: number;
  };
  /** nextUpdate of each CRL. Default 7 days. */
  crlValidityDays?: number;
  /** Test seams: the serial source and the clock. */
  randomSerial?: () => Uint8Array;
  now?: () => Date;
}

export interface LdevidRequest {
  /** DER PKCS#10 as the device sent it (TEAP PKCS#10 TLV, EST body). */
  csrDer: Uint8Array;
  /** The device as the registrar authenticated it (e.g. the IDevID's serialNumber RDN). */
  deviceId: string;
  /** How it was authenticated, for the audit log ("idevid:<issuer>", "ldevid:<serial>", ...). */
  authenticatedBy?: string;
  /** Re-enrolment: the serial of the LDevID whose key asked; its revocation then reaches this one too. */
  reissuedFrom?: string;
  /** When set, the CSR's challengePassword must equal it (RFC 9930 §3.11.1: base64 tls-unique). */
  expectedChallengePassword?: string;
  /**
   * At most `certificates` to this device issued after `since`, revoked ones included: counted by
   * the store in the same step as it records, so that concurrent requests of one device cannot
   * both take the last place. Beyond it, IssuanceLimitReachedError and nothing recorded.
   */
  limit?: IssuanceLimit;
}

export interface IssuedLdevid {
  serial: string;
  der: Uint8Array;
  pem: string;
  subject: string;
  subjectAltNames: SubjectAltName[];
  notBefore: Date;
  notAfter: Date;
}

/** Random serials collide with probability ~2^-126; several in a row means a broken source. */
const SERIAL_ATTEMPTS = 8;
const DAY_MS = 86_400_000;

const CRL_REASONS: Readonly<Record<RevocationReason, x509.X509CrlReason>> = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
  certificateHold: x509.X509CrlReason.certificateHold,
  privilegeWithdrawn: x509.X509CrlReason.privilegeWithdrawn,
};

interface Signer {
  key: webcrypto.CryptoKey;
  algorithm: { name: string; hash: string };
}

/**
 * Our embedded registrar/domain CA: a self-signed root kept in a data directory, which issues
 * LDevIDs from PKCS#10 requests under an LDevID policy, records each one, revokes them and
 * publishes CRLs. One instance per process; the store arbitrates between processes.
 */
export class RegistrarCa {
  readonly policy: LdevidPolicy;
  readonly certificate: x509.X509Certificate;
  readonly certificateDer: Uint8Array;
  readonly certificatePem: string;
  /** isRevoked's answers (issued-revocation.ts); it checks a certificate object's signature once. */
  private readonly revocation: IssuedCertificateRevocation;

  private constructor(
    certificate: x509.X509Certificate,
    private readonly signer: Signer,
    private readonly options: RegistrarCaOptions,
    policy: LdevidPolicy,
  ) {
    this.certificate = certificate;
    this.certificateDer = new Uint8Array(certificate.rawData);
    this.certificatePem = certificate.toString('pem') + '\n';
    this.revocation = new IssuedCertificateRevocation({ store: options.store, ca: new NodeX509Certificate(this.certificateDer), ...(options.log ? { log: options.log } : {}) });
    this.policy = policy;
  }

  /** Loads the CA from its directory, or creates it there when the directory holds none. */
  static async open(options: RegistrarCaOptions): Promise<RegistrarCa> {
    const policy: LdevidPolicy = { ...DEFAULT_LDEVID_POLICY, ...options.policy };
    validatePolicy(policy);
    ensurePrivateDirectory(options.directory);
    const certPath = join(options.directory, CA_CERT_FILE);
    const keyPath = join(options.directory, CA_KEY_FILE);
    const pendingCertPath = join(options.directory, CA_PENDING_CERT_FILE);
    const haveKey = existsSync(keyPath);
    let haveCert = existsSync(certPath);
    let interrupted = false;
    if (haveKey && !haveCert && existsSync(pendingCertPath)) {
      // A creation that crashed after committing the key: finish it, once the certificate is known
      // to belong to the key (a stray pending file beside some other key is reported below).
      const pending = readCertificateFile(pendingCertPath);
      await importSigner(readPrivateKeyFile(keyPath), pending, keyPath);
      renameSync(pendingCertPath, certPath);
      // A crash right after the key's link leaves its pending name too: a second name of the key.
      rmSync(join(options.directory, CA_PENDING_KEY_FILE), { force: true });
      syncDirectory(options.directory);
      haveCert = true;
      interrupted = true;
      options.log?.warn({ directory: options.directory, subject: pending.subject }, 'registrar CA: completed a creation that was interrupted after its key was written');
    }
    if (haveCert !== haveKey) {
      const [missing, present] = haveCert ? [keyPath, certPath] : [certPath, keyPath];
      throw new CaDirectoryError(missing, `missing while ${present} exists; restore it, or move both away to create a new CA`);
    }
    if (!haveCert) return RegistrarCa.create(options, policy, certPath, keyPath);

    const keyPem = readPrivateKeyFile(keyPath);
    const certificate = readCertificateFile(certPath);
    const signer = await importSigner(keyPem, certificate, keyPath);
    const ca = new RegistrarCa(certificate, signer, options, policy);
    // The crashed creation never got to its audit record.
    if (interrupted) ca.auditCreated(options.now?.() ?? new Date(), { completedAfterInterruption: true });
    return ca;
  }

  private static async create(options: RegistrarCaOptions, policy: LdevidPolicy, certPath: string, keyPath: string): Promise<RegistrarCa> {
    const algorithm = options.creation?.keyAlgorithm ?? { kind: 'ec', curve: 'P-256' };
    const generation = algorithm.kind === 'ec'
      ? { name: 'ECDSA', namedCurve: algorithm.curve }
      : { name: 'RSASSA-PKCS1-v1_5', modulusLength: algorithm.bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(generation, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const signingAlgorithm = signingAlgorithmFor(algorithm);
    const now = options.now?.() ?? new Date();
    const commonName = options.creation?.commonName ?? `Gangway Registrar CA ${randomBytes(3).toString('hex')}`;
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: Buffer.from(randomSerial()).toString('hex'),
      name: new x509.Name([{ CN: [{ utf8String: commonName }] }]),
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + (options.creation?.validityDays ?? 3650) * DAY_MS),
      keys,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const dir = options.directory;
    const pendingKeyPath = join(dir, CA_PENDING_KEY_FILE);
    const pendingCertPath = join(dir, CA_PENDING_CERT_FILE);
    // Pending files without ca.key are from a creation that crashed before its commit: that key
    // never signed anything.
    rmSync(pendingKeyPath, { force: true });
    rmSync(pendingCertPath, { force: true });
    writeFileDurably(pendingKeyPath, toPem(pkcs8, 'PRIVATE KEY'), PRIVATE_KEY_MODE);
    writeFileDurably(pendingCertPath, certificate.toString('pem') + '\n', 0o644);
    try {
      // Exclusive: a CA another process created meanwhile is never replaced (that would orphan
      // every certificate it issued).
      commitFile(pendingKeyPath, keyPath, 'exclusive');
    } catch (err) {
      rmSync(pendingKeyPath, { force: true });
      rmSync(pendingCertPath, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CaDirectoryError(keyPath, 'appeared while this CA was being created; start again to load it', { cause: err });
      throw err;
    }
    commitFile(pendingCertPath, certPath, 'replace');
    const ca = new RegistrarCa(certificate, { key: keys.privateKey, algorithm: signingAlgorithm }, options, policy);
    ca.auditCreated(now, { keyAlgorithm: algorithm.kind === 'ec' ? `EC ${algorithm.curve}` : `RSA-${algorithm.bits}` });
    options.log?.info({ subject: certificate.subject, directory: options.directory }, 'registrar CA created');
    return ca;
  }

  private auditCreated(at: Date, detail: Record<string, unknown>): void {
    this.options.audit.append({
      at,
      event: 'ca.created',
      subject: this.certificate.subject,
      detail: { ...detail, sha256: this.fingerprint(), directory: this.options.directory },
    });
  }

  /** SHA-256 of the CA certificate's DER, hex: what an operator compares out of band. */
  fingerprint(): string {
    return createHash('sha256').update(this.certificateDer).digest('hex');
  }

  /**
   * Issues an LDevID: the CSR must verify (proof of possession) and satisfy key policy; subject and
   * SAN come from policy and `deviceId`; the certificate is recorded (with a fresh serial if a
   * random one was ever taken) and audited before it is returned. Refusals throw CaError, are
   * audited as `ca.ldevid.refused`, and leave nothing in the store. A request beyond its `limit`
   * throws IssuanceLimitReachedError, logged, not audited: a device that asks too often must not
   * grow the audit log either.
   */
  async issueLdevid(request: LdevidRequest): Promise<IssuedLdevid> {
    try {
      return await this.issue(request);
    } catch (err) {
      if (err instanceof IssuanceLimitReachedError) {
        this.options.log?.info({ deviceId: request.deviceId, holding: err.holding.length }, 'LDevID refused: the device holds every place of its limit');
        throw err;
      }
      const caError = err instanceof CaError ? err : new CaError('internal-ca-error', `issuing failed: ${(err as Error).message}`, { cause: err });
      this.options.audit.append({
        at: this.now(),
        event: 'ca.ldevid.refused',
        subject: request.deviceId,
        detail: { code: caError.code, teapErrorCode: caError.teapErrorCode, reason: caError.message, ...(request.authenticatedBy ? { authenticatedBy: request.authenticatedBy } : {}) },
      });
      this.options.log?.info({ deviceId: request.deviceId, code: caError.code, reason: caError.message }, 'LDevID refused');
      throw caError;
    }
  }

  private async issue(request: LdevidRequest): Promise<IssuedLdevid> {
    const names = namesForDevice(this.policy, request.deviceId);
    const csr = inspectCsr(request.csrDer, { maxOctets: this.policy.maxCsrOctets, keyPolicy: this.policy.keys });
    checkCsrAgainstPolicy(this.policy, names, csr, request.expectedChallengePassword);

    const now = this.now();
    const notBefore = new Date(now.getTime() - this.policy.backdateSeconds * 1000);
    // A certificate must not outlive the CA that vouches for it.
    const notAfter = new Date(Math.min(now.getTime() + this.policy.validityDays * DAY_MS, this.certificate.notAfter.getTime()));
    const publicKey = new x509.PublicKey(csr.spki);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
    ];
    if (names.subjectAltNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names.subjectAltNames, false));

    const nextSerial = this.options.randomSerial ?? randomSerial;
    for (let attempt = 1; attempt <= SERIAL_ATTEMPTS; attempt++) {
      const serial = canonicalSerialHex(Buffer.from(nextSerial()).toString('hex'));
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: names.subject,
        issuer: this.certificate.subjectName,
        notBefore,
        notAfter,
        publicKey,
        signingKey: this.signer.key,
        signingAlgorithm: this.signer.algorithm,
        extensions,
      });
      const issued: IssuedLdevid = {
        serial,
        der: new Uint8Array(cert.rawData),
        pem: cert.toString('pem') + '\n',
        subject: cert.subject,
        subjectAltNames: names.subjectAltNames,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
      };
      try {
        await this.options.store.record(
          { ...issued, issuer: this.certificate.subject, deviceId: request.deviceId, issuedAt: now, ...(request.reissuedFrom !== undefined ? { reissuedFrom: request.reissuedFrom } : {}) },
          request.limit,
        );
      } catch (err) {
        if (err instanceof IssuanceLimitReachedError) throw err;
        if (err instanceof SerialInUseError) {
          this.options.log?.warn({ serial, attempt }, 'random serial already issued; drawing another');
          continue;
        }
        throw new CaError('internal-ca-error', `could not record the certificate: ${(err as Error).message}`, { cause: err });
      }
      this.options.audit.append({
        at: now,
        event: 'ca.ldevid.issued',
        subject: request.deviceId,
        detail: {
          serial,
          certificateSubject: issued.subject,
          subjectAltNames: issued.subjectAltNames.map((n) => `${n.type}:${n.value}`),
          notAfter: issued.notAfter.toISOString(),
          key: csr.key.type === 'ec' ? `EC ${csr.key.curve}` : csr.key.type === 'rsa' ? `RSA-${csr.key.bits}` : csr.key.name,
          ...(request.authenticatedBy ? { authenticatedBy: request.authenticatedBy } : {}),
        },
      });
      this.options.log?.info({ deviceId: request.deviceId, serial }, 'LDevID issued');
      return issued;
    }
    throw new CaError('internal-ca-error', `${SERIAL_ATTEMPTS} random serial numbers in a row were already taken`);
  }

  /**
   * Certs-only PKCS#7 (DER) for an issued certificate: the LDevID first, then, unless
   * `withCaCertificate` is false, our CA certificate (TEAP's PKCS#7 TLV takes the chain; EST
   * simpleenroll answers with the issued certificate alone).
   */
  pkcs7(issuedDer: Uint8Array, options: { withCaCertificate?: boolean } = {}): Uint8Array {
    return certsOnlyPkcs7(options.withCaCertificate === false ? [issuedDer] : [issuedDer, this.certificateDer]);
  }

  /**
   * Trusted-Server-Root material (RFC 9930 TLV 17, Credential-Format 1): a certs-only PKCS#7 with
   * our CA certificate, plus any further anchors (e.g. the root of the TEAP server certificate when
   * another CA issued it). The same bundle serves EST /cacerts.
   */
  trustAnchorsPkcs7(extraAnchorsDer: readonly Uint8Array[] = []): Uint8Array {
    return certsOnlyPkcs7([this.certificateDer, ...extraAnchorsDer]);
  }

  /**
   * CSR-Attributes (RFC 9930 TLV 18 / EST /csrattrs, DER CsrAttrs) for this device: the key type
   * policy prefers and its signature algorithm, the SANs policy will put (as an extensionRequest
   * template), and challengePassword when the caller will check tls-unique.
   */
  csrAttributes(deviceId: string, options: { challengePassword?: boolean } = {}): Uint8Array {
    const items: CsrAttributeItem[] = [];
    if (options.challengePassword) items.push({ kind: 'challengePassword' });
    const curve = this.policy.keys.ecCurves[0];
    if (curve !== undefined) {
      items.push({ kind: 'ecKey', curve });
      const hash: Record<typeof curve, SignatureAlgorithmName> = { 'P-256': 'ecdsa-with-SHA256', 'P-384': 'ecdsa-with-SHA384', 'P-521': 'ecdsa-with-SHA512' };
      items.push({ kind: 'signatureAlgorithm', algorithm: hash[curve] });
    } else if (this.policy.keys.rsa) {
      items.push({ kind: 'rsaKey', bits: Math.max(this.policy.keys.rsa.minBits, 2048) });
      items.push({ kind: 'signatureAlgorithm', algorithm: 'sha256WithRSAEncryption' });
    }
    const names = namesForDevice(this.policy, deviceId);
    if (names.subjectAltNames.length > 0) {
      const san = new x509.SubjectAlternativeNameExtension(names.subjectAltNames, false);
      items.push({ kind: 'extensionRequest', extensions: [new Uint8Array(san.rawData)] });
    }
    return buildCsrAttributes(items);
  }

  /**
   * Revokes one certificate we issued and, for keyCompromise, those re-enrolments its key obtained
   * (revoke-with-reissues.ts). False when the serial is unknown or already revoked. Each revocation
   * is audited as it is made; publish a fresh CRL (crl()) for TLS stacks that read one.
   */
  async revoke(serial: string, reason: RevocationReason = 'unspecified', actor?: string): Promise<boolean> {
    const canonical = canonicalSerialHex(serial);
    const revoked = await this.revokeWithReissues(canonical, reason, actor);
    return revoked[0] === canonical;
  }

  /** Revokes every unexpired, unrevoked certificate of a device; returns the serials revoked. */
  async revokeDevice(deviceId: string, reason: RevocationReason = 'unspecified', actor?: string): Promise<string[]> {
    const now = this.now();
    const revoked: string[] = [];
    for (const cert of await this.options.store.listByDevice(deviceId)) {
      if (cert.revokedAt || cert.notAfter <= now || cert.issuer !== this.certificate.subject || revoked.includes(cert.serial)) continue;
      revoked.push(...(await this.revokeWithReissues(cert.serial, reason, actor)));
    }
    return revoked;
  }

  private async revokeWithReissues(serial: string, reason: RevocationReason, actor: string | undefined): Promise<string[]> {
    const at = this.now();
    const revoked = await revokeWithReissues(this.options.store, serial, at, reason, (r) => {
      this.options.audit.append({
        at,
        event: 'ca.ldevid.revoked',
        subject: r.deviceId,
        detail: { serial: r.serial, reason, ...(actor ? { actor } : {}), ...(r.reissuedFrom ? { reissuedFrom: r.reissuedFrom } : {}) },
      });
      this.options.log?.info({ deviceId: r.deviceId, serial: r.serial, reason, ...(r.reissuedFrom ? { reissuedFrom: r.reissuedFrom } : {}) }, 'LDevID revoked');
    });
    return revoked.map((r) => r.serial);
  }

  /**
   * For EAP-TLS's `isRevoked` hook: true when `cert` was issued by this CA and is revoked — or is
   * absent from our records (or recorded with another TBSCertificate), which for a certificate our
   * key signed means the store was lost or the key misused (fail closed). Certificates of other CAs
   * are not ours to judge: false.
   */
  async isRevoked(cert: PresentedCertificate | NodeX509Certificate): Promise<boolean> {
    return this.revocation.isRevoked(cert);
  }

  /** The record of the certificate we issued that `der` is (same serial and TBSCertificate), revoked or not. */
  async issuedRecordOf(der: Uint8Array): Promise<IssuedCertificateRecord | undefined> {
    return issuedRecordOf(this.options.store, der);
  }

  /** A fresh CRL (next CRL number, nextUpdate after crlValidityDays) listing our unexpired revocations. */
  async crl(): Promise<{ der: Uint8Array; pem: string; crlNumber: bigint; nextUpdate: Date }> {
    const now = this.now();
    const revoked = await this.options.store.listRevoked(this.certificate.subject, now);
    const crlNumber = await this.options.store.nextCrlNumber(this.certificate.subject);
    const nextUpdate = new Date(now.getTime() + (this.options.crlValidityDays ?? 7) * DAY_MS);
    const crl = await createCrl({
      issuer: this.certificate,
      signingKey: this.signer.key,
      signingAlgorithm: this.signer.algorithm,
      thisUpdate: new Date(now.getTime() - 60_000),
      nextUpdate,
      crlNumber,
      entries: revoked.map((r) => ({
        serial: r.serial,
        revokedAt: r.revokedAt ?? now,
        reason: CRL_REASONS[r.revocationReason ?? 'unspecified'],
      })),
    });
    const der = new Uint8Array(crl.rawData);
    return { der, pem: crlToPem(der), crlNumber, nextUpdate };
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

function signingAlgorithmFor(algorithm: CaKeyAlgorithm): { name: string; hash: string } {
  if (algorithm.kind === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  return { name: 'ECDSA', hash: algorithm.curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
}

/** The CA certificate of a file, or a CaDirectoryError naming it. */
function readCertificateFile(path: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(readPublicFile(path));
  } catch (err) {
    if (err instanceof CaDirectoryError) throw err;
    throw new CaDirectoryError(path, `not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** Imports the CA key for signing after checking it is the key of the CA certificate. */
async function importSigner(keyPem: string, certificate: x509.X509Certificate, keyPath: string): Promise<Signer> {
  let pkcs8: Buffer;
  let spki: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new CaDirectoryError(keyPath, `not a readable private key: ${(err as Error).message}`, { cause: err });
  }
  if (!spki.equals(Buffer.from(certificate.publicKey.rawData))) {
    throw new CaDirectoryError(keyPath, 'private key does not belong to the CA certificate beside it');
  }
  const nodeKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const namedCurve = nodeKey.asymmetricKeyType === 'ec' ? nodeKey.asymmetricKeyDetails?.namedCurve : undefined;
  const curve = namedCurve === 'prime256v1' ? 'P-256' : namedCurve === 'secp384r1' ? 'P-384' : undefined;
  let importParams: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  let signingAlgorithm: Signer['algorithm'];
  if (curve !== undefined) {
    importParams = { name: 'ECDSA', namedCurve: curve };
    signingAlgorithm = signingAlgorithmFor({ kind: 'ec', curve });
  } else if (nodeKey.asymmetricKeyType === 'rsa') {
    importParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  } else {
    throw new CaDirectoryError(keyPath, `unsupported CA key type ${nodeKey.asymmetricKeyType ?? 'unknown'} ${nodeKey.asymmetricKeyDetails?.namedCurve ?? ''}`.trimEnd());
  }
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, importParams, false, ['sign']);
  return { key, algorithm: signingAlgorithm };
}

function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
