import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialsError, loadPledgeCredentials, pledgeCredentials } from '../../../src/peer/brski/credentials.js';
import { LDEVID_FILES, writeLdevid, writeRenewedLdevid } from '../../../src/peer/brski/ldevid-files.js';
import { loadLdevidCredentials } from '../../../src/peer/brski/reenroll.js';
import type { Enrollment } from '../../../src/peer/brski/pledge.js';
import { makeCert } from '../../teap-brski/brski/voucher/test-pki.js';
import { brskiPki } from './brski-world.js';

describe('pledge credentials (IDevID directory)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-pledge-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('idevid.pem, idevid.key, manufacturer-ca.pem: serial-number from the subject', async () => {
    const pki = await brskiPki();
    writeFileSync(join(dir, 'idevid.pem'), pki.idevid.pem);
    writeFileSync(join(dir, 'idevid.key'), pki.idevid.keyPem);
    writeFileSync(join(dir, 'manufacturer-ca.pem'), pki.manufacturerCa.pem);
    const c = loadPledgeCredentials(dir);
    expect(c.serialNumber).toBe('JADA-0001');
    expect(c.intermediates).toEqual([]);
    expect(Buffer.from(c.manufacturerAnchors[0]!).equals(Buffer.from(pki.manufacturerCa.der))).toBe(true);
  });

  test('an intermediate CA in idevid.pem is kept for the TLS chain and the PVR', async () => {
    const pki = await brskiPki();
    const sub = await makeCert({ subject: 'CN=Manufacturer Sub CA', issuer: pki.manufacturerCa, ca: true });
    const idevid = await makeCert({ subject: 'CN=Pledge 2, 2.5.4.5=JADA-0009', issuer: sub });
    const c = pledgeCredentials(idevid.pem + sub.pem, idevid.keyPem, pki.manufacturerCa.pem);
    expect(c.intermediates).toHaveLength(1);
    expect(c.serialNumber).toBe('JADA-0009');
  });

  test('refused: key of another certificate, no serialNumber, another manufacturer, missing or garbled files', async () => {
    const pki = await brskiPki();
    const noSerial = await makeCert({ subject: 'CN=Nameless', issuer: pki.manufacturerCa });
    const cases: [() => unknown, RegExp][] = [
      [() => pledgeCredentials(pki.idevid.pem, pki.masa.keyPem, pki.manufacturerCa.pem), /does not belong/],
      [() => pledgeCredentials(noSerial.pem, noSerial.keyPem, pki.manufacturerCa.pem), /no serialNumber/],
      [() => pledgeCredentials(pki.idevid.pem, pki.idevid.keyPem, pki.domainCa.pem), /does not chain/],
      [() => pledgeCredentials('', pki.idevid.keyPem, pki.manufacturerCa.pem), /no certificate in the IDevID/],
      [() => pledgeCredentials(pki.idevid.pem, 'not a key', pki.manufacturerCa.pem), /IDevID key/],
      [() => pledgeCredentials('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', pki.idevid.keyPem, pki.manufacturerCa.pem), /IDevID file/],
      [() => loadPledgeCredentials(dir), /cannot read .*idevid\.pem/],
    ];
    for (const [f, why] of cases) {
      expect(f).toThrow(CredentialsError);
      expect(f).toThrow(why);
    }
  });
});

describe('LDevID files', () => {
  test('ldevid.pem (LDevID + intermediates), ldevid.key mode 0600, ca.pem; rewriting replaces them', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const ldevid = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const e: Enrollment = {
        ldevid: ldevid.der,
        intermediates: [],
        privateKey: ldevid.key,
        trustAnchors: [pki.domainCa.der],
        voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) },
      };
      const out = join(dir, 'nested', 'out');
      const files = writeLdevid(out, e);
      expect(statSync(files.key).mode & 0o777).toBe(0o600);
      expect(statSync(out).mode & 0o077).toBe(0);
      expect(new X509Certificate(readFileSync(files.certificate)).checkPrivateKey(ldevid.key)).toBe(true);
      expect(new X509Certificate(readFileSync(files.trustAnchors)).fingerprint256).toBe(new X509Certificate(pki.domainCa.der).fingerprint256);
      writeLdevid(out, { ...e, intermediates: [pki.domainCa.der] });
      expect(readFileSync(files.certificate, 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(statSync(files.key).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a renewal replaces the LDevID and key, keeps ca.pem, and leaves no previous key behind', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const first = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const second = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      writeLdevid(dir, { ldevid: first.der, intermediates: [], privateKey: first.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) } });
      const files = writeRenewedLdevid(dir, { ldevid: second.der, intermediates: [], privateKey: second.key, trustAnchors: [pki.domainCa.der] }, first.key);
      expect(statSync(files.key).mode & 0o777).toBe(0o600);
      const loaded = loadLdevidCredentials(dir);
      expect(Buffer.from(loaded.ldevid).equals(Buffer.from(second.der))).toBe(true);
      expect(loaded.privateKey.equals(second.key)).toBe(true);
      expect(() => statSync(join(dir, LDEVID_FILES.previousKey))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Without the kept key, a device stopped between a renewal's two renames had a new key beside its
  // old certificate and could not authenticate any more.
  test('a renewal stopped between its renames: the old certificate is loaded with the kept previous key; a later renewal keeps that one', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const first = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const orphan = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const third = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      writeLdevid(dir, { ldevid: first.der, intermediates: [], privateKey: first.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) } });
      // What writeRenewedLdevid leaves after its second rename: the previous key kept, the new key in place.
      writeFileSync(join(dir, LDEVID_FILES.previousKey), first.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, LDEVID_FILES.key), orphan.keyPem, { mode: 0o600 });
      const loaded = loadLdevidCredentials(dir);
      expect(Buffer.from(loaded.ldevid).equals(Buffer.from(first.der))).toBe(true);
      expect(loaded.privateKey.equals(first.key)).toBe(true);

      // The next renewal keeps the key the device authenticated with, not the orphan in ldevid.key.
      writeRenewedLdevid(dir, { ldevid: third.der, intermediates: [], privateKey: third.key, trustAnchors: [pki.domainCa.der] }, loaded.privateKey);
      expect(loadLdevidCredentials(dir).privateKey.equals(third.key)).toBe(true);

      // Without a matching previous key the mismatch is still refused.
      writeFileSync(join(dir, LDEVID_FILES.key), orphan.keyPem, { mode: 0o600 });
      expect(() => loadLdevidCredentials(dir)).toThrow(/does not belong to the LDevID/);
      writeFileSync(join(dir, LDEVID_FILES.previousKey), 'not a key', { mode: 0o600 });
      expect(() => loadLdevidCredentials(dir)).toThrow(/does not belong to the LDevID/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
