import fc from 'fast-check';
import { certificateIdentity, type SubjectFields } from '../../src/eap-methods/certificate-identity.js';

describe('the identity a client certificate establishes', () => {
  test('precedence: non-empty CN, then SAN e-mail, UPN, DNS, URI, then the rest of the subject', () => {
    const san = 'URI:urn:dev:1, DNS:dev.corp.example, othername:UPN:upn@corp.example, email:dev@corp.example';
    expect(certificateIdentity({ CN: 'alice', O: 'Corp' }, san)).toEqual({ identity: 'alice', source: 'subject CN' });
    expect(certificateIdentity({ CN: '', O: 'Corp' }, san)).toEqual({ identity: 'dev@corp.example', source: 'SAN rfc822Name' });
    expect(certificateIdentity({}, 'URI:urn:dev:1, DNS:dev.corp.example, othername:UPN:upn@corp.example')).toEqual({ identity: 'upn@corp.example', source: 'SAN UPN' });
    expect(certificateIdentity(undefined, 'URI:urn:dev:1, DNS:dev.corp.example, IP Address:192.0.2.1')).toEqual({ identity: 'dev.corp.example', source: 'SAN dNSName' });
    expect(certificateIdentity({}, 'IP Address:2001:DB8:0:0:0:0:0:1, URI:urn:dev:1')).toEqual({ identity: 'urn:dev:1', source: 'SAN URI' });
    expect(certificateIdentity({ CN: '', O: 'Corp, Inc.', OU: ['a', ' b'] }, 'IP Address:192.0.2.1')).toEqual({ identity: 'O=Corp\\, Inc., OU=a, OU=\\ b', source: 'subject' });
  });

  test('the first usable CN of several; blank and control-character names do not count', () => {
    expect(certificateIdentity({ CN: ['', 'bob', 'carol'] }, undefined)).toEqual({ identity: 'bob', source: 'subject CN' });
    expect(certificateIdentity({ CN: '   ' }, 'email:x@y')).toEqual({ identity: 'x@y', source: 'SAN rfc822Name' });
    expect(certificateIdentity({ CN: 'ceo@corp.example\u0000.evil' }, 'DNS:dev')).toEqual({ identity: 'dev', source: 'SAN dNSName' });
    expect(certificateIdentity({ CN: 'a\nb' }, 'email:"x\\ny@z"')).toMatchObject({ identity: undefined });
  });

  test('Node\'s quoted SAN values are decoded (a comma inside a value does not split it)', () => {
    expect(certificateIdentity({}, 'email:"\\u00e4\\"b@c\\u002c d", DNS:x')).toEqual({ identity: 'ä"b@c, d', source: 'SAN rfc822Name' });
    expect(certificateIdentity({}, 'othername:"UPN:u\\u002c\\"p\\\\"')).toEqual({ identity: 'u,"p\\', source: 'SAN UPN' });
    // An unreadable entry is skipped, not guessed at.
    expect(certificateIdentity({}, 'email:"unterminated, DNS:x')).toEqual({ identity: 'x', source: 'SAN dNSName' });
  });

  test('nothing usable: refused with the reason', () => {
    expect(certificateIdentity({ CN: '' }, undefined)).toEqual({ identity: undefined, refusal: 'client certificate has no usable name: a subject with no usable value (CN) and no subjectAltName' });
    expect(certificateIdentity({}, 'IP Address:192.0.2.1, othername:<unsupported>, DNS:')).toEqual({
      identity: undefined, refusal: 'client certificate has no usable name: an empty subject and no usable e-mail, UPN, DNS or URI subjectAltName (IP Address, DNS)',
    });
    expect(certificateIdentity(undefined, '')).toEqual({ identity: undefined, refusal: 'client certificate has no usable name: an empty subject and no subjectAltName' });
  });

  test('never throws; an identity is always usable, and a CN identity is one of the CNs', () => {
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', 'a\u0000b', 'x@y', 'a, b', '"q"'));
    const subject: fc.Arbitrary<SubjectFields | undefined> = fc.option(
      fc.dictionary(fc.constantFrom('CN', 'O', 'OU', 'C', '2.5.4.5'), fc.oneof(value, fc.array(value, { maxLength: 3 }))),
      { nil: undefined },
    );
    const sanEntry = fc.tuple(fc.constantFrom('email', 'DNS', 'URI', 'IP Address', 'othername', 'DirName'), value, fc.boolean())
      .map(([t, v, quote]) => `${t}:${quote ? JSON.stringify(t === 'othername' ? `UPN:${v}` : v).replace(/,/g, '\\u002c') : t === 'othername' ? `UPN:${v}` : v}`);
    const san = fc.option(fc.oneof(fc.array(sanEntry, { maxLength: 5 }).map((e) => e.join(', ')), fc.string({ maxLength: 40 })), { nil: undefined });
    fc.assert(
      fc.property(subject, san, (s, a) => {
        const r = certificateIdentity(s, a);
        if (r.identity === undefined) {
          expect(r.refusal).toMatch(/^client certificate has no usable name: /);
          return;
        }
        expect(r.identity.trim()).not.toBe('');
        expect(r.identity).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        if (r.source === 'subject CN') expect([s!.CN].flat()).toContain(r.identity);
      }),
      { numRuns: 2000 },
    );
  });
});
