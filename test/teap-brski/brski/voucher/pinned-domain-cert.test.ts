/**
 * pinned-domain-cert semantics (../shared/specs/teap-brski.md §7) and the path validation under
 * them: an end-entity pin matches only itself, a CA pin (self-signed or not) validates what chains
 * to it, raw-key pins compare the public key; CA flags, keyCertSign, pathLen and validity count.
 */
import 'reflect-metadata';
import { X509Certificate, createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  Voucher, checkServerAgainstPin, domainPinOf, isCaCertificate, validateCertificatePath,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { type TestCert, ID_KP_SERVER_AUTH, makeCert } from './test-pki.js';

let root: TestCert;
let issuing: TestCert;
let server: TestCert;
let other: TestCert;

beforeAll(async () => {
  root = await makeCert({ subject: 'CN=Domain Root', ca: true });
  issuing = await makeCert({ subject: 'CN=Domain Issuing CA', ca: true, issuer: root, pathLength: 0 });
  server = await makeCert({ subject: 'CN=registrar.example', issuer: issuing, eku: [ID_KP_SERVER_AUTH], dnsName: 'registrar.example' });
  other = await makeCert({ subject: 'CN=registrar.example', eku: [ID_KP_SERVER_AUTH] });
});

const pinCert = (c: TestCert): Voucher => new Voucher({ serialNumber: 'S', pinnedDomainCert: c.der });
const code = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

describe('checkServerAgainstPin', () => {
  it('an end-entity pin accepts exactly that certificate', () => {
    expect(checkServerAgainstPin(pinCert(server), [server.der, issuing.der]).path).toEqual([server.der]);
    expect(code(() => checkServerAgainstPin(pinCert(server), [other.der]))).toBe('pin-mismatch');
  });

  it('a root CA pin validates the server through the intermediate the server sent, not without it', () => {
    expect(checkServerAgainstPin(pinCert(root), [server.der, issuing.der]).path).toEqual([server.der, issuing.der, root.der]);
    expect(code(() => checkServerAgainstPin(pinCert(root), [server.der]))).toBe('pin-mismatch');
  });

  it('a pinned intermediate CA (not self-signed) is a trust anchor of its own', () => {
    expect(checkServerAgainstPin(pinCert(issuing), [server.der]).path).toEqual([server.der, issuing.der]);
    expect(code(() => checkServerAgainstPin(pinCert(issuing), [other.der, issuing.der]))).toBe('pin-mismatch');
  });

  it('honours validity unless told there is no trusted clock', async () => {
    const expired = await makeCert({
      subject: 'CN=old registrar', issuer: issuing, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z'),
    });
    expect(code(() => checkServerAgainstPin(pinCert(issuing), [expired.der]))).toBe('pin-mismatch');
    expect(code(() => checkServerAgainstPin(pinCert(expired), [expired.der]))).toBe('pin-mismatch');
    expect(checkServerAgainstPin(pinCert(issuing), [expired.der], { at: 'ignore-time' }).path).toHaveLength(2);
    // At a time within the old certificate's validity the CA pinned now was not valid yet.
    expect(code(() => checkServerAgainstPin(pinCert(issuing), [expired.der], { at: new Date('2020-06-01T00:00:00Z') }))).toBe('pin-mismatch');
  });

  it('pinned-domain-pubk and -pubk-sha256 compare the server\'s SubjectPublicKeyInfo', () => {
    const spki = new Uint8Array(new X509Certificate(server.der).publicKey.export({ type: 'spki', format: 'der' }));
    const sha = new Uint8Array(createHash('sha256').update(spki).digest());
    expect(checkServerAgainstPin(new Voucher({ serialNumber: 'S', pinnedDomainPubk: spki }), [server.der]).pin.kind).toBe('pubk');
    expect(checkServerAgainstPin(new Voucher({ serialNumber: 'S', pinnedDomainPubkSha256: sha }), [server.der]).pin.kind).toBe('pubk-sha256');
    expect(code(() => checkServerAgainstPin(new Voucher({ serialNumber: 'S', pinnedDomainPubk: spki }), [other.der]))).toBe('pin-mismatch');
    expect(code(() => checkServerAgainstPin(new Voucher({ serialNumber: 'S', pinnedDomainPubkSha256: sha }), [other.der]))).toBe('pin-mismatch');
  });

  it('picks the pin the pledge asked for, else pubk-sha256, pubk, cert (8366bis §8)', () => {
    const spki = new Uint8Array(new X509Certificate(server.der).publicKey.export({ type: 'spki', format: 'der' }));
    const all = new Voucher({ serialNumber: 'S', pinnedDomainCert: root.der, pinnedDomainPubk: spki, pinnedDomainPubkSha256: new Uint8Array(32) });
    expect(domainPinOf(all)?.kind).toBe('pubk-sha256');
    expect(domainPinOf(all, 'cert')?.kind).toBe('cert');
    expect(domainPinOf(new Voucher({ serialNumber: 'S', pinnedDomainPubk: spki, pinnedDomainCert: root.der }))?.kind).toBe('pubk');
    expect(checkServerAgainstPin(all, [server.der, issuing.der], { preferred: 'cert' }).path).toHaveLength(3);
    expect(code(() => checkServerAgainstPin(all, [server.der, issuing.der]))).toBe('pin-mismatch');
  });

  it('says no-pin for a voucher without pin, and passes on domain-cert-revocation-checks', () => {
    expect(code(() => checkServerAgainstPin(new Voucher({ serialNumber: 'S' }), [server.der]))).toBe('no-pin');
    const strict = new Voucher({ serialNumber: 'S', pinnedDomainCert: server.der, domainCertRevocationChecks: true });
    expect(checkServerAgainstPin(strict, [server.der]).revocationChecksRequired).toBe(true);
    expect(checkServerAgainstPin({ kind: 'cert', certificate: server.der }, [server.der]).revocationChecksRequired).toBe(false);
  });

  it('refuses an empty or unparsable server chain', () => {
    expect(code(() => checkServerAgainstPin(pinCert(root), []))).toBe('pin-mismatch');
    expect(code(() => checkServerAgainstPin(pinCert(root), [new Uint8Array([0x30, 0])]))).toBe('pin-mismatch');
  });
});

describe('validateCertificatePath', () => {
  it('refuses an issuer that is not a CA, one without keyCertSign, and one whose pathLen is exceeded', async () => {
    const notCa = await makeCert({ subject: 'CN=Not a CA', keyUsage: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature });
    const underNotCa = await makeCert({ subject: 'CN=leaf', issuer: notCa });
    expect(isCaCertificate(notCa.der)).toBe(false);
    expect(validateCertificatePath(underNotCa.der, [], [notCa.der])).toEqual({ ok: false, reason: expect.stringContaining('not a CA') });

    const noCertSign = await makeCert({ subject: 'CN=CA without keyCertSign', ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
    const underNoCertSign = await makeCert({ subject: 'CN=leaf2', issuer: noCertSign });
    expect(validateCertificatePath(underNoCertSign.der, [], [noCertSign.der]).ok).toBe(false);

    // issuing has pathLen 0: it may sign end entities, not a further CA.
    const subCa = await makeCert({ subject: 'CN=Too deep CA', ca: true, issuer: issuing });
    const deepLeaf = await makeCert({ subject: 'CN=deep leaf', issuer: subCa });
    expect(validateCertificatePath(deepLeaf.der, [subCa.der, issuing.der], [root.der])).toEqual({
      ok: false, reason: expect.stringContaining('path length'),
    });
    // The anchor's own pathLen counts as well (as in OpenSSL), so pinning issuing does not help either;
    // pinning the sub-CA does.
    expect(validateCertificatePath(deepLeaf.der, [subCa.der], [issuing.der]).ok).toBe(false);
    expect(validateCertificatePath(deepLeaf.der, [], [subCa.der]).ok).toBe(true);
  });

  it('does not follow loops and stops at the length limit', async () => {
    const a = await makeCert({ subject: 'CN=Loop CA', ca: true });
    const leaf = await makeCert({ subject: 'CN=loop leaf', issuer: a });
    expect(validateCertificatePath(leaf.der, [a.der, a.der, leaf.der], [root.der]).ok).toBe(false);
    expect(validateCertificatePath(server.der, [issuing.der], [root.der], { maxLength: 2 })).toEqual({
      ok: false, reason: expect.stringContaining('longer than 2'),
    });
  });

  it('skips carried certificates that do not parse and reports a leaf that does not', () => {
    expect(validateCertificatePath(server.der, [new Uint8Array([1, 2, 3]), issuing.der], [root.der]).ok).toBe(true);
    expect(validateCertificatePath(new Uint8Array([1]), [], [root.der])).toEqual({ ok: false, reason: expect.stringContaining('does not parse') });
    expect(validateCertificatePath(server.der, [], [])).toEqual({ ok: false, reason: 'no usable trust anchor' });
  });
});
