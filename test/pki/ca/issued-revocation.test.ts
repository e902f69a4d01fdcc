import { X509Certificate } from 'node:crypto';
import { IssuedCertificateRevocation } from '../../../src/pki/ca/issued-revocation.js';
import type { IssuedCertificateStore } from '../../../src/store/issued-certificates.js';
import { testPki } from '../../helpers/pki.js';
import { malleateP256Certificate } from '../../helpers/ecdsa-malleate.js';
import { caFixture, makeCsr, type CaFixture } from './helpers.js';

/** The store, counting its reads. */
function counted(store: Pick<IssuedCertificateStore, 'get'>): { store: Pick<IssuedCertificateStore, 'get'>; reads: () => number } {
  let n = 0;
  return { store: { get: (serial) => { n++; return store.get(serial); } }, reads: () => n };
}

let fx: CaFixture;
beforeEach(async () => {
  fx = await caFixture();
});
afterEach(() => fx.cleanup());

async function ours(): Promise<{ cert: X509Certificate; serial: string }> {
  const issued = await fx.ca.issueLdevid({ csrDer: (await makeCsr()).der, deviceId: 'acme:SN-1' });
  return { cert: new X509Certificate(issued.der), serial: issued.serial };
}

describe.each([['with the CA', true], ['the store alone', false]] as const)('IssuedCertificateRevocation, %s', (_name, withCa) => {
  const revocation = (store: Pick<IssuedCertificateStore, 'get'>) => new IssuedCertificateRevocation({ store, ...(withCa ? { ca: new X509Certificate(fx.ca.certificatePem) } : {}) });

  test('our LDevID: read each time asked (a revocation between the two questions counts)', async () => {
    const { cert, serial } = await ours();
    const c = counted(fx.store);
    const r = revocation(c.store);
    expect(await r.isRevoked(cert)).toBe(false);
    await fx.ca.revoke(serial, 'keyCompromise');
    expect(await r.isRevoked(cert)).toBe(true);
    expect(c.reads()).toBe(2);
    // Its ECDSA signature in the other valid form: the same certificate.
    expect(await r.isRevoked(new X509Certificate(malleateP256Certificate(new Uint8Array(cert.raw))))).toBe(true);
  });

  test('another CA\'s certificate: not ours, and the conversation\'s second question costs no read', async () => {
    const pki = await testPki();
    const foreign = new X509Certificate(pki.client.certPem);
    const c = counted(fx.store);
    const r = revocation(c.store);
    expect(await r.isRevoked(foreign)).toBe(false);
    expect(await r.isRevoked(foreign)).toBe(false);
    expect(c.reads()).toBe(withCa ? 0 : 1);
  });
});

test('a certificate our CA signed that the store does not hold: refused with the CA (fail closed), not judged by the store alone', async () => {
  const { cert, serial } = await ours();
  fx.db.prepare('DELETE FROM issued_certificates WHERE serial = ?').run(serial);
  expect(await new IssuedCertificateRevocation({ store: fx.store, ca: new X509Certificate(fx.ca.certificatePem) }).isRevoked(cert)).toBe(true);
  expect(await new IssuedCertificateRevocation({ store: fx.store }).isRevoked(cert)).toBe(false);
});

test('the store alone never parses the presented certificate (a tenth of an EAP-TLS authentication\'s CPU): it reads the DER', async () => {
  const { cert, serial } = await ours();
  const unparsed = { der: new Uint8Array(cert.raw), get certificate(): X509Certificate { throw new Error('parsed'); } };
  const r = new IssuedCertificateRevocation({ store: fx.store });
  expect(await r.isRevoked(unparsed)).toBe(false);
  await fx.ca.revoke(serial, 'keyCompromise');
  expect(await r.isRevoked(unparsed)).toBe(true);
});

test('a RegistrarCa hook asked with a node:crypto certificate or a presented one answers alike', async () => {
  const { cert, serial } = await ours();
  const presented = { der: new Uint8Array(cert.raw), certificate: cert };
  expect([await fx.ca.isRevoked(cert), await fx.ca.isRevoked(presented)]).toEqual([false, false]);
  await fx.ca.revoke(serial, 'keyCompromise');
  expect([await fx.ca.isRevoked(cert), await fx.ca.isRevoked(presented)]).toEqual([true, true]);
});
