/**
 * The manufacturer's certificates, made with @peculiar/x509 on node's WebCrypto, all EC P-256:
 *  - the manufacturer CA, which issues IDevIDs and the MASA's voucher-signing certificate, so that
 *    it is the one trust anchor a pledge needs for vouchers;
 *  - the voucher-signing certificate;
 *  - a separate TLS CA and the MASA's TLS server certificate, so that the manufacturer CA never
 *    vouches for a web server and a registrar's MASA client trusts nothing else of ours;
 *  - IDevIDs (IEEE 802.1AR): subject serialNumber, clientAuth, the MASA URL extension, and the
 *    "no well-defined expiration" notAfter 99991231235959Z.
 */
import 'reflect-metadata';
import { type KeyObject, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { ID_PE_MASA_URL, masaUrlExtensionValue } from '../teap-brski/brski/masa-url.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * IEEE 802.1AR §8.5: a certificate without a well-defined expiration carries this GeneralizedTime.
 * @peculiar/x509 writes GeneralizedTime for years after 2049, so the Date is enough.
 */
export const NO_WELL_DEFINED_EXPIRATION = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

const YEAR_MS = 365 * 86_400_000;

/** A certificate with its key pair, in the forms the callers need. */
export interface KeyedCertificate {
  cert: x509.X509Certificate;
  /** WebCrypto private key, to issue with. */
  signingKey: webcrypto.CryptoKey;
  certPem: string;
  keyPem: string;
}

/** A certificate and key loaded from PEM files. */
export interface LoadedKeyedCertificate {
  cert: x509.X509Certificate;
  der: Uint8Array;
  privateKey: KeyObject;
  signingKey: webcrypto.CryptoKey;
}

export async function loadKeyedCertificate(certPem: string, keyPem: string): Promise<LoadedKeyedCertificate> {
  const cert = new x509.X509Certificate(certPem);
  const privateKey = createPrivateKey(keyPem);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
  return { cert, der: new Uint8Array(cert.rawData), privateKey, signingKey };
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Positive, 16 random octets (RFC 5280 §4.1.2.2: unique per issuer, at most 20 octets). */
export function newCertificateSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b.toString('hex');
}

async function selfSignedCa(name: x509.JsonName, notAfter: Date): Promise<KeyedCertificate> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newCertificateSerial(),
    name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, signingKey: keys.privateKey, certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

interface EndEntityRequest {
  subject: x509.JsonName;
  notAfter: Date;
  eku?: string[];
  san?: x509.JsonGeneralNames;
  more?: x509.Extension[];
}

async function endEntity(issuer: { cert: x509.X509Certificate; signingKey: webcrypto.CryptoKey }, req: EndEntityRequest): Promise<KeyedCertificate> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
  ];
  if (req.eku) extensions.push(new x509.ExtendedKeyUsageExtension(req.eku, false));
  if (req.san) extensions.push(new x509.SubjectAlternativeNameExtension(req.san, false));
  extensions.push(...(req.more ?? []));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newCertificateSerial(),
    subject: req.subject,
    issuer: issuer.cert.subjectName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: req.notAfter,
    signingKey: issuer.signingKey,
    publicKey: keys.publicKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return { cert, signingKey: keys.privateKey, certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

export interface ManufacturerPki {
  manufacturerCa: KeyedCertificate;
  voucherSigner: KeyedCertificate;
  tlsCa: KeyedCertificate;
  tls: KeyedCertificate;
}

/**
 * A new manufacturer: its CA lives as long as its IDevIDs (a CA that expires first would strand
 * them), the voucher signer and the TLS certificates for 20 years.
 * `tlsNames`: DNS names or IP addresses for the TLS certificate; 127.0.0.1 and ::1 are always added.
 */
export async function createManufacturerPki(manufacturer: string, tlsNames: readonly string[]): Promise<ManufacturerPki> {
  const later = new Date(Date.now() + 20 * YEAR_MS);
  const manufacturerCa = await selfSignedCa([{ O: [manufacturer] }, { CN: [`${manufacturer} Manufacturer CA`] }], NO_WELL_DEFINED_EXPIRATION);
  const voucherSigner = await endEntity(manufacturerCa, {
    subject: [{ O: [manufacturer] }, { CN: [`${manufacturer} MASA voucher signer`] }],
    notAfter: later,
  });
  const tlsCa = await selfSignedCa([{ O: [manufacturer] }, { CN: [`${manufacturer} MASA TLS CA`] }], later);
  const names = [...new Set([...tlsNames, '127.0.0.1', '::1'])];
  const tls = await endEntity(tlsCa, {
    subject: [{ O: [manufacturer] }, { CN: [tlsNames[0] ?? 'localhost'] }],
    notAfter: later,
    eku: [x509.ExtendedKeyUsage.serverAuth],
    san: names.map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n })),
  });
  return { manufacturerCa, voucherSigner, tlsCa, tls };
}

/**
 * X520SerialNumber is a PrintableString of at most 64 characters (RFC 5280 Appendix A,
 * ub-serial-number); a serial outside that alphabet could not be written faithfully.
 */
export function isPrintableSerial(serial: string): boolean {
  return serial.length >= 1 && serial.length <= 64 && /^[A-Za-z0-9 '()+,\-./:=?]+$/.test(serial);
}

export const ID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface IdevidRequest {
  serialNumber: string;
  masaUrl: string;
  manufacturer: string;
  /** Default: "<manufacturer> device <serial>". */
  commonName?: string;
}

/** An IDevID for one pledge, issued by the manufacturer CA. */
export async function createIdevid(ca: { cert: x509.X509Certificate; signingKey: webcrypto.CryptoKey }, req: IdevidRequest): Promise<KeyedCertificate> {
  if (!isPrintableSerial(req.serialNumber)) {
    throw new Error(`serial-number "${req.serialNumber}" must be 1-64 PrintableString characters (A-Z a-z 0-9 space ' ( ) + , - . / : = ?)`);
  }
  return endEntity(ca, {
    subject: [
      { O: [req.manufacturer] },
      { CN: [req.commonName ?? `${req.manufacturer} device ${req.serialNumber}`] },
      { '2.5.4.5': [req.serialNumber] },
    ],
    notAfter: NO_WELL_DEFINED_EXPIRATION,
    eku: [ID_KP_CLIENT_AUTH],
    more: [new x509.Extension(ID_PE_MASA_URL, false, masaUrlExtensionValue(req.masaUrl))],
  });
}
