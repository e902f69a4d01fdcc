/**
 * `gangway masa` as a person runs it (built dist/, a child process): the first run creates the
 * data directory privately; `issue-idevid` writes an 802.1AR IDevID that OpenSSL reads as such;
 * the running MASA knows that IDevID at once and answers the registrar's client; SIGTERM exits 0.
 * Needs `npx tsc -p tsconfig.build.json` first.
 */
import 'reflect-metadata';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasaClient } from '../../src/teap-brski/brski/masa-client.js';
import { masaUrlOf } from '../../src/teap-brski/brski/masa-url.js';
import { SignedVoucherCms } from '../../src/teap-brski/brski/voucher/index.js';
import { requireTool } from '../helpers/require-tool.js';
import { isRunning, terminate } from '../helpers/proc.js';
import { makeRegistrar, pledgeRequestCms, registrarRequestCms } from './harness.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const openssl = requireTool('openssl');

function gangway(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// masa-url.ts loads @peculiar/x509, which needs the reflect polyfill first (hence the import above).

/** Starts `gangway masa` and resolves with its port once it says it listens. */
function startMasa(args: string[]): Promise<{ child: ChildProcess; port: number; stderr: () => string; stdout: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, 'masa', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gangway masa did not start: ${err}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /masa: listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), stderr: () => err, stdout: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`gangway masa exited with ${code}: ${err}`)));
  });
}

