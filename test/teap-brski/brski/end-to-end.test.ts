import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { describeEapolFailure, hostapTools, runEapolTest } from '../../helpers/eapol-test.js';
import { requireTool } from '../../helpers/require-tool.js';
import { freeUdpPort } from '../../../src/bench/udp-port.js';
import { lockLdevidDirectory } from '../../../src/peer/brski/ldevid-files.js';
import { nativeFileLockLoaded } from '../../helpers/file-lock.js';

/**
 * TEAP-BRSKI end to end, every part a separate process on loopback: `gangway masa` (the
 * manufacturer), an IDevID it issued, `gangway serve` with the brski section, `gangway pledge` over
 * RADIUS and over HTTPS; then independent checks: openssl verifies the LDevID against our CA and the
 * voucher against the manufacturer's anchor, Debian's eapol_test authenticates with EAP-TLS using
 * the LDevID, wpa_supplicant's TEAP presents the IDevID alone (flow A), curl re-enrols over EST.
 */

const main = resolve(__dirname, '../../../dist/cli/main.js');
const openssl = requireTool('openssl');
const debianEapolTest = requireTool('eapol_test');
const curl = requireTool('curl');
const tools = hostapTools();
const ready = openssl && debianEapolTest && curl && tools && existsSync(main);
const maybe = ready ? describe : describe.skip;

async function freeTcpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

