import 'reflect-metadata';
import { webcrypto, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface DemoPki {
  ca: IssuedCertificate;
  server: IssuedCertificate;
  client: IssuedCertificate;
}

/**
 * A throw-away PKI so that a fresh install authenticates something at once: a CA, a server
 * certificate for `serverName`, and one client certificate. P-256 keeps EAP-TLS flights small,
 * which matters because each fragment is a RADIUS round trip.
 */
export async function generateDemoPki(serverName: string, clientName = 'demo-client', validDays = 825): Promise<DemoPki> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + validDays * 86_400_000);
  const caKeys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Gangway Demo CA ${randomBytes(3).toString('hex')}`,
    notBefore,
    notAfter: new Date(Date.now() + 3650 * 86_400_000),
    keys: caKeys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = { certPem: caCert.toString('pem'), keyPem: await keyToPem(caKeys.privateKey) };
  const server = await issue(caCert, caKeys.privateKey, {
    subject: `CN=${serverName}`,
    notBefore,
    notAfter,
    // serverAuth for the EAP tunnels; id-kp-cmcRA because the same certificate signs the BRSKI
    // registrar voucher-requests and the MASA requires cmcRA there (teap-brski.md §1).
    eku: [x509.ExtendedKeyUsage.serverAuth, ID_KP_CMC_RA],
    dnsName: serverName,
  });
  const client = await issue(caCert, caKeys.privateKey, {
    subject: `CN=${clientName}`,
    notBefore,
    notAfter,
    eku: [x509.ExtendedKeyUsage.clientAuth],
  });
  return { ca, server, client };
}

interface IssueRequest {
  subject: string;
  notBefore: Date;
  notAfter: Date;
  eku: string[];
  dnsName?: string;
}

/** id-kp-cmcRA (RFC 6402): the certificate of a registration authority, e.g. a BRSKI registrar. */
export const ID_KP_CMC_RA = '1.3.6.1.5.5.7.3.28';

export async function issue(caCert: x509.X509Certificate, caKey: webcrypto.CryptoKey, req: IssueRequest): Promise<IssuedCertificate> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(req.eku, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (req.dnsName) extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: req.dnsName }]));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: req.subject,
    issuer: caCert.subject,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await keyToPem(keys.privateKey) };
}

async function keyToPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

/** Positive 16-octet serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f | 0x01;
  return b.toString('hex');
}
