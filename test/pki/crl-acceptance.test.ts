import { X509Certificate, webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { judgeCrlFile, signerKeySha256 } from '../../src/pki/crl-acceptance.js';
import { crlFacts, crlFileForEngines, parseCrlFile } from '../../src/pki/crl-file.js';
import { issueCrl } from '../../src/pki/crl.js';
import { generateDemoPki, type DemoPki } from '../../src/pki/demo-pki.js';
// After src/pki/crl.js, which installs the library's metadata polyfill.
import * as x509 from '@peculiar/x509';

const DAY = 86_400_000;
const NOW = new Date();
const at = (ms: number) => new Date(Math.floor((NOW.getTime() + ms) / 1000) * 1000);

let pki: DemoPki;
let other: DemoPki;
let cas: X509Certificate[];
/** The demo CA's name (it carries a random suffix). */
let CA: string;
beforeAll(async () => {
  pki = await generateDemoPki('crl.test');
  other = await generateDemoPki('elsewhere.test');
  cas = [new X509Certificate(pki.ca.certPem)];
  CA = cas[0]!.subject;
});

const crl = (revoked: string[], crlNumber: bigint | undefined, thisUpdate = at(-60_000), nextUpdate = at(DAY), signer = pki) =>
  issueCrl(pki.ca.certPem, signer.ca.keyPem, revoked, { thisUpdate, nextUpdate, ...(crlNumber !== undefined ? { crlNumber } : {}) });
/** The facts of CRLs held after their signatures were checked (a baseline). */
const facts = async (pem: string, verified = true) =>
  parseCrlFile(Buffer.from(pem)).map((c) => ({ ...crlFacts(c), verified, ...(verified ? { signerKeySha256: signerKeySha256(cas[0]!) } : {}) }));

describe('parseCrlFile and crlFacts', () => {
  it('reads PEM "X509 CRL" blocks (one or several) with issuer, times, number and count', async () => {
    const one = await crl(['0a', '0b'], 42n);
    const [f] = await facts(one);
    expect(f).toMatchObject({ issuer: CA, thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: 42n, revoked: 2 });
    expect(parseCrlFile(Buffer.from(`# published by the CA\n${one}${await crl([], 43n)}`))).toHaveLength(2);
    expect((await facts(await crl([], undefined)))[0]!.crlNumber).toBeUndefined();
  });

  it('refuses what OpenSSL would not load as tls.crl: other PEM, the label "CRL", DER, nothing', async () => {
    const one = await crl([], 1n);
    const der = Buffer.from(one.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(() => parseCrlFile(der)).toThrow(/no PEM block "-----BEGIN X509 CRL-----" in the file \(DER is not read\)/);
    expect(() => parseCrlFile(Buffer.from(one.replace(/X509 CRL/g, 'CRL')))).toThrow(/OpenSSL reads only "X509 CRL"/);
    expect(() => parseCrlFile(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).toThrow(/no PEM block/);
    expect(() => parseCrlFile(Buffer.alloc(0))).toThrow(/no PEM block/);
  });
});

describe('judgeCrlFile', () => {
  it('accepts a current CRL signed by its CA, newer than the one in force', async () => {
    const old = await facts(await crl([], 1n));
    const r = await judgeCrlFile(Buffer.from(await crl(['0a'], 2n)), cas, NOW, old);
    expect(r).toEqual({ ok: true, facts: [expect.objectContaining({ crlNumber: 2n, revoked: 1 })], notes: [] });
    // The same number again (the file rewritten) is not older.
    expect((await judgeCrlFile(Buffer.from(await crl(['0a'], 1n)), cas, NOW, old)).ok).toBe(true);
  });

  it('refuses unparseable bytes, a forged signature, an expired or not yet valid CRL, and an older one', async () => {
    expect(await judgeCrlFile(Buffer.from('-----BEGIN X509 CRL-----\nbm9wZQ==\n-----END X509 CRL-----\n'), cas, NOW)).toMatchObject({ ok: false, reason: expect.stringMatching(/^not a CRL/) });
    expect(await judgeCrlFile(Buffer.from(await crl([], 2n, at(-60_000), at(DAY), other)), cas, NOW)).toEqual({ ok: false, reason: `CRL of ${CA} is not signed by that CA's key` });
    expect(await judgeCrlFile(Buffer.from(await crl([], 2n, at(-2 * DAY), at(-DAY))), cas, NOW)).toEqual({ ok: false, reason: `CRL of ${CA} expired at ${at(-DAY).toISOString()} (nextUpdate)` });
    expect(await judgeCrlFile(Buffer.from(await crl([], 2n, at(3_600_000), at(DAY))), cas, NOW)).toEqual({
      ok: false,
      reason: `CRL of ${CA} is not valid before ${at(3_600_000).toISOString()} (thisUpdate)`,
      retryAt: at(3_600_000),
    });
    const inForce = await facts(await crl(['0a'], 7n));
    expect(await judgeCrlFile(Buffer.from(await crl([], 6n)), cas, NOW, inForce)).toEqual({ ok: false, reason: `CRL of ${CA} is older than the one in force (CRL number 6 < 7)` });
    // Without numbers on both sides, thisUpdate decides.
    const unnumbered = await facts(await crl([], undefined, at(-60_000)));
    expect(await judgeCrlFile(Buffer.from(await crl([], undefined, at(-120_000))), cas, NOW, unnumbered)).toMatchObject({ ok: false, reason: expect.stringContaining('older than the one in force (thisUpdate') });
    // Numbers are compared per CA: another CA's higher number in the same file does not make this one older.
    const foreign = await issueCrl(other.ca.certPem, other.ca.keyPem, [], { thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: 99n });
    const both = await facts((await crl([], 1n)) + foreign);
    expect((await judgeCrlFile(Buffer.from((await crl([], 2n)) + foreign), [...cas, new X509Certificate(other.ca.certPem)], NOW, both)).ok).toBe(true);
  });

  it('a CRL whose issuer is not in tls.ca is accepted with a note (OpenSSL checks it against the chain)', async () => {
    const r = await judgeCrlFile(Buffer.from(await issueCrl(other.ca.certPem, other.ca.keyPem, [])), cas, NOW);
    expect(r).toEqual({ ok: true, facts: [expect.objectContaining({ issuer: new X509Certificate(other.ca.certPem).subject, verified: false })], notes: [expect.stringContaining('its issuer is not in tls.ca')] });
    expect(await judgeCrlFile(Buffer.from(await crl([], 1n)), cas, NOW)).toMatchObject({ ok: true, facts: [{ verified: true }] });
  });

  it('an unverified CRL never becomes the baseline: a planted huge CRL number does not lock out the genuine CRLs (review finding)', async () => {
    const intermediate = new X509Certificate(other.ca.certPem).subject;
    const byIntermediate = (n: bigint) => issueCrl(other.ca.certPem, other.ca.keyPem, [], { thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: n });
    // An intermediate's CRL (issuer not in tls.ca) with CRL number 2^64, accepted unverified...
    const planted = await judgeCrlFile(Buffer.from(await byIntermediate(2n ** 64n)), cas, NOW);
    expect(planted).toMatchObject({ ok: true, facts: [{ issuer: intermediate, crlNumber: 2n ** 64n, verified: false }] });
    // ...does not make the genuine CRL number 3 "older".
    const genuine = await judgeCrlFile(Buffer.from(await byIntermediate(3n)), cas, NOW, planted.ok ? planted.facts : []);
    expect(genuine).toMatchObject({ ok: true, facts: [{ crlNumber: 3n }] });
    // Nor does a badly signed CRL of a tls.ca issuer loaded at start (held unverified).
    const forged = await facts(await crl([], 2n ** 64n, at(-60_000), at(DAY), other), false);
    expect(await judgeCrlFile(Buffer.from(await crl([], 4n)), cas, NOW, forged)).toMatchObject({ ok: true, facts: [{ crlNumber: 4n, verified: true }] });
    // A file that drops an unverified CRL of an invented issuer is not refused for "losing" it.
    expect(await judgeCrlFile(Buffer.from(await crl([], 5n)), cas, NOW, [...forged, ...(planted.ok ? planted.facts : [])])).toMatchObject({ ok: true });
  });

  it('one bad CRL in a file of several refuses the file', async () => {
    const file = (await crl([], 2n)) + (await crl([], 3n, at(-2 * DAY), at(-DAY)));
    expect(await judgeCrlFile(Buffer.from(file), cas, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('expired at') });
  });
});

describe('judgeCrlFile against damaged files', () => {
  it('a file that loses the CA it covered (another CA\'s CRL copied over it) is refused', async () => {
    const inForce = await facts(await crl([], 1n));
    const foreign = Buffer.from(await issueCrl(other.ca.certPem, other.ca.keyPem, [], { thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: 2n }));
    expect(await judgeCrlFile(foreign, cas, NOW, inForce)).toEqual({ ok: false, reason: `the file no longer holds a CRL of ${CA}, which the CRL in force covers` });
  });

  it('property: one damaged byte never changes what is in force (refused, or the same signed CRL), and judging never throws', async () => {
    const pem = await crl(['0a', '0b'], 5n);
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const asPem = (d: Buffer) => `-----BEGIN X509 CRL-----\n${d.toString('base64')}\n-----END X509 CRL-----\n`;
    const inForce = await facts(pem);
    expect(await judgeCrlFile(Buffer.from(asPem(der)), cas, NOW, inForce)).toMatchObject({ ok: true, facts: inForce });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const damaged = Buffer.from(der);
        damaged[i]! ^= x;
        const r = await judgeCrlFile(Buffer.from(asPem(damaged)), cas, NOW, inForce);
        // The parser tolerates some damage outside the signed part (a length byte, say); then the
        // CRL it reads is the signed one. OpenSSL, stricter, may still refuse such a file when the
        // contexts are built, and the CRLs in force stay (server.ts).
        if (r.ok) expect(r.facts).toEqual(inForce);
      }),
      { numRuns: 300 },
    );
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
      expect((await judgeCrlFile(Buffer.from(asPem(Buffer.from(bytes))), cas, NOW, inForce)).ok).toBe(false);
    }), { numRuns: 200 });
  });
});

