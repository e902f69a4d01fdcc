/**
 * FreeRADIUS's radclient as the NAS: Accounting-Request Start, Interim-Update and Stop, and
 * Status-Server, to Gangway's accounting port; each is answered with an Accounting-Response and
 * the session is in the store and the audit log.
 */
import { spawn } from 'node:child_process';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { requireTool } from '../helpers/require-tool.js';

const radclient = requireTool('radclient');

function radclientRun(args: string[], input: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the server under test runs in this process's event loop.
    const child = spawn(radclient!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

(radclient ? describe : describe.skip)('accounting with radclient as the NAS', () => {
  let g: TestGangway;
  let acct: string;
  beforeAll(async () => {
    g = await startTestGangway();
    acct = `127.0.0.1:${g.running.accountingAddresses[0]!.port}`;
  });
  afterAll(async () => {
    await g.close();
  });

  const session = 'User-Name = "alice@example.org"\nAcct-Session-Id = "0000002A"\nNAS-Identifier = "ap-lab-1"\nCalling-Station-Id = "02-00-00-00-00-2a"\nFramed-IP-Address = 10.9.8.7\n';

  test('Start, Interim-Update, Stop: three Accounting-Responses, one session', async () => {
    for (const [type, extra] of [
      ['Start', ''],
      ['Interim-Update', 'Acct-Session-Time = 60\nAcct-Input-Octets = 1234\nAcct-Output-Octets = 5678\n'],
      ['Stop', 'Acct-Session-Time = 120\nAcct-Input-Octets = 4000\nAcct-Input-Gigawords = 1\nAcct-Output-Octets = 9000\nAcct-Terminate-Cause = User-Request\n'],
    ] as const) {
      const r = await radclientRun(['-x', '-r', '1', '-t', '3', acct, 'acct', g.secret], `Acct-Status-Type = ${type}\n${session}${extra}`);
      expect(r.out).toMatch(/Received Accounting-Response/);
      expect(r.code).toBe(0);
    }
    const s = await g.running.stores.accounting.get('localhost', 'ap-lab-1', '0000002A');
    expect(s).toMatchObject({
      status: 'stopped', userName: 'alice@example.org', callingStationId: '02-00-00-00-00-2a', framedIpAddress: '10.9.8.7',
      sessionTime: 120, inputOctets: 2 ** 32 + 4000, outputOctets: 9000, terminateCause: 1, clientName: 'localhost',
    });
    const audit = (await g.running.stores.audit.recent(10)).filter((e) => e.event.startsWith('accounting.'));
    expect(audit.map((e) => e.event)).toEqual(['accounting.stop', 'accounting.start']);
    expect(audit[0]!.subject).toBe('alice@example.org');
  });

  test('Status-Server on the accounting port is answered with Accounting-Response (RFC 5997)', async () => {
    const r = await radclientRun(['-x', '-r', '1', '-t', '3', acct, 'status', g.secret], 'Message-Authenticator = 0x00\n');
    expect(r.out).toMatch(/Received Accounting-Response/);
    expect(r.code).toBe(0);
  });

  test('a wrong secret gets no answer, and nothing is recorded', async () => {
    const r = await radclientRun(['-r', '1', '-t', '1', acct, 'acct', 'not-the-secret'], 'Acct-Status-Type = Start\nAcct-Session-Id = "wrong"\nNAS-Identifier = "ap-lab-1"\n');
    expect(r.out).not.toMatch(/Received/);
    expect(r.code).not.toBe(0);
    expect(await g.running.stores.accounting.get('localhost', 'ap-lab-1', 'wrong')).toBeUndefined();
  });
});
