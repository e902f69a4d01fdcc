import * as https from 'node:https';
import * as tls from 'node:tls';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpsRegistrar } from '../../../src/teap-brski/brski/https-registrar.js';
import { Registrar } from '../../../src/teap-brski/brski/registrar.js';
import { SignedVoucherCms, Voucher, createPledgeVoucherRequest, signVoucherCms } from '../../../src/teap-brski/brski/voucher/index.js';
import { SqliteBrskiDeviceStore } from '../../../src/store/sqlite/brski-devices.js';
import { certificatesFromPkcs7 } from '../../../src/pki/ca/pkcs7.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { requireTool } from '../../helpers/require-tool.js';
import { makeBrskiPki, makeCert, type BrskiPki, type TestCert } from './voucher/test-pki.js';
import { caFixture, makeCsr, type CaFixture } from '../../pki/ca/helpers.js';

/**
 * BRSKI (RFC 8995 §5) and EST (RFC 7030) over HTTPS on loopback, on the same Registrar as TEAP.
 * The MASA is a test double signing with the test manufacturer's MASA key.
 */

let pki: BrskiPki;
let fx: CaFixture;
let server: HttpsRegistrar;
let port: number;
let dir: string;
let masaCalls = 0;
const serverLog = new MemoryLog();
const curl = requireTool('curl');

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

beforeAll(async () => {
  pki = await makeBrskiPki('JADA-0042');
  fx = await caFixture();
  dir = mkdtempSync(join(tmpdir(), 'gangway-est-'));
  const registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa: {
      requestVoucher: async (_url, rvr) => {
        masaCalls++;
        const r = SignedVoucherCms.decode(rvr).voucherRequest();
        const v = new Voucher({ assertion: 'logged', serialNumber: r.serialNumber, ...(r.nonce ? { nonce: r.nonce } : {}), pinnedDomainCert: pki.registrar.der });
        return { kind: 'voucher', der: await signVoucherCms(v, { certificate: pki.masa.der, privateKey: pki.masa.key }), contentType: 'application/voucher-cms+json' };
      },
    },
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(pki.manufacturerCa.der)], masaUrl: 'https://masa.test', approval: 'auto' }],
    devices: new SqliteBrskiDeviceStore(fx.db),
    ca: fx.ca,
    audit: fx.audit,
    log: new MemoryLog(),
    enrolmentLimit: { certificates: 3, intervalMs: 3600_000, store: fx.store },
  });
  server = new HttpsRegistrar({
    registrar,
    cert: pki.registrar.pem,
    key: pki.registrar.keyPem,
    domainCa: [fx.ca.certificatePem],
    audit: fx.audit,
    log: serverLog,
  });
  port = (await server.listen('127.0.0.1', 0)).port;
});
afterAll(async () => {
  await server.close();
  fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply { status: number; type: string; body: Buffer }

function request(method: string, path: string, opts: { client?: { cert: string; key: string }; type?: string; body?: Uint8Array | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, method, path,
      ca: pki.domainCa.pem,
      servername: 'registrar.test.example',
      ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
      headers: opts.type ? { 'content-type': opts.type } : {},
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body !== undefined ? Buffer.from(opts.body) : undefined);
  });
}

const idevid = (c: TestCert = pki.idevid): { cert: string; key: string } => ({ cert: c.pem, key: c.keyPem });
async function pvr(): Promise<Uint8Array> {
  return signVoucherCms(createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der }), { certificate: pki.idevid.der, privateKey: pki.idevid.key });
}

