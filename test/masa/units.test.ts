/**
 * The MASA's small parts on their own: serial-number patterns (properties over random serials),
 * the voucher format chosen from Accept, masa.yaml validation (errors name the key), the audit
 * log's domainID, and the registry's tolerance of a torn last line.
 */
import 'reflect-metadata';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/config-error.js';
import { IdevidRegistry, domainIdOf, masaPaths, negotiateFormat, parseMasaConfig } from '../../src/masa/index.js';
import { compileSerialGlob } from '../../src/masa/serial-glob.js';
import { makeRegistrar } from './harness.js';

describe('serial-number patterns', () => {
  const serialChars = fc.string({ unit: fc.constantFrom(...'ABCXYZ0189-./:*?\\ '.split('')), maxLength: 24 });

  test('a pattern without wildcards matches exactly itself (wildcards escaped)', () => {
    fc.assert(
      fc.property(serialChars, serialChars, (a, b) => {
        const literal = a.replace(/[\\*?]/g, (c) => `\\${c}`);
        expect(compileSerialGlob(literal).test(a)).toBe(true);
        expect(compileSerialGlob(literal).test(b)).toBe(a === b);
      }),
    );
  });

  test('PREFIX* matches exactly the serials that start with PREFIX; ? is one character', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z0-9-]{0,6}$/), serialChars, (prefix, serial) => {
        expect(compileSerialGlob(`${prefix}*`).test(serial)).toBe(serial.startsWith(prefix));
        expect(compileSerialGlob(`${prefix}?`).test(serial)).toBe(serial.startsWith(prefix) && serial.length === prefix.length + 1);
      }),
    );
  });

  test('regular-expression characters in serials are literal', () => {
    expect(compileSerialGlob('A.B').test('AxB')).toBe(false);
    expect(compileSerialGlob('A+(B)').test('A+(B)')).toBe(true);
    expect(compileSerialGlob('*').test('')).toBe(true);
  });
});

describe('voucher format from Accept', () => {
  const cms = 'application/voucher-cms+json';
  const cose = 'application/voucher+cose';
  test.each([
    [undefined, 'cms', 'cms'],
    ['', 'cose', 'cose'],
    ['*/*', 'cose', 'cose'],
    ['application/*', 'cms', 'cms'],
    [cose, 'cms', 'cose'],
    [`${cms}, ${cose}`, 'cose', 'cose'],
    [`${cms};q=0.2, ${cose};q=0.8`, 'cms', 'cose'],
    ['application/voucher-cose+cbor', 'cms', 'cose'],
    [`${cose};q=0, ${cms}`, 'cose', 'cms'],
    ['application/voucher-jws+json', 'cms', undefined],
    [`${cms};q=0`, 'cms', undefined],
  ])('Accept %p, request %p: %p', (accept, request, expected) => {
    expect(negotiateFormat(accept, request as 'cms' | 'cose')).toBe(expected);
  });
});

