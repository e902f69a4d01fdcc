/**
 * The registrar CA on several servers at once: one CA directory (the same key and certificate on
 * every server), one database. Serials stay unique because the store's key arbitrates, whichever
 * server drew a serial first; CRL numbers form one increasing sequence; what one server revokes
 * the other's CRL lists. Run on SQLite (two connections, two processes' view) and PostgreSQL.
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { RegistrarCa } from '../../../src/pki/ca/registrar-ca.js';
import { describeStores, type StoreUnderTest } from '../../helpers/store-kinds.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { makeCsr } from './helpers.js';

/** The same serials, in the same order, for every server that asks: the worst a shared random source could do. */
function sharedSequence(): () => Uint8Array {
  let i = 0;
  return () => {
    const b = Buffer.alloc(16);
    b[0] = 0x40;
    b.writeUInt32BE(Math.floor(i++ / 2), 12);
    return new Uint8Array(b);
  };
}

describeStores('registrar CA on two servers', (kind) => {
  let s: StoreUnderTest;
  let dir: string;
  beforeEach(async () => {
    s = await kind.open();
    dir = mkdtempSync(join(tmpdir(), 'gangway-ca-pair-'));
  });
  afterEach(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pair(randomSerial?: () => Uint8Array): Promise<{ a: RegistrarCa; b: RegistrarCa; logA: MemoryLog; logB: MemoryLog }> {
    const other = await s.another();
    const logA = new MemoryLog();
    const logB = new MemoryLog();
    const directory = join(dir, 'ca');
    const a = await RegistrarCa.open({ directory, store: s.stores.issuedCertificates, audit: s.stores.audit, log: logA, ...(randomSerial ? { randomSerial } : {}) });
    const b = await RegistrarCa.open({ directory, store: other.issuedCertificates, audit: other.audit, log: logB, ...(randomSerial ? { randomSerial } : {}) });
    expect(b.fingerprint()).toBe(a.fingerprint());
    return { a, b, logA, logB };
  }

  test('concurrent issuance on both, drawing colliding serials: every certificate has its own serial, recorded for its device', async () => {
    // Each value is handed out twice (to whichever server asks next): every serial is drawn by both.
    const { a, b, logA, logB } = await pair(sharedSequence());
    const csr = (await makeCsr()).der;
    const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).issueLdevid({ csrDer: csr, deviceId: `D${i}` })));
    const serials = issued.map((c) => c.serial);
    expect(new Set(serials).size).toBe(20);
    for (const [i, c] of issued.entries()) {
      expect((await s.stores.issuedCertificates.get(c.serial))?.deviceId).toBe(`D${i}`);
      expect(new x509.X509Certificate(c.der).serialNumber.toLowerCase().replace(/^0+/, '')).toBe(c.serial.replace(/^0+/, ''));
    }
    const redrawn = [...logA.lines, ...logB.lines].filter((l) => l.msg === 'random serial already issued; drawing another');
    expect(redrawn.length).toBeGreaterThan(0);
  });

  test('CRL numbers from both servers form one strictly increasing sequence; a revocation on one is in the other\'s CRL', async () => {
    const { a, b } = await pair();
    const csr = (await makeCsr()).der;
    const cert = await a.issueLdevid({ csrDer: csr, deviceId: 'dev-1' });
    expect(await b.revoke(cert.serial, 'keyCompromise', 'admin')).toBe(true);
    const crls = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).crl()));
    const numbers = crls.map((c) => c.crlNumber).sort((x, y) => (x < y ? -1 : 1));
    expect(numbers).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    const fromA = crls.find((_, i) => i % 2 === 1)!;
    const listed = new x509.X509Crl(fromA.der).entries.map((e) => e.serialNumber.toLowerCase());
    expect(listed).toContain(cert.serial);
    expect(await a.isRevoked(new X509Certificate(cert.der))).toBe(true);
  });
});
