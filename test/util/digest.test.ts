/**
 * The native digests (native/digest.c) against published vectors and against node:crypto on random
 * pieces and keys, and the node:crypto fallback a process without the addon uses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { DIGEST_LENGTH, digest, digestEngine, digestInto, hmac, hmacInto, nodeDigest, nodeHmac, type DigestName } from '../../src/util/digest.js';
import { projectRoot } from '../helpers/proc.js';

const addonPath = join(projectRoot(), 'native', 'build', 'Release', 'gangway_tls.node');
const NAMES: DigestName[] = ['md5', 'sha1', 'sha256', 'sha384'];
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'ascii');

test('the addon was built, so the native digests serve (npm install builds it with the TLS engine)', () => {
  // A missing addon would make every other test here compare node:crypto with itself.
  expect(existsSync(addonPath)).toBe(true);
  expect(digestEngine).toBe('native');
});

describe('published vectors', () => {
  test('MD5 and SHA-1 (RFC 1321 §A.5, RFC 3174 §7.3)', () => {
    expect(hex(digest('md5', [ascii('message digest')]))).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(hex(digest('md5', [ascii('message '), new Uint8Array(0), ascii('digest')]))).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(hex(digest('md5', []))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(hex(digest('sha1', [ascii('abc')]))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  test('HMAC-MD5 (RFC 2202 §2 cases 1, 2 and 6: a key longer than the block)', () => {
    expect(hex(hmac('md5', Buffer.alloc(16, 0x0b), [ascii('Hi There')]))).toBe('9294727a3638bb1c13f48ef8158bfc9d');
    expect(hex(hmac('md5', ascii('Jefe'), [ascii('what do ya want '), ascii('for nothing?')]))).toBe('750c783e6ab0b503eaa86e310a5db738');
    expect(hex(hmac('md5', Buffer.alloc(80, 0xaa), [ascii('Test Using Larger Than Block-Size Key - Hash Key First')]))).toBe('6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd');
  });

  test('HMAC-SHA-256 and HMAC-SHA-384 (RFC 4231 §4.2 and §4.7: a 131-octet key)', () => {
    expect(hex(hmac('sha256', Buffer.alloc(20, 0x0b), [ascii('Hi There')]))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(hex(hmac('sha384', Buffer.alloc(20, 0x0b), [ascii('Hi There')]))).toBe(
      'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
    );
    const long = ascii('Test Using Larger Than Block-Size Key - Hash Key First');
    expect(hex(hmac('sha256', Buffer.alloc(131, 0xaa), [long]))).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
    expect(hex(hmac('sha384', Buffer.alloc(131, 0xaa), [long]))).toBe(
      '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
    );
  });
});

test('native and node:crypto agree on random pieces and keys of every length around the block sizes', () => {
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  fc.assert(
    fc.property(fc.constantFrom(...NAMES), fc.array(bytes(300), { maxLength: 16 }), bytes(200), (name, pieces, key) => {
      expect(hex(digest(name, pieces))).toBe(hex(nodeDigest(name, pieces)));
      expect(hex(hmac(name, key, pieces))).toBe(hex(nodeHmac(name, key, pieces)));
      expect(digest(name, pieces)).toHaveLength(DIGEST_LENGTH[name]);
    }),
    { numRuns: 2000 },
  );
});

test('more pieces than the addon takes in one call go to node:crypto, with the same value', () => {
  const pieces = Array.from({ length: 40 }, (_, i) => Uint8Array.of(i));
  expect(hex(hmac('md5', ascii('k'), pieces))).toBe(hex(nodeHmac('md5', ascii('k'), pieces)));
  expect(hex(digest('sha256', pieces))).toBe(hex(nodeDigest('sha256', pieces)));
});

test('hmacInto and digestInto write in place, even over octets they read', () => {
  const packet = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
  const expected = nodeHmac('md5', ascii('secret'), [packet.subarray(0, 4), Buffer.alloc(16)]);
  const target = packet.subarray(4, 20);
  // The pieces name the target's octets only through a zero copy; the target is written after the digest.
  hmacInto('md5', ascii('secret'), [packet.subarray(0, 4), Buffer.alloc(16)], target);
  expect(hex(packet.subarray(4, 20))).toBe(hex(expected));
  // A piece that is the target itself: read in full before the target is written.
  const block = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
  const before = nodeHmac('md5', ascii('k'), [block.subarray(0, 8), block]);
  hmacInto('md5', ascii('k'), [block.subarray(0, 8), block], block);
  expect(hex(block)).toBe(hex(before));
  const into = Buffer.from(block);
  const digestBefore = nodeDigest('sha1', [into]);
  const out20 = Buffer.alloc(20);
  digestInto('sha1', [into], out20);
  expect(hex(out20)).toBe(hex(digestBefore));
  expect(() => hmacInto('md5', ascii('secret'), [], new Uint8Array(15))).toThrow(/16 octets/);
  expect(() => digestInto('sha256', [], new Uint8Array(16))).toThrow(/32 octets/);
});

test('the addon refuses what is not bytes, unknown codes and an output of the wrong length, leaving no OpenSSL error behind', () => {
  const addon = createRequire(import.meta.url)(addonPath) as {
    digest(code: unknown, pieces: unknown, out: unknown): void;
    hmac(code: unknown, key?: unknown, pieces?: unknown, out?: unknown): void;
  };
  const out = new Uint8Array(16);
  // Thrown from the addon's realm, not jest's: matched by message.
  expect(() => addon.digest(0, ['text'], out)).toThrow(/expected a Uint8Array/);
  expect(() => addon.digest(0, [new Uint16Array(2)], out)).toThrow(/expected a Uint8Array/);
  expect(() => addon.digest(0, 'not an array', out)).toThrow(/expected an array of Uint8Arrays/);
  expect(() => addon.digest(9, [], out)).toThrow(/unknown digest code/);
  expect(() => addon.digest(0, [], new Uint8Array(20))).toThrow(/output length/);
  expect(() => addon.digest(0, Array.from({ length: 17 }, () => new Uint8Array(1)), out)).toThrow(/too many pieces/);
  expect(() => addon.hmac(0, 'key', [], out)).toThrow(/expected a Uint8Array/);
  expect(() => addon.hmac(0)).toThrow(/hmac\(code, key, pieces, out\)/);
  // node:crypto shares OpenSSL's per-thread error queue: it still works after the refusals.
  expect(hex(nodeDigest('md5', [ascii('message digest')]))).toBe('f96b697d7cb7938d525a2f31aaf161d0');
});

test('GANGWAY_NATIVE_DIGEST=0 makes the process use node:crypto, with the same values', () => {
  const module = join(projectRoot(), 'dist', 'util', 'digest.js');
  if (!existsSync(module)) throw new Error(`${module} is missing: build first (npx tsc -p tsconfig.build.json)`);
  const probe = `import(${JSON.stringify(module)}).then((d) => console.log(d.digestEngine, d.hmac('md5', Buffer.alloc(16, 0x0b), [Buffer.from('Hi There')]).toString('hex')))`;
  const run = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, GANGWAY_NATIVE_DIGEST: '0' } });
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('node 9294727a3638bb1c13f48ef8158bfc9d');
});
