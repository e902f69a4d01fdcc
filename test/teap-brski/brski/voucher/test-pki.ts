/**
 * Certificates for the voucher tests, made with @peculiar/x509 on node's WebCrypto: manufacturer
 * and domain CAs, IDevIDs with a subject serialNumber, registrar certificates with cmcRA.
 */
import 'reflect-metadata';
import { type KeyObject, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyKind = 'p256' | 'p384' | 'rsa';

const KEY_PARAMS: Record<KeyKind, { gen: Parameters<typeof webcrypto.subtle.generateKey>[0]; sign: Parameters<typeof webcrypto.subtle.sign>[0] }> = {
  p256: { gen: { name: 'ECDSA', namedCurve: 'P-256' } as webcrypto.EcKeyGenParams, sign: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams },
  p384: { gen: { name: 'ECDSA', namedCurve: 'P-384' } as webcrypto.EcKeyGenParams, sign: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams },
  rsa: {
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as webcrypto.RsaHashedKeyGenParams,
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

export interface TestCert {
  der: Uint8Array;
  pem: string;
  /** node private key. */
  key: KeyObject;
  keyPem: string;
  cert: x509.X509Certificate;
  cryptoKey: webcrypto.CryptoKey;
  keyKind: KeyKind;
}

export interface CertOptions {
  subject: string;
  issuer?: TestCert;
  ca?: boolean;
  pathLength?: number;
  keyUsage?: number;
  eku?: string[];
  keyKind?: KeyKind;
  notBefore?: Date;
  notAfter?: Date;
  /** Leave out AuthorityKeyIdentifier (like RFC 8995's example IDevID). */
  noAki?: boolean;
  dnsName?: string;
}

export const ID_KP_CMC_RA = '1.3.6.1.5.5.7.3.28';
export const ID_KP_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

export async function makeCert(o: CertOptions): Promise<TestCert> {
  const keyKind = o.keyKind ?? 'p256';
  const params = KEY_PARAMS[keyKind];
  const keys = (await webcrypto.subtle.generateKey(params.gen, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = o.ca === true;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, o.pathLength, true),
    new x509.KeyUsagesExtension(
      o.keyUsage ?? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature),
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (o.eku) extensions.push(new x509.ExtendedKeyUsageExtension(o.eku, false));
  if (o.issuer && !o.noAki) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(o.issuer.cert));
  if (o.dnsName) extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: o.dnsName }]));
  const signer = o.issuer ?? { cryptoKey: keys.privateKey, keyKind };
  const common = {
    serialNumber: serial(),
    subject: o.subject,
    notBefore: o.notBefore ?? new Date(Date.now() - 3_600_000),
    notAfter: o.notAfter ?? new Date(Date.now() + 365 * 86_400_000),
    signingAlgorithm: KEY_PARAMS[signer.keyKind].sign,
    extensions,
  };
  const cert = o.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        issuer: o.issuer.cert.subject,
        signingKey: o.issuer.cryptoKey,
        publicKey: keys.publicKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: o.subject, keys });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return {
    der: new Uint8Array(cert.rawData),
    pem: cert.toString('pem'),
    key,
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert,
    cryptoKey: keys.privateKey,
    keyKind,
  };
}

export interface BrskiPki {
  manufacturerCa: TestCert;
  masa: TestCert;
  idevid: TestCert;
  serialNumber: string;
  domainCa: TestCert;
  registrar: TestCert;
}

/** A manufacturer (CA, MASA signer, one IDevID) and a domain (CA, registrar with serverAuth + cmcRA). */
export async function makeBrskiPki(serialNumber = 'JADA-0001'): Promise<BrskiPki> {
  const manufacturerCa = await makeCert({ subject: 'CN=Test Manufacturer CA', ca: true });
  const masa = await makeCert({ subject: 'CN=Test MASA', issuer: manufacturerCa });
  const idevid = await makeCert({ subject: `CN=Test Pledge, 2.5.4.5=${serialNumber}`, issuer: manufacturerCa });
  const domainCa = await makeCert({ subject: 'CN=Test Domain CA', ca: true });
  const registrar = await makeCert({
    subject: 'CN=registrar.test.example',
    issuer: domainCa,
    eku: [ID_KP_SERVER_AUTH, ID_KP_CMC_RA],
    dnsName: 'registrar.test.example',
  });
  return { manufacturerCa, masa, idevid, serialNumber, domainCa, registrar };
}

export function writePem(path: string, ...certs: TestCert[]): string {
  writeFileSync(path, certs.map((c) => c.pem).join('\n'));
  return path;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}
