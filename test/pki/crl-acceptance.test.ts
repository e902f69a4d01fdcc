import { X509Certificate } from 'node:crypto';
import { judgeCrlFile } from '../../src/pki/crl-acceptance.js';
import { crlFacts, parseCrlFile } from '../../src/pki/crl-file.js';
import { issueCrl } from '../../src/pki/crl.js';
import { generateDemoPki, type DemoPki } from '../../src/pki/demo-pki.js';

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
const facts = async (pem: string) => parseCrlFile(Buffer.from(pem)).map(crlFacts);

describe('parseCrlFile and crlFacts', () => {
  it('reads PEM (one or several blocks) and DER, with issuer, times, number and count', async () => {
    const one = await crl(['0a', '0b'], 42n);
    const [f] = await facts(one);
    expect(f).toMatchObject({ issuer: CA, thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: 42n, revoked: 2 });
    expect(parseCrlFile(Buffer.from(one + (await crl([], 43n))))).toHaveLength(2);
    const der = Buffer.from(one.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(parseCrlFile(der).map(crlFacts)).toEqual([f]);
    expect((await facts(await crl([], undefined)))[0]!.crlNumber).toBeUndefined();
  });

  it('refuses what is not a CRL', () => {
    expect(() => parseCrlFile(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).toThrow(/no CRL block/);
    expect(() => parseCrlFile(Buffer.from('garbage'))).toThrow();
    expect(() => parseCrlFile(Buffer.alloc(0))).toThrow();
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
    // Another CA's CRL in force does not make this one older.
    const foreignInForce = await facts(await issueCrl(other.ca.certPem, other.ca.keyPem, [], { thisUpdate: at(-60_000), nextUpdate: at(DAY), crlNumber: 99n }));
    expect((await judgeCrlFile(Buffer.from(await crl([], 1n)), cas, NOW, foreignInForce)).ok).toBe(true);
  });

  it('a CRL whose issuer is not in tls.ca is accepted with a note (OpenSSL checks it against the chain)', async () => {
    const r = await judgeCrlFile(Buffer.from(await issueCrl(other.ca.certPem, other.ca.keyPem, [])), cas, NOW);
    expect(r).toEqual({ ok: true, facts: [expect.objectContaining({ issuer: new X509Certificate(other.ca.certPem).subject })], notes: [expect.stringContaining('its issuer is not in tls.ca')] });
  });

  it('one bad CRL in a file of several refuses the file', async () => {
    const file = (await crl([], 2n)) + (await crl([], 3n, at(-2 * DAY), at(-DAY)));
    expect(await judgeCrlFile(Buffer.from(file), cas, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('expired at') });
  });
});
