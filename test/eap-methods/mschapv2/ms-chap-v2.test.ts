import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { md4 } from '../../../src/eap-methods/mschapv2/md4.js';
import {
  challengeResponse,
  nodeChallengeResponse,
  ntPasswordHash,
  hashNtPasswordHash,
  challengeHash,
  generateNtResponse,
  generateAuthenticatorResponse,
  checkAuthenticatorResponse,
  desKeyWithParity,
  getMasterKey,
  getAsymmetricStartKey,
  deriveMschapV2Keys,
  swapMskHalves,
  stripDomain,
} from '../../../src/eap-methods/mschapv2/ms-chap-v2.js';
import { requireNativeAddon } from '../../../src/util/native-addon.js';
import { projectRoot } from '../../helpers/proc.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'ascii'));

describe('MD4 (RFC 1320 §A.5 test suite)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  it.each(suite)('MD4(%j)', (msg, digest) => {
    expect(hex(md4(ascii(msg)))).toBe(digest);
  });
  it('handles the 55/56/64-octet padding boundaries consistently', () => {
    for (const n of [55, 56, 63, 64, 65, 119, 120]) {
      expect(md4(new Uint8Array(n)).length).toBe(16);
    }
  });
});

describe('MS-CHAPv2 (RFC 2759 §9.2 / §9.3)', () => {
  const user = 'User';
  const password = 'clientPass';
  const authChallenge = bytes('5b5d7c7d7b3f2f3e3c2c602132262628');
  const peerChallenge = bytes('21402324255e262a28295f2b3a337c7e');

  it('derives every intermediate value', () => {
    const ph = ntPasswordHash(password);
    expect(hex(ph)).toBe('44ebba8d5312b8d611474411f56989ae');
    expect(hex(challengeHash(peerChallenge, authChallenge, user))).toBe('d02e4386bce91226');
    const nt = generateNtResponse(authChallenge, peerChallenge, user, ph);
    expect(hex(nt)).toBe('82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df');
    expect(hex(hashNtPasswordHash(ph))).toBe('41c00c584bd2d91c4017a2a12fa59f3f');
    expect(generateAuthenticatorResponse(ph, nt, peerChallenge, authChallenge, user)).toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56');
  });

  it('computes ChallengeResponse (§9.2) natively and through node:crypto alike, the addon serving', () => {
    // The fallback is compared with the addon on random input below; this pins both to the RFC.
    const ch = challengeHash(peerChallenge, authChallenge, user);
    const ph = ntPasswordHash(password);
    expect(hex(challengeResponse(ch, ph))).toBe('82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df');
    expect(hex(nodeChallengeResponse(ch, ph))).toBe('82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df');
    // A missing addon would make the property below compare node:crypto with itself.
    const addon = requireNativeAddon() as { challengeResponse?: unknown };
    expect(typeof addon.challengeResponse).toBe('function');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (c, h) => {
        expect(hex(challengeResponse(c, h))).toBe(hex(nodeChallengeResponse(c, h)));
      }),
      { numRuns: 300 },
    );
    expect(() => (addon.challengeResponse as (a: Uint8Array, b: Uint8Array, c: Uint8Array) => void)(ph, ch, new Uint8Array(23))).toThrow(/24 octets/);
  });

  it('GANGWAY_NATIVE_DES=0 makes the process use node:crypto, with the same ChallengeResponse', () => {
    const module = join(projectRoot(), 'dist', 'eap-methods', 'mschapv2', 'ms-chap-v2.js');
    if (!existsSync(module)) throw new Error(`${module} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const probe = `import(${JSON.stringify(module)}).then((m) => console.log(m.desEngine, Buffer.from(m.challengeResponse(Buffer.from('d02e4386bce91226', 'hex'), Buffer.from('44ebba8d5312b8d611474411f56989ae', 'hex'))).toString('hex')))`;
    for (const [value, engine] of [['0', 'node'], ['1', 'native']] as const) {
      const run = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, GANGWAY_NATIVE_DES: value } });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe(`${engine} 82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df`);
    }
  });

  it('expands DES keys with odd parity (§9.3 "MyPw")', () => {
    const ph = ntPasswordHash('MyPw');
    expect(hex(ph)).toBe('fc156af7edcd6c0edde3337d427f4eac');
    expect(hex(desKeyWithParity(bytes('fc156af7edcd6c')))).toBe('fd0b5b5e7f6e34d9');
    expect(hex(desKeyWithParity(bytes('0edde3337d427f')))).toBe('0e6e796737ea08fe');
  });

  it('strips DOMAIN\\ from the name it hashes', () => {
    expect(stripDomain('CORP\\User')).toBe('User');
    expect(hex(challengeHash(peerChallenge, authChallenge, 'CORP\\User'))).toBe('d02e4386bce91226');
  });

  it('compares authenticator responses case-insensitively and rejects a wrong one', () => {
    expect(checkAuthenticatorResponse('S=407A5589115FD0D6209F510FE9C04566932CDA56', 'S=407a5589115fd0d6209f510fe9c04566932cda56')).toBe(true);
    expect(checkAuthenticatorResponse('S=407A5589115FD0D6209F510FE9C04566932CDA56', 'S=407A5589115FD0D6209F510FE9C04566932CDA57')).toBe(false);
    expect(checkAuthenticatorResponse('S=407A5589115FD0D6209F510FE9C04566932CDA56', 'S=')).toBe(false);
  });
});

describe('MPPE keys (RFC 3079 §3.5) and the EAP-MSCHAPv2 MSK', () => {
  it('matches the RFC 3079 sample', () => {
    const ph = ntPasswordHash('clientPass');
    const nt = bytes('82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df');
    const mk = getMasterKey(hashNtPasswordHash(ph), nt);
    expect(hex(mk)).toBe('fdece3717a8c838cb388e527ae3cdd31');
    expect(hex(getAsymmetricStartKey(mk, true, true))).toBe('8b7cdc149b993a1ba118cb153f56dccb');
    expect(hex(getAsymmetricStartKey(mk, false, true))).toBe('d5f0e9521e3ea9589645e86051c82226');
    // The client's send key is the server's receive key.
    expect(hex(getAsymmetricStartKey(mk, true, false))).toBe('d5f0e9521e3ea9589645e86051c82226');
    const keys = deriveMschapV2Keys(ph, nt);
    expect(hex(keys.msk)).toBe('d5f0e9521e3ea9589645e86051c822268b7cdc149b993a1ba118cb153f56dccb');
    expect(hex(swapMskHalves(keys.msk))).toBe('8b7cdc149b993a1ba118cb153f56dccbd5f0e9521e3ea9589645e86051c82226');
  });

  it('matches the live FreeRADIUS <-> wpa_supplicant exchange (radius-vectors.json)', () => {
    const ph = ntPasswordHash('hello');
    const authChallenge = bytes('778d49dee7b6f96bdc7cdb9226f07762');
    const peerChallenge = bytes('ddfb02d2dc3a5c1a97b72e9088dd11a8');
    const nt = generateNtResponse(authChallenge, peerChallenge, 'bob', ph);
    expect(hex(nt)).toBe('15cf1eeaf40890bcdfb0ccb6395764fc9d58de107d16988f');
    expect(generateAuthenticatorResponse(ph, nt, peerChallenge, authChallenge, 'bob')).toBe('S=A514837D4BFF3441FB70E0387F37A25777F38D91');
    const keys = deriveMschapV2Keys(ph, nt);
    expect(hex(keys.masterKey)).toBe('17f08db792a5ad78ffa3cccad867ff73');
    expect(hex(keys.msk)).toBe('64288c6483a5d72822d4fdac5f9379460c760a50b4dfcf36631e1b011abb1dcc');
    expect(hex(keys.serverReceiveKey)).toBe('64288c6483a5d72822d4fdac5f937946');
    expect(hex(keys.serverSendKey)).toBe('0c760a50b4dfcf36631e1b011abb1dcc');
  });
});
