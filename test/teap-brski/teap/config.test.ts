import { buildTeapMethod, parseTeapMethodConfig } from '../../../src/teap-brski/teap/config.js';
import { DEFAULT_TEAP_COMPAT } from '../../../src/teap-brski/teap/compat.js';
import { testPki } from '../../helpers/pki.js';
import { MemoryUserStore } from '../helpers.js';

describe('methods.teap configuration', () => {
  test('defaults', () => {
    const c = parseTeapMethodConfig(undefined);
    expect(c.innerMethods).toEqual(['eap-mschapv2', 'eap-tls']);
    expect(c.compat).toEqual(DEFAULT_TEAP_COMPAT);
    expect(c.policy).toEqual({});
  });

  test('a full section', () => {
    const c = parseTeapMethodConfig({
      innerMethods: ['eap-mschapv2'],
      authorityId: '101112131415161718191a1b1c1d1e1f',
      policy: { clientCertificate: 'optional', sequence: [{ identityType: 'user', methods: ['eap-mschapv2', 'basic-password'] }, { identityType: 'machine', methods: ['eap-mschapv2'], optional: true }] },
      compat: { mschapv2ImskOrder: 'rfc9930', zeroImskAdvancesChain: true },
      limits: { maxFragments: 32 },
    });
    expect(c.compat).toMatchObject({ mschapv2ImskOrder: 'rfc9930', zeroImskAdvancesChain: true, finalKeyChain: 'msk-always' });
    expect(c.policy.sequence).toHaveLength(2);
    expect(c.authorityId).toHaveLength(16);
  });

  test.each([
    [{ compat: { mschapv2ImskOrdr: 'rfc9930' } }, /unknown teap compat switch "mschapv2ImskOrdr"/],
    [{ compat: { finalKeyChain: 'emsk' } }, /finalKeyChain must be one of/],
    [{ policy: { sequence: [{ methods: [] }] } }, /methods: must be a non-empty list/],
    [{ policy: { clientCertificate: 'maybe' } }, /clientCertificate: must be one of/],
    [{ innerMethods: ['eap-md5'] }, /innerMethods\[0\]: must be one of/],
    [{ authorityId: 'xyz' }, /authorityId/],
    [{ colour: 'blue' }, /methods.teap.colour: is not a known setting/],
  ])('rejects %j', (raw, msg) => {
    expect(() => parseTeapMethodConfig(raw)).toThrow(msg);
  });

  test('buildTeapMethod wires MSCHAPv2 and inner EAP-TLS; policy errors surface', async () => {
    const pki = await testPki();
    const tls = { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem };
    const m = buildTeapMethod(parseTeapMethodConfig({}), { tls, users: new MemoryUserStore() });
    expect([m.type, m.name]).toEqual([55, 'teap']);
    expect(() => buildTeapMethod(parseTeapMethodConfig({ innerMethods: ['eap-tls'], policy: { sequence: [{ methods: ['eap-mschapv2'] }] } }), { tls, users: new MemoryUserStore() })).toThrow(/unknown inner method "eap-mschapv2"/);
  });
});