describe('gangway masa (CLI, child process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeAll(() => {
    if (!existsSync(main)) throw new Error(`${main} is missing: run npx tsc -p tsconfig.build.json first`);
    dir = mkdtempSync(join(tmpdir(), 'gangway-masa-cli-'));
  });
  afterAll(async () => {
    if (child) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('first run initialises DIR privately, serves; issue-idevid; a voucher from the running MASA; SIGTERM exits 0', async () => {
    const data = join(dir, 'masa');
    const started = await startMasa(['--data', data, '--listen', '127.0.0.1:0', '--name', 'masa.test.example']);
    child = started.child;
    expect(started.stderr()).toContain(`initialised ${data}`);

    // Directory 0700, private keys 0600, masa.yaml written.
    for (const d of [data, join(data, 'ca'), join(data, 'masa'), join(data, 'tls')]) expect(statSync(d).mode & 0o777).toBe(0o700);
    for (const k of ['ca/manufacturer-ca.key', 'masa/voucher-signer.key', 'tls/masa-ca.key', 'tls/masa-tls.key', 'masa.yaml']) {
      expect(statSync(join(data, k)).mode & 0o777).toBe(0o600);
    }
    // The TLS certificate names the configured DNS name and the loopback addresses.
    const tls = new X509Certificate(readFileSync(join(data, 'tls', 'masa-tls.pem')));
    expect(tls.subjectAltName).toBe('DNS:masa.test.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');

    // An IDevID, issued after the MASA started.
    const out = join(dir, 'pledge');
    const issued = gangway(['masa', 'issue-idevid', '--data', data, '--serial', 'CLI-0001', '--out', out, '--masa-url', `127.0.0.1:${started.port}`, '--json']);
    expect(issued.stderr).toMatch(/"msg":"MASA: IDevID issued"/);
    expect(issued.status).toBe(0);
    const info = JSON.parse(issued.stdout) as { serialNumber: string; files: Record<string, string> };
    expect(info.serialNumber).toBe('CLI-0001');
    expect(Object.values(info.files).map((f) => f.replace(out, ''))).toEqual(['/idevid.pem', '/idevid.key', '/manufacturer-ca.pem', '/masa-ca.pem']);
    expect(statSync(join(out, 'idevid.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'manufacturer-ca.pem'), 'utf8')).toBe(readFileSync(join(data, 'ca', 'manufacturer-ca.pem'), 'utf8'));
    expect(readFileSync(join(out, 'masa-ca.pem'), 'utf8')).toBe(readFileSync(join(data, 'tls', 'masa-ca.pem'), 'utf8'));
    const registry = readFileSync(join(data, 'idevids.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { serialNumber: string });
    expect(registry.map((r) => r.serialNumber)).toEqual(['CLI-0001']);
    const again = gangway(['masa', 'issue-idevid', '--data', data, '--serial', 'CLI-0001', '--out', join(dir, 'pledge2')]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already issued/);

    const idevidPem = readFileSync(join(out, 'idevid.pem'), 'utf8');
    const idevid = new Uint8Array(new X509Certificate(idevidPem).raw);
    expect(masaUrlOf(idevid)).toBe(`127.0.0.1:${started.port}`);

    // The registrar's client, trusting masa-ca.pem, at the URL the IDevID names.
    const registrar = await makeRegistrar();
    const pledge = { serialNumber: 'CLI-0001', der: idevid, pem: idevidPem, key: createPrivateKey(readFileSync(join(out, 'idevid.key'), 'utf8')) };
    const rvr = await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der));
    const client = new MasaClient({ ca: readFileSync(join(out, 'masa-ca.pem'), 'utf8'), retries: 0 });
    const outcome = await client.requestVoucher(masaUrlOf(idevid) as string, rvr);
    expect(outcome.kind).toBe('voucher');
    if (outcome.kind === 'voucher') {
      const v = SignedVoucherCms.decode(outcome.der);
      await v.verify({ trustAnchors: [new Uint8Array(new X509Certificate(readFileSync(join(out, 'manufacturer-ca.pem'))).raw)] });
      expect(v.voucher().serialNumber).toBe('CLI-0001');
    }
    expect(readFileSync(join(data, 'vouchers.jsonl'), 'utf8')).toContain('"serialNumber":"CLI-0001"');

    const list = gangway(['masa', 'list', '--data', data, '--json']);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ serialNumber: 'CLI-0001', claimedBy: expect.objectContaining({ registrar: 'CN=registrar.test.example' }) })]);

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(isRunning(child)).toBe(false);
    expect(started.stdout()).toMatch(/"msg":"MASA: voucher issued"/);
    expect(started.stdout()).toMatch(/"signal":"SIGTERM"/);
  });

  (openssl ? test : test.skip)('the IDevID as OpenSSL reads it: 802.1AR notAfter, serialNumber RDN, clientAuth, AKI/SKI, id-pe-masa-url; verifies against manufacturer-ca.pem', () => {
    const data = join(dir, 'masa2');
    const out = join(dir, 'pledge-ossl');
    const issued = gangway(['masa', 'issue-idevid', '--data', data, '--serial', 'OSSL-42', '--out', out]);
    expect(issued.status).toBe(0);
    // A data directory never run is initialised by issue-idevid too; the default MASA URL is the default listen address.
    expect(issued.stderr).toContain(`initialised ${data}`);
    // Named by its address only, the MASA's TLS certificate still carries a DNS name.
    expect(new X509Certificate(readFileSync(join(data, 'tls', 'masa-tls.pem'))).subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    const cert = join(out, 'idevid.pem');
    const run = (args: string[]): string => {
      const r = spawnSync(openssl as string, args, { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    const text = run(['x509', '-in', cert, '-noout', '-text']);
    expect(text).toMatch(/Subject: O = Gangway Demo, CN = Gangway Demo device OSSL-42, serialNumber = OSSL-42/);
    expect(text).toMatch(/Not After : Dec 31 23:59:59 9999 GMT/);
    expect(text).toMatch(/X509v3 Extended Key Usage: *\n *TLS Web Client Authentication/);
    expect(text).toMatch(/X509v3 Subject Key Identifier/);
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    expect(text).toMatch(/1\.3\.6\.1\.5\.5\.7\.1\.32: *\n *\.\.127\.0\.0\.1:9443/);
    expect(text).toMatch(/ASN1 OID: prime256v1/);
    // notAfter as GeneralizedTime (802.1AR §8.5), not UTCTime.
    expect(run(['asn1parse', '-in', cert])).toMatch(/GENERALIZEDTIME\s+:99991231235959Z/);
    expect(run(['verify', '-CAfile', join(out, 'manufacturer-ca.pem'), cert]).trim()).toBe(`${cert}: OK`);
  });

  test('usage errors exit 2; a bad serial-number exits 1 with the reason', () => {
    expect(gangway(['masa']).status).toBe(2);
    expect(gangway(['masa', 'issue-idevid', '--data', join(dir, 'x')]).status).toBe(2);
    const bad = gangway(['masa', 'issue-idevid', '--data', join(dir, 'masa3'), '--serial', 'bad_serial*', '--out', join(dir, 'p3')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/PrintableString/);
  });
});
