import { X509Certificate } from 'node:crypto';
import { HttpsPledge } from '../../../src/peer/brski/https-pledge.js';
import { pledgeCredentials } from '../../../src/peer/brski/credentials.js';
import { HttpsRegistrar } from '../../../src/teap-brski/brski/https-registrar.js';
import { Registrar } from '../../../src/teap-brski/brski/registrar.js';
import { SignedVoucherCms, Voucher, signVoucherCms } from '../../../src/teap-brski/brski/voucher/index.js';
import { SqliteBrskiDeviceStore } from '../../../src/store/sqlite/brski-devices.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { makeBrskiPki, type BrskiPki } from '../../teap-brski/brski/voucher/test-pki.js';
import { caFixture, type CaFixture } from '../../pki/ca/helpers.js';
import { flipLastByte } from './brski-world.js';

/** Our pledge over BRSKI/EST HTTPS against our HTTPS registrar (the MASA is a signing test double). */
let pki: BrskiPki;
let fx: CaFixture;
let server: HttpsRegistrar;
let url: string;
let tamper = false;

beforeAll(async () => {
  pki = await makeBrskiPki('JADA-0077');
  fx = await caFixture();
  const registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa: {
      requestVoucher: async (_u, rvr) => {
        const r = SignedVoucherCms.decode(rvr).voucherRequest();
        const der = await signVoucherCms(new Voucher({ assertion: 'logged', serialNumber: r.serialNumber, ...(r.nonce ? { nonce: r.nonce } : {}), pinnedDomainCert: pki.registrar.der }), { certificate: pki.masa.der, privateKey: pki.masa.key });
        return { kind: 'voucher', der: tamper ? flipLastByte(der) : der, contentType: 'application/voucher-cms+json' };
      },
    },
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(pki.manufacturerCa.der)], masaUrl: 'https://masa.test', approval: 'auto' }],
    devices: new SqliteBrskiDeviceStore(fx.db),
    ca: fx.ca,
    audit: fx.audit,
    log: new MemoryLog(),
  });
  server = new HttpsRegistrar({
    registrar, cert: pki.registrar.pem, key: pki.registrar.keyPem, domainCa: [fx.ca.certificatePem],
    audit: fx.audit, log: new MemoryLog(),
  });
  url = `https://127.0.0.1:${(await server.listen('127.0.0.1', 0)).port}`;
});
afterAll(async () => {
  await server.close();
  fx.cleanup();
});

const credentials = (): ReturnType<typeof pledgeCredentials> => pledgeCredentials(pki.idevid.pem, pki.idevid.keyPem, pki.manufacturerCa.pem);

describe('gangway pledge --https (BRSKI/EST over HTTPS)', () => {
  test('voucher accepted (pinned registrar), LDevID for a new key from our CA, statuses reported', async () => {
    tamper = false;
    const r = await new HttpsPledge({ credentials: credentials(), url }).enroll();
    if (!r.ok) throw new Error(r.reason);
    const ldevid = new X509Certificate(r.enrollment.ldevid);
    expect(ldevid.subject).toContain('CN=acme:JADA-0077');
    expect(ldevid.verify(new X509Certificate(fx.ca.certificateDer).publicKey)).toBe(true);
    expect(ldevid.publicKey.equals(new X509Certificate(pki.idevid.der).publicKey)).toBe(false);
    expect(r.enrollment.voucher.pin).toBe('cert');
    expect(r.enrollment.trustAnchors.some((a) => Buffer.from(a).equals(Buffer.from(fx.ca.certificateDer)))).toBe(true);
    const events = (await fx.audit.recent(20)).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['brski.voucher', 'brski.voucher-status', 'ca.ldevid.issued', 'brski.enroll-status']));
  });

  test('a tampered voucher: refused with Invalid-Signature, reported in voucher_status, no CSR sent, nothing issued', async () => {
    tamper = true;
    const before = (await fx.store.list(100)).length;
    const r = await new HttpsPledge({ credentials: credentials(), url }).enroll();
    expect(r).toMatchObject({ ok: false, stage: 'voucher', reason: expect.stringMatching(/^Invalid-Signature/) });
    expect((await fx.store.list(100)).length).toBe(before);
    const status = (await fx.audit.recent(5)).find((e) => e.event === 'brski.voucher-status');
    expect(status?.detail).toMatchObject({ status: false, reason: expect.stringMatching(/Invalid-Signature/) });
  });
});
