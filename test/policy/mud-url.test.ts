import fc from 'fast-check';
import { MAX_MUD_URL_LENGTH, mudPatternMatches, normaliseMudUrl, parseMudPattern } from '../../src/policy/mud-url.js';

const matches = (pattern: string, url: string): boolean => {
  const u = normaliseMudUrl(url);
  if (u === undefined) throw new Error(`${url} is not a MUD URL`);
  return mudPatternMatches(parseMudPattern(pattern), u);
};

describe('MUD URL patterns (RFC 8520 URLs, matched as text, never fetched)', () => {
  test('* stands for any run of characters, / included; the rest is literal', () => {
    expect(matches('https://mud.acme.example/*', 'https://mud.acme.example/thermostat/v2.json')).toBe(true);
    expect(matches('https://mud.acme.example/*', 'https://mud.acme.example/')).toBe(true);
    expect(matches('https://mud.acme.example/*', 'https://mud.acme.example.evil.test/x.json')).toBe(false);
    expect(matches('https://mud.acme.example/*', 'https://evil.test/https://mud.acme.example/x')).toBe(false);
    expect(matches('https://*.acme.example/*.json', 'https://eu.mud.acme.example/lamps/l1.json')).toBe(true);
    expect(matches('https://*.acme.example/*.json', 'https://acme.example/l1.json')).toBe(false);
    expect(matches('https://mud.acme.example/lamp-*.json', 'https://mud.acme.example/lamp-7.json')).toBe(true);
    expect(matches('https://mud.acme.example/lamp-*.json', 'https://mud.acme.example/lamp-7.json.sig')).toBe(false);
    expect(matches('https://mud.acme.example/a/*/b', 'https://mud.acme.example/a/x/y/b')).toBe(true);
    // No wildcard: the whole URL, exactly.
    expect(matches('https://mud.acme.example/t.json', 'https://mud.acme.example/t.json')).toBe(true);
    expect(matches('https://mud.acme.example/t.json', 'https://mud.acme.example/t.json?v=2')).toBe(false);
  });

  test('both sides are normalised: scheme and host case, dot segments, a bare authority', () => {
    expect(matches('HTTPS://MUD.Acme.Example/*', 'https://mud.acme.example/x')).toBe(true);
    expect(matches('https://mud.acme.example/*', 'HTTPS://Mud.ACME.example/a/../x.json')).toBe(true);
    expect(matches('https://mud.acme.example', 'https://mud.acme.example')).toBe(true);
    // The path stays case-sensitive.
    expect(matches('https://mud.acme.example/T.json', 'https://mud.acme.example/t.json')).toBe(false);
  });

  test.each([
    ['http scheme', 'http://mud.acme.example/*', /https/],
    ['no scheme', 'mud.acme.example/*', /https/],
    ['* in the port', 'https://mud.acme.example:*/x', /not a URL/],
    ['user information', 'https://user:pw@mud.acme.example/*', /user information/],
    ['a fragment', 'https://mud.acme.example/x#frag', /fragment/],
    ['empty', '', /1\.\.2048/],
    ['over 2048 characters', `https://mud.acme.example/${'a'.repeat(MAX_MUD_URL_LENGTH)}`, /1\.\.2048/],
  ])('a pattern with %s is refused', (_, pattern, why) => {
    expect(() => parseMudPattern(pattern)).toThrow(why);
  });

  test.each([
    ['http', 'http://mud.acme.example/x'],
    ['not a URL', 'not a url'],
    ['empty', ''],
    ['with user information', 'https://u:p@mud.acme.example/x'],
    ['over 2048 characters', `https://a.example/${'x'.repeat(MAX_MUD_URL_LENGTH)}`],
  ])(
    'a device-supplied URL (%s) is no MUD URL we act on',
    (_, url) => {
      expect(normaliseMudUrl(url)).toBeUndefined();
    },
  );

  test('property: a pattern made from a URL by replacing any slice with * matches that URL', () => {
    fc.assert(
      fc.property(fc.webPath(), fc.nat(), fc.nat(), (path, a, b) => {
        const url = normaliseMudUrl(`https://mud.acme.example${path.startsWith('/') ? path : `/${path}`}`);
        fc.pre(url !== undefined && !url.includes('*') && !url.includes('#'));
        const start = 'https://mud.acme.example/'.length + (a % (url!.length - 'https://mud.acme.example/'.length + 1));
        const end = start + (b % (url!.length - start + 1));
        const pattern = `${url!.slice(0, start)}*${url!.slice(end)}`;
        expect(mudPatternMatches(parseMudPattern(pattern), url!)).toBe(true);
      }),
    );
  });

  test('many stars against a long near-miss stay fast (no regular-expression blow-up)', () => {
    const pattern = parseMudPattern(`https://mud.acme.example/${'*a'.repeat(200)}b`);
    const url = normaliseMudUrl(`https://mud.acme.example/${'a'.repeat(1900)}`)!;
    const t0 = process.hrtime.bigint();
    expect(mudPatternMatches(pattern, url)).toBe(false);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(1000);
  });
});
