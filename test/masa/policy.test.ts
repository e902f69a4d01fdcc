/**
 * The MASA's policy settings (masa.yaml): nonceless vouchers and who may have them, configured
 * registrar domains (by SPKI hash or CA file) in first-claim and configured-only mode, pinScope,
 * the assertion, the audit log (RFC 8995 §5.8), and claims that survive a restart or are released.
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { spkiSha256Hex } from '../../src/masa/index.js';
import { MasaClient } from '../../src/teap-brski/brski/masa-client.js';
import { SignedVoucherCms, checkServerAgainstPin, checkVoucherForPledge } from '../../src/teap-brski/brski/voucher/index.js';
import {
  CMS, REQUEST_AUDIT_LOG, REQUEST_VOUCHER, type Registrar, type TestMasa, issuePledge, makeRegistrar, pledgeRequestCms, post,
  registrarRequestCms, startTestMasa,
} from './harness.js';

let registrar: Registrar;
let rival: Registrar;
beforeAll(async () => {
  registrar = await makeRegistrar('owner.test.example');
  rival = await makeRegistrar('rival.test.example');
});

let n = 0;
const serial = (p: string): string => `${p}-${++n}`;

async function voucherOf(masa: TestMasa, rvr: Uint8Array, tls?: Registrar): Promise<ReturnType<SignedVoucherCms['voucher']>> {
  const r = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': CMS }, tls ? { cert: tls.certPem, key: tls.keyPem } : {});
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
  const signed = SignedVoucherCms.decode(new Uint8Array(r.body));
  await signed.verify({ trustAnchors: [new Uint8Array(new X509Certificate(masa.manufacturerCaPem).raw)] });
  return signed.voucher();
}

describe('nonceless vouchers (RFC 8995 §5.5.4: only for an authenticated registrar)', () => {
  let masa: TestMasa;
  beforeAll(async () => {
    masa = await startTestMasa();
  });
  afterAll(() => masa.close());

  test('401 without a TLS client certificate', async () => {
    const pledge = await issuePledge(masa, serial('NL'));
    const rvr = await registrarRequestCms(registrar, pledge.der, undefined);
    const r = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': CMS });
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/TLS client certificate/);
    // A refused request claims nothing.
    expect(masa.running.masa.ownership.claimOf(pledge.serialNumber)).toBeUndefined();
  });

  test('401 with a TLS client certificate of another domain', async () => {
    const pledge = await issuePledge(masa, serial('NL'));
    const rvr = await registrarRequestCms(registrar, pledge.der, undefined);
    const r = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': CMS }, { cert: rival.certPem, key: rival.keyPem });
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/not part of the voucher-request's signing chain/);
  });

  test('200 with the registrar\'s own certificate as TLS client certificate: no nonce, expires-on 20 min ahead', async () => {
    const pledge = await issuePledge(masa, serial('NL'));
    const rvr = await registrarRequestCms(registrar, pledge.der, undefined);
    const before = Date.now();
    const v = await voucherOf(masa, rvr, registrar);
    expect(v.nonce).toBeUndefined();
    const expires = Date.parse(v.expiresOn as string);
    expect(expires).toBeGreaterThanOrEqual(before + 20 * 60_000 - 2000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 20 * 60_000 + 2000);
    expect(v.assertion).toBe('logged');
    // A pledge accepts it only when it accepts nonceless vouchers.
    expect(() => checkVoucherForPledge(v, { serialNumber: pledge.serialNumber, idevid: pledge.der })).toThrow(/nonceless/);
    expect(() => checkVoucherForPledge(v, { serialNumber: pledge.serialNumber, idevid: pledge.der, acceptNonceless: true })).not.toThrow();
    expect(masa.running.masa.vouchers.entriesFor(pledge.serialNumber)[0]).toMatchObject({ nonce: null, expiresOn: v.expiresOn });
  });

  test('the registrar\'s MasaClient with its certificate as client certificate gets one too', async () => {
    const pledge = await issuePledge(masa, serial('NL'));
    const rvr = await registrarRequestCms(registrar, pledge.der, undefined);
    const c = new MasaClient({ ca: masa.masaCaPem, cert: registrar.certPem, key: registrar.keyPem, retries: 0 });
    expect(await c.requestVoucher(masa.running.url, rvr)).toMatchObject({ kind: 'voucher' });
    const anonymous = new MasaClient({ ca: masa.masaCaPem, retries: 0 });
    expect(await anonymous.requestVoucher(masa.running.url, rvr)).toMatchObject({ kind: 'refused', status: 401 });
  });
});

describe('configured registrar domains', () => {
  let masa: TestMasa;
  beforeAll(async () => {
    masa = await startTestMasa({
      configure: (doc, dir) => {
        const caFile = join(dir, 'owner-ca.pem');
        writeFileSync(caFile, new X509Certificate(registrar.ca).toString());
        doc.voucher = { assertion: 'proximity', pinScope: 'ca', noncelessLifetimeSeconds: 600 };
        doc.ownership = {
          mode: 'first-claim',
          domains: [
            { name: 'owner', caCert: 'owner-ca.pem', serials: ['OWN-*'], nonceless: true },
            { name: 'rival', spkiSha256: [spkiSha256Hex(rival.der)], serials: ['RIV-?'] },
          ],
        };
      },
    });
  });
  afterAll(() => masa.close());

  test('a domain recognised by its CA file gets its serials; pinScope ca pins that CA; assertion proximity', async () => {
    const pledge = await issuePledge(masa, serial('OWN'));
    const pvr = await pledgeRequestCms(pledge, registrar.der);
    const v = await voucherOf(masa, await registrarRequestCms(registrar, pledge.der, pvr, { chain: [registrar.ca] }));
    expect(Buffer.from(v.pinnedDomainCert as Uint8Array)).toEqual(Buffer.from(registrar.ca));
    expect(v.assertion).toBe('proximity');
    // The registrar's TLS certificate chains to the pinned CA: the pledge accepts this server.
    expect(checkServerAgainstPin(v, [registrar.der]).path).toHaveLength(2);
    expect(masa.running.masa.vouchers.entriesFor(pledge.serialNumber)[0]).toMatchObject({ domain: 'owner', assertion: 'proximity' });
  });

  test('pinScope ca without the CA in the request pins the registrar certificate (and says so in the log)', async () => {
    const pledge = await issuePledge(masa, serial('OWN'));
    const v = await voucherOf(masa, await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der)));
    expect(Buffer.from(v.pinnedDomainCert as Uint8Array)).toEqual(Buffer.from(registrar.der));
    expect(masa.log.lines.some((l) => l.level === 'warn' && /pinScope ca/.test(l.msg ?? ''))).toBe(true);
  });

  test('a configured domain with nonceless: true gets nonceless vouchers without TLS client authentication', async () => {
    const pledge = await issuePledge(masa, serial('OWN'));
    const v = await voucherOf(masa, await registrarRequestCms(registrar, pledge.der, undefined, { chain: [registrar.ca] }));
    expect(v.nonce).toBeUndefined();
    expect(Date.parse(v.expiresOn as string)).toBeLessThanOrEqual(Date.now() + 600_000 + 2000);
    expect(v.assertion).toBe('logged'); // no pledge request, no proximity evidence
  });

  test('a serial reserved for another domain is refused even to the first claimant (403)', async () => {
    const pledge = await issuePledge(masa, serial('OWN'));
    const r = await post(masa, REQUEST_VOUCHER, await registrarRequestCms(rival, pledge.der, await pledgeRequestCms(pledge, rival.der)), { 'content-type': CMS });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/reserved for domain "owner"/);
  });

  test('a domain recognised by an SPKI hash gets its serials (glob ? = one character)', async () => {
    const pledge = await issuePledge(masa, 'RIV-7');
    const v = await voucherOf(masa, await registrarRequestCms(rival, pledge.der, await pledgeRequestCms(pledge, rival.der)));
    expect(v.serialNumber).toBe('RIV-7');
    const longer = await issuePledge(masa, 'RIV-77');
    // Not matched by RIV-?: an unconfigured serial, so first-claim applies and the owner domain may claim it.
    const v2 = await voucherOf(masa, await registrarRequestCms(registrar, longer.der, await pledgeRequestCms(longer, registrar.der)));
    expect(v2.serialNumber).toBe('RIV-77');
    expect(masa.running.masa.ownership.claimOf('RIV-77')).toMatchObject({ domain: 'owner', ownerSpkiSha256: spkiSha256Hex(registrar.der) });
  });

  test('configuration outranks a first claim made before the domain was configured', async () => {
    const pledge = await issuePledge(masa, 'RIV-9');
    // As if the owner domain had claimed RIV-9 before masa.yaml gave RIV-? to the rival domain.
    masa.running.masa.ownership.record({
      serialNumber: 'RIV-9', ownerSpkiSha256: spkiSha256Hex(registrar.der), domain: 'owner', registrar: 'CN=owner.test.example', claimedAt: new Date().toISOString(),
    });
    const v = await voucherOf(masa, await registrarRequestCms(rival, pledge.der, await pledgeRequestCms(pledge, rival.der)));
    expect(Buffer.from(v.pinnedDomainCert as Uint8Array)).toEqual(Buffer.from(rival.der));
    const r = await post(masa, REQUEST_VOUCHER, await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der)), { 'content-type': CMS });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/reserved for domain "rival"/);
  });
});

describe('configured-only mode', () => {
  let masa: TestMasa;
  beforeAll(async () => {
    masa = await startTestMasa({
      configure: (doc) => {
        doc.ownership = { mode: 'configured-only', domains: [{ name: 'owner', spkiSha256: [spkiSha256Hex(registrar.der)], serials: ['CO-A*'] }] };
      },
    });
  });
  afterAll(() => masa.close());

  test('listed serial: voucher; unlisted serial: 403 even for a known domain; unknown domain: 403', async () => {
    const listed = await issuePledge(masa, 'CO-A1');
    await voucherOf(masa, await registrarRequestCms(registrar, listed.der, await pledgeRequestCms(listed, registrar.der)));
    const unlisted = await issuePledge(masa, 'CO-B1');
    const r1 = await post(masa, REQUEST_VOUCHER, await registrarRequestCms(registrar, unlisted.der, await pledgeRequestCms(unlisted, registrar.der)), { 'content-type': CMS });
    expect(r1.status).toBe(403);
    expect(r1.text).toMatch(/no configured domain of this registrar may claim serial-number CO-B1/);
    const r2 = await post(masa, REQUEST_VOUCHER, await registrarRequestCms(rival, unlisted.der, await pledgeRequestCms(unlisted, rival.der)), { 'content-type': CMS });
    expect(r2.status).toBe(403);
    expect(masa.running.masa.ownership.claimOf('CO-B1')).toBeUndefined();
  });
});

describe('first claims persist; release-claim frees a serial; the audit log (RFC 8995 §5.8)', () => {
  let masa: TestMasa;
  beforeAll(async () => {
    masa = await startTestMasa();
  });
  afterAll(() => masa.close());

  test('a claim survives a restart; after release another domain may claim', async () => {
    const pledge = await issuePledge(masa, serial('PERSIST'));
    await voucherOf(masa, await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der)));
    await masa.restart();
    const rivalRvr = await registrarRequestCms(rival, pledge.der, await pledgeRequestCms(pledge, rival.der));
    expect((await post(masa, REQUEST_VOUCHER, rivalRvr, { 'content-type': CMS })).status).toBe(403);
    expect(masa.running.masa.ownership.release(pledge.serialNumber, 'test')).toBe(true);
    const v = await voucherOf(masa, rivalRvr);
    expect(Buffer.from(v.pinnedDomainCert as Uint8Array)).toEqual(Buffer.from(rival.der));
  });

  test('the audit log lists each voucher of the device, for its owner; 403 for a stranger without the pledge\'s request', async () => {
    const pledge = await issuePledge(masa, serial('AUDIT'));
    const pvr = await pledgeRequestCms(pledge, registrar.der);
    const rvr = await registrarRequestCms(registrar, pledge.der, pvr);
    await voucherOf(masa, rvr);
    await voucherOf(masa, await registrarRequestCms(registrar, pledge.der, undefined), registrar);

    const r = await post(masa, REQUEST_AUDIT_LOG, rvr, { 'content-type': CMS });
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/json');
    const log = JSON.parse(r.text) as { version: string; events: { date: string; domainID: string; nonce: string | null; assertion: string }[] };
    expect(log.version).toBe('1');
    expect(log.events).toHaveLength(2);
    // domainID: the pinned certificate's SubjectKeyIdentifier, base64.
    const expectedDomainId = Buffer.from(skiOf(registrar.der)).toString('base64');
    expect(log.events.map((e) => e.domainID)).toEqual([expectedDomainId, expectedDomainId]);
    expect(log.events[0]!.nonce).toBe(Buffer.from(SignedVoucherCms.decode(pvr).voucherRequest().nonce as Uint8Array).toString('base64'));
    expect(log.events[1]!.nonce).toBeNull();
    expect(log.events.every((e) => e.assertion === 'logged' && !Number.isNaN(Date.parse(e.date)))).toBe(true);

    // The rival, without the pledge's request, is neither owner nor near the device.
    const stranger = await registrarRequestCms(rival, pledge.der, undefined);
    const denied = await post(masa, REQUEST_AUDIT_LOG, stranger, { 'content-type': CMS });
    expect(denied.status).toBe(403);
    // With the pledge's own request (the device is at hand) it may read who else claimed it.
    const near = await registrarRequestCms(rival, pledge.der, await pledgeRequestCms(pledge, rival.der));
    const shown = await post(masa, REQUEST_AUDIT_LOG, near, { 'content-type': CMS });
    expect(shown.status).toBe(200);
    expect((JSON.parse(shown.text) as { events: unknown[] }).events).toHaveLength(2);
  });
});

/** The SubjectKeyIdentifier octets of a certificate (the demo PKI writes one). */
function skiOf(der: Uint8Array): Uint8Array {
  const ext = new x509.X509Certificate(der).getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ext) throw new Error('the certificate has no SubjectKeyIdentifier');
  return new Uint8Array(Buffer.from(ext.keyId, 'hex'));
}
