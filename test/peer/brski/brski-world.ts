/**
 * A complete TEAP-BRSKI server for pledge tests, in memory: our TEAP method with a policy that runs
 * the real registrar TLV method for one manufacturer, the real Registrar, and two test doubles for
 * what other branches build: the manufacturer's MASA (signs vouchers with a test "MASA" key that
 * chains to the test manufacturer CA) and the domain CA (EnrollmentCa over @peculiar/x509).
 */
import 'reflect-metadata';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import * as x509 from '@peculiar/x509';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import type { EapMethod } from '../../../src/eap-methods/method.js';
import { Registrar, type EnrollmentCa, type RegistrarDeps } from '../../../src/teap-brski/brski/registrar.js';
import { createBrskiTlvMethods } from '../../../src/teap-brski/brski/registrar-tlv-method.js';
import { BrskiTlvCodec } from '../../../src/teap-brski/brski/tlvs.js';
import type { MasaOutcome } from '../../../src/teap-brski/brski/masa-client.js';
import { SignedVoucherCms, Voucher, signVoucherCms, type CmsSigner, type VoucherContent } from '../../../src/teap-brski/brski/voucher/index.js';
import { toDateAndTime } from '../../../src/teap-brski/brski/voucher/yang-types.js';
import { MemoryBrskiDeviceStore } from '../../../src/store/brski-devices.js';
import type { AuditEntry, AuditStore } from '../../../src/store/audit.js';
import type { IssuedCertificateRecord, RevocationReason } from '../../../src/store/issued-certificates.js';
import { pledgeCredentials, type PledgeCredentials } from '../../../src/peer/brski/credentials.js';
import type { TeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore } from '../../teap-brski/helpers.js';
import { makeBrskiPki, makeCert, type BrskiPki, type TestCert } from '../../teap-brski/brski/voucher/test-pki.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** ../shared/specs/teap-brski.md §2.4: challengePassword, an EC P-256 key, ECDSA-SHA256. */
export const CSR_ATTRS_P256_CHALLENGE = new Uint8Array(Buffer.from('302c06092a864886f70d010907301506072a8648ce3d020131' + '0a06082a8648ce3d030107' + '06082a8648ce3d040302', 'hex'));

export const MANUFACTURER = 'acme';

const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/** A degenerate (certs-only) CMS SignedData, as RFC 9930's PKCS#7 TLV carries. */
export function certsOnlyPkcs7(certs: readonly Uint8Array[]): Uint8Array {
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: ID_DATA }),
    certificates: certs.map((c) => pkijs.Certificate.fromBER(Uint8Array.from(c).buffer)),
    signerInfos: [],
  });
  return new Uint8Array(new pkijs.ContentInfo({ contentType: ID_SIGNED_DATA, content: sd.toSchema(true) }).toSchema().toBER());
}

/** EnrollmentCa over @peculiar/x509: the CSR's key, a subject from the device id (never from the CSR). */
export class TestEnrollmentCa implements EnrollmentCa {
  readonly issued: { deviceId: string; der: Uint8Array; challengePassword?: string; csrKeyAlgorithm: string }[] = [];
  csrAttributesDer: Uint8Array = CSR_ATTRS_P256_CHALLENGE;
  /** Test switch: issue for this other key instead of the CSR's (a CA that gets it wrong). */
  issueForKey: webcrypto.CryptoKey | undefined;

  constructor(readonly ca: TestCert) {}

  get certificateDer(): Uint8Array {
    return this.ca.der;
  }

  /** Serials revoked through `revoke`. */
  readonly revoked = new Map<string, RevocationReason>();

