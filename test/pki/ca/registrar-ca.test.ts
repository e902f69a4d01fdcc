import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { CaDirectoryError, CaError } from '../../../src/pki/ca/errors.js';
import { CA_PENDING_CERT_FILE, CA_PENDING_KEY_FILE, RegistrarCa } from '../../../src/pki/ca/registrar-ca.js';
import { certificatesFromPkcs7 } from '../../../src/pki/ca/pkcs7.js';
import { openSqlite } from '../../../src/store/sqlite/database.js';
import { SqliteAuditStore } from '../../../src/store/sqlite/audit.js';
import { SqliteIssuedCertificateStore } from '../../../src/store/sqlite/issued-certificates.js';
import { requireTool } from '../../helpers/require-tool.js';
import { caFixture, makeCsr, runOpenssl, writeFile, type CaFixture } from './helpers.js';

const openssl = requireTool('openssl');
const withOpenssl = openssl ? test : test.skip;

const POLICY = {
  subject: { commonName: '{deviceId}', organization: 'Example Site' },
  subjectAltNames: [{ type: 'dns' as const, template: '{deviceId}.devices.example.net' }],
};
const DEVICE = '00-D0-E5-F2-00-02';

async function expectRefusal(f: CaFixture, promise: Promise<unknown>, code: CaError['code'], teap: number): Promise<void> {
  const before = (await f.store.list(1000)).length;
  await expect(promise).rejects.toMatchObject({ name: 'CaError', code, teapErrorCode: teap });
  expect((await f.store.list(1000)).length).toBe(before);
  expect((await f.audit.recent(1))[0]).toMatchObject({ event: 'ca.ldevid.refused', detail: { code, teapErrorCode: teap } });
}

