import 'reflect-metadata';
import fc from 'fast-check';
import { certificatesFromPkcs7, certsOnlyPkcs7 } from '../../../src/pki/ca/pkcs7.js';
import { requireTool } from '../../helpers/require-tool.js';
import { testPki } from '../../helpers/pki.js';
import { runOpenssl } from './helpers.js';

const openssl = requireTool('openssl');
const withOpenssl = openssl ? test : test.skip;

function der(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

describe('certs-only PKCS#7', () => {
  test('round trip keeps the certificates and their order, byte for byte', async () => {
    const pki = await testPki();
    const certs = [der(pki.client.certPem), der(pki.ca.certPem), der(pki.server.certPem)];
    expect(certificatesFromPkcs7(certsOnlyPkcs7(certs)).map((c) => Buffer.from(c))).toEqual(certs.map((c) => Buffer.from(c)));
    expect(() => certsOnlyPkcs7([])).toThrow();
  });

  withOpenssl('oracle: SignedData v1, no digest algorithms, id-data with the content absent, no signers', async () => {
    const pki = await testPki();
    const p7 = certsOnlyPkcs7([der(pki.client.certPem)]);
    const r = runOpenssl(openssl!, ['asn1parse', '-inform', 'DER', '-i'], p7);
    expect(r.status).toBe(0);
    const lines = r.out.split('\n');
    // ContentInfo { signedData, [0] SignedData { INTEGER 1, SET {}, SEQUENCE { OID data }, [0] certs, SET {} } }
    expect(lines[1]).toMatch(/OBJECT\s+:pkcs7-signedData/);
    expect(lines[4]).toMatch(/INTEGER\s+:01/);
    expect(lines[5]).toMatch(/d=3\s+hl=2 l=\s+0 cons:\s+SET/);
    expect(lines[6]).toMatch(/d=3\s+hl=2 l=\s+11 cons:\s+SEQUENCE/);
    expect(lines[7]).toMatch(/OBJECT\s+:pkcs7-data/);
    expect(lines[8]).toMatch(/d=3 .* cont \[ 0 \]/);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/d=3\s+hl=2 l=\s+0 cons:\s+SET/);
    const printed = runOpenssl(openssl!, ['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], p7);
    expect(printed.out).toContain('subject=CN = alice');
  });

  test('junk, signed messages and empty bundles are refused with an Error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(() => certificatesFromPkcs7(bytes)).toThrow(Error);
      }),
      { numRuns: 1000 },
    );
    expect(() => certificatesFromPkcs7(new Uint8Array(70_000))).toThrow(/outside/);
  });
});
