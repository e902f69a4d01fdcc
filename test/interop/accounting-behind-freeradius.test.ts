/**
 * Gangway as the auth+acct home server of the FreeRADIUS proxy in deploy/freeradius/: radclient
 * (the NAS) sends Accounting-Requests to FreeRADIUS, which relays them to Gangway's accounting
 * port (auth port + 1) and answers the NAS only with Gangway's Accounting-Response. Afterwards the
 * home server is still alive: EAP-TLS through the same proxy succeeds.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describeEapolFailure, runEapolTest } from '../helpers/eapol-test.js';
import { type FreeradiusProxy, freeradiusTools, startFreeradiusProxy } from '../helpers/freeradius-proxy.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { requireTool } from '../helpers/require-tool.js';

const eapolTest = requireTool('eapol_test');
const fr = freeradiusTools();
const describeInterop = eapolTest && fr ? describe : describe.skip;

/** Two consecutive free UDP ports on loopback: FreeRADIUS's auth+acct home server uses port and port + 1. */
async function freePortPair(): Promise<number> {
  const bindable = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if ((await bindable(port)) && (await bindable(port + 1))) return port;
  }
  throw new Error('no two consecutive free UDP ports');
}

function radclient(args: string[], input: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(fr!.radclient, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

describeInterop('accounting through the FreeRADIUS proxy (auth+acct home server)', () => {
  let g: TestGangway | undefined;
  let proxy: FreeradiusProxy | undefined;

  beforeAll(async () => {
    const port = await freePortPair();
    g = await startTestGangway({
      configure: (doc) => {
        doc.server = { ...(doc.server as object), listen: [`127.0.0.1:${port}`] };
        doc.accounting = { listen: [`127.0.0.1:${port + 1}`] };
      },
    });
    proxy = await startFreeradiusProxy({ homeHost: '127.0.0.1', homePort: g.port, homeSecret: g.secret, clientSecret: 'nas-to-proxy-acct-77', tools: fr! });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await g?.close();
  });

  test('Start, Interim-Update and Stop from the NAS reach Gangway; the NAS gets Gangway\'s answers', async () => {
    const session = 'User-Name = "bob@example.org"\nAcct-Session-Id = "proxied-1"\nNAS-Identifier = "ap-behind-proxy"\nCalling-Station-Id = "02-00-00-00-00-b0"\n';
    for (const [type, extra] of [['Start', ''], ['Interim-Update', 'Acct-Session-Time = 30\n'], ['Stop', 'Acct-Session-Time = 90\nAcct-Output-Octets = 4242\n']] as const) {
      const r = await radclient(['-x', '-r', '2', '-t', '5', `${proxy!.host}:${proxy!.acctPort}`, 'acct', proxy!.secret], `Acct-Status-Type = ${type}\n${session}${extra}`);
      if (!/Received Accounting-Response/.test(r.out)) throw new Error(`${r.out}\n--- proxy log ---\n${proxy!.logTail()}`);
      expect(r.code).toBe(0);
    }
    expect(await g!.running.stores.accounting.get('localhost', 'ap-behind-proxy', 'proxied-1')).toMatchObject({
      status: 'stopped', userName: 'bob@example.org', sessionTime: 90, outputOctets: 4242, clientName: 'localhost',
    });
    const log = readFileSync(proxy!.logFile, 'utf8');
    expect(log).not.toMatch(/Marking home server .* as zombie|is dead/);
  });

  test('the home server stays alive: EAP-TLS through the proxy still succeeds', async () => {
    const files = g!.init.files;
    const r = await runEapolTest({
      binary: eapolTest!,
      config: `network={\n\tkey_mgmt=WPA-EAP\n\teap=TLS\n\tidentity="demo-client"\n\tca_cert="${files.caCert}"\n\tclient_cert="${files.clientCert}"\n\tprivate_key="${files.clientKey}"\n}\n`,
      port: proxy!.port,
      secret: proxy!.secret,
      timeoutSec: 15,
    });
    if (!r.success) throw new Error(`${describeEapolFailure(r)}\n--- proxy log ---\n${proxy!.logTail()}`);
    expect(r.mppeOk).toBe(1);
  });
});