describe('registrar CA: data directory', () => {
  test('created 0700 with a 0600 key; reopening loads the same CA; audited once', async () => {
    const f = await caFixture();
    try {
      const caDir = join(f.dir, 'ca');
      expect(statSync(caDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
      const cert = new NodeX509Certificate(readFileSync(join(caDir, 'ca.pem')));
      expect(cert.ca).toBe(true);
      expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(cert.subject).toMatch(/^CN=Gangway Registrar CA [0-9a-f]{6}$/);
      expect(f.ca.certificatePem).toBe(readFileSync(join(caDir, 'ca.pem'), 'utf8'));

      const again = await RegistrarCa.open({ directory: caDir, store: f.store, audit: f.audit });
      expect(again.fingerprint()).toBe(f.ca.fingerprint());
      expect((await f.audit.recent(10)).filter((e) => e.event === 'ca.created')).toHaveLength(1);
    } finally {
      f.cleanup();
    }
  });

  test('a group- or world-readable key is refused, naming the file', async () => {
    const f = await caFixture();
    try {
      const keyPath = join(f.dir, 'ca', 'ca.key');
      for (const mode of [0o640, 0o604, 0o660]) {
        chmodSync(keyPath, mode);
        const err = await RegistrarCa.open({ directory: join(f.dir, 'ca'), store: f.store, audit: f.audit }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CaDirectoryError);
        expect((err as Error).message).toContain(keyPath);
        expect((err as Error).message).toMatch(/group or others/);
      }
      chmodSync(keyPath, 0o400);
      await expect(RegistrarCa.open({ directory: join(f.dir, 'ca'), store: f.store, audit: f.audit })).resolves.toBeInstanceOf(RegistrarCa);
    } finally {
      f.cleanup();
    }
  });

  test('a key without its certificate (or the reverse) is reported, not replaced', async () => {
    const f = await caFixture();
    try {
      const caDir = join(f.dir, 'ca');
      renameSync(join(caDir, 'ca.pem'), join(f.dir, 'saved.pem'));
      await expect(RegistrarCa.open({ directory: caDir, store: f.store, audit: f.audit })).rejects.toThrow(join(caDir, 'ca.pem'));
      renameSync(join(f.dir, 'saved.pem'), join(caDir, 'ca.pem'));
      unlinkSync(join(caDir, 'ca.key'));
      await expect(RegistrarCa.open({ directory: caDir, store: f.store, audit: f.audit })).rejects.toThrow(join(caDir, 'ca.key'));
    } finally {
      f.cleanup();
    }
  });

  test('a creation interrupted after the key was committed is completed on the next start, and audited', async () => {
    const f = await caFixture();
    try {
      const caDir = join(f.dir, 'ca');
      // What a crash between the two commits leaves: ca.key and the pending certificate (and, if
      // it came right after the key's link, the key's pending name as a second link).
      renameSync(join(caDir, 'ca.pem'), join(caDir, CA_PENDING_CERT_FILE));
      linkSync(join(caDir, 'ca.key'), join(caDir, CA_PENDING_KEY_FILE));
      const again = await RegistrarCa.open({ directory: caDir, store: f.store, audit: f.audit });
      expect(again.fingerprint()).toBe(f.ca.fingerprint());
      expect(readFileSync(join(caDir, 'ca.pem'), 'utf8')).toBe(f.ca.certificatePem);
      expect(readdirSync(caDir).sort()).toEqual(['ca.key', 'ca.pem']);
      const created = (await f.audit.recent(10)).filter((e) => e.event === 'ca.created');
      expect(created.map((e) => e.detail)).toContainEqual(expect.objectContaining({ completedAfterInterruption: true, sha256: f.ca.fingerprint() }));
    } finally {
      f.cleanup();
    }
  });

  test('a pending certificate beside a key it does not belong to is refused, and nothing is renamed', async () => {
    const a = await caFixture();
    const b = await caFixture();
    try {
      const caDir = join(a.dir, 'ca');
      unlinkSync(join(caDir, 'ca.pem'));
      renameSync(join(b.dir, 'ca', 'ca.pem'), join(caDir, CA_PENDING_CERT_FILE));
      await expect(RegistrarCa.open({ directory: caDir, store: a.store, audit: a.audit })).rejects.toThrow(/does not belong to the CA certificate/);
      expect(existsSync(join(caDir, 'ca.pem'))).toBe(false);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });

  test('pending files of a creation that crashed before its commit are never loaded: a new CA is created, whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ca-pending-'));
    const db = openSqlite(join(dir, 'gangway.db'));
    try {
      const caDir = join(dir, 'ca');
      mkdirSync(caDir, { mode: 0o700 });
      // Truncated halves, as a crash in mid-write leaves them.
      writeFileSync(join(caDir, CA_PENDING_KEY_FILE), '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49', { mode: 0o600 });
      writeFileSync(join(caDir, CA_PENDING_CERT_FILE), '-----BEGIN CERTIFICATE-----\nMIIB');
      const ca = await RegistrarCa.open({ directory: caDir, store: new SqliteIssuedCertificateStore(db), audit: new SqliteAuditStore(db) });
      expect(readFileSync(join(caDir, 'ca.pem'), 'utf8')).toBe(ca.certificatePem);
      expect(statSync(join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
      expect(readdirSync(caDir).sort()).toEqual(['ca.key', 'ca.pem']);
      const reopened = await RegistrarCa.open({ directory: caDir, store: new SqliteIssuedCertificateStore(db), audit: new SqliteAuditStore(db) });
      expect(reopened.fingerprint()).toBe(ca.fingerprint());
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a key that does not match the certificate is refused', async () => {
    const a = await caFixture();
    const b = await caFixture();
    try {
      renameSync(join(b.dir, 'ca', 'ca.key'), join(a.dir, 'ca', 'ca.key'));
      await expect(RegistrarCa.open({ directory: join(a.dir, 'ca'), store: a.store, audit: a.audit })).rejects.toThrow(/does not belong to the CA certificate/);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });

  test.each([
    [{ kind: 'rsa', bits: 2048 } as const, 'rsa'],
    [{ kind: 'ec', curve: 'P-384' } as const, 'ec'],
  ])('optional CA key %j issues and reloads', async (keyAlgorithm, type) => {
    const f = await caFixture({ creation: { keyAlgorithm, commonName: 'Site CA' }, policy: POLICY });
    try {
      expect(new NodeX509Certificate(f.ca.certificateDer).publicKey.asymmetricKeyType).toBe(type);
      const reloaded = await RegistrarCa.open({ directory: join(f.dir, 'ca'), store: f.store, audit: f.audit, policy: POLICY });
      const issued = await reloaded.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: DEVICE });
      expect(new NodeX509Certificate(issued.der).verify(new NodeX509Certificate(f.ca.certificateDer).publicKey)).toBe(true);
      if (openssl) {
        const ca = writeFile(f.dir, 'ca.pem', f.ca.certificatePem);
        const leaf = writeFile(f.dir, 'leaf.pem', issued.pem);
        expect(runOpenssl(openssl, ['verify', '-CAfile', ca, '-purpose', 'sslclient', leaf]).out).toContain(': OK');
      }
    } finally {
      f.cleanup();
    }
  });
});

describe('registrar CA: issuing LDevIDs', () => {
  let f: CaFixture;
  beforeAll(async () => {
    f = await caFixture({ policy: POLICY });
  });
  afterAll(() => f.cleanup());

  test('subject and SAN come from policy and the device id; the CSR supplies only the key', async () => {
    const csr = await makeCsr({ subject: [{ CN: [DEVICE] }] });
    const issued = await f.ca.issueLdevid({ csrDer: csr.der, deviceId: DEVICE, authenticatedBy: 'idevid:test' });
    const cert = new x509.X509Certificate(issued.der);
    expect(cert.subject).toBe(`O=Example Site, CN=${DEVICE}, 2.5.4.5=${DEVICE}`);
    expect(cert.issuer).toBe(f.ca.certificate.subject);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([{ type: 'dns', value: '00-d0-e5-f2-00-02.devices.example.net' }]);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(ku?.critical).toBe(true);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(ski).toBe(Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex'));
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(f.ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    // The certificate's key is byte-for-byte the CSR's key.
    expect(Buffer.from(cert.publicKey.rawData)).toEqual(Buffer.from(new x509.Pkcs10CertificateRequest(Buffer.from(csr.der)).publicKey.rawData));
    // Serial: 16 octets, positive, canonical hex.
    expect(issued.serial).toMatch(/^[1-7][0-9a-f]{31}$|^0[1-9a-f][0-9a-f]{30}$/);
    expect(cert.serialNumber).toBe(issued.serial);
    // Validity from policy: a minute backdated, 365 days.
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(365 + 60 / 86_400, 3);

    const record = await f.store.get(issued.serial);
    expect(record).toMatchObject({ deviceId: DEVICE, subject: issued.subject, issuer: f.ca.certificate.subject });
    expect(Buffer.from(record!.der)).toEqual(Buffer.from(issued.der));
    expect(record!.subjectAltNames).toEqual([{ type: 'dns', value: '00-d0-e5-f2-00-02.devices.example.net' }]);
    expect((await f.audit.recent(1))[0]).toMatchObject({
      event: 'ca.ldevid.issued', subject: DEVICE, detail: { serial: issued.serial, authenticatedBy: 'idevid:test', key: 'EC P-256' },
    });
  });

  test('a CSR whose subject names nothing is fine; policy fills it in', async () => {
    const issued = await f.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: 'SN-7' });
    expect(issued.subject).toBe('O=Example Site, CN=SN-7, 2.5.4.5=SN-7');
  });

  test('RSA-2048 and P-384 device keys are allowed by the default key policy', async () => {
    for (const spec of [{ rsaBits: 2048 }, { curve: 'P-384' as const }]) {
      const issued = await f.ca.issueLdevid({ csrDer: (await makeCsr(spec)).der, deviceId: DEVICE });
      expect(issued.serial).toBeDefined();
    }
  });

  withOpenssl('oracle: openssl verify accepts the LDevID against our CA (sslclient purpose)', async () => {
    const issued = await f.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: DEVICE });
    const ca = writeFile(f.dir, 'ca.pem', f.ca.certificatePem);
    const leaf = writeFile(f.dir, 'ldevid.pem', issued.pem);
    const r = runOpenssl(openssl!, ['verify', '-CAfile', ca, '-purpose', 'sslclient', '-x509_strict', leaf]);
    expect(r).toEqual({ status: 0, out: `${leaf}: OK\n` });
  });

  withOpenssl('oracle: openssl pkcs7 -print_certs lists the LDevID and the CA from our certs-only PKCS#7', async () => {
    const issued = await f.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: DEVICE });
    const p7 = f.ca.pkcs7(issued.der);
    const r = runOpenssl(openssl!, ['pkcs7', '-inform', 'DER', '-print_certs'], p7);
    expect(r.status).toBe(0);
    const subjects = [...r.out.matchAll(/^subject=(.*)$/gm)].map((m) => m[1]);
    expect(subjects).toEqual([`O = Example Site, CN = ${DEVICE}, serialNumber = ${DEVICE}`, f.ca.certificate.subject.replace('=', ' = ')]);
    expect(r.out).toContain(issued.pem.trim().split('\n')[1]);
    expect(certificatesFromPkcs7(p7).map((c) => Buffer.from(c))).toEqual([Buffer.from(issued.der), Buffer.from(f.ca.certificateDer)]);
    const only = f.ca.pkcs7(issued.der, { withCaCertificate: false });
    expect(certificatesFromPkcs7(only)).toHaveLength(1);
    expect(certificatesFromPkcs7(f.ca.trustAnchorsPkcs7()).map((c) => Buffer.from(c))).toEqual([Buffer.from(f.ca.certificateDer)]);
  });

  withOpenssl('oracle: a CSR made by openssl req -new verifies in openssl and in our PoP check; a flipped signature fails both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-csr-'));
    try {
      const csrPath = join(dir, 'req.der');
      const made = runOpenssl(openssl!, [
        'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'),
        '-subj', `/serialNumber=${DEVICE}`, '-addext', `subjectAltName=DNS:${DEVICE.toLowerCase()}.devices.example.net`,
        '-outform', 'DER', '-out', csrPath,
      ]);
      expect(made.status).toBe(0);
      const der = new Uint8Array(readFileSync(csrPath));
      // OpenSSL 3.0 exits 0 either way; its verdict is the message.
      expect(runOpenssl(openssl!, ['req', '-inform', 'DER', '-in', csrPath, '-verify', '-noout']).out).toContain('self-signature verify OK');
      const issued = await f.ca.issueLdevid({ csrDer: der, deviceId: DEVICE });
      expect(issued.subject).toContain(DEVICE);

      const bad = Uint8Array.from(der);
      bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x01; // inside the ECDSA signature's s integer
      const badPath = writeFile(dir, 'bad.der', bad);
      expect(runOpenssl(openssl!, ['req', '-inform', 'DER', '-in', badPath, '-verify', '-noout']).out).toContain('self-signature verify failure');
      await expectRefusal(f, f.ca.issueLdevid({ csrDer: bad, deviceId: DEVICE }), 'bad-csr', 1025);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('negative: a CSR carrying another key\'s signature (no proof of possession) is refused with 1025', async () => {
    // DER ECDSA signatures vary by an octet or two; draw CSRs until two signatures have the same
    // length (a few draws: there are only four common lengths), so the swap keeps every length
    // field right and only the signature is wrong. Drawing one and then matching it could miss: a
    // rare short first signature (1 in about 100) is rarely matched again in 50 draws.
    const byLength = new Map<number, { der: Uint8Array; sig: Buffer }>();
    let pair: [{ der: Uint8Array; sig: Buffer }, { der: Uint8Array; sig: Buffer }] | undefined;
    for (let i = 0; i < 50 && !pair; i++) {
      const der = (await makeCsr()).der;
      const sig = Buffer.from(new x509.Pkcs10CertificateRequest(Buffer.from(der)).signature);
      const same = byLength.get(sig.length);
      if (same && !same.sig.equals(sig)) pair = [same, { der, sig }];
      else byLength.set(sig.length, { der, sig });
    }
    expect(pair).toBeDefined();
    const [a, { sig: sigB }] = pair!;
    const sigA = a.sig;
    expect(sigB.length).toBe(sigA.length);
    const swapped = Buffer.from(a.der);
    const at = swapped.lastIndexOf(sigA);
    expect(at).toBeGreaterThan(0);
    sigB.copy(swapped, at);
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: swapped, deviceId: DEVICE }), 'bad-csr', 1025);
  });

  test('negative: key types policy does not allow are refused with 1022', async () => {
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr({ curve: 'P-521' })).der, deviceId: DEVICE }), 'unsupported-algorithm', 1022);
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr({ rsaBits: 1024 })).der, deviceId: DEVICE }), 'unsupported-algorithm', 1022);
    const ed = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const edCsr = await x509.Pkcs10CertificateRequestGenerator.create({ keys: ed, signingAlgorithm: { name: 'Ed25519' } });
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: new Uint8Array(edCsr.rawData), deviceId: DEVICE }), 'unsupported-algorithm', 1022);
  });

  test('negative: a subject or SAN that does not match policy is refused with 1024', async () => {
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr({ subject: [{ CN: ['someone-else'] }] })).der, deviceId: DEVICE }), 'bad-identity', 1024);
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr({ subject: [{ '2.5.4.5': ['OTHER-SERIAL'] }] })).der, deviceId: DEVICE }), 'bad-identity', 1024);
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr({ dnsNames: ['www.bank.example'] })).der, deviceId: DEVICE }), 'bad-identity', 1024);
    // Matching SAN (any case) passes.
    const ok = await f.ca.issueLdevid({ csrDer: (await makeCsr({ dnsNames: ['00-D0-E5-F2-00-02.devices.example.NET'] })).der, deviceId: DEVICE });
    expect(ok.subjectAltNames).toEqual([{ type: 'dns', value: '00-d0-e5-f2-00-02.devices.example.net' }]);
  });

  test('negative: asking to be a CA, for keyCertSign, or for an unknown extension is refused with 1023', async () => {
    const cases = [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature),
      new x509.Extension('1.3.6.1.5.5.7.1.32', false, new Uint8Array([0x16, 0x01, 0x61])),
    ];
    for (const ext of cases) {
      await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr({ extensions: [ext] })).der, deviceId: DEVICE }), 'unsupported-extension', 1023);
    }
    // Harmless requests (digitalSignature, clientAuth, CA:FALSE) are ignored, never copied.
    const harmless = [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.BasicConstraintsExtension(false),
    ];
    const issued = await f.ca.issueLdevid({ csrDer: (await makeCsr({ extensions: harmless })).der, deviceId: DEVICE });
    expect(new x509.X509Certificate(issued.der).getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
  });

  test('challengePassword: checked when the caller expects one', async () => {
    const good = await makeCsr({ challengePassword: 'dGxzLXVuaXF1ZQ==' });
    await expect(f.ca.issueLdevid({ csrDer: good.der, deviceId: DEVICE, expectedChallengePassword: 'dGxzLXVuaXF1ZQ==' })).resolves.toBeDefined();
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: good.der, deviceId: DEVICE, expectedChallengePassword: 'b3RoZXI=' }), 'bad-csr', 1025);
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: DEVICE, expectedChallengePassword: 'b3RoZXI=' }), 'bad-csr', 1025);
  });

  test('a device id that cannot be named is General PKI Error (1027), before the CSR is looked at', async () => {
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: new Uint8Array([1, 2, 3]), deviceId: 'bad_id@x' }), 'general-pki-error', 1027);
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: new Uint8Array([1, 2, 3]), deviceId: 'x'.repeat(65) }), 'general-pki-error', 1027);
  });

  test('an oversized CSR is refused before parsing', async () => {
    await expectRefusal(f, f.ca.issueLdevid({ csrDer: new Uint8Array(8193), deviceId: DEVICE }), 'bad-csr', 1025);
  });

  test('property: junk CSR bytes only ever produce a CaError, and nothing is stored', async () => {
    const before = (await f.store.list(10_000)).length;
    const valid = (await makeCsr()).der;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 600 }),
          // Mutations of a valid CSR reach deeper into the parser than random bytes do.
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const m = Uint8Array.from(valid);
            m[i] = m[i]! ^ x;
            return m;
          }),
          fc.nat(valid.length - 1).map((n) => valid.slice(0, n)),
        ),
        async (bytes) => {
          const err = await f.ca.issueLdevid({ csrDer: bytes, deviceId: DEVICE }).then(
            (issued) => new Error(`issued ${issued.serial} from junk`),
            (e: unknown) => e,
          );
          // The signature covers the request info and the envelope must be canonical DER, so no
          // change to a valid request survives.
          expect(err).toBeInstanceOf(CaError);
        },
      ),
      { numRuns: 300 },
    );
    expect((await f.store.list(10_000)).length).toBe(before);
  });
});

