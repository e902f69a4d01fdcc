/**
 * `gangway serve --debug` (like `radiusd -X`): readable lines on stdout, one per EAP round trip and
 * the decision, instead of JSON.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import { freeUdpPort, sleep, terminate } from '../helpers/proc.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

test('serve --debug logs every EAP step as a readable line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-debug-'));
  const port = await freeUdpPort();
  const secret = 'debug-test-secret';
  const init = spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', secret, '--json'], { encoding: 'utf8' });
  const files = (JSON.parse(init.stdout) as { files: Record<string, string> }).files;
  const child = spawn(process.execPath, [main, 'serve', '--data', dir, '--debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let r: Awaited<ReturnType<typeof runEapOverRadius>> | undefined;
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  try {
    for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) await sleep(100);
    const peer = new EapTlsEapPeer({
      identity: 'demo-client',
      tls: { cert: readFileSync(files.clientCert!), key: readFileSync(files.clientKey!), ca: readFileSync(files.caCert!), servername: 'gangway.local' },
    });
    r = await runEapOverRadius(peer, { host: '127.0.0.1', port, secret, userName: 'demo-client' });
    expect(r.outcome).toBe('accept');
    for (let i = 0; i < 50 && !out.includes('Access-Accept'); i++) await sleep(100);
  } finally {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = out.trimEnd().split('\n');
  // Every line is readable: time, level; no JSON.
  for (const line of lines) expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL)/);
  const steps = lines.filter((l) => l.includes('EAP step'));
  expect(steps).toHaveLength(r!.rounds);
  expect(steps[0]).toContain('in="Response/Identity');
  expect(steps[0]).toContain('out="Request/EAP-TLS');
  expect(steps.at(-1)).toContain('out="Success');
  expect(lines.some((l) => / INFO  \[access\] Access-Accept .*identity=demo-client/.test(l))).toBe(true);
  expect(out).not.toContain(secret);
});
