import { b64urlDecodeExact, b64urlEncode } from '../../src/noob/base64url.js';
import { parseNoobMethodConfig, resolveNoobConfig } from '../../src/noob/config.js';
import { ecdhSharedSecret, generateKeyPair, importPublicJwk } from '../../src/noob/crypto/cryptosuites.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { concatKdf, kdfFixedInfo } from '../../src/noob/crypto/kdf.js';
import { NoobError } from '../../src/noob/errors.js';
import { classifyNoobIdentity, isUnderEapArpa, isValidNai, isValidRealm } from '../../src/noob/nai.js';
import { V } from './vectors.js';

function code(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof NoobError) return e.code;
    throw e;
  }
  return undefined;
}

describe('JWK import (error 1005)', () => {
  const x = V.keys.cs1.PKp_jwk;
  const p256 = V.keys.cs2.PKp_jwk;
  it.each([
    ['not JSON', 1, 'nope'],
    ['kty EC for X25519 (without the compatibility switch)', 1, x.replace('OKP', 'EC')],
    ['wrong curve for the suite', 1, p256],
    ['X25519 key for suite 2', 2, x],
    ['short x', 1, '{"kty":"OKP","crv":"X25519","x":"AAAA"}'],
    ['x not base64url', 1, '{"kty":"OKP","crv":"X25519","x":"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"}'],
    ['a y coordinate on X25519', 1, x.replace('}', ',"y":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}')],
    ['a private key', 1, x.replace('}', ',"d":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}')],
    ['missing y', 2, '{"kty":"EC","crv":"P-256","x":"0S37UonI1PgSCLcCcDmMNCKWlwoLzLdMc2_HVUSUv2M"}'],
    ['P-256 point not on the curve', 2, p256.replace('VvvzyjZswj6BV4VME8WNaqwj8Eatow-DU-dPMwOYcqs', b64urlEncode(new Uint8Array(32).fill(7)))],
    ['number as x', 1, '{"kty":"OKP","crv":"X25519","x":1}'],
  ] as const)('%s', (_what, suite, jwk) => {
    expect(code(() => importPublicJwk(suite, jwk))).toBe(1005);
  });

  it('a low-order X25519 point gives 1005 at ECDH', () => {
    const zero = importPublicJwk(1, `{"kty":"OKP","crv":"X25519","x":"${b64urlEncode(new Uint8Array(32))}"}`);
    expect(code(() => ecdhSharedSecret(generateKeyPair(1).privateKey, zero))).toBe(1005);
  });

  it('fresh key pairs of both suites agree on Z', () => {
    for (const suite of [1, 2] as const) {
      const a = generateKeyPair(suite);
      const b = generateKeyPair(suite);
      expect(Buffer.from(ecdhSharedSecret(a.privateKey, importPublicJwk(suite, b.publicJwk)))).toEqual(Buffer.from(ecdhSharedSecret(b.privateKey, importPublicJwk(suite, a.publicJwk))));
    }
    expect(generateKeyPair(1, { x25519KtyEc: true }).publicJwk).toMatch(/^\{"kty":"EC","crv":"X25519","x":"[A-Za-z0-9_-]{43}"\}$/);
  });
});

describe('KDF', () => {
  it('RFC literal length byte is 0x00 for no SuppPrivInfo, absent in the authors’ form', () => {
    const np = new Uint8Array(32);
    const ns = new Uint8Array(32);
    expect(kdfFixedInfo(np, ns, null, false).length).toBe(72);
    expect(Array.from(kdfFixedInfo(np, ns, null, true).slice(72))).toEqual([0]);
    expect(Array.from(kdfFixedInfo(np, ns, new Uint8Array(16), true).slice(72, 73))).toEqual([16]);
  });
  it('produces exactly the requested length', () => {
    expect(concatKdf(1, new Uint8Array(32), new Uint8Array(1), 33).length).toBe(33);
  });
});

describe('base64url', () => {
  it('is strict about length, alphabet, padding and canonical form', () => {
    expect(code(() => b64urlDecodeExact('AAAA', 3, 'x'))).toBeUndefined();
    expect(code(() => b64urlDecodeExact('AAA=', 2, 'x'))).toBe(1003);
    expect(code(() => b64urlDecodeExact('AA+/', 3, 'x'))).toBe(1003);
    expect(code(() => b64urlDecodeExact('AAB', 2, 'x'))).toBe(1003); // unused bits set
    expect(code(() => b64urlDecodeExact('AAE', 2, 'x'))).toBeUndefined();
  });
});

