import { generateKeyPairSync, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import { inspectCsr } from '../../../src/pki/ca/csr.js';
import { certificatesFromPkcs7 } from '../../../src/pki/ca/pkcs7.js';
import { parseCsrAttributes } from '../../../src/pki/ca/csr-attributes.js';
import { CaError } from '../../../src/pki/ca/errors.js';
import { DEFAULT_KEY_POLICY } from '../../../src/pki/ca/key-policy.js';
import { DEFAULT_LDEVID_POLICY, checkCsrAgainstPolicy, namesForDevice, type LdevidPolicy } from '../../../src/pki/ca/ldevid-policy.js';
import { type FuzzTarget, type Seed } from '../engine/target.js';
import { tolerate } from './tolerate.js';

const expected = (err: unknown): boolean => err instanceof CaError;
/** The pledge-side readers (CsrAttrs, certs-only PKCS#7) document plain Errors for junk; a TypeError or RangeError is a bug. */
const plainError = (err: unknown): boolean => err instanceof Error && err.constructor === Error;

const POLICIES: readonly LdevidPolicy[] = [
  DEFAULT_LDEVID_POLICY,
  { ...DEFAULT_LDEVID_POLICY, subject: { commonName: 'dev-{deviceId}', organization: 'Fuzz' }, subjectAltNames: [{ type: 'dns', template: '{deviceId}.devices.fuzz.example' }, { type: 'url', template: 'urn:dev:{deviceId}' }], csrSubject: 'match', unknownCsrExtensions: 'ignore' },
  { ...DEFAULT_LDEVID_POLICY, csrSubject: 'replace' },
];

/**
 * The registrar CA's PKCS#10 path (RFC 2986, ../shared/specs/teap-brski.md §4.3): the canonical-DER
 * check, key policy, signature (proof of possession), attributes and requested extensions, then the
 * LDevID policy's identity checks. Only `CaError` (with its RFC 9930 error code, 1022-1027) may
 * come out. Half of the mutated inputs are re-signed with a key of the harness, so that mutations of
 * the request info reach the attribute and extension parsers instead of stopping at the signature.
 * The same bytes also go through the pledge-side readers of CsrAttrs and certs-only PKCS#7.
 */
export const pkcs10: FuzzTarget = {
  name: 'pkcs10',
  description: 'PKCS#10 CSR inspection and LDevID policy checks (registrar CA); CsrAttrs and certs-only PKCS#7 readers',
  maxLength: 8192,
  dependencies: ['asn1js', 'pkijs', '@peculiar/x509', '@peculiar/asn1-schema', '@peculiar/asn1-x509', '@peculiar/asn1-csr'],
  expected,
  hints: {
    fixup: resign,
    dictionary: [
      Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07), Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e),
      Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x11), Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x13), Uint8Array.of(0x06, 0x03, 0x55, 0x04, 0x05), Uint8Array.of(0x06, 0x03, 0x55, 0x04, 0x03),
      Uint8Array.of(0x30, 0x82), Uint8Array.of(0x31), Uint8Array.of(0xa0), Uint8Array.of(0x13), Uint8Array.of(0x0c), Uint8Array.of(0x82), Uint8Array.of(0x86),
    ],
  },
  async setup() {
    return (data) => {
      tolerate(plainError, () => parseCsrAttributes(data));
      tolerate(plainError, () => certificatesFromPkcs7(data));
      const csr = inspectCsr(data, { maxOctets: 8192, keyPolicy: DEFAULT_KEY_POLICY });
      for (const policy of POLICIES) {
        const names = namesForDevice(policy, 'JADA-0001');
        tolerate(expected, () => checkCsrAgainstPolicy(policy, names, csr));
        tolerate(expected, () => checkCsrAgainstPolicy(policy, names, csr, 'channel-binding'));
      }
    };
  },
};

const fixupKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const fixupSpki = asn1js.fromBER(fixupKey.publicKey.export({ type: 'spki', format: 'der' })).result;
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** The request info with the harness's public key, signed with its private key: a valid CSR again. */
function resign(der: Uint8Array): Uint8Array {
  try {
    const parsed = asn1js.fromBER(der);
    if (parsed.offset !== der.length || !(parsed.result instanceof asn1js.Sequence)) return der;
    const tbs = parsed.result.valueBlock.value[0];
    if (!(tbs instanceof asn1js.Sequence) || tbs.valueBlock.value.length < 3) return der;
    tbs.valueBlock.value[2] = fixupSpki;
    const tbsDer = new Uint8Array(tbs.toBER(false));
    const signature = sign('sha256', tbsDer, { key: fixupKey.privateKey, dsaEncoding: 'der' });
    const out = new asn1js.Sequence({
      value: [asn1js.fromBER(tbsDer).result, new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: ECDSA_WITH_SHA256 })] }), new asn1js.BitString({ valueHex: signature })],
    });
    return new Uint8Array(out.toBER(false));
  } catch {
    return der;
  }
}

pkcs10.makeSeeds = async () => {
  await import('reflect-metadata');
  const { webcrypto } = await import('node:crypto');
  const { x509 } = await import('../../../src/pki/ca/x509.js');
  const { createPledgeCsr } = await import('../../../src/peer/brski/csr.js');
  const { buildCsrAttributes } = await import('../../../src/pki/ca/csr-attributes.js');
  const { certsOnlyPkcs7 } = await import('../../../src/pki/ca/pkcs7.js');
  const { generateDemoPki } = await import('../../../src/pki/demo-pki.js');
  const seeds: Seed[] = [];
  const ec = await createPledgeCsr({ request: { challengePassword: false, ignored: [] } });
  seeds.push({ name: 'pledge-ec-p256', data: ec.der, comment: 'createPledgeCsr with no CSR-Attributes (EC P-256, as our pledge sends it)' });
  const withCb = await createPledgeCsr({ request: { challengePassword: true, key: { kind: 'ec', curve: 'P-384' }, ignored: [] }, channelBinding: new Uint8Array(32).fill(5) });
  seeds.push({ name: 'pledge-p384-challenge-password', data: withCb.der, comment: 'createPledgeCsr asked for P-384 and challengePassword (channel binding)' });
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as import('node:crypto').webcrypto.CryptoKeyPair;
  const rich = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=dev-JADA-0001, O=Fuzz, 2.5.4.5=JADA-0001',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'JADA-0001.devices.fuzz.example' }, { type: 'url', value: 'urn:dev:JADA-0001' }, { type: 'email', value: 'a@b.example' }]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.BasicConstraintsExtension(false),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2']),
    ],
    attributes: [new x509.ChallengePasswordAttribute('channel-binding')],
  });
  seeds.push({ name: 'rich-p256', data: new Uint8Array(rich.rawData), comment: '@peculiar/x509: subject with O and serialNumber, SAN (dNSName, URI, rfc822Name), keyUsage, basicConstraints, extKeyUsage, challengePassword' });
  const rsaKeys = (await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as import('node:crypto').webcrypto.CryptoKeyPair;
  const rsa = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=JADA-0001', keys: rsaKeys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } });
  seeds.push({ name: 'rsa-2048', data: new Uint8Array(rsa.rawData), comment: '@peculiar/x509: RSA 2048, sha256WithRSAEncryption' });
  seeds.push({ name: 'csr-attributes', data: buildCsrAttributes([{ kind: 'challengePassword' }, { kind: 'ecKey', curve: 'P-384' }, { kind: 'signatureAlgorithm', algorithm: 'ecdsa-with-SHA384' }]), comment: 'buildCsrAttributes: challengePassword, EC P-384, ecdsa-with-SHA384 (the CsrAttrs reader)' });
  const pki = await generateDemoPki('registrar.fuzz.example');
  const der = (pem: string): Uint8Array => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
  seeds.push({ name: 'certs-only-pkcs7', data: certsOnlyPkcs7([der(pki.client.certPem), der(pki.ca.certPem)]), comment: 'certsOnlyPkcs7 with a leaf and its CA (the certs-only PKCS#7 reader)' });
  return seeds;
};