describe('registrar CA: serial numbers', () => {
  test('property: serials are unique and canonical over many issuances', async () => {
    const f = await caFixture();
    try {
      const csr = (await makeCsr()).der;
      const serials = new Set<string>();
      for (let i = 0; i < 300; i++) serials.add((await f.ca.issueLdevid({ csrDer: csr, deviceId: `D${i}` })).serial);
      expect(serials.size).toBe(300);
      for (const s of serials) expect(s).toMatch(/^[0-9a-f]{32}$/);
      expect((await f.store.list(1000)).length).toBe(300);
    } finally {
      f.cleanup();
    }
  });

  test('a serial already in the store is never reused: issuance draws again', async () => {
    const fixed = Uint8Array.from(Buffer.from('11223344556677889900aabbccddeeff', 'hex'));
    const fresh = Uint8Array.from(Buffer.from('22223344556677889900aabbccddeeff', 'hex'));
    const draws = [fixed, fixed, fresh];
    const f = await caFixture({ randomSerial: () => draws.shift() ?? fresh });
    try {
      const csr = (await makeCsr()).der;
      expect((await f.ca.issueLdevid({ csrDer: csr, deviceId: 'A' })).serial).toBe('11223344556677889900aabbccddeeff');
      expect((await f.ca.issueLdevid({ csrDer: csr, deviceId: 'B' })).serial).toBe('22223344556677889900aabbccddeeff');
      expect((await f.store.get('11223344556677889900aabbccddeeff'))?.deviceId).toBe('A');
    } finally {
      f.cleanup();
    }
  });

  test('a serial source that only repeats ends in Internal CA Error (1026), nothing issued', async () => {
    const fixed = Uint8Array.from(Buffer.from('11223344556677889900aabbccddeeff', 'hex'));
    const f = await caFixture({ randomSerial: () => fixed });
    try {
      const csr = (await makeCsr()).der;
      await f.ca.issueLdevid({ csrDer: csr, deviceId: 'A' });
      await expectRefusal(f, f.ca.issueLdevid({ csrDer: csr, deviceId: 'B' }), 'internal-ca-error', 1026);
    } finally {
      f.cleanup();
    }
  });
});

