import { X509Certificate } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_EAP_LIMITS, EapAuthenticator } from '../../../src/eap-methods/authenticator.js';
import { MethodSelector } from '../../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../../src/eap-methods/registry.js';
import { RadiusServer } from '../../../src/radius/server.js';
import { handleAccessRequest } from '../../../src/server/radius-eap-bridge.js';
import { run as pledgeCli } from '../../../src/cli/commands/pledge.js';
import { DEFAULT_BRSKI_ERROR_CODES } from '../../../src/teap-brski/brski/tlvs.js';
import { requireTool } from '../../helpers/require-tool.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { brskiWorld, flipLastByte, type BrskiWorld } from './brski-world.js';

/**
 * `gangway pledge` over real UDP on loopback, against a RADIUS server built in the test from our
 * RadiusServer, EapAuthenticator and the TEAP method with the registrar (the gangway.yaml wiring
 * of a `brski` section does not exist yet). Packets of 1020 octets: the voucher and the PKCS#7
 * travel in several TEAP fragments.
 */
const SECRET = 'pledge-test-secret';

interface Harness {
  world: BrskiWorld;
  port: number;
  log: MemoryLog;
  close(): Promise<void>;
}

async function startRadius(): Promise<Harness> {
  const world = await brskiWorld();
  const log = new MemoryLog();
  const registry = new MethodRegistry();
  registry.register(world.method);
  const eap = new EapAuthenticator(registry, new MethodSelector([], ['teap']), { ...DEFAULT_EAP_LIMITS, idleTimeoutMs: 10_000 }, log);
  const server = new RadiusServer({
    clients: [{ name: 'loopback', address: '127.0.0.1/32', secret: SECRET }],
    handler: (req) => handleAccessRequest(eap, req.packet, req.client, {}, log),
    log,
  });
  const { port } = await server.listen('127.0.0.1', 0);
  return {
    world,
    port,
    log,
    close: async () => {
      await server.close();
      eap.close();
    },
  };
}

function idevidDir(w: BrskiWorld): string {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-idevid-'));
  writeFileSync(join(dir, 'idevid.pem'), w.pki.idevid.pem);
  writeFileSync(join(dir, 'idevid.key'), w.pki.idevid.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'manufacturer-ca.pem'), w.pki.manufacturerCa.pem);
  return dir;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await pledgeCli(args, { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) });
  return { code, out: out.join(''), err: err.join('') };
}

describe('gangway pledge over RADIUS (loopback)', () => {
  let h: Harness;
  let dir: string;
  beforeEach(async () => {
    h = await startRadius();
    dir = idevidDir(h.world);
  });
  afterEach(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('enrolls: Access-Accept with matching MS-MPPE keys, ldevid.pem / ldevid.key (0600) / ca.pem written', async () => {
    const outDir = join(dir, 'ldevid');
    const r = await cli(['--idevid', dir, '--server', `127.0.0.1:${h.port}`, '--secret', SECRET, '--out', outDir, '--framed-mtu', '1024', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { outcome: string; ok: boolean; mppeKeysMatch: boolean; serialNumber: string; rounds: number; ldevid: { subject: string; files: Record<string, string> } };
    expect(report).toMatchObject({ outcome: 'accept', ok: true, mppeKeysMatch: true, serialNumber: 'JADA-0001', voucher: { assertion: 'logged', pin: 'cert' } });
    expect(report.ldevid.subject).toBe('CN=acme:JADA-0001');
    expect(report.rounds).toBeGreaterThan(6);

    const cert = new X509Certificate(readFileSync(join(outDir, 'ldevid.pem')));
    const ca = new X509Certificate(readFileSync(join(outDir, 'ca.pem')));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(ca.fingerprint256).toBe(new X509Certificate(h.world.pki.domainCa.der).fingerprint256);
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(join(outDir, 'ldevid.key'))))).toBe(true);
    expect(statSync(join(outDir, 'ldevid.key')).mode & 0o777).toBe(0o600);
    expect(h.world.ca.issued).toHaveLength(1);

    const openssl = requireTool('openssl');
    if (openssl) {
      // An independent verifier agrees: the LDevID chains to the trust anchor we wrote.
      const verified = execFileSync(openssl, ['verify', '-CAfile', join(outDir, 'ca.pem'), join(outDir, 'ldevid.pem')], { encoding: 'utf8' });
      expect(verified.trim()).toBe(`${join(outDir, 'ldevid.pem')}: OK`);
    }
  });

  test('a tampered voucher: Access-Reject, exit 1, the pledge\'s Invalid-Signature reported, nothing written or issued', async () => {
    h.world.masa.tamper = flipLastByte;
    const r = await cli(['--idevid', dir, '--server', `127.0.0.1:${h.port}`, '--secret', SECRET, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { outcome: string; ok: boolean; pledgeError: string };
    expect(report.outcome).toBe('reject');
    expect(report.ok).toBe(false);
    expect(report.pledgeError).toMatch(new RegExp(`^Error\\(${DEFAULT_BRSKI_ERROR_CODES.invalidSignature}\\): Invalid-Signature`));
    expect(() => statSync(join(dir, 'ldevid.key'))).toThrow();
    expect(h.world.ca.issued).toHaveLength(0);
  });

  test('the built binary (dist/cli/main.js pledge, run `npx tsc -p tsconfig.build.json` first) enrols the same way', async () => {
    const main = join(__dirname, '..', '..', '..', 'dist', 'cli', 'main.js');
    const child = spawn(process.execPath, [main, 'pledge', '--idevid', dir, '--server', `127.0.0.1:${h.port}`, '--secret', SECRET, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'accept', ok: true });
    // Default --out: the IDevID directory.
    expect(statSync(join(dir, 'ldevid.key')).mode & 0o777).toBe(0o600);
  });

  test('usage errors: exit 2', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(['--idevid', dir, '--server', 'nope', '--secret', 'x'])).code).toBe(2);
    expect((await cli(['--idevid', join(dir, 'missing'), '--server', '127.0.0.1:1812', '--secret', 'x'])).err).toMatch(/cannot read/);
    expect((await cli(['--idevid', dir, '--server', '127.0.0.1:1812', '--secret', 'x', '--framed-mtu', '10'])).code).toBe(2);
  });
});
