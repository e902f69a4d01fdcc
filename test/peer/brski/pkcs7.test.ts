import { Pkcs7Error, certificatesOfPkcs7 } from '../../../src/peer/brski/pkcs7.js';
import { signVoucherCms, Voucher } from '../../../src/teap-brski/brski/voucher/index.js';
import { brskiPki, certsOnlyPkcs7 } from './brski-world.js';

describe('certs-only PKCS#7', () => {
  test('the certificates come back as carried, in order', async () => {
    const pki = await brskiPki();
    const der = certsOnlyPkcs7([pki.registrar.der, pki.domainCa.der]);
    const certs = certificatesOfPkcs7(der);
    expect(certs.map((c) => Buffer.from(c).toString('hex'))).toEqual([pki.registrar.der, pki.domainCa.der].map((c) => Buffer.from(c).toString('hex')));
    expect(certificatesOfPkcs7(certsOnlyPkcs7([]))).toEqual([]);
  });

  test('a signed CMS is read the same way (its certificates)', async () => {
    const pki = await brskiPki();
    const cms = await signVoucherCms(new Voucher({ serialNumber: 'X' }), { certificate: pki.masa.der, privateKey: pki.masa.key });
    expect(certificatesOfPkcs7(cms)).toHaveLength(1);
  });

  test('garbage, trailing octets, another content type, an oversized input: Pkcs7Error', async () => {
    const pki = await brskiPki();
    const good = certsOnlyPkcs7([pki.domainCa.der]);
    const trailing = new Uint8Array([...good, 0]);
    // ContentInfo { id-data, [0] OCTET STRING }
    const data = new Uint8Array(Buffer.from('3011' + '06092a864886f70d010701' + 'a004' + '04020102', 'hex'));
    for (const bad of [new Uint8Array(0), Uint8Array.of(1, 2, 3), trailing, data, new Uint8Array(70_000)]) {
      expect(() => certificatesOfPkcs7(bad)).toThrow(Pkcs7Error);
    }
  });
});
