/**
 * JSON vouchers and voucher-requests: RFC 8995 example content, round trips, and one refusal per
 * rule of the strict parser (each with the error code the registrar or pledge maps to a TLV).
 */
import {
  MAX_ARTIFACT_BYTES, SignedVoucherCms, Voucher, VoucherError, VoucherRequest, parseVoucherArtifactJson, parseVoucherJson,
  parseVoucherRequestJson, serializeVoucherJson,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { findDuplicateMember } from '../../../../src/teap-brski/brski/voucher/json-codec.js';
import { rfc8995 } from './vectors.js';
import { makeCert } from './test-pki.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const voucherJson = (members: Record<string, unknown>): Uint8Array => utf8(JSON.stringify({ 'ietf-voucher:voucher': members }));
const NONCE = 'AAECAwQFBgcICQoLDA0ODw=='; // 16 octets, canonical base64

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VoucherError) return e.code;
    throw e;
  }
  return 'accepted';
}

describe('JSON voucher codec', () => {
  it('reads the RFC 8995 example voucher and keeps the base64url nonce spelling', () => {
    const v = SignedVoucherCms.decode(rfc8995.voucher).voucher();
    expect(v.assertion).toBe('logged');
    expect(v.createdOn).toBe('2020-02-03T01:51:04.142-05:00');
    expect(v.serialNumber).toBe('00-D0-E5-F2-00-02');
    expect(Buffer.from(v.nonce ?? []).toString('base64url')).toBe('43l_359_7RkcqWGcZR8tgQ');
    expect(v.base64Spelling).toEqual({ nonce: '43l_359_7RkcqWGcZR8tgQ' });
    expect(v.pinnedDomainCert?.length).toBe(470);
    const again = parseVoucherJson(serializeVoucherJson(v));
    expect(again).toEqual(v);
    expect(new TextDecoder().decode(serializeVoucherJson(v))).toContain('"nonce":"43l_359_7RkcqWGcZR8tgQ"');
  });

  it('writes members in SID order with standard base64 and reads them back equal', async () => {
    const cert = await makeCert({ subject: 'CN=Domain CA', ca: true });
    const v = new Voucher({
      serialNumber: 'SN-1',
      nonce: new Uint8Array(16).map((_, i) => i),
      pinnedDomainCert: cert.der,
      assertion: 'verified',
      createdOn: '2026-01-02T03:04:05.678Z',
      expiresOn: '2026-01-02T03:24:05Z',
      lastRenewalDate: '2026-01-01T00:00:00+01:00',
      domainCertRevocationChecks: false,
      estDomain: 'https://registrar.example:8443/.well-known/est',
      extensions: ['ietf-foo'],
    });
    const text = new TextDecoder().decode(serializeVoucherJson(v));
    expect(Object.keys(JSON.parse(text)['ietf-voucher:voucher'])).toEqual([
      'assertion', 'created-on', 'domain-cert-revocation-checks', 'expires-on', 'last-renewal-date', 'nonce', 'pinned-domain-cert',
      'serial-number', 'est-domain', 'extensions',
    ]);
    expect(text).toContain(`"nonce":"${NONCE}"`);
    expect(parseVoucherJson(utf8(text))).toEqual(v);
    expect(parseVoucherArtifactJson(utf8(text)).kind).toBe('voucher');
  });

  it('ignores and lists unknown members, including request-only leaves inside a voucher', () => {
    const v = parseVoucherJson(voucherJson({ 'serial-number': 'x', 'future-leaf': { a: 1 }, 'proximity-registrar-cert': 'AAAA' }));
    expect(v.unknownMembers).toEqual(['future-leaf', 'proximity-registrar-cert']);
    expect(v.toContent()).toEqual({ serialNumber: 'x' });
  });

  it.each<[string, Uint8Array, string]>([
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'malformed'],
    ['not JSON', utf8('{"ietf-voucher:voucher":'), 'malformed'],
    ['a duplicate member', utf8('{"ietf-voucher:voucher":{"serial-number":"a","serial-number":"b"}}'), 'malformed'],
    ['a duplicate top-level member', utf8('{"ietf-voucher:voucher":{"serial-number":"a"},"ietf-voucher:voucher":{"serial-number":"b"}}'), 'malformed'],
    ['an array', utf8('[]'), 'invalid-content'],
    ['two top-level members', utf8('{"ietf-voucher:voucher":{"serial-number":"a"},"x":1}'), 'invalid-content'],
    ['an unknown container', utf8('{"ietf-constrained-voucher:voucher":{"serial-number":"a"}}'), 'invalid-content'],
    ['a voucher-request where a voucher is expected', utf8('{"ietf-voucher-request:voucher":{"serial-number":"a"}}'), 'invalid-content'],
    ['a container that is not an object', utf8('{"ietf-voucher:voucher":["serial-number"]}'), 'invalid-content'],
    ['no serial-number', voucherJson({ assertion: 'logged' }), 'invalid-content'],
    ['an empty serial-number', voucherJson({ 'serial-number': '' }), 'invalid-content'],
    ['a numeric serial-number', voucherJson({ 'serial-number': 12 }), 'invalid-content'],
    ['30 February', voucherJson({ 'serial-number': 'a', 'created-on': '2020-02-30T00:00:00Z' }), 'invalid-content'],
    ['a date with a space', voucherJson({ 'serial-number': 'a', 'created-on': '2020-01-01 00:00:00Z' }), 'invalid-content'],
    ['a date without zone', voucherJson({ 'serial-number': 'a', 'created-on': '2020-01-01T00:00:00' }), 'invalid-content'],
    ['a lower-case t', voucherJson({ 'serial-number': 'a', 'created-on': '2020-01-01t00:00:00Z' }), 'invalid-content'],
    ['hour 24', voucherJson({ 'serial-number': 'a', 'created-on': '2020-01-01T24:00:00Z' }), 'invalid-content'],
    ['an epoch number date', voucherJson({ 'serial-number': 'a', 'created-on': 1600000000 }), 'invalid-content'],
    ['an unknown assertion', voucherJson({ 'serial-number': 'a', assertion: 'trusted' }), 'invalid-content'],
    ['a nonce that is not base64', voucherJson({ 'serial-number': 'a', nonce: 'abc!defghijk' }), 'invalid-content'],
    ['a nonce mixing alphabets', voucherJson({ 'serial-number': 'a', nonce: 'ab+defghij-k' }), 'invalid-content'],
    ['a nonce with white space', voucherJson({ 'serial-number': 'a', nonce: 'AAEC AwQFBgcI' }), 'invalid-content'],
    ['a nonce with non-zero unused bits', voucherJson({ 'serial-number': 'a', nonce: 'AAECAwQFBgd=' }), 'invalid-content'],
    ['a nonce with wrong padding', voucherJson({ 'serial-number': 'a', nonce: 'AAECAwQFBgc==' }), 'invalid-content'],
    ['a 7-octet nonce', voucherJson({ 'serial-number': 'a', nonce: 'AAECAwQFBg==' }), 'invalid-content'],
    ['a 33-octet nonce', voucherJson({ 'serial-number': 'a', nonce: Buffer.alloc(33).toString('base64') }), 'invalid-content'],
    ['a numeric nonce', voucherJson({ 'serial-number': 'a', nonce: 12345678 }), 'invalid-content'],
    ['a pinned-domain-cert that is no certificate', voucherJson({ 'serial-number': 'a', 'pinned-domain-cert': 'MAMCAQE=' }), 'invalid-content'],
    ['a pinned-domain-pubk-sha256 of 31 octets', voucherJson({ 'serial-number': 'a', 'pinned-domain-pubk-sha256': Buffer.alloc(31).toString('base64') }), 'invalid-content'],
    ['a string boolean', voucherJson({ 'serial-number': 'a', 'domain-cert-revocation-checks': 'true' }), 'invalid-content'],
    ['last-renewal-date without expires-on', voucherJson({ 'serial-number': 'a', 'last-renewal-date': '2020-01-01T00:00:00Z' }), 'invalid-content'],
    ['extensions that are not a list', voucherJson({ 'serial-number': 'a', extensions: 'x' }), 'invalid-content'],
    ['an est-domain that is no URI', voucherJson({ 'serial-number': 'a', 'est-domain': 'registrar example' }), 'invalid-content'],
    ['an empty idevid-issuer', voucherJson({ 'serial-number': 'a', 'idevid-issuer': '' }), 'invalid-content'],
  ])('refuses %s', (_what, bytes, code) => {
    expect(codeOf(() => parseVoucherJson(bytes))).toBe(code);
  });

  it('refuses a pinned-domain-cert with a byte after the certificate', async () => {
    const cert = await makeCert({ subject: 'CN=x' });
    const padded = Buffer.concat([cert.der, Buffer.from([0])]).toString('base64');
    expect(codeOf(() => parseVoucherJson(voucherJson({ 'serial-number': 'a', 'pinned-domain-cert': padded })))).toBe('invalid-content');
    expect(codeOf(() => parseVoucherJson(voucherJson({ 'serial-number': 'a', 'pinned-domain-cert': Buffer.from(cert.der).toString('base64') })))).toBe('accepted');
  });

  it('refuses input over 64 KiB before looking inside it', () => {
    const big = new Uint8Array(MAX_ARTIFACT_BYTES + 1).fill(0xff); // not even UTF-8
    expect(codeOf(() => parseVoucherJson(big))).toBe('too-large');
    expect(new VoucherError('too-large', 'x').httpStatus).toBe(413);
    expect(codeOf(() => parseVoucherJson(new Uint8Array(0)))).toBe('malformed');
  });

  it('reads voucher-requests with their own leaves and refuses them where a voucher is expected', async () => {
    const registrar = await makeCert({ subject: 'CN=registrar' });
    const bytes = utf8(JSON.stringify({
      'ietf-voucher-request:voucher': {
        assertion: 'proximity',
        nonce: '-_XE9zK9q8Ll1qylMtLKeg',
        'serial-number': '00-D0-E5-F2-00-02',
        'proximity-registrar-cert': Buffer.from(registrar.der).toString('base64'),
      },
    }));
    const vr = parseVoucherRequestJson(bytes);
    expect(vr).toBeInstanceOf(VoucherRequest);
    expect(Buffer.from(vr.nonce ?? []).toString('hex')).toBe('fbf5c4f732bdabc2e5d6aca532d2ca7a');
    expect(vr.proximityRegistrarCert).toEqual(registrar.der);
    expect(codeOf(() => parseVoucherJson(bytes))).toBe('invalid-content');
    expect(parseVoucherRequestJson(serializeVoucherJson(vr))).toEqual(vr);
  });

  it('builds only valid objects: a voucher refuses request-only leaves and checks spellings', () => {
    expect(codeOf(() => new Voucher({ serialNumber: 'a', priorSignedVoucherRequest: new Uint8Array(3) } as never))).toBe('invalid-content');
    const nonce = new Uint8Array(8).fill(1);
    expect(codeOf(() => new Voucher({ serialNumber: 'a', nonce }, { base64Spelling: { nonce: 'AQEBAQEBAQI' } }))).toBe('invalid-content');
    expect(new Voucher({ serialNumber: 'a', nonce }, { base64Spelling: { nonce: 'AQEBAQEBAQE' } }).base64Spelling).toEqual({ nonce: 'AQEBAQEBAQE' });
    // A canonical spelling is not kept: it is what we would write anyway.
    expect(new Voucher({ serialNumber: 'a', nonce }, { base64Spelling: { nonce: 'AQEBAQEBAQE=' } }).base64Spelling).toEqual({});
    expect(Object.isFrozen(new Voucher({ serialNumber: 'a' }))).toBe(true);
  });

  it('finds duplicate members at any depth, after unescaping names', () => {
    expect(findDuplicateMember('{"a":{"b":1,"c":[{"d":1,"d":2}]}}')).toBe('d');
    expect(findDuplicateMember('{"a":1,"\\u0061":2}')).toBe('a');
    expect(findDuplicateMember('{"a":"\\"b\\":","b":1}')).toBeUndefined();
    expect(findDuplicateMember('[{"a":1},{"a":1}]')).toBeUndefined();
  });
});