  async issuedRecordOf(der: Uint8Array): Promise<IssuedCertificateRecord | undefined> {
    const hit = this.issued.find((i) => Buffer.from(i.der).equals(Buffer.from(der)));
    if (!hit) return undefined;
    const c = new X509Certificate(hit.der);
    const serial = c.serialNumber.toLowerCase();
    const reason = this.revoked.get(serial);
    return {
      serial, issuer: c.issuer, subject: c.subject, subjectAltNames: [], deviceId: hit.deviceId, notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo),
      der: hit.der, issuedAt: new Date(c.validFrom), ...(reason ? { revokedAt: new Date(), revocationReason: reason } : {}),
    };
  }

  async revoke(serial: string, reason: RevocationReason = 'unspecified'): Promise<boolean> {
    if (this.revoked.has(serial)) return false;
    this.revoked.set(serial, reason);
    return true;
  }

  async issueLdevid(req: { csrDer: Uint8Array; deviceId: string }): Promise<{ serial: string; der: Uint8Array; subject: string }> {
    const csr = new x509.Pkcs10CertificateRequest(req.csrDer);
    if (!(await csr.verify())) throw Object.assign(new Error('CSR signature does not verify'), { teapErrorCode: 1025 });
    const serial = randomBytes(12).toString('hex').replace(/^./, '4');
    const cp = csr.getAttribute('1.2.840.113549.1.9.7');
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: [{ CN: [req.deviceId] }],
      issuer: this.ca.cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 30 * 86_400_000),
      signingKey: this.ca.cryptoKey,
      publicKey: this.issueForKey ?? csr.publicKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(this.ca.cert),
      ],
    });
    const der = new Uint8Array(cert.rawData);
    this.issued.push({
      deviceId: req.deviceId,
      der,
      ...(cp instanceof x509.ChallengePasswordAttribute ? { challengePassword: cp.password } : {}),
      csrKeyAlgorithm: JSON.stringify(csr.publicKey.algorithm),
    });
    return { serial, der, subject: cert.subject };
  }

  pkcs7(issuedDer: Uint8Array, options?: { withCaCertificate?: boolean }): Uint8Array {
    return certsOnlyPkcs7(options?.withCaCertificate ? [issuedDer, this.ca.der] : [issuedDer]);
  }

  trustAnchorsPkcs7(): Uint8Array {
    return certsOnlyPkcs7([this.ca.der]);
  }

  csrAttributes(): Uint8Array {
    return this.csrAttributesDer;
  }
}

/** The manufacturer's MASA, as the registrar's MasaClient would reach it. */
export class TestMasa {
  calls = 0;
  /** pinned-domain-cert; default the registrar's TLS certificate. */
  pin: Uint8Array;
  /** Changes the voucher content before signing. */
  alter: ((c: VoucherContent) => VoucherContent) | undefined;
  /** Changes the signed bytes. */
  tamper: ((der: Uint8Array) => Uint8Array) | undefined;
  signer: CmsSigner;

  constructor(pki: BrskiPki) {
    this.pin = pki.registrar.der;
    this.signer = { certificate: pki.masa.der, privateKey: pki.masa.key };
  }

  async requestVoucher(_masaUrl: string, rvrDer: Uint8Array): Promise<MasaOutcome> {
    this.calls++;
    const rvr = SignedVoucherCms.decode(rvrDer);
    await rvr.verify();
    const req = rvr.voucherRequest();
    let content: VoucherContent = {
      createdOn: toDateAndTime(new Date()),
      assertion: 'logged',
      serialNumber: req.serialNumber,
      ...(req.nonce ? { nonce: req.nonce } : {}),
      ...(req.idevidIssuer ? { idevidIssuer: req.idevidIssuer } : {}),
      pinnedDomainCert: this.pin,
    };
    if (this.alter) content = this.alter(content);
    let der = await signVoucherCms(new Voucher(content), this.signer);
    if (this.tamper) der = this.tamper(der);
    return { kind: 'voucher', der, contentType: 'application/voucher-cms+json' };
  }
}

export class MemoryAudit implements AuditStore {
  readonly entries: AuditEntry[] = [];
  append(e: AuditEntry): void {
    this.entries.push(e);
  }
  async recent(limit: number): Promise<AuditEntry[]> {
    return this.entries.slice(-limit);
  }
}

export interface BrskiWorld {
  pki: BrskiPki;
  credentials: PledgeCredentials;
  ca: TestEnrollmentCa;
  masa: TestMasa;
  audit: MemoryAudit;
  /** The registrar's device list, where an administrator approves or denies. */
  devices: MemoryBrskiDeviceStore;
  method: EapMethod;
  serverLog: MemoryLog;
  /** The server's TLS chain as configured (PEM): registrar certificate, then the domain CA. */
  serverCertPem: string;
}

