/**
 * SIGHUP to `gangway serve`: a RADIUS client added, the server certificate replaced and a CRL
 * installed take effect without a restart; a broken configuration is refused with its reason and
 * the running one stays in force; a refused CRL file keeps its CRLs and refuses nothing else.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import { generateDemoPki } from '../../src/pki/demo-pki.js';
import { issueCrl } from '../../src/pki/crl.js';
import { RadiusCode, buildStatusServer, verifyResponse } from '../../src/radius/index.js';
import { freeUdpPort, sleep, terminate } from '../helpers/proc.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const SECRET = 'reload-test-secret';
const NEW_CLIENT_SECRET = 'added-by-reload-secret';

/** Status-Server sent from `source` (any 127/8 address works on Linux loopback); the reply code, or undefined. */
function statusServer(port: number, secret: string, source: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const req = buildStatusServer({ identifier: 3, secret });
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, 800);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(verifyResponse(new Uint8Array(msg), req.authenticator, secret).code);
    });
    sock.bind(0, source, () => sock.send(req.bytes, port, '127.0.0.1'));
  });
}

describe('SIGHUP reloads the configuration', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let out = '';
  afterEach(async () => {
    if (child) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  });

  const count = (msg: string): number => out.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
  async function hup(expect: 'configuration reloaded' | 'configuration reload refused; the running configuration stays in force'): Promise<string> {
    const before = count(expect);
    child!.kill('SIGHUP');
    for (let i = 0; i < 100 && count(expect) === before; i++) await sleep(50);
    if (count(expect) === before) throw new Error(`no "${expect}" after SIGHUP:\n${out.slice(-3000)}`);
    return out.split('\n').filter((l) => l.includes(`"msg":"${expect}"`)).at(-1)!;
  }

  test('client added, certificate replaced, CRL updated; broken configurations keep the old one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-reload-'));
    const port = await freeUdpPort();
    const init = JSON.parse(spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', SECRET, '--json'], { encoding: 'utf8' }).stdout) as { config: string; files: Record<string, string> };
    const files = init.files as Record<'caCert' | 'caKey' | 'clientCert' | 'clientKey' | 'serverCert' | 'serverKey', string>;
    child = spawn(process.execPath, [main, 'serve', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => void (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => void (out += d.toString()));
    for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) await sleep(100);
    expect(out).toContain('gangway listening');

    const eapTls = async (trust: string): Promise<string> => {
      const peer = new EapTlsEapPeer({
        identity: 'demo-client',
        tls: { cert: readFileSync(files.clientCert), key: readFileSync(files.clientKey), ca: readFileSync(trust), servername: 'gangway.local' },
      });
      const r = await runEapOverRadius(peer, { host: '127.0.0.1', port, secret: SECRET, userName: 'demo-client' });
      return r.outcome === 'accept' && r.mppeMatches ? 'accept' : `${r.outcome}: ${r.reason ?? ''}`;
    };
    const edit = (change: (doc: Record<string, any>) => void): void => {
      const doc = parse(readFileSync(init.config, 'utf8')) as Record<string, any>;
      change(doc);
      writeFileSync(init.config, stringify(doc), { mode: 0o600 });
    };

    // Before: 127.0.0.5 is covered by 127.0.0.0/8 with the old secret; the new one is not known yet.
    expect(await statusServer(port, NEW_CLIENT_SECRET, '127.0.0.5')).toBeUndefined();
    expect(await eapTls(files.caCert)).toBe('accept');

    // A new client, and a server certificate from a new CA (the clients' CA stays trusted).
    const next = await generateDemoPki('gangway.local');
    writeFileSync(join(dir, 'pki', 'ca2.pem'), next.ca.certPem);
    writeFileSync(files.serverCert, next.server.certPem);
    writeFileSync(files.serverKey, next.server.keyPem, { mode: 0o600 });
    edit((doc) => {
      doc.radius.clients.push({ name: 'added', address: '127.0.0.5', secret: NEW_CLIENT_SECRET });
      doc.tls.ca = ['pki/ca.pem', 'pki/ca2.pem'];
    });
    const reloaded = await hup('configuration reloaded');
    expect(reloaded).toContain('"clients":3');
    expect(await statusServer(port, NEW_CLIENT_SECRET, '127.0.0.5')).toBe(RadiusCode.AccessAccept);
    expect(await eapTls(join(dir, 'pki', 'ca2.pem'))).toBe('accept');
    expect(await eapTls(files.caCert)).not.toBe('accept');

    // A CRL of the clients' CA that revokes nothing, then its update revoking the demo client's certificate.
    const crl = join(dir, 'pki', 'ca.crl');
    const caPem = readFileSync(files.caCert, 'utf8');
    const caKey = readFileSync(files.caKey, 'utf8');
    writeFileSync(crl, await issueCrl(caPem, caKey, []));
    edit((doc) => {
      doc.tls.crl = ['pki/ca.crl'];
    });
    await hup('configuration reloaded');
    expect(await eapTls(join(dir, 'pki', 'ca2.pem'))).toBe('accept');
    const serial = new X509Certificate(readFileSync(files.clientCert)).serialNumber;
    writeFileSync(crl, await issueCrl(caPem, caKey, [serial]));
    await hup('configuration reloaded');
    // node:tls finishes the handshake and the method rejects; the OpenSSL engine refuses the revoked
    // certificate in the handshake itself (alert 44), which our peer reports as a TLS failure.
    expect(await eapTls(join(dir, 'pki', 'ca2.pem'))).toMatch(/^reject|alert certificate revoked/);

    // A CRL file that is refused holds back nothing else: the client added with it applies, the CRL
    // in force stays, and serve's log names the file and the reason (review finding).
    const revoking = readFileSync(crl);
    writeFileSync(crl, '-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n');
    edit((doc) => {
      doc.radius.clients.push({ name: 'added-with-bad-crl', address: '127.0.0.6', secret: NEW_CLIENT_SECRET });
    });
    expect(await hup('configuration reloaded')).toContain('"clients":4');
    for (let i = 0; i < 20 && !out.includes('CRL files were refused'); i++) await sleep(50);
    expect(out).toMatch(/"refusedCrls":\[\{"file":"[^"]*ca\.crl","reason":"not a CRL[^"]*"\}\].*"msg":"reloaded, but CRL files were refused; their CRLs in force stay"/);
    expect(await statusServer(port, NEW_CLIENT_SECRET, '127.0.0.6')).toBe(RadiusCode.AccessAccept);
    expect(await eapTls(join(dir, 'pki', 'ca2.pem'))).toMatch(/^reject|alert certificate revoked/);
    writeFileSync(crl, revoking);

    // Broken: a key no one knows, then a file that does not exist. Each is refused, nothing changes.
    const good = readFileSync(init.config, 'utf8');
    writeFileSync(init.config, `${good}\nbogusSetting: 1\n`);
    expect(await hup('configuration reload refused; the running configuration stays in force')).toContain('bogusSetting: is not a known setting');
    writeFileSync(init.config, good);
    edit((doc) => {
      doc.tls.cert = 'pki/missing.pem';
      doc.radius.clients = doc.radius.clients.filter((c: { name: string }) => c.name !== 'added');
    });
    expect(await hup('configuration reload refused; the running configuration stays in force')).toMatch(/tls\.cert: cannot read .*missing\.pem/);
    expect(await statusServer(port, NEW_CLIENT_SECRET, '127.0.0.5')).toBe(RadiusCode.AccessAccept);
    // node:tls finishes the handshake and the method rejects; the OpenSSL engine refuses the revoked
    // certificate in the handshake itself (alert 44), which our peer reports as a TLS failure.
    expect(await eapTls(join(dir, 'pki', 'ca2.pem'))).toMatch(/^reject|alert certificate revoked/);
    expect(await statusServer(port, SECRET, '127.0.0.1')).toBe(RadiusCode.AccessAccept);

    // What cannot change without a restart is named.
    writeFileSync(init.config, good.replace(`127.0.0.1:${port}`, '127.0.0.1:1'));
    await hup('configuration reloaded');
    for (let i = 0; i < 20 && !out.includes('apply only after a restart'); i++) await sleep(50);
    expect(out).toMatch(/"restartNeeded":\["server.listen"\].*apply only after a restart/);
    expect(await statusServer(port, SECRET, '127.0.0.1')).toBe(RadiusCode.AccessAccept);
    expect(out).not.toContain(SECRET);
  }, 120_000);
});