describe('NAI (RFC 7542) and EAP-NOOB identities', () => {
  it.each(['noob@eap-noob.arpa', '@noob.eap.arpa', 'noob@example.org', 'a.b@x.y', 'user', 'ü@bücher.example'])('valid: %s', (n) => {
    expect(isValidNai(n)).toBe(true);
  });
  it.each(['', '@', 'a@', 'a@b', 'a@@b.c', 'a b@c.d', '.a@b.c', 'a..b@c.d', 'a@-b.c', 'a@b-.c', 'a@b..c', 'a@.b.c', `${'a'.repeat(250)}@b.c`])('invalid: %j', (n) => {
    expect(isValidNai(n)).toBe(false);
  });
  it('realms', () => {
    expect(isValidRealm('eap-noob.net')).toBe(true);
    expect(isValidRealm('localhost')).toBe(false);
  });
  it('classifies identities for method selection', () => {
    expect(classifyNoobIdentity('noob@eap-noob.arpa')).toBe('provisioning');
    expect(classifyNoobIdentity('@NOOB.EAP.ARPA')).toBe('provisioning');
    expect(classifyNoobIdentity('x@noob.eap.arpa')).toBe('provisioning');
    expect(classifyNoobIdentity('noob@devices.example.org', { servedRealms: ['Devices.Example.org'] })).toBe('assigned');
    expect(classifyNoobIdentity('noob@devices.example.org')).toBeUndefined();
    expect(classifyNoobIdentity('07KRU6OgqX0HIeRFldnbSW+s3@eap-noob.net')).toBe('legacy');
    expect(classifyNoobIdentity('noob@eap-noob.net', { compat: 'vogeltak' })).toBe('compat');
    expect(classifyNoobIdentity('portal@tls.eap.arpa')).toBeUndefined();
    expect(isUnderEapArpa('portal@tls.eap.arpa')).toBe(true);
    expect(isUnderEapArpa('a@example.org')).toBe(false);
  });
});

describe('configuration', () => {
  it('defaults follow RFC 9140 and the digest', () => {
    const c = resolveNoobConfig({ oobUrl: 'https://a.example/noob' });
    expect(c).toMatchObject({
      kdfSuppPrivLengthByte: false,
      noobIdForm: 'concat',
      reconnectMacNai: 'nai',
      compat: 'none',
      cryptosuites: [1, 2],
      dirs: 3,
      sleepTime: 60,
      sleepTimeServerToPeer: 3600,
      noobTimeout: 3600,
      oobRetries: 5,
      ephemeralLifetime: 86400,
      reconnectKeyingMode: 2,
      serverInfoText: '{"ServerName":"Gangway","ServerURL":"https://a.example/noob"}',
    });
    expect(resolveNoobConfig({ oobUrl: 'https://a.example/noob', compat: 'vogeltak' }).serverInfoText).toBe('{"Name":"Gangway","Url":"https://a.example/noob"}');
  });
  it.each([
    [{ oobUrl: 'http://a.example/noob' }, 'oobUrl'],
    [{ oobUrl: 'https://a.example/noob?x=1' }, 'oobUrl'],
    [{ oobUrl: 'https://a.example/', serverInfo: `{"a":"${'x'.repeat(500)}"}` }, 'serverInfo'],
    [{ oobUrl: 'https://a.example/', serverInfo: '[1]' }, 'serverInfo'],
    [{ oobUrl: 'https://a.example/', newNai: 'no nai' }, 'newNai'],
    [{ oobUrl: 'https://a.example/', cryptosuites: [3] }, 'cryptosuites'],
    [{ oobUrl: 'https://a.example/', cryptosuites: [] }, 'cryptosuites'],
    [{ oobUrl: 'https://a.example/', sleepTime: 3601 }, 'sleepTime'],
    [{ oobUrl: 'https://a.example/', noobIdForm: 'x' as 'json' }, 'noobIdForm'],
  ])('refuses %j naming methods.eap-noob.%s', (c, key) => {
    expect(() => resolveNoobConfig(c)).toThrow(expect.objectContaining({ key: `methods.eap-noob.${key}` }) as Error);
  });
  it('parseNoobMethodConfig refuses unknown keys by name', () => {
    expect(() => parseNoobMethodConfig({ oobUrl: 'https://a.example/', sleeptime: 5 })).toThrow(expect.objectContaining({ key: 'methods.eap-noob.sleeptime' }) as Error);
  });
  it('allows http for loopback demos', () => {
    expect(resolveNoobConfig({ oobUrl: 'http://127.0.0.1:8080/noob' }).oobUrl).toBe('http://127.0.0.1:8080/noob');
  });
});

describe('PeerId allocation', () => {
  test('22 base64url characters, never beginning with a dash (a command line would read it as an option)', () => {
    const seen = new Set<string>();
    // 4,000 draws: a leading '-' (1 in 64 per draw before) would all but surely have appeared.
    for (let i = 0; i < 4000; i++) {
      const id = systemRandom.peerId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(4000);
  });
});