export interface WorldOptions {
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Overrides of the pledge policy (e.g. certificate-only, to see a pledge refuse flow A). */
  pledgePolicy?: Partial<TeapPolicy>;
  /** Our registrar CA (src/pki/ca) instead of the test CA. */
  realCa?: EnrollmentCa;
  /** The registrar's limit of one certificate per device per interval. */
  enrolmentLimit?: RegistrarDeps['enrolmentLimit'];
  /** The manufacturer's approval setting (default auto). */
  approval?: 'auto' | 'admin';
}

let sharedPki: Promise<BrskiPki> | undefined;

/** The certificates cost key generation; every test builds its own server state around one set. */
export function brskiPki(): Promise<BrskiPki> {
  sharedPki ??= makeBrskiPki('JADA-0001');
  return sharedPki;
}

export async function brskiWorld(o: WorldOptions = {}): Promise<BrskiWorld> {
  const pki = await brskiPki();
  const serverLog = new MemoryLog();
  const ca = new TestEnrollmentCa(pki.domainCa);
  const masa = new TestMasa(pki);
  const audit = new MemoryAudit();
  const anchors = [new X509Certificate(pki.manufacturerCa.pem)];
  const devices = new MemoryBrskiDeviceStore();
  const registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa,
    manufacturers: [{ name: MANUFACTURER, anchors, masaUrl: 'https://masa.test.example', approval: o.approval ?? 'auto' }],
    devices,
    ca: o.realCa ?? ca,
    audit,
    log: serverLog,
    ...(o.enrolmentLimit ? { enrolmentLimit: o.enrolmentLimit } : {}),
  });
  const serverCertPem = `${pki.registrar.pem}\n${pki.domainCa.pem}`;
  const method = createTeapMethod({
    tls: { cert: serverCertPem, key: pki.registrar.keyPem, maxVersion: o.maxVersion ?? 'TLSv1.2' },
    users: new MemoryUserStore(),
    innerMethods: [],
    policy: { sequence: [{ methods: ['basic-password'] }] },
    policies: { pledge: { clientCertificate: 'required', sequence: [{ identityType: 'machine', methods: ['brski'] }], ...o.pledgePolicy } },
    rules: [{ certificate: `manufacturer:${MANUFACTURER}`, policy: 'pledge' }],
    manufacturers: [{ name: MANUFACTURER, anchors }],
    tlvMethods: createBrskiTlvMethods({ registrar, tlvs: new BrskiTlvCodec() }),
  });
  const credentials = pledgeCredentials(pki.idevid.pem, pki.idevid.keyPem, pki.manufacturerCa.pem);
  return { pki, credentials, ca, masa, audit, devices, method, serverLog, serverCertPem };
}

/** A voucher as the test MASA signs it, for interceptors that swap what the registrar forwards. */
export async function signedVoucher(pki: BrskiPki, content: VoucherContent, signer?: CmsSigner): Promise<Uint8Array> {
  return signVoucherCms(new Voucher(content), signer ?? { certificate: pki.masa.der, privateKey: pki.masa.key });
}

/** A second, unrelated manufacturer-like CA and signer (a MASA the pledge has no anchor for). */
export async function rogueSigner(): Promise<CmsSigner> {
  const rogueCa = await makeCert({ subject: 'CN=Rogue Manufacturer CA', ca: true });
  const rogue = await makeCert({ subject: 'CN=Rogue MASA', issuer: rogueCa });
  return { certificate: rogue.der, privateKey: rogue.key, chain: [rogueCa.der] };
}

/** Flips one bit of the last octet: inside the SignerInfo's signature value. */
export function flipLastByte(der: Uint8Array): Uint8Array {
  const out = new Uint8Array(der);
  out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 0x01;
  return out;
}

/** RFC 7030 §4.5.2 CsrAttrs built with asn1js. */
export function csrAttrs(...entries: asn1js.AsnType[]): Uint8Array {
  return new Uint8Array(new asn1js.Sequence({ value: entries }).toBER());
}

/** An Attribute of CsrAttrs: { type, SET OF values }. */
export function attr(type: string, ...values: asn1js.AsnType[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), new asn1js.Set({ value: values })] });
}