describe('what is judged is what the engines load (review finding)', () => {
  const b64 = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

  it('a BEGIN marker in mid-line is no block, as for OpenSSL: a newer CRL hidden that way cannot cover an older one', async () => {
    const newer = await crl(['0a'], 2n);
    const older = await crl([], 1n);
    const crafted = Buffer.from(`x-----BEGIN X509 CRL-----${b64(newer)}\n${older}`);
    // Only the block OpenSSL would load is read, and it is the older CRL: refused against #2 in force.
    expect(parseCrlFile(crafted).map(crlFacts).map((f) => f.crlNumber)).toEqual([1n]);
    const inForce = await facts(newer);
    expect(await judgeCrlFile(crafted, cas, NOW, inForce)).toMatchObject({ ok: false, reason: expect.stringMatching(/older than the one in force/) });
  });

  it('octets after a CRL inside its block are refused, not ignored', async () => {
    const one = await crl([], 1n);
    const der = Buffer.concat([Buffer.from(b64(one), 'base64'), Buffer.from(b64(await crl([], 0n)), 'base64')]);
    const pem = `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;
    expect(() => parseCrlFile(Buffer.from(pem))).toThrow(/not exactly one CRL/);
  });

  it('the engines get each judged CRL re-encoded on its own (node:tls reads one CRL per buffer)', async () => {
    const a = await crl(['0a'], 5n);
    const b = await crl([], 6n, at(-60_000), at(DAY), other);
    const out = crlFileForEngines(Buffer.from(`# comment\n${a}junk between\n${b}`));
    expect(out).toHaveLength(2);
    expect(out.map((x) => parseCrlFile(x).map(crlFacts)[0]!.crlNumber)).toEqual([5n, 6n]);
    for (const x of out) expect(x.toString()).toMatch(/^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/);
  });

  it('during a CA key rollover (two CA certificates, one subject) a CRL signed by either key is accepted', async () => {
    // A second CA certificate with the demo CA's exact subject (DER) and a new key.
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const rolled = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0badc0de',
      name: new x509.X509Certificate(cas[0]!.raw).subjectName,
      notBefore: at(-DAY),
      notAfter: at(30 * DAY),
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    const rolledCa = new X509Certificate(Buffer.from(rolled.rawData));
    expect(rolledCa.subject).toBe(cas[0]!.subject);
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    const byNewKey = await issueCrl(rolled.toString('pem'), keyPem, [], { thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: 9n });
    // The old certificate listed first used to decide alone, and refuse the new key's CRL.
    expect(await judgeCrlFile(Buffer.from(byNewKey), [cas[0]!, rolledCa], NOW)).toMatchObject({ ok: true });
    expect(await judgeCrlFile(Buffer.from(byNewKey), [rolledCa, cas[0]!], NOW)).toMatchObject({ ok: true });
    expect(await judgeCrlFile(Buffer.from(byNewKey), [cas[0]!], NOW)).toMatchObject({ ok: false, reason: expect.stringMatching(/not signed by that CA's key/) });
  });
});