describe('BRSKI and EST over HTTPS', () => {
  test('simpleenroll before any voucher is refused (403): the registrar enrols only after the voucher', async () => {
    const csr = await makeCsr({ subject: 'CN=acme:JADA-0042' });
    const r = await request('POST', '/.well-known/est/simpleenroll', { client: idevid(), type: 'application/pkcs10', body: Buffer.from(csr.der).toString('base64') });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toMatch(/no voucher/);
  });

  test('requestvoucher: the voucher for the IDevID client; then EST cacerts, csrattrs, simpleenroll, and simplereenroll with the LDevID', async () => {
    const v = await request('POST', '/.well-known/brski/requestvoucher', { client: idevid(), type: 'application/voucher-cms+json', body: await pvr() });
    expect(v.status).toBe(200);
    expect(v.type).toBe('application/voucher-cms+json');
    const voucher = SignedVoucherCms.decode(new Uint8Array(v.body));
    await voucher.verify({ trustAnchors: [pki.manufacturerCa.der] });
    expect(voucher.voucher().serialNumber).toBe('JADA-0042');

    const ca = await request('GET', '/.well-known/est/cacerts');
    expect(ca.status).toBe(200);
    expect(ca.type).toBe('application/pkcs7-mime');
    expect(certificatesFromPkcs7(Buffer.from(ca.body.toString(), 'base64')).map((d) => Buffer.from(d).equals(Buffer.from(fx.ca.certificateDer)))).toContain(true);

    const attrs = await request('GET', '/.well-known/est/csrattrs', { client: idevid() });
    expect(attrs.status).toBe(200);
    expect(attrs.type).toBe('application/csrattrs');

    const csr = await makeCsr({ subject: 'CN=acme:JADA-0042' });
    const e = await request('POST', '/.well-known/est/simpleenroll', { client: idevid(), type: 'application/pkcs10', body: Buffer.from(csr.der).toString('base64') });
    expect(e.status).toBe(200);
    expect(e.type).toMatch(/^application\/pkcs7-mime; smime-type=certs-only/);
    const ldevid = new X509Certificate(certificatesFromPkcs7(Buffer.from(e.body.toString(), 'base64'))[0]!);
    expect(ldevid.subject).toContain('CN=acme:JADA-0042');
    expect(ldevid.verify(new X509Certificate(fx.ca.certificateDer).publicKey)).toBe(true);

    const again = await makeCsr({ subject: 'CN=acme:JADA-0042' });
    const re = await request('POST', '/.well-known/est/simplereenroll', { client: { cert: ldevid.toString(), key: csr.keyPem }, type: 'application/pkcs10', body: Buffer.from(again.der).toString('base64') });
    expect(re.status).toBe(200);
    const renewed = new X509Certificate(certificatesFromPkcs7(Buffer.from(re.body.toString(), 'base64'))[0]!);
    expect(renewed.serialNumber).not.toBe(ldevid.serialNumber);
    expect(await fx.store.listByDevice('acme:JADA-0042')).toHaveLength(2);

    const status = await request('POST', '/.well-known/brski/enrollstatus', { client: { cert: ldevid.toString(), key: csr.keyPem }, type: 'application/json', body: JSON.stringify({ version: 1, status: true }) });
    expect(status.status).toBe(200);
    expect((await fx.audit.recent(5)).some((a) => a.event === 'brski.enroll-status')).toBe(true);
  });

  // FAILS at 3f30aba: the LDevID was looked up before the body was read, and a client may take its
  // time over the body: revoked meanwhile, it still got a new, valid LDevID (review finding).
  test('simplereenroll: an LDevID revoked while its request body is still arriving gets 403 and nothing is issued', async () => {
    const first = await makeCsr({ subject: 'CN=acme:JADA-0077' });
    const ldevid = await fx.ca.issueLdevid({ csrDer: first.der, deviceId: 'acme:JADA-0077' });
    const body = Buffer.from(Buffer.from((await makeCsr({ subject: 'CN=acme:JADA-0077' })).der).toString('base64'));
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port, method: 'POST', path: '/.well-known/est/simplereenroll', ca: pki.domainCa.pem, servername: 'registrar.test.example',
        cert: ldevid.pem, key: first.keyPem, agent: false, headers: { 'content-type': 'application/pkcs10', 'content-length': String(body.length) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 10));
      // The administrator revokes while the device is still sending.
      setTimeout(() => void fx.ca.revoke(ldevid.serial, 'keyCompromise', 'admin').then(() => req.end(body.subarray(10)), reject), 300);
    });
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/revoked/);
    expect((await fx.store.listByDevice('acme:JADA-0077')).map((c) => c.serial)).toEqual([ldevid.serial]);
  });

  test('refusals: no client certificate 401, wrong media type 415, an IDevID re-enrolling 403, garbage voucher-request 400, unknown path 404, oversized body 413', async () => {
    expect((await request('POST', '/.well-known/brski/requestvoucher', { type: 'application/voucher-cms+json', body: await pvr() })).status).toBe(401);
    expect((await request('POST', '/.well-known/brski/requestvoucher', { client: idevid(), type: 'application/json', body: await pvr() })).status).toBe(415);
    expect((await request('POST', '/.well-known/est/simplereenroll', { client: idevid(), type: 'application/pkcs10', body: 'MAA=' })).status).toBe(403);
    expect((await request('POST', '/.well-known/brski/requestvoucher', { client: idevid(), type: 'application/voucher-cms+json', body: 'not cms' })).status).toBe(400);
    expect((await request('GET', '/.well-known/brski/nothing')).status).toBe(404);
    expect((await request('POST', '/.well-known/brski/requestvoucher', { client: idevid(), type: 'application/voucher-cms+json', body: Buffer.alloc(70_000, 0x30) })).status).toBe(413);
  });

  // FAILS at 196c4ec: anyone could post status (no certificate, or a self-signed one naming any
  // serial number), and every post was an audit entry (review finding: 2,000 rows in 0.7 s).
  test('status telemetry only from a device we can name (its IDevID, or our LDevID), audited under it with the certificate it came with; repeats within a minute are counted, not recorded; none from a denied device', async () => {
    const statusEvents = async (subject: string): Promise<unknown[]> =>
      (await fx.audit.recent(500)).filter((a) => a.event === 'brski.voucher-status' && a.subject === subject).map((a) => a.detail).reverse();
    const post = (client: { cert: string; key: string } | undefined, status: boolean, reason?: string): Promise<Reply> =>
      request('POST', '/.well-known/brski/voucher_status', { ...(client ? { client } : {}), type: 'application/json', body: JSON.stringify({ version: 1, status, ...(reason ? { reason } : {}) }) });
    const mallory = await makeCert({ subject: 'CN=Mallory, 2.5.4.5=JADA-0042' });
    expect((await post(undefined, false, 'spoofed')).status).toBe(401);
    expect((await post(idevid(mallory), false, 'spoofed')).status).toBe(401);
    expect(await statusEvents('acme:JADA-0042')).toEqual([]);

    // A pledge of the manufacturer that got no voucher here (a restart, another registrar, a slow
    // pledge) is still heard: RFC 8995 §5.7 asks the registrar to capture what it reports.
    const other = await makeCert({ subject: 'CN=Other Pledge, 2.5.4.5=JADA-0099', issuer: pki.manufacturerCa });
    for (let i = 0; i < 5; i++) expect((await post(idevid(other), false, 'Invalid-Signature')).status).toBe(200);
    expect((await post(idevid(other), true)).status).toBe(200);
    expect((await post(idevid(other), false, 'Invalid-Signature')).status).toBe(200);
    // A fourth different report in the minute is past the device's budget: counted, not recorded.
    expect((await post(idevid(other), true, 'a fourth report')).status).toBe(200);
    const idevidSerial = new X509Certificate(other.der).serialNumber;
    expect(await statusEvents('acme:JADA-0099')).toEqual([
      { status: false, reason: 'Invalid-Signature', certificate: { kind: 'idevid', serial: idevidSerial } },
      { status: true, certificate: { kind: 'idevid', serial: idevidSerial }, earlierReportsNotRecorded: 4 },
      { status: false, reason: 'Invalid-Signature', certificate: { kind: 'idevid', serial: idevidSerial } },
    ]);

    // Denied by an administrator: refused, nothing audited.
    await new SqliteBrskiDeviceStore(fx.db).decide('acme', 'JADA-0099', 'denied', 'admin', new Date());
    const r = await post(idevid(other), true, 'after the denial');
    expect(r.status).toBe(403);
    expect(r.body.toString()).toMatch(/denied/);
    expect(await statusEvents('acme:JADA-0099')).toHaveLength(3);
  });

  // FAILS at 4f4aecf: Node's defaults let a client that never finishes its headers hold a
  // connection for about a minute (60 s, found only at a check every 30 s).
  test('a client that never finishes its request headers is answered 408 and disconnected within about 10 s', async () => {
    const started = Date.now();
    const outcome = await new Promise<{ first: string; ms: number }>((resolve, reject) => {
      let first = '';
      const s = tls.connect({ host: '127.0.0.1', port, ca: pki.domainCa.pem, servername: 'registrar.test.example' }, () => {
        s.write('POST /.well-known/brski/voucher_status HTTP/1.1\r\nHost: registrar.test.example\r\n');
      });
      s.on('data', (d: Buffer) => { first ||= d.toString('latin1').split('\r\n')[0]!; });
      s.on('error', reject);
      s.on('close', () => resolve({ first, ms: Date.now() - started }));
    });
    expect(outcome.first).toBe('HTTP/1.1 408 Request Timeout');
    expect(outcome.ms).toBeLessThan(20_000);
  }, 40_000);

  // FAILS at 8a6e92b (a hostile review): each hang-up logged an error line, as many as a pledge liked.
  test('pledges hanging up in the middle of their bodies: refused and logged once at info per client and endpoint, never as an error', async () => {
    const before = serverLog.lines.length;
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: pki.domainCa.pem, servername: 'registrar.test.example', cert: pki.idevid.pem, key: pki.idevid.keyPem }, () => {
          s.write('POST /.well-known/brski/requestvoucher HTTP/1.1\r\nHost: registrar.test.example\r\nContent-Type: application/voucher-cms+json\r\nContent-Length: 1000\r\n\r\n0123456789', () => {
            setTimeout(() => s.destroy(), 50);
          });
        });
        s.on('error', reject);
        s.on('close', () => resolve());
      });
    }
    await until(() => serverLog.lines.slice(before).some((l) => l.msg === 'BRSKI/EST: request refused'));
    const lines = serverLog.lines.slice(before);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines.filter((l) => l.msg === 'BRSKI/EST: request refused').map((l) => [l.level, (l.obj as { status: number }).status])).toEqual([['info', 400]]);
  });

  (curl ? test : test.skip)('curl with the IDevID as client certificate gets a voucher from /.well-known/brski/requestvoucher', async () => {
    writeFileSync(join(dir, 'idevid.pem'), pki.idevid.pem);
    writeFileSync(join(dir, 'idevid.key'), pki.idevid.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'domain-ca.pem'), pki.domainCa.pem);
    writeFileSync(join(dir, 'pvr.der'), await pvr());
    // Asynchronously: the registrar answers from this very process.
    const { stdout: out } = await promisify(execFile)(curl!, [
      '-sS', '--fail-with-body', '--cacert', join(dir, 'domain-ca.pem'), '--resolve', `registrar.test.example:${port}:127.0.0.1`,
      '--cert', join(dir, 'idevid.pem'), '--key', join(dir, 'idevid.key'),
      '-H', 'Content-Type: application/voucher-cms+json', '--data-binary', `@${join(dir, 'pvr.der')}`,
      `https://registrar.test.example:${port}/.well-known/brski/requestvoucher`,
    ], { encoding: 'buffer', timeout: 20_000 });
    const voucher = SignedVoucherCms.decode(new Uint8Array(out));
    await voucher.verify({ trustAnchors: [pki.manufacturerCa.der] });
    expect(voucher.voucher().serialNumber).toBe('JADA-0042');
  });

  // Last: it fills the device's places. FAILS at 46d89a8: the MASA was asked for a voucher for a
  // device that simpleenroll would then refuse.
  test('requestvoucher for a device that holds every place of its enrolment limit: 429 with Retry-After, after the voucher-request is checked and the device authorised, and the MASA is not asked', async () => {
    const held = (await fx.store.listByDevice('acme:JADA-0042')).length;
    for (let i = held; i < 3; i++) await fx.ca.issueLdevid({ csrDer: (await makeCsr({ subject: 'CN=acme:JADA-0042' })).der, deviceId: 'acme:JADA-0042' });
    const calls = masaCalls;
    const r = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port, method: 'POST', path: '/.well-known/brski/requestvoucher', ca: pki.domainCa.pem, servername: 'registrar.test.example',
        cert: pki.idevid.pem, key: pki.idevid.keyPem, agent: false, headers: { 'content-type': 'application/voucher-cms+json' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      void pvr().then((b) => req.end(Buffer.from(b)), reject);
    });
    expect(r.status).toBe(429);
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(3500);
    expect(Number(r.retryAfter)).toBeLessThanOrEqual(3600);
    expect(r.body).toContain('acme:JADA-0042 was issued 3 certificate(s) in the last 3600 s');
    expect(masaCalls).toBe(calls);
    // A voucher-request that does not verify is still a 400 first: the limit is no oracle for strangers' requests.
    expect((await request('POST', '/.well-known/brski/requestvoucher', { client: idevid(), type: 'application/voucher-cms+json', body: 'not cms' })).status).toBe(400);
  });
});