describe('registrar CA: revocation and CRLs', () => {
  test('revoking marks the store, audits, and the CRL lists it; openssl agrees', async () => {
    const f = await caFixture({ policy: POLICY });
    try {
      const keep = await f.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: 'KEEP-1' });
      const gone = await f.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: DEVICE });
      expect(await f.ca.isRevoked(new NodeX509Certificate(gone.der))).toBe(false);
      // Asked twice about one object (EAP-TLS at the handshake and before success): the signature is
      // remembered, the revocation is not.
      const asked = new NodeX509Certificate(gone.der);
      const verify = jest.spyOn(asked, 'verify');
      expect(await f.ca.isRevoked(asked)).toBe(false);

      expect(await f.ca.revokeDevice(DEVICE, 'keyCompromise', 'admin')).toEqual([gone.serial]);
      expect(await f.ca.isRevoked(asked)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(1);
      expect(await f.ca.revoke(gone.serial)).toBe(false); // already revoked: first reason stays
      expect(await f.ca.revoke('7f')).toBe(false);
      expect(await f.store.get(gone.serial)).toMatchObject({ revocationReason: 'keyCompromise' });
      expect((await f.audit.recent(1))[0]).toMatchObject({ event: 'ca.ldevid.revoked', subject: DEVICE, detail: { serial: gone.serial, reason: 'keyCompromise', actor: 'admin' } });
      expect(await f.ca.isRevoked(new NodeX509Certificate(gone.der))).toBe(true);
      expect(await f.ca.isRevoked(new NodeX509Certificate(keep.der))).toBe(false);

      const first = await f.ca.crl();
      const second = await f.ca.crl();
      expect(second.crlNumber).toBe(first.crlNumber + 1n);
      const crl = new x509.X509Crl(Buffer.from(second.der));
      expect(await crl.verify({ publicKey: f.ca.certificate.publicKey })).toBe(true);
      expect(crl.entries.map((e) => [e.serialNumber, e.reason])).toEqual([[gone.serial, x509.X509CrlReason.keyCompromise]]);

      if (openssl) {
        const ca = writeFile(f.dir, 'ca.pem', f.ca.certificatePem);
        const crlPath = writeFile(f.dir, 'ca.crl.pem', second.pem);
        const goneP = writeFile(f.dir, 'gone.pem', gone.pem);
        const keepP = writeFile(f.dir, 'keep.pem', keep.pem);
        const check = runOpenssl(openssl, ['crl', '-in', crlPath, '-CAfile', ca, '-noout', '-text']);
        expect(check.out).toMatch(/verify OK/);
        expect(check.out).toContain(`Serial Number: ${gone.serial.toUpperCase()}`);
        expect(check.out).toMatch(/X509v3 CRL Number: \s*\n\s*2\b/);
        expect(check.out).toContain('Key Compromise');
        const refused = runOpenssl(openssl, ['verify', '-crl_check', '-CAfile', ca, '-CRLfile', crlPath, goneP]);
        expect(refused.status).not.toBe(0);
        expect(refused.out).toContain('certificate revoked');
        expect(runOpenssl(openssl, ['verify', '-crl_check', '-CAfile', ca, '-CRLfile', crlPath, keepP]).out).toBe(`${keepP}: OK\n`);
      }
    } finally {
      f.cleanup();
    }
  });

  test('isRevoked: certificates of other CAs are not judged; ours unknown to the store are refused', async () => {
    const a = await caFixture();
    const b = await caFixture();
    try {
      const fromB = await b.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: 'X' });
      expect(await a.ca.isRevoked(new NodeX509Certificate(fromB.der))).toBe(false);
      // Same CA key, but a store that never saw the certificate (restored from an old backup).
      const dir = mkdtempSync(join(tmpdir(), 'gangway-ca-empty-'));
      const db = openSqlite(join(dir, 'db'));
      try {
        const blind = await RegistrarCa.open({ directory: join(b.dir, 'ca'), store: new SqliteIssuedCertificateStore(db), audit: new SqliteAuditStore(db) });
        expect(await blind.isRevoked(new NodeX509Certificate(fromB.der))).toBe(true);
      } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });
});