describe('masa.yaml validation', () => {
  const paths = masaPaths('/nonexistent-masa-dir');
  const base = { manufacturer: 'M' };
  const errorKey = (doc: unknown): string => {
    try {
      parseMasaConfig(doc, paths);
    } catch (err) {
      if (err instanceof ConfigError) return err.key;
      throw err;
    }
    throw new Error('no error');
  };

  test('defaults', () => {
    const c = parseMasaConfig(base, paths);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 9443 });
    expect(c.connections).toEqual({ total: 1024, perAddress: 64 });
    expect(c.voucher).toEqual({ assertion: 'logged', pinScope: 'ee', noncelessLifetimeSeconds: 1200, domainCertRevocationChecks: false });
    expect(c.ownership).toEqual({ mode: 'first-claim', domains: [] });
    expect(c.tls.certPath).toBe('/nonexistent-masa-dir/tls/masa-tls.pem');
  });

  test.each([
    [{ ...base, voucher: { pinScope: 'domain' } }, 'voucher.pinScope'],
    [{ ...base, voucher: { noncelessLifetimeSeconds: 5 } }, 'voucher.noncelessLifetimeSeconds'],
    [{ ...base, voucher: { asertion: 'logged' } }, 'voucher.asertion'],
    [{ ...base, ownership: { mode: 'anyone' } }, 'ownership.mode'],
    [{ ...base, ownership: { domains: [{ name: 'd', serials: ['*'] }] } }, 'ownership.domains[0]'],
    [{ ...base, ownership: { domains: [{ name: 'd', spkiSha256: ['abc'], serials: ['*'] }] } }, 'ownership.domains[0].spkiSha256[0]'],
    [{ ...base, ownership: { domains: [{ name: 'd', spkiSha256: ['a'.repeat(64)] }] } }, 'ownership.domains[0].serials'],
    [{ ...base, ownership: { domains: [{ name: 'd', caCert: 'missing.pem', serials: ['*'] }] } }, 'ownership.domains[0].caCert'],
    [
      { ...base, ownership: { domains: [{ name: 'd', spkiSha256: ['a'.repeat(64)], serials: ['*'] }, { name: 'd', spkiSha256: ['b'.repeat(64)], serials: ['*'] }] } },
      'ownership.domains[1].name',
    ],
    [{ ...base, listen: 'nowhere' }, 'listen'],
    [{ ...base, maxConnections: 0 }, 'maxConnections'],
    [{ ...base, maxConnections: 32, maxConnectionsPerAddress: 64 }, 'maxConnectionsPerAddress'],
    [{ listen: '127.0.0.1:1' }, 'manufacturer'],
    [{ ...base, extra: 1 }, 'extra'],
  ])('%j is refused at %s', (doc, key) => {
    expect(errorKey(doc)).toBe(key);
  });

  test('SPKI hashes may be written with colons and upper case', () => {
    const c = parseMasaConfig({ ...base, ownership: { domains: [{ name: 'd', spkiSha256: ['AB:'.repeat(31) + 'AB'], serials: ['*'] }] } }, paths);
    expect(c.ownership.domains[0]!.spkiSha256).toEqual(['ab'.repeat(32)]);
  });
});

describe('audit log domainID and the registry file', () => {
  test('domainID is the base64 SubjectKeyIdentifier of the pinned certificate', async () => {
    const r = await makeRegistrar();
    const id = Buffer.from(domainIdOf(r.der), 'base64');
    expect(id).toHaveLength(20);
    const x509 = await import('@peculiar/x509');
    const ski = new x509.X509Certificate(r.der).getExtension(x509.SubjectKeyIdentifierExtension);
    expect(id.toString('hex')).toBe(ski?.keyId);
  });

  test('a torn or foreign line in idevids.jsonl is skipped, not fatal; the next record starts a new line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-masa-reg-'));
    try {
      const file = join(dir, 'idevids.jsonl');
      appendFileSync(file, '{"serialNumber":"A","certificateSerial":"01","subject":"CN=a","issuedAt":"2026-01-01T00:00:00Z","masaUrl":"m:1","certificate":"MAA="}\n{"serialNumber":"B"}\n{"serialNum');
      const registry = new IdevidRegistry(file);
      expect(registry.all().map((r) => r.serialNumber)).toEqual(['A']);
      expect(registry.find('A')?.record.subject).toBe('CN=a');
      expect(registry.find('B')).toBeUndefined();
      // The next issuance lands on a line of its own.
      await registry.issueOnce('C', async () => ({
        serialNumber: 'C', certificateSerial: '02', subject: 'CN=c', issuedAt: '2026-01-02T00:00:00Z', masaUrl: 'm:1', certificate: 'MAA=',
      }));
      expect(registry.all().map((r) => r.serialNumber)).toEqual(['A', 'C']);
      await expect(registry.issueOnce('A', async () => { throw new Error('not reached'); })).rejects.toThrow(/already issued/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
