import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { buildCsrAttributes, parseCsrAttributes, type CsrAttributeItem } from '../../../src/pki/ca/csr-attributes.js';
import { requireTool } from '../../helpers/require-tool.js';
import { caFixture, runOpenssl } from './helpers.js';

const openssl = requireTool('openssl');
const withOpenssl = openssl ? test : test.skip;

describe('CSR-Attributes (RFC 7030 §4.5.2 CsrAttrs, RFC 9908 forms)', () => {
  test('vector (teap-brski.md §2.4): challengePassword, EC P-256 key, ecdsa-with-SHA256', () => {
    const der = buildCsrAttributes([
      { kind: 'challengePassword' },
      { kind: 'ecKey', curve: 'P-256' },
      { kind: 'signatureAlgorithm', algorithm: 'ecdsa-with-SHA256' },
    ]);
    expect(Buffer.from(der).toString('hex')).toBe(
      '302c06092a864886f70d010907301506072a8648ce3d020131' + '0a06082a8648ce3d03010706082a8648ce3d040302',
    );
  });

  test('vector (teap-brski.md §2.4): challengePassword only', () => {
    expect(Buffer.from(buildCsrAttributes([{ kind: 'challengePassword' }])).toString('hex')).toBe('300b06092a864886f70d010907');
  });

  test('round trip of every item kind', () => {
    const san = new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'dev.example' }]);
    const items: CsrAttributeItem[] = [
      { kind: 'challengePassword' },
      { kind: 'ecKey', curve: 'P-384' },
      { kind: 'rsaKey', bits: 3072 },
      { kind: 'signatureAlgorithm', algorithm: 'sha384WithRSAEncryption' },
      { kind: 'extensionRequest', extensions: [new Uint8Array(san.rawData)] },
      { kind: 'oid', oid: '1.3.6.1.4.1.99999.1' },
      { kind: 'attribute', type: '1.3.6.1.4.1.99999.2', values: [Uint8Array.from([0x0c, 0x02, 0x68, 0x69])] },
    ];
    expect(parseCsrAttributes(buildCsrAttributes(items))).toEqual(items);
  });

  test('property: junk input is refused with an Error, never a crash or a hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const items = parseCsrAttributes(bytes);
          // Whatever parses must re-encode to the same DER.
          expect(Buffer.from(buildCsrAttributes(items))).toEqual(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 2000 },
    );
    expect(() => parseCsrAttributes(new Uint8Array(9000))).toThrow(/exceeds/);
  });

  withOpenssl('oracle: openssl asn1parse reads the registrar CA\'s CsrAttrs for a device', async () => {
    const f = await caFixture({ policy: { subjectAltNames: [{ type: 'dns', template: '{deviceId}.devices.example.net' }] } });
    try {
      const der = f.ca.csrAttributes('SN-42', { challengePassword: true });
      const r = runOpenssl(openssl!, ['asn1parse', '-inform', 'DER', '-i'], der);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/OBJECT\s+:challengePassword/);
      expect(r.out).toMatch(/OBJECT\s+:id-ecPublicKey/);
      expect(r.out).toMatch(/OBJECT\s+:prime256v1/);
      expect(r.out).toMatch(/OBJECT\s+:ecdsa-with-SHA256/);
      expect(r.out).toMatch(/OBJECT\s+:Extension Request/);
      expect(r.out).toMatch(/OBJECT\s+:X509v3 Subject Alternative Name/);
      // The SAN value is the one policy will put in the certificate.
      const items = parseCsrAttributes(der);
      const ext = items.find((i) => i.kind === 'extensionRequest');
      expect(ext?.kind).toBe('extensionRequest');
      if (ext?.kind !== 'extensionRequest') return;
      expect(new x509.SubjectAlternativeNameExtension(ext.extensions[0]!).names.toJSON()).toEqual([{ type: 'dns', value: 'sn-42.devices.example.net' }]);
      // Without SAN policy and challengePassword: key type and signature algorithm only.
      const g = await caFixture();
      try {
        expect(parseCsrAttributes(g.ca.csrAttributes('SN-42'))).toEqual([
          { kind: 'ecKey', curve: 'P-256' },
          { kind: 'signatureAlgorithm', algorithm: 'ecdsa-with-SHA256' },
        ]);
      } finally {
        g.cleanup();
      }
    } finally {
      f.cleanup();
    }
  });
});
