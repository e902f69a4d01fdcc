import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { CsrError, createPledgeCsr } from '../../../src/peer/brski/csr.js';
import { NO_CSR_ATTRIBUTES } from '../../../src/peer/brski/csr-attributes.js';

describe('the pledge\'s PKCS#10', () => {
  test('nothing asked: EC P-256, ECDSA-SHA256, an empty subject (the registrar names the LDevID), a valid self-signature, no challengePassword', async () => {
    const csr = await createPledgeCsr({ request: NO_CSR_ATTRIBUTES });
    const parsed = new x509.Pkcs10CertificateRequest(csr.der);
    expect(await parsed.verify()).toBe(true);
    expect(parsed.subject).toBe('');
    expect(parsed.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(parsed.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    expect(parsed.getAttribute('1.2.840.113549.1.9.7')).toBeNull();
    expect(Buffer.from(parsed.publicKey.rawData).equals(Buffer.from(csr.spki))).toBe(true);
    expect(csr.privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  test('challengePassword = base64 of the channel binding; P-384 with SHA-384', async () => {
    const binding = Uint8Array.from({ length: 12 }, (_, i) => i * 17);
    const csr = await createPledgeCsr({ request: { challengePassword: true, key: { kind: 'ec', curve: 'P-384' }, ignored: [] }, channelBinding: binding });
    const parsed = new x509.Pkcs10CertificateRequest(csr.der);
    expect(await parsed.verify()).toBe(true);
    const cp = parsed.getAttribute('1.2.840.113549.1.9.7');
    expect(cp).toBeInstanceOf(x509.ChallengePasswordAttribute);
    expect((cp as x509.ChallengePasswordAttribute).password).toBe(Buffer.from(binding).toString('base64'));
    expect(parsed.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });
  });

  test('RSA when asked', async () => {
    const csr = await createPledgeCsr({ request: { challengePassword: false, key: { kind: 'rsa', bits: 2048 }, ignored: [] } });
    const parsed = new x509.Pkcs10CertificateRequest(csr.der);
    expect(await parsed.verify()).toBe(true);
    expect(csr.privateKey.asymmetricKeyType).toBe('rsa');
    expect(csr.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  test('every CSR has a key of its own', async () => {
    const a = await createPledgeCsr({ request: NO_CSR_ATTRIBUTES });
    const b = await createPledgeCsr({ request: NO_CSR_ATTRIBUTES });
    expect(Buffer.from(a.spki).equals(Buffer.from(b.spki))).toBe(false);
  });

  test('challengePassword asked without a channel binding: refused', async () => {
    await expect(createPledgeCsr({ request: { challengePassword: true, ignored: [] } })).rejects.toBeInstanceOf(CsrError);
  });
});