function gangway(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Daemon {
  child: ChildProcess;
  log: () => string;
  /** The log once it matches (its lines are written asynchronously), or the log as it is after 3 s. */
  logWhen(re: RegExp): Promise<string>;
  stop(): Promise<void>;
}

async function daemon(args: string[], readyText: string): Promise<Daemon> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 150 && !out.includes(readyText); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!out.includes(readyText)) {
    child.kill('SIGKILL');
    throw new Error(`${args[0]} did not start:\n${out}`);
  }
  return {
    child,
    log: () => out,
    logWhen: async (re) => {
      for (let i = 0; i < 60 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      return out;
    },
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}

const REENROLMENT_INTERVAL_S = 10;

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

maybe('TEAP-BRSKI end to end (gangway masa, gangway serve, gangway pledge, openssl, eapol_test, curl)', () => {
  jest.setTimeout(120_000);
  let dir: string;
  let masa: Daemon;
  let server: Daemon;
  let radiusPort: number;
  let httpsPort: number;
  let secret: string;
  const flowASecret = 'flow-a-nas-secret-0001';
  const masaDir = (): string => join(dir, 'masa');
  const serverDir = (): string => join(dir, 'server');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-brski-e2e-'));
    const masaPort = await freeTcpPort();
    masa = await daemon(['masa', '--data', masaDir(), '--listen', `127.0.0.1:${masaPort}`], 'MASA listening');
    for (const sn of ['E2E-0001', 'E2E-0002', 'E2E-0003', 'E2E-0004', 'E2E-0005']) {
      const r = gangway(['masa', 'issue-idevid', '--data', masaDir(), '--serial', sn, '--out', join(dir, sn)]);
      expect({ status: r.status, err: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, err: '' });
    }

    radiusPort = await freeUdpPort();
    httpsPort = await freeTcpPort();
    const init = gangway(['init', serverDir(), '--radius-port', String(radiusPort), '--accounting-port', '0', '--portal-port', '0', '--json']);
    expect(init.status).toBe(0);
    secret = (JSON.parse(init.stdout) as { radius: { secret: string } }).radius.secret;
    const cfgPath = join(serverDir(), 'gangway.yaml');
    const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, Record<string, unknown>>;
    (cfg.radius!.clients as unknown[]).unshift({ name: 'flowa', address: '127.0.0.2', secret: flowASecret });
    cfg.eap!.rules = [{ realm: 'brski.invalid', methods: ['teap'] }, { realm: 'flow-a.invalid', methods: ['teap'] }];
    cfg.brski = {
      manufacturers: [{
        name: 'acme', ca: join(dir, 'E2E-0001', 'manufacturer-ca.pem'), masaCa: join(dir, 'E2E-0001', 'masa-ca.pem'), approval: 'auto',
        masaUrl: `127.0.0.1:${masaPort}`, whenMasaUnavailable: 'nonceless',
      }],
      masa: { timeoutMs: 4000, retries: 0 },
      https: `127.0.0.1:${httpsPort}`,
      // One certificate per device in a short interval, so that the test can see a re-enrolment
      // refused as too soon and then served.
      enrolmentLimit: { certificates: 1, perSeconds: REENROLMENT_INTERVAL_S },
    };
    cfg.methods!.teap = {
      policies: {
        pledge: { clientCertificate: 'required', sequence: [{ identityType: 'machine', methods: ['brski'] }] },
        flowA: { clientCertificate: 'required', sequence: [{ methods: ['client-certificate'] }] },
        enrolled: { clientCertificate: 'required', sequence: [{ methods: ['brski-reenroll'] }] },
      },
      rules: [
        { nas: 'flowa', certificate: 'manufacturer:acme', policy: 'flowA' },
        { certificate: 'manufacturer:acme', policy: 'pledge' },
        { certificate: 'domain', policy: 'enrolled' },
      ],
    };
    writeFileSync(cfgPath, stringify(cfg));
    server = await daemon(['serve', '--data', serverDir()], 'gangway listening');
  });

  afterAll(async () => {
    await server?.stop();
    await masa?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('gangway pledge over RADIUS: voucher from the MASA, LDevID from our CA; openssl verifies both', async () => {
    const out = join(dir, 'ldevid-1');
    const r = gangway(['pledge', '--idevid', join(dir, 'E2E-0001'), '--server', `127.0.0.1:${radiusPort}`, '--secret', secret, '--out', out, '--json']);
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toMatchObject({ status: 0 });
    const report = JSON.parse(r.stdout) as { outcome: string; mppeKeysMatch: boolean; ldevid: { subject: string } };
    expect(report).toMatchObject({ outcome: 'accept', mppeKeysMatch: true });
    expect(report.ldevid.subject).toContain('CN=acme:E2E-0001');

    const verify = run(openssl!, ['verify', '-CAfile', join(serverDir(), 'pki', 'ca.pem'), join(out, 'ldevid.pem')]);
    expect(verify).toMatchObject({ status: 0, out: expect.stringContaining(': OK') });
    const cms = run(openssl!, ['cms', '-verify', '-inform', 'DER', '-in', join(out, 'voucher.vcj'), '-CAfile', join(dir, 'E2E-0001', 'manufacturer-ca.pem'), '-purpose', 'any']);
    expect(cms.status).toBe(0);
    expect(cms.out).toContain('"serial-number":"E2E-0001"');
    // The registrar and the MASA both kept a record.
    expect(await server.logWhen(/TEAP-BRSKI: LDevID issued/)).toContain('TEAP-BRSKI: LDevID issued');

    // At once again: the limit (one certificate per interval here). The operator is told why and when.
    const again = gangway(['pledge', '--idevid', join(dir, 'E2E-0001'), '--server', `127.0.0.1:${radiusPort}`, '--secret', secret, '--out', join(dir, 'ldevid-1-again'), '--json']);
    expect(again.status).toBe(1);
    const refused = JSON.parse(again.stdout) as { outcome: string; serverErrors?: string[]; retryAfterSeconds?: number };
    expect(refused).toMatchObject({ outcome: 'reject', serverErrors: ['Retry-PKCS#10, reconnect later (2906)'] });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(REENROLMENT_INTERVAL_S);
    expect(again.stderr).toContain(`The registrar asks this device to wait ${refused.retryAfterSeconds} s (Retry-After) before it tries again.`);
  });

  test('Debian eapol_test authenticates with EAP-TLS using that LDevID: SUCCESS, MPPE keys OK; revoked, it is refused', async () => {
    const out = join(dir, 'ldevid-1');
    const conf = `network={\n  key_mgmt=WPA-EAP\n  eap=TLS\n  identity="acme:E2E-0001"\n  ca_cert="${join(out, 'ca.pem')}"\n  client_cert="${join(out, 'ldevid.pem')}"\n  private_key="${join(out, 'ldevid.key')}"\n}\n`;
    const ok = await runEapolTest({ binary: debianEapolTest!, config: conf, port: radiusPort, secret, timeoutSec: 15 });
    expect({ success: ok.success, detail: ok.success ? '' : describeEapolFailure(ok) }).toEqual({ success: true, detail: '' });
    expect(ok.mppeOk).toBe(1);
    expect(ok.mppeMismatch).toBe(0);

    const serial = new X509Certificate(readFileSync(join(out, 'ldevid.pem'))).serialNumber;
    expect(gangway(['brski', 'revoke', serial, '--data', serverDir(), '--reason', 'keyCompromise']).status).toBe(0);
    const refused = await runEapolTest({ binary: debianEapolTest!, config: conf, port: radiusPort, secret, timeoutSec: 15 });
    expect(refused.success).toBe(false);
    expect(await server.logWhen(/certificate revoked/)).toContain('certificate revoked');
  });

  test('the demo client certificate of gangway init still authenticates with EAP-TLS once the registrar CA (the same demo CA) is active', async () => {
    const pki = join(serverDir(), 'pki');
    const conf = `network={\n  key_mgmt=WPA-EAP\n  eap=TLS\n  identity="demo-client"\n  ca_cert="${join(pki, 'ca.pem')}"\n  client_cert="${join(pki, 'client.pem')}"\n  private_key="${join(pki, 'client.key')}"\n}\n`;
    const r = await runEapolTest({ binary: debianEapolTest!, config: conf, port: radiusPort, secret, timeoutSec: 15 });
    expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
  });

  test('wpa_supplicant TEAP presenting the IDevID alone from the flow-A NAS: the policy grants access (flow A)', async () => {
    const sn = join(dir, 'E2E-0002');
    const conf = (d: string): string => `network={\n  key_mgmt=WPA-EAP\n  eap=TEAP\n  identity="teap-bootstrap@flow-a.invalid"\n  pac_file="${join(d, 'teap.pac')}"\n  client_cert="${join(sn, 'idevid.pem')}"\n  private_key="${join(sn, 'idevid.key')}"\n}\n`;
    const r = await runEapolTest({ binary: tools!.eapolTest, config: conf, port: radiusPort, secret: flowASecret, timeoutSec: 15, extraArgs: ['-A', '127.0.0.2'] });
    expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
    expect(r.mppeOk).toBe(1);
    expect(await server.logWhen(/"policy":"flowA"[^\n]*TEAP: policy selected/)).toMatch(/"policy":"flowA"[^\n]*TEAP: policy selected/);
  });

  test('gangway pledge --https: the same enrolment over BRSKI/EST; then curl re-enrols over EST simplereenroll with the LDevID, refused (429, Retry-After) until the interval has passed', () => {
    const out = join(dir, 'ldevid-2');
    const r = gangway(['pledge', '--idevid', join(dir, 'E2E-0002'), '--https', `https://127.0.0.1:${httpsPort}`, '--out', out, '--json']);
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toMatchObject({ status: 0 });
    expect(run(openssl!, ['verify', '-CAfile', join(serverDir(), 'pki', 'ca.pem'), join(out, 'ldevid.pem')]).status).toBe(0);

    const csrDer = join(dir, 'reenroll.csr');
    expect(run(openssl!, ['req', '-new', '-key', join(out, 'ldevid.key'), '-subj', '/', '-outform', 'DER', '-out', csrDer]).status).toBe(0);
    writeFileSync(join(dir, 'reenroll.b64'), readFileSync(csrDer).toString('base64'));
    const reenrol = (...extra: string[]) => run(curl!, [
      '-sS', ...extra, '--cacert', join(out, 'ca.pem'), '--resolve', `gangway.local:${httpsPort}:127.0.0.1`,
      '--cert', join(out, 'ldevid.pem'), '--key', join(out, 'ldevid.key'),
      '-H', 'Content-Type: application/pkcs10', '--data-binary', `@${join(dir, 'reenroll.b64')}`,
      `https://gangway.local:${httpsPort}/.well-known/est/simplereenroll`,
    ]);
    // Seconds after its enrolment: too soon. The answer says when to come back.
    const early = reenrol('--include');
    expect(early.status).toBe(0);
    expect(early.out).toMatch(/^HTTP\/1\.1 429 /);
    const retryAfter = Number(/^retry-after: (\d+)\r?$/im.exec(early.out)?.[1]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(REENROLMENT_INTERVAL_S);
    expect(early.out).toContain(`rate-limited: acme:E2E-0002 was issued 1 certificate(s) in the last ${REENROLMENT_INTERVAL_S} s`);
    spawnSync('sleep', [String(retryAfter + 0.3)]);
    const c = reenrol('--fail-with-body');
    expect(c.status).toBe(0);
    writeFileSync(join(dir, 'renewed.p7'), Buffer.from(c.out, 'base64'));
    const p7 = run(openssl!, ['pkcs7', '-inform', 'DER', '-in', join(dir, 'renewed.p7'), '-print_certs']);
    expect(p7.out).toContain('acme:E2E-0002');
  });

  // FAILS before --ldevid: no command ran the device's side of flow C.
  test('gangway pledge --ldevid: the enrolled device over TEAP with its LDevID; too soon, access without a new certificate; after the interval, a new LDevID for a new key that eapol_test then uses', async () => {
    const out = join(dir, 'ldevid-5');
    const enrolled = gangway(['pledge', '--idevid', join(dir, 'E2E-0005'), '--server', `127.0.0.1:${radiusPort}`, '--secret', secret, '--out', out, '--json']);
    expect({ status: enrolled.status, err: enrolled.stderr }).toMatchObject({ status: 0 });
    const enrolledAt = Date.now();
    const first = new X509Certificate(readFileSync(join(out, 'ldevid.pem')));
    const firstKey = readFileSync(join(out, 'ldevid.key'), 'utf8');
    const reconnect = () => gangway(['pledge', '--ldevid', out, '--server', `127.0.0.1:${radiusPort}`, '--secret', secret, '--json']);

    // Within the interval (one certificate per device here): let in on its LDevID, nothing issued, files untouched.
    const early = reconnect();
    expect({ status: early.status, out: early.stdout, err: early.stderr }).toMatchObject({ status: 0 });
    expect(JSON.parse(early.stdout)).toMatchObject({ outcome: 'accept', ok: true, identity: 'anonymous', reenrolled: false, mppeKeysMatch: true, authenticatedWith: { serial: first.serialNumber } });
    expect(readFileSync(join(out, 'ldevid.key'), 'utf8')).toBe(firstKey);
    expect(await server.logWhen(/re-enrolment not due yet/)).toContain('TEAP-BRSKI: re-enrolment not due yet; access on the LDevID, nothing issued');

    // Another process holding the directory (this test's, here): refused before the conversation.
    if (nativeFileLockLoaded()) {
      const lock = lockLdevidDirectory(out);
      const busy = reconnect();
      lock.release();
      expect({ status: busy.status, err: busy.stderr }).toEqual({ status: 2, err: expect.stringContaining(`is in use by another process (pid ${process.pid} on ${hostname()})`) });
    }
    // A key copy a stopped run left as a temporary file is removed under the lock.
    writeFileSync(join(out, '.ldevid.key.1.0a0b0c0d.tmp'), firstKey, { mode: 0o600 });

    spawnSync('sleep', [String(Math.max(0, REENROLMENT_INTERVAL_S * 1000 - (Date.now() - enrolledAt)) / 1000 + 0.5)]);
    const renewed = reconnect();
    expect({ status: renewed.status, out: renewed.stdout, err: renewed.stderr }).toMatchObject({ status: 0 });
    const report = JSON.parse(renewed.stdout) as { reenrolled: boolean; ldevid: { serial: string; subject: string; files: Record<string, string> } };
    expect(report).toMatchObject({ outcome: 'accept', ok: true, reenrolled: true, authenticatedWith: { serial: first.serialNumber } });
    const second = new X509Certificate(readFileSync(join(out, 'ldevid.pem')));
    expect(second.serialNumber).toBe(report.ldevid.serial);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(second.subject).toBe(first.subject);
    expect(second.publicKey.equals(first.publicKey)).toBe(false);
    expect(readFileSync(join(out, 'ldevid.key'), 'utf8')).not.toBe(firstKey);
    expect(existsSync(join(out, 'ldevid.key.prev'))).toBe(false);
    // Released: the file stays, empty (flock), or was never locked (no addon).
    expect(readFileSync(join(out, 'ldevid.lock'), 'utf8')).toBe('');
    expect(existsSync(join(out, '.ldevid.key.1.0a0b0c0d.tmp'))).toBe(false);
    expect(run(openssl!, ['verify', '-CAfile', join(serverDir(), 'pki', 'ca.pem'), join(out, 'ldevid.pem')])).toMatchObject({ status: 0, out: expect.stringContaining(': OK') });
    const issued = (): number => (JSON.parse(gangway(['brski', 'certificates', '--device', 'acme:E2E-0005', '--data', serverDir(), '--json']).stdout) as unknown[]).length;
    expect(issued()).toBe(2);

    // Where the new LDevID could not be stored, nothing is asked for: refused before the conversation.
    const nowhere = gangway(['pledge', '--ldevid', out, '--out', '/dev/null/ldevid', '--server', `127.0.0.1:${radiusPort}`, '--secret', secret, '--json']);
    expect({ status: nowhere.status, err: nowhere.stderr }).toEqual({ status: 2, err: expect.stringContaining('cannot write the LDevID to /dev/null/ldevid') });
    expect(issued()).toBe(2);

    // The report names the files as the directory was given.
    expect(report.ldevid).toMatchObject({ files: { certificate: join(out, 'ldevid.pem'), key: join(out, 'ldevid.key') } });
    // A mistyped directory is not made: only --out is.
    for (const flag of ['--idevid', '--ldevid']) {
      const typo = gangway(['pledge', flag, join(dir, 'no-such-device', 'a'), '--server', `127.0.0.1:${radiusPort}`, '--secret', secret]);
      expect(typo.status).toBe(2);
      expect(existsSync(join(dir, 'no-such-device'))).toBe(false);
    }

    // An independent peer takes the renewed files as they are.
    const conf = `network={\n  key_mgmt=WPA-EAP\n  eap=TLS\n  identity="acme:E2E-0005"\n  ca_cert="${join(out, 'ca.pem')}"\n  client_cert="${join(out, 'ldevid.pem')}"\n  private_key="${join(out, 'ldevid.key')}"\n}\n`;
    const tls = await runEapolTest({ binary: debianEapolTest!, config: conf, port: radiusPort, secret, timeoutSec: 15 });
    expect({ success: tls.success, detail: tls.success ? '' : describeEapolFailure(tls) }).toEqual({ success: true, detail: '' });

  });

  test('gangway brski prefetch: a nonceless voucher for E2E-0003, fetched while the MASA is up', () => {
    const r = gangway(['brski', 'prefetch', 'acme', 'E2E-0003', '--data', serverDir()]);
    expect({ status: r.status, err: r.stderr }).toMatchObject({ status: 0 });
    expect(r.stdout).toMatch(/acme:E2E-0003: nonceless voucher stored, valid until \d{4}-/);
  });

  test('MASA down: Access-Reject with MASA-Notavailable; the prefetched nonceless voucher serves only a pledge that accepts reduced security', async () => {
    await masa.stop();
    const pledge = (sn: string, extra: string[] = []): { status: number | null; report: { outcome: string; pledgeError?: string } } => {
      const r = gangway(['pledge', '--idevid', join(dir, sn), '--server', `127.0.0.1:${radiusPort}`, '--secret', secret, '--out', join(dir, `ldevid-${sn}`), '--json', ...extra]);
      return { status: r.status, report: JSON.parse(r.stdout) as { outcome: string; pledgeError?: string } };
    };
    const down = pledge('E2E-0004');
    expect(down).toMatchObject({ status: 1, report: { outcome: 'reject' } });
    expect(existsSync(join(dir, 'ldevid-E2E-0004', 'ldevid.pem'))).toBe(false);
    expect(await server.logWhen(/MASA not available/)).toMatch(/masa-unavailable/);

    const strict = pledge('E2E-0003');
    expect(strict).toMatchObject({ status: 1, report: { outcome: 'reject', pledgeError: expect.stringMatching(/nonceless/) } });
    expect(await server.logWhen(/serving a nonceless voucher fetched earlier/)).toContain('serving a nonceless voucher fetched earlier');

    const relaxed = pledge('E2E-0003', ['--accept-nonceless']);
    expect(relaxed).toMatchObject({ status: 0, report: { outcome: 'accept' } });
    expect(run(openssl!, ['verify', '-CAfile', join(serverDir(), 'pki', 'ca.pem'), join(dir, 'ldevid-E2E-0003', 'ldevid.pem')]).status).toBe(0);
  });
});
